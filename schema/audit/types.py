from typing import Any

import graphene
from django.db.models import Q, QuerySet
from graphql import GraphQLResolveInfo

from backend.accounts.models import User
from backend.accounts.phone import mask_phone
from backend.audit.models import AuditEvent
from schema.core.connection import CountableConnection
from schema.core.optimizer import OptimizerHints
from schema.core.scope import current_scope
from schema.core.types import LinliNode, LinliObjectType
from schema.organizations.types import display_name, person_needs

# Targets whose type the API exposes: their global IDs are given (and can be filtered on).
TARGET_TYPES = {
    "servicepoints.servicepoint": "ServicePoint",
    "organizations.organization": "Organization",
    "organizations.membership": "Membership",
    "regions.regionrole": "RegionRole",
    "regions.region": "Region",
}


class AuditActorType(graphene.ObjectType):
    """Who made a change. Names are shown (the trail is for accountability); phone numbers
    only to platform admins."""

    id = graphene.ID(required=True, description="Their user ID.")
    name = graphene.String(required=True)
    phone = graphene.String(description="Masked (138****1234) unless you are a platform admin.")

    class Meta:
        name = "AuditActor"

    @staticmethod
    def resolve_id(root: User, info: GraphQLResolveInfo) -> str:
        return graphene.relay.Node.to_global_id("User", root.pk)

    @staticmethod
    def resolve_name(root: User, info: GraphQLResolveInfo) -> str:
        return display_name(root)

    @staticmethod
    def resolve_phone(root: User, info: GraphQLResolveInfo) -> str | None:
        return root.phone if current_scope(info).is_platform_admin else mask_phone(root.phone)


class AuditEventType(LinliObjectType):
    actor = graphene.Field(AuditActorType, description="Null for changes made by the system.")
    target_type = graphene.String(
        required=True, description="What changed, e.g. servicepoints.servicepoint."
    )
    target_id = graphene.ID(description="Its global ID, when the API has such objects.")
    target_name = graphene.String(required=True, description="What it was called then.")
    changes = graphene.JSONString(
        required=True, description='{"field": [before, after]} for each changed field.'
    )
    at = graphene.DateTime(required=True)

    optimizer_hints: OptimizerHints = {
        "actor": person_needs("actor"),
        "target_type": {"only": ["target_type"]},
        "target_id": {"only": ["target_type", "target_id"]},
        "target_name": {"only": ["target_repr"]},
        "at": {"only": ["created_at"]},
    }

    class Meta:
        model = AuditEvent
        name = "AuditEvent"
        description = "Who changed what, where and when; newest first."
        interfaces = (LinliNode,)
        connection_class = CountableConnection
        fields = ("id", "action", "region", "changes", "reason")

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> QuerySet[Any]:
        """Events of the regions the caller administers, and below them."""
        scope = current_scope(info)
        if scope.is_platform_admin:
            return queryset
        reach = Q(pk__in=[])
        for path in scope.region_paths:
            reach |= Q(region__path__startswith=path)
        return queryset.filter(reach)

    @staticmethod
    def resolve_actor(root: AuditEvent, info: GraphQLResolveInfo) -> User | None:
        return root.actor

    @staticmethod
    def resolve_target_type(root: AuditEvent, info: GraphQLResolveInfo) -> str:
        return root.target_type

    @staticmethod
    def resolve_target_id(root: AuditEvent, info: GraphQLResolveInfo) -> str | None:
        type_name = TARGET_TYPES.get(root.target_type)
        return graphene.relay.Node.to_global_id(type_name, root.target_id) if type_name else None

    @staticmethod
    def resolve_target_name(root: AuditEvent, info: GraphQLResolveInfo) -> str:
        return root.target_repr

    @staticmethod
    def resolve_changes(root: AuditEvent, info: GraphQLResolveInfo) -> Any:
        return root.changes or {}

    @staticmethod
    def resolve_at(root: AuditEvent, info: GraphQLResolveInfo) -> Any:
        return root.created_at
