from typing import Any

import graphene
from django.utils import timezone
from django.utils.translation import gettext as _
from graphql import GraphQLResolveInfo

from backend.activities.models import ActivityStatus, Shift
from backend.attendance import tokens
from schema.attendance.types import CheckInCodeType
from schema.core.errors import ApiError, ApiErrorCode
from schema.core.ids import decode_global_id
from schema.core.scope import current_user


class AttendanceQueries(graphene.ObjectType):
    """Check-in codes for coordinators."""

    check_in_code = graphene.Field(
        graphene.NonNull(CheckInCodeType),
        shift=graphene.ID(required=True),
        description="The current check-in code of a shift, for those who run the activity. "
        "It rotates: fetch it again after refreshInSeconds.",
    )

    @staticmethod
    def resolve_check_in_code(root: Any, info: GraphQLResolveInfo, shift: str) -> CheckInCodeType:
        user = current_user(info)
        if not user.is_authenticated:
            raise ApiError(_("Sign in first."), ApiErrorCode.UNAUTHENTICATED)
        found = (
            Shift.objects.select_related("activity__organizer__region", "activity__region")
            .filter(pk=decode_global_id(shift, "Shift", "shift"))
            .first()
        )
        if found is None or not user.has_perm("activities.change_activity", found.activity):
            raise ApiError(
                _("You do not run this shift's activity."), ApiErrorCode.PERMISSION_DENIED
            )
        if found.activity.status != ActivityStatus.PUBLISHED:
            raise ApiError(_("This activity is not taking place."), ApiErrorCode.INVALID_ARGUMENT)
        now = timezone.now()
        code = tokens.issue(found, now)
        return CheckInCodeType(
            token=code.token,
            expires_at=code.expires_at,
            refresh_in_seconds=max(1, int((code.refresh_at - now).total_seconds())),
        )
