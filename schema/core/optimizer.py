"""Turn the selection of a list query into ``select_related`` / ``prefetch_related``.

Every relation a client selects below a list is loaded with the list, in a fixed number of
SQL queries whatever the page size: to-one relations are joined into the page query, to-many
relations become one prefetch query each (recursively optimized in turn). Types say which
relations a computed field needs through ``optimizer_hints``.

The walk follows the GraphQL schema, not the Django models: a relation is optimized only if
the schema exposes it, and only if the request selects it.
"""

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Prefetch, QuerySet
from graphene.utils.str_converters import to_snake_case
from graphql import (
    FieldNode,
    GraphQLObjectType,
    GraphQLResolveInfo,
    get_named_type,
)
from graphql.execution.collect_fields import collect_sub_fields


@dataclass
class _Plan:
    select: list[str] = field(default_factory=list)
    prefetch: list[Prefetch] = field(default_factory=list)


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
    hints: dict[str, dict[str, list[str]]] = getattr(graphene_type, "optimizer_hints", {})
    for nodes_of_field in _sub_fields(info, gql_type, nodes).values():
        gql_name = nodes_of_field[0].name.value
        if gql_name.startswith("__"):
            continue
        python_name = to_snake_case(gql_name)
        hint = hints.get(python_name)
        if hint is not None:
            plan.select.extend(prefix + path for path in hint.get("select", []))
            plan.prefetch.extend(Prefetch(prefix + path) for path in hint.get("prefetch", []))
            continue
        try:
            model_field = model._meta.get_field(python_name)
        except FieldDoesNotExist:
            continue
        if not model_field.is_relation:
            continue
        related_gql_type = get_named_type(gql_type.fields[gql_name].type)
        if not isinstance(related_gql_type, GraphQLObjectType):
            continue
        path = prefix + python_name
        if model_field.many_to_one or model_field.one_to_one:
            plan.select.append(path)
            _plan(info, related_gql_type, nodes_of_field, path + "__", plan)
        else:
            related_model: type[models.Model] = model_field.related_model  # type: ignore[assignment]
            queryset = optimize_queryset(
                related_model._default_manager.all(), info, related_gql_type, nodes_of_field
            )
            plan.prefetch.append(Prefetch(path, queryset=queryset))


def optimize_queryset(
    queryset: QuerySet[Any],
    info: GraphQLResolveInfo,
    gql_type: GraphQLObjectType,
    nodes: list[FieldNode],
) -> QuerySet[Any]:
    """``queryset`` with the relations selected below ``nodes`` (of ``gql_type``) loaded."""
    plan = _Plan()
    _plan(info, gql_type, nodes, "", plan)
    if plan.select:
        queryset = queryset.select_related(*dict.fromkeys(plan.select))
    if plan.prefetch:
        # One Prefetch per path; the one carrying an optimized queryset wins over a hint's.
        by_path: dict[str, Prefetch] = {}
        for prefetch in plan.prefetch:
            if prefetch.queryset is not None or prefetch.prefetch_to not in by_path:
                by_path[prefetch.prefetch_to] = prefetch
        queryset = queryset.prefetch_related(*by_path.values())
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
