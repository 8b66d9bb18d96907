"""Reject abusive queries before they run: too deep, or too costly.

Depth counts nested fields (fragments are looked through); introspection does not count
towards depth (graphql-core limits its nesting itself) but does count towards cost, so that
aliasing it many times cannot be free.

Cost is an estimate of how many objects a query can touch: every field costs 1, and what is
selected below a list is multiplied by how many items the list can hold — a connection's
``first``/``last`` (or the 100 it is capped at), a plain list's ``LIST_SIZE_ESTIMATE``.
The standard introspection query costs about a third of the default limit.
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
    SchemaMetaFieldDef,
    SelectionSetNode,
    TypeMetaFieldDef,
    TypeNameMetaFieldDef,
    ValidationContext,
    ValidationRule,
    get_named_type,
    specified_rules,
)
from graphql.language import IntValueNode, VariableNode

from schema.core.errors import ApiErrorCode

LIST_SIZE_ESTIMATE = 10
INTROSPECTION_FIELDS = {
    "__schema": SchemaMetaFieldDef,
    "__type": TypeMetaFieldDef,
    "__typename": TypeNameMetaFieldDef,
}
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
        self._fragment_costs: dict[tuple[str, int, bool], tuple[int, int]] = {}
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
                # A negative page is refused when the query runs; here it must not lower
                # the estimate of the rest of the document.
                sizes.append(max(0, int(value.value)))
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
        introspecting: bool = False,
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
                field_def = INTROSPECTION_FIELDS.get(name) or parent.fields.get(name)
                if field_def is None:
                    continue
                inside = introspecting or name in INTROSPECTION_FIELDS
                if not inside:
                    self.deepest = max(self.deepest, depth + 1)
                child_type = get_named_type(field_def.type)
                children = self._selection_cost(
                    selection.selection_set,
                    child_type,
                    depth + (0 if inside else 1),
                    visiting,
                    inside,
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
                    selection.selection_set, fragment_type, depth, visiting, introspecting
                )
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment_cost(selection.name.value, depth, visiting, introspecting)
        return total

    def _fragment_cost(
        self, name: str, depth: int, visiting: frozenset[str], introspecting: bool
    ) -> int:
        """A fragment's cost at a depth, computed once: a document that spreads fragments
        into fragments cannot make validation take exponential time."""
        fragment = self.context.get_fragment(name)
        if fragment is None or name in visiting:  # cycles: another rule reports them
            return 0
        key = (name, depth, introspecting)
        if key not in self._fragment_costs:
            outer_deepest, self.deepest = self.deepest, 0
            fragment_type = self.context.schema.get_type(fragment.type_condition.name.value)
            cost = self._selection_cost(
                fragment.selection_set, fragment_type, depth, visiting | {name}, introspecting
            )
            self._fragment_costs[key] = (cost, self.deepest)
            self.deepest = outer_deepest
        cost, deepest = self._fragment_costs[key]
        self.deepest = max(self.deepest, deepest)
        return cost


def validation_rules() -> list[type[ValidationRule]]:
    """The standard GraphQL rules plus Linli's depth and cost limits, and no introspection
    where it is switched off (production)."""
    rules = [*specified_rules, QueryLimitsRule]
    if not settings.GRAPHQL_INTROSPECTION:
        rules.append(NoSchemaIntrospectionCustomRule)
    return rules
