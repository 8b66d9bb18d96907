"""Posting GraphQL documents the way a mobile client does, and reading the answer."""

from typing import Any

from django.test import Client


class GraphQLClient:
    def __init__(self, client: Client, token: str | None = None) -> None:
        self.client = client
        self.token = token

    def with_token(self, token: str | None) -> "GraphQLClient":
        return GraphQLClient(self.client, token)

    def post(
        self, query: str, variables: dict[str, Any] | None = None, language: str | None = None
    ) -> dict[str, Any]:
        """The JSON answer, whatever its HTTP status (validation errors come as 400)."""
        headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
        if self.token:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
        response = self.client.post(
            "/graphql/",
            {"query": query, "variables": variables or {}},
            content_type="application/json",
            HTTP_HOST="localhost",
            **headers,
        )
        assert response.status_code in (200, 400, 401), response.content
        return response.json()

    def data(
        self, query: str, variables: dict[str, Any] | None = None, language: str | None = None
    ) -> dict[str, Any]:
        """The ``data`` of an answer that must have no errors."""
        content = self.post(query, variables, language)
        assert "errors" not in content, content["errors"]
        return content["data"]

    def mutate(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The payload of a single-mutation document (its only field)."""
        return next(iter(self.data(query, variables).values()))

    def error_codes(self, query: str, variables: dict[str, Any] | None = None) -> list[str]:
        content = self.post(query, variables)
        assert content.get("errors"), content
        return [error.get("extensions", {}).get("code", "") for error in content["errors"]]
