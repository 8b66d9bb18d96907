from typing import Any

import graphene
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from graphql import GraphQLResolveInfo

from backend.hours import services
from backend.hours.error_codes import HoursErrorCode
from schema.core.ids import pk_from_global_id, pks_from_global_ids
from schema.core.mutations import BaseMutation
from schema.core.scope import current_user
from schema.hours.types import ServiceHoursEntryType


class VerifyServiceHours(BaseMutation):
    """Confirm service hours of activities one runs (at most 200 entries a call). All or
    nothing: hours verified already, or one's own, refuse the whole call."""

    entries = graphene.List(
        graphene.NonNull(ServiceHoursEntryType),
        description="The verified entries (null on errors).",
    )

    class Arguments:
        entry_ids = graphene.List(graphene.NonNull(graphene.ID), required=True)

    class Meta:
        error_codes = HoursErrorCode
        error_type_name = "HoursError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, entry_ids: list[str]
    ) -> "VerifyServiceHours":
        if len(entry_ids) > services.MAX_VERIFY_BATCH:  # before decoding a huge list
            raise ValidationError(
                {
                    "entry_ids": ValidationError(
                        _("Verify at most %(limit)d entries at a time.")
                        % {"limit": services.MAX_VERIFY_BATCH},
                        code=HoursErrorCode.TOO_MANY.value,
                    )
                }
            )
        pks = pks_from_global_ids(entry_ids, "ServiceHoursEntry", "entry_ids")
        verified = services.verify_entries(current_user(info), pks)
        return cls(entries=verified, errors=[])


class CorrectServiceHours(BaseMutation):
    """Correct an attendance entry by adding or taking away minutes, with a reason. The
    entry itself never changes: the correction is a new entry, verified at once. Hours
    cannot go below zero."""

    correction = graphene.Field(ServiceHoursEntryType)

    class Arguments:
        entry_id = graphene.ID(required=True)
        minutes = graphene.Int(
            required=True, description="Minutes to add (positive) or take away (negative)."
        )
        reason = graphene.String(required=True)

    class Meta:
        error_codes = HoursErrorCode
        error_type_name = "HoursError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, entry_id: str, minutes: int, reason: str
    ) -> "CorrectServiceHours":
        pk = pk_from_global_id(entry_id, "ServiceHoursEntry", "entry_id")
        correction = services.correct_entry(current_user(info), pk, minutes, reason)
        return cls(correction=correction, errors=[])


class HoursMutations(graphene.ObjectType):
    """Verifying and correcting service hours."""

    verify_service_hours = VerifyServiceHours.Field()
    correct_service_hours = CorrectServiceHours.Field()
