"""Reject abusive queries before they run: too deep, or too costly.

Depth counts nested fields (fragments are looked through); introspection does not count.

Cost is an estimate of how many objects a query can touch: every field costs 1, and what is
selected below a list is multiplied by how many items the list can hold — a connection's
``first``/``last`` (or the 100 it is capped at), a plain list's ``LIST_SIZE_ESTIMATE``.
Introspection is free, so GraphiQL and code generators keep working.
"""

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    InlineFragmentNode,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    get_named_type,
    specified_rules,
)
from graphql.language import IntValueNode, VariableNode

from schema.core.errors import ApiErrorCode

LIST_SIZE_ESTIMATE = 10
PAGE_ARGUMENTS = ("first", "last")


def _is_list(gql_type: Any) -> bool:
    if isinstance(gql_type, GraphQLNonNull):
        gql_type = gql_type.of_type
    return isinstance(gql_type, GraphQLList)


class QueryLimitsRule(ValidationRule):
    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.max_cost: int = settings.GRAPHQL_MAX_COST
        self.max_depth: int = settings.GRAPHQL_MAX_DEPTH
        self.deepest = 0

    def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
        schema = self.context.schema
        root_type = {
            "query": schema.query_type,
            "mutation": schema.mutation_type,
            "subscription": schema.subscription_type,
        }[node.operation.value]
        if root_type is None:
            return
        self.deepest = 0
        cost = self._selection_cost(node.selection_set, root_type, depth=0)
        if self.deepest > self.max_depth:
            self.report_error(
                GraphQLError(
                    _("The query is too deep: %(depth)d levels exceed the limit of %(limit)d.")
                    % {"depth": self.deepest, "limit": self.max_depth},
                    node,
                    extensions={
                        "code": ApiErrorCode.QUERY_TOO_DEEP.value,
                        "depth": self.deepest,
                        "maxDepth": self.max_depth,
                    },
                )
            )
        elif cost > self.max_cost:
            self.report_error(
                GraphQLError(
                    _(
                        "The query is too costly: %(cost)d exceeds the limit of %(limit)d. "
                        "Ask for smaller pages or fewer nested lists."
                    )
                    % {"cost": cost, "limit": self.max_cost},
                    node,
                    extensions={
                        "code": ApiErrorCode.QUERY_TOO_COSTLY.value,
                        "cost": cost,
                        "maxCost": self.max_cost,
                    },
                )
            )

    def _page_size(self, field: FieldNode) -> int:
        largest_page = settings.GRAPHQL_MAX_PAGE_SIZE
        sizes: list[int] = []
        for argument in field.arguments or ():
            if argument.name.value not in PAGE_ARGUMENTS:
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                sizes.append(int(value.value))
            elif isinstance(value, VariableNode):
                # Validation runs before variables are known: assume the largest page.
                sizes.append(largest_page)
        return max(sizes) if sizes else largest_page

    def _selection_cost(
        self,
        selection_set: SelectionSetNode | None,
        parent: Any,
        depth: int,
        visiting: frozenset[str] = frozenset(),
    ) -> int:
        if selection_set is None:
            return 0
        if depth > self.max_depth:
            # Deep enough to reject; stop walking (this also ends fragment cycles).
            self.deepest = max(self.deepest, depth)
            return 0
        parent = get_named_type(parent)
        if not isinstance(parent, GraphQLObjectType) and not hasattr(parent, "fields"):
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                if name.startswith("__"):
                    continue
                field_def = parent.fields.get(name)
                if field_def is None:
                    continue
                self.deepest = max(self.deepest, depth + 1)
                child_type = get_named_type(field_def.type)
                children = self._selection_cost(
                    selection.selection_set, child_type, depth + 1, visiting
                )
                if child_type.name.endswith("Connection"):
                    children *= self._page_size(selection)
                elif name == "edges" and parent.name.endswith("Connection"):
                    pass  # already multiplied by the connection's page size
                elif _is_list(field_def.type):
                    children *= LIST_SIZE_ESTIMATE
                total += 1 + children
            elif isinstance(selection, InlineFragmentNode):
                fragment_type = (
                    self.context.schema.get_type(selection.type_condition.name.value)
                    if selection.type_condition
                    else parent
                )
                total += self._selection_cost(
                    selection.selection_set, fragment_type, depth, visiting
                )
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.context.get_fragment(name)
                if fragment is not None and name not in visiting:  # cycles: another rule's job
                    fragment_type = self.context.schema.get_type(fragment.type_condition.name.value)
                    total += self._selection_cost(
                        fragment.selection_set, fragment_type, depth, visiting | {name}
                    )
        return total


def validation_rules() -> list[type[ValidationRule]]:
    """The standard GraphQL rules plus Linli's depth and cost limits, and no introspection
    where it is switched off (production)."""
    rules = [*specified_rules, QueryLimitsRule]
    if not settings.GRAPHQL_INTROSPECTION:
        rules.append(NoSchemaIntrospectionCustomRule)
    return rules
