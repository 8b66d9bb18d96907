"""Posting GraphQL documents the way a mobile client does, and reading the answer."""

from typing import Any

from django.test import Client


class GraphQLClient:
    def __init__(self, client: Client) -> None:
        self.client = client

    def post(
        self, query: str, variables: dict[str, Any] | None = None, language: str | None = None
    ) -> dict[str, Any]:
        """The JSON answer, whatever its HTTP status (validation errors come as 400)."""
        headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
        response = self.client.post(
            "/graphql/",
            {"query": query, "variables": variables or {}},
            content_type="application/json",
            HTTP_HOST="localhost",
            **headers,
        )
        assert response.status_code in (200, 400), response.content
        return response.json()

    def data(
        self, query: str, variables: dict[str, Any] | None = None, language: str | None = None
    ) -> dict[str, Any]:
        """The ``data`` of an answer that must have no errors."""
        content = self.post(query, variables, language)
        assert "errors" not in content, content["errors"]
        return content["data"]

    def error_codes(self, query: str, variables: dict[str, Any] | None = None) -> list[str]:
        content = self.post(query, variables)
        assert content.get("errors"), content
        return [error.get("extensions", {}).get("code", "") for error in content["errors"]]
