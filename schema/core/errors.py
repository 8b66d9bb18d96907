"""Errors the read API returns, each with a stable machine-readable code.

Clients switch on ``extensions.code``; the message is for humans and is translated.
"""

from enum import StrEnum
from typing import Any

from graphql import GraphQLError


class ApiErrorCode(StrEnum):
    INVALID_ID = "INVALID_ID"
    INVALID_CURSOR = "INVALID_CURSOR"
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    INVALID_FILTER = "INVALID_FILTER"
    QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
    QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
    NOT_FOUND = "NOT_FOUND"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    PERMISSION_DENIED = "PERMISSION_DENIED"


class ApiError(GraphQLError):
    def __init__(self, message: str, code: ApiErrorCode, **details: Any) -> None:
        extensions: dict[str, Any] = {"code": code.value}
        if details:
            extensions["details"] = details
        super().__init__(str(message), extensions=extensions)
