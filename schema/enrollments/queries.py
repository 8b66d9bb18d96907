from typing import Any

import graphene
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from graphql import GraphQLResolveInfo

from backend.activities.models import Shift
from backend.enrollments.models import Enrollment
from schema.core.connection import LinliConnectionField
from schema.core.errors import ApiError, ApiErrorCode
from schema.core.ids import decode_global_id
from schema.core.optimizer import optimize_field
from schema.core.scope import current_user
from schema.enrollments.types import EnrollmentStatusEnum, EnrollmentType, with_waitlist_position


class EnrollmentQueries(graphene.ObjectType):
    my_shifts = LinliConnectionField(
        EnrollmentType,
        status=graphene.List(graphene.NonNull(EnrollmentStatusEnum)),
        upcoming=graphene.Boolean(
            description="True: shifts not yet ended, soonest first; false: past ones, latest first."
        ),
        description="The signed-in volunteer's sign-ups.",
    )
    roster = graphene.List(
        graphene.NonNull(EnrollmentType),
        shift=graphene.ID(required=True),
        description="Everyone signed up for a shift (for those who run the activity), in "
        "sign-up order.",
    )

    @staticmethod
    def resolve_my_shifts(root: Any, info: GraphQLResolveInfo, **args: Any) -> QuerySet[Any]:
        user = current_user(info)
        if not user.is_authenticated:
            raise ApiError(_("Sign in first."), ApiErrorCode.UNAUTHENTICATED)
        queryset = Enrollment.objects.filter(volunteer__user=user)
        if args.get("status"):
            queryset = queryset.filter(status__in=args["status"])
        upcoming = args.get("upcoming")
        now = timezone.now()
        if upcoming is True:
            queryset = queryset.filter(shift__ends_at__gt=now).order_by("shift__starts_at", "pk")
        elif upcoming is False:
            queryset = queryset.filter(shift__ends_at__lte=now).order_by("-shift__starts_at", "-pk")
        else:
            queryset = queryset.order_by("shift__starts_at", "pk")
        return with_waitlist_position(queryset)

    @staticmethod
    def resolve_roster(root: Any, info: GraphQLResolveInfo, shift: str) -> list[Enrollment]:
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
        queryset = with_waitlist_position(Enrollment.objects.filter(shift=found))
        return list(optimize_field(queryset.order_by("created_at", "pk"), info))
