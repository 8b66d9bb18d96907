from typing import Any

import graphene
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from graphql import GraphQLResolveInfo

from backend.audit.models import AuditEvent
from backend.regions.models import Region
from schema.audit.types import TARGET_TYPES, AuditEventType
from schema.core.connection import LinliConnectionField
from schema.core.errors import ApiError, ApiErrorCode
from schema.core.ids import MAX_PK, decode_global_id
from schema.core.scope import current_user

MAX_ACTION_LENGTH = 64
TARGET_LABELS = {type_name: label for label, type_name in TARGET_TYPES.items()}


class AuditQueries(graphene.ObjectType):
    audit_events = LinliConnectionField(
        AuditEventType,
        region=graphene.ID(required=True, description="This region and every region below it."),
        action=graphene.String(description="E.g. servicepoint.update, membership.remove."),
        target=graphene.ID(description="Only the history of this object."),
        since=graphene.DateTime(description="Only changes made at or after this moment."),
        description=(
            "Who changed what in a region and below it (service points, organizations, "
            "memberships, roles), newest first. For its administrators only: anyone else "
            "gets PERMISSION_DENIED (or UNAUTHENTICATED)."
        ),
    )

    @staticmethod
    def resolve_audit_events(
        root: Any, info: GraphQLResolveInfo, region: str, **args: Any
    ) -> QuerySet[AuditEvent]:
        """A refusal rather than an empty list: "nothing happened here" would be a false
        answer to an administrator whose role has ended, and regions are public anyway."""
        user = current_user(info)
        if not user.is_authenticated:
            raise ApiError(_("Sign in first."), ApiErrorCode.UNAUTHENTICATED)
        pk = decode_global_id(region, "Region", "region")
        found = Region.objects.filter(pk=pk).first() if pk <= MAX_PK else None
        if found is None:
            raise ApiError(_("No region has this ID."), ApiErrorCode.NOT_FOUND, argument="region")
        if not user.has_perm("regions.view_audit_trail", found):
            raise ApiError(
                _("Only the administrators of this region see its audit trail."),
                ApiErrorCode.PERMISSION_DENIED,
            )
        events = AuditEvent.objects.filter(region__path__startswith=found.path)
        action = args.get("action")
        if action is not None:
            if len(action) > MAX_ACTION_LENGTH:
                raise ApiError(
                    _("action is at most %(max)d characters.") % {"max": MAX_ACTION_LENGTH},
                    ApiErrorCode.INVALID_ARGUMENT,
                    argument="action",
                )
            events = events.filter(action=action)
        if args.get("since") is not None:
            events = events.filter(created_at__gte=args["since"])
        if args.get("target") is not None:
            events = events.filter(**_target(args["target"]))
        return events.order_by("-created_at", "-pk")


def _target(value: str) -> dict[str, str]:
    for type_name, label in TARGET_LABELS.items():
        try:
            pk = decode_global_id(value, type_name, "target")
        except ApiError:
            continue
        return {"target_type": label, "target_id": str(pk)}
    raise ApiError(
        _("target is not the ID of an object the audit trail records."),
        ApiErrorCode.INVALID_ID,
        argument="target",
    )
