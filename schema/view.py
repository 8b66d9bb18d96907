"""The /graphql/ endpoint: POST for operations, GraphiQL on GET when enabled."""

import logging
import time
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
    JsonResponse,
)
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from graphene_django.views import GraphQLView, HttpError
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    validate,
)

from backend.accounts import tokens
from backend.accounts.error_codes import AccountErrorCode
from backend.ops import metrics
from schema.core.errors import ApiError, ApiErrorCode, with_code
from schema.core.limits import validation_rules

logger = logging.getLogger("linli.graphql")

# Mobile apps send the same few documents over and over: parse and validate each once.
# Only ordinary-sized documents are cached, so the cache stays small whatever arrives.
VALID_DOCUMENT_CACHE_SIZE = 512
CACHED_DOCUMENT_MAX_CHARS = 16_384
DOCUMENT_MAX_CHARS = 100_000


def _parse_and_validate(query: str, schema: GraphQLSchema) -> DocumentNode:
    try:
        document = parse(query)
    except GraphQLError as syntax_error:
        raise InvalidDocument(
            [with_code(syntax_error, ApiErrorCode.GRAPHQL_PARSE_FAILED)]
        ) from None
    errors = validate(schema, document, validation_rules())
    if errors:
        raise InvalidDocument(
            [with_code(error, ApiErrorCode.GRAPHQL_VALIDATION_FAILED) for error in errors]
        )
    return document


@lru_cache(maxsize=VALID_DOCUMENT_CACHE_SIZE)
def _cached_valid_document(
    query: str, schema: GraphQLSchema, limits: tuple[Any, ...]
) -> DocumentNode:
    """Cached only when valid (error messages are translated per request, so failures are
    recomputed). The limits in force are part of the key."""
    return _parse_and_validate(query, schema)


def valid_document(query: str, schema: GraphQLSchema) -> DocumentNode:
    """The parsed document, or InvalidDocument with coded errors (HTTP and WebSocket)."""
    if len(query) > CACHED_DOCUMENT_MAX_CHARS:
        return _parse_and_validate(query, schema)
    limits = (settings.GRAPHQL_MAX_DEPTH, settings.GRAPHQL_MAX_COST, settings.GRAPHQL_INTROSPECTION)
    return _cached_valid_document(query, schema, limits)


def _request_error(message: str, code: ApiErrorCode = ApiErrorCode.INVALID_REQUEST) -> Any:
    return ExecutionResult(errors=[ApiError(message, code)])


class InvalidDocument(Exception):
    def __init__(self, errors: list[GraphQLError]) -> None:
        self.errors = errors


@method_decorator(csrf_exempt, name="dispatch")  # mobile clients send tokens, not cookies
class LinliGraphQLView(GraphQLView):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("graphiql", settings.GRAPHIQL_ENABLED)
        super().__init__(**kwargs)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Every request that is not the GraphiQL page is counted and timed under the name of
        its operation (``backend.ops.metrics``; ``invalid`` when it has none to run)."""
        started = time.perf_counter()
        response = None
        try:
            response = self._authenticate_and_dispatch(request, *args, **kwargs)
            return response
        finally:
            _observe(request, response, time.perf_counter() - started)

    def _authenticate_and_dispatch(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        """Authenticate by ``Authorization: Bearer <access token>`` only (session cookies
        are ignored: the endpoint is exempt from CSRF). A bad or expired token is a 401 with
        a GraphQL error, so clients know to refresh rather than act anonymously."""
        request.api_user = None  # type: ignore[attr-defined]
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _space, token = header.partition(" ")
            try:
                if scheme.lower() != "bearer" or not token.strip():
                    raise tokens.AccessTokenError(
                        AccountErrorCode.INVALID_TOKEN,
                        str(_("Use the header Authorization: Bearer <access token>.")),
                    )
                user, session_id = tokens.authenticate(token.strip())
            except tokens.AccessTokenError as error:
                body = {
                    "errors": [
                        {"message": str(error), "extensions": {"code": error.code.value.upper()}}
                    ]
                }
                return JsonResponse(body, status=401, headers={"WWW-Authenticate": "Bearer"})
            request.api_user = user  # type: ignore[attr-defined]
            request.api_session_id = session_id  # type: ignore[attr-defined]
        return super().dispatch(request, *args, **kwargs)

    def execute_graphql_request(
        self,
        request: HttpRequest,
        data: dict[str, Any],
        query: str | None,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        show_graphiql: bool = False,
    ) -> ExecutionResult | None:
        if not query:
            if show_graphiql:
                return None
            raise HttpError(HttpResponseBadRequest("Must provide query string."))
        if not isinstance(query, str):
            return _request_error(_("query must be a string."))
        if variables is not None and not isinstance(variables, dict):
            return _request_error(_("variables must be a JSON object."))
        if operation_name is not None and not isinstance(operation_name, str):
            return _request_error(_("operationName must be a string."))
        if len(query) > DOCUMENT_MAX_CHARS:
            return _request_error(
                _("The query is longer than %(max)d characters.") % {"max": DOCUMENT_MAX_CHARS},
                ApiErrorCode.QUERY_TOO_LARGE,
            )
        try:
            document = valid_document(query, self.schema.graphql_schema)
        except InvalidDocument as invalid:
            return ExecutionResult(data=None, errors=invalid.errors)
        operation = get_operation_ast(document, operation_name)
        if operation is not None:
            request.graphql_operation = metrics.operation_label(  # type: ignore[attr-defined]
                operation.name.value if operation.name else None
            )
        if (
            request.method == "GET"
            and operation is not None
            and operation.operation != OperationType.QUERY
        ):
            if show_graphiql:
                return None
            raise HttpError(
                HttpResponseNotAllowed(
                    ["POST"],
                    f"Can only perform a {operation.operation.value} operation "
                    "from a POST request.",
                )
            )
        # Mutations run their own transactions in the domain services; there is no
        # request-wide transaction here.
        result = execute(
            self.schema.graphql_schema,
            document,
            root_value=self.get_root_value(request),
            context_value=self.get_context(request),
            variable_values=variables,
            operation_name=operation_name,
            middleware=self.get_middleware(request),
        )
        assert isinstance(result, ExecutionResult)
        request.graphql_errors = bool(result.errors)  # type: ignore[attr-defined]
        return with_error_codes(result)


def _observe(request: HttpRequest, response: HttpResponse | None, seconds: float) -> None:
    operation = getattr(request, "graphql_operation", None)
    succeeded = response is not None and response.status_code < 400
    if operation is None and succeeded:
        return  # the GraphiQL page: no operation ran
    ok = succeeded and not getattr(request, "graphql_errors", False)
    metrics.observe_graphql_request(operation or metrics.INVALID, ok, seconds)


def with_error_codes(result: ExecutionResult) -> ExecutionResult:
    """Every error carries a code. Variables that do not fit their types fail before
    anything runs (no path); anything else without a code is a bug: logged in full, and
    described in production only as an internal error."""
    for index, error in enumerate(result.errors or []):
        if (error.extensions or {}).get("code"):
            continue
        if error.path is None:
            with_code(error, ApiErrorCode.INVALID_ARGUMENT)
            continue
        logger.error("GraphQL resolver failed at %s", error.path, exc_info=error.original_error)
        if settings.PRODUCTION:
            error = GraphQLError(
                _("Internal error."),
                error.nodes,
                path=error.path,
            )
            assert result.errors is not None
            result.errors[index] = error
        with_code(error, ApiErrorCode.INTERNAL_ERROR)
    return result
