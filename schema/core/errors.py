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
    INVALID_REQUEST = "INVALID_REQUEST"
    QUERY_TOO_LARGE = "QUERY_TOO_LARGE"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    TOO_MANY_OPERATIONS = "TOO_MANY_OPERATIONS"
    RATE_LIMITED = "RATE_LIMITED"


def with_code(error: GraphQLError, code: ApiErrorCode) -> GraphQLError:
    """The error with ``extensions.code`` set, unless it already has one."""
    if not (error.extensions or {}).get("code"):
        error.extensions = {**(error.extensions or {}), "code": code.value}
    return error


class ApiError(GraphQLError):
    def __init__(self, message: str, code: ApiErrorCode, **details: Any) -> None:
        extensions: dict[str, Any] = {"code": code.value}
        if details:
            extensions["details"] = details
        super().__init__(str(message), extensions=extensions)
