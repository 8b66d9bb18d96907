"""The /graphql/ endpoint: POST for operations, GraphiQL on GET when enabled."""

from typing import Any

from django.conf import settings
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from graphene_django.views import GraphQLView

from schema.core.limits import validation_rules


@method_decorator(csrf_exempt, name="dispatch")  # mobile clients send tokens, not cookies
class LinliGraphQLView(GraphQLView):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("graphiql", settings.GRAPHIQL_ENABLED)
        kwargs.setdefault("validation_rules", validation_rules())
        super().__init__(**kwargs)
