"""Turn the selection of a list query into ``select_related`` / ``prefetch_related``.

Every relation a client selects below a list is loaded with the list, in a fixed number of
SQL queries whatever the page size: to-one relations are joined into the page query, to-many
relations become one prefetch query each (recursively optimized in turn). Only the columns
the selection needs are read (``only``): wide text and JSON columns nobody asked for cost
more to transfer and decode than the rest of the row.

Types say what a computed field needs through ``optimizer_hints``:
``{"field": {"only": [columns], "select": [to-one paths],
"prefetch": {to-many relation: [its columns]}}}``. A selected
field the optimizer cannot map to columns (no model field, no hint) makes it read whole rows
for that queryset: correct, merely slower.

The walk follows the GraphQL schema, not the Django models: a relation is optimized only if
the schema exposes it, and only if the request selects it.
"""

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import ForeignObjectRel, Prefetch, QuerySet
from graphene.utils.str_converters import to_snake_case
from graphql import (
    FieldNode,
    GraphQLObjectType,
    GraphQLResolveInfo,
    get_named_type,
)
from graphql.execution.collect_fields import collect_sub_fields

# What computed fields of a type need: see the module docstring.
OptimizerHints = dict[str, dict[str, Any]]


@dataclass
class _Plan:
    select: list[str] = field(default_factory=list)
    prefetch: list[Prefetch] = field(default_factory=list)
    only: list[str] = field(default_factory=list)
    # False once a selected field's needs are unknown: then whole rows are read.
    columns_known: bool = True


def _sub_fields(
    info: GraphQLResolveInfo, parent_type: GraphQLObjectType, nodes: list[FieldNode]
) -> dict[str, list[FieldNode]]:
    return collect_sub_fields(info.schema, info.fragments, info.variable_values, parent_type, nodes)


def _django_model(gql_type: Any) -> type[models.Model] | None:
    graphene_type = getattr(get_named_type(gql_type), "graphene_type", None)
    meta = getattr(graphene_type, "_meta", None)
    return getattr(meta, "model", None)


def _plan(
    info: GraphQLResolveInfo,
    gql_type: GraphQLObjectType,
    nodes: list[FieldNode],
    prefix: str,
    plan: _Plan,
) -> None:
    model = _django_model(gql_type)
    if model is None:
        return
    graphene_type = gql_type.graphene_type  # type: ignore[attr-defined]
    hints: OptimizerHints = getattr(graphene_type, "optimizer_hints", {})
    # By field name, not response key: two aliases of one relation share one load, which
    # must then cover what both select.
    selected: dict[str, list[FieldNode]] = {}
    for nodes_of_field in _sub_fields(info, gql_type, nodes).values():
        name = nodes_of_field[0].name.value
        if not name.startswith("__"):
            selected.setdefault(name, []).extend(nodes_of_field)
    # Columns that computed fields need on this model's to-many relations, by relation.
    relation_needs: dict[str, list[str]] = {}
    for gql_name in selected:
        hint = hints.get(to_snake_case(gql_name), {})
        plan.only.extend(prefix + column for column in hint.get("only", []))
        for path in hint.get("select", []):
            plan.only.append(prefix + path)
            plan.select.append(prefix + path)
        for relation, columns in hint.get("prefetch", {}).items():
            relation_needs.setdefault(relation, []).extend(columns)

    for gql_name, nodes_of_field in selected.items():
        python_name = to_snake_case(gql_name)
        if python_name in hints:
            continue
        try:
            model_field = model._meta.get_field(python_name)
        except FieldDoesNotExist:
            plan.columns_known = False
            continue
        if not model_field.is_relation:
            plan.only.append(prefix + model_field.name)
            continue
        related_gql_type = get_named_type(gql_type.fields[gql_name].type)
        if not isinstance(related_gql_type, GraphQLObjectType):
            plan.columns_known = False
            continue
        if model_field.many_to_one or model_field.one_to_one:
            path = prefix + python_name
            plan.only.append(path)
            plan.select.append(path)
            _plan(info, related_gql_type, nodes_of_field, path + "__", plan)
        else:
            plan.prefetch.append(
                _prefetch(
                    model,
                    python_name,
                    prefix,
                    info,
                    related_gql_type,
                    nodes_of_field,
                    relation_needs.pop(python_name, []),
                )
            )
    for relation, columns in relation_needs.items():  # needed, though not selected
        plan.prefetch.append(_prefetch(model, relation, prefix, info, None, [], columns))


def _prefetch(
    model: type[models.Model],
    relation: str,
    prefix: str,
    info: GraphQLResolveInfo,
    gql_type: GraphQLObjectType | None,
    nodes: list[FieldNode],
    columns: list[str],
) -> Prefetch:
    """One query for a to-many relation, itself optimized for what is selected below it."""
    model_field = model._meta.get_field(relation)
    related_model: type[models.Model] = model_field.related_model  # type: ignore[assignment]
    # A reverse foreign key's rows are matched to their parents by that key.
    needs = list(columns)
    if isinstance(model_field, ForeignObjectRel) and model_field.one_to_many:
        needs.append(model_field.field.name)
    queryset = related_model._default_manager.all()
    if gql_type is None:
        queryset = queryset.only(*dict.fromkeys(needs or ["pk"]))
    else:
        queryset = optimize_queryset(queryset, info, gql_type, nodes, needs)
    return Prefetch(prefix + relation, queryset=queryset)


def optimize_queryset(
    queryset: QuerySet[Any],
    info: GraphQLResolveInfo,
    gql_type: GraphQLObjectType,
    nodes: list[FieldNode],
    needed_columns: list[str] | None = None,
) -> QuerySet[Any]:
    """``queryset`` with the relations selected below ``nodes`` (of ``gql_type``) loaded."""
    plan = _Plan(only=list(needed_columns or []))
    _plan(info, gql_type, nodes, "", plan)
    if plan.columns_known:
        queryset = queryset.only(*dict.fromkeys(plan.only or ["pk"]))
    if plan.select:
        queryset = queryset.select_related(*dict.fromkeys(plan.select))
    if plan.prefetch:
        queryset = queryset.prefetch_related(*plan.prefetch)
    return queryset


def optimize_connection(queryset: QuerySet[Any], info: GraphQLResolveInfo) -> QuerySet[Any]:
    """Optimize a Relay connection's queryset for what ``edges { node { … } }`` selects."""
    connection_type = get_named_type(info.return_type)
    assert isinstance(connection_type, GraphQLObjectType)
    edges = _sub_fields(info, connection_type, list(info.field_nodes))
    edge_nodes = [
        node for key, nodes in edges.items() for node in nodes if node.name.value == "edges"
    ]
    if not edge_nodes:
        return queryset
    edge_type = get_named_type(connection_type.fields["edges"].type)
    assert isinstance(edge_type, GraphQLObjectType)
    node_fields = _sub_fields(info, edge_type, edge_nodes)
    node_nodes = [
        node for nodes in node_fields.values() for node in nodes if node.name.value == "node"
    ]
    node_type = get_named_type(edge_type.fields["node"].type)
    assert isinstance(node_type, GraphQLObjectType)
    return optimize_queryset(queryset, info, node_type, node_nodes) if node_nodes else queryset


def optimize_field(queryset: QuerySet[Any], info: GraphQLResolveInfo) -> QuerySet[Any]:
    """Optimize a queryset returned by a plain field or list field of object type."""
    gql_type = get_named_type(info.return_type)
    assert isinstance(gql_type, GraphQLObjectType)
    return optimize_queryset(queryset, info, gql_type, list(info.field_nodes))
