from typing import Any

import graphene
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from graphql import GraphQLResolveInfo

from backend.accounts.phone import mask_phone
from backend.activities.rules import managed_activities
from backend.attendance.models import Attendance
from backend.enrollments.models import Enrollment, EnrollmentStatus
from schema.attendance.types import AttendanceType
from schema.core.connection import CountableConnection
from schema.core.optimizer import OptimizerHints
from schema.core.scope import current_scope, current_user
from schema.core.types import LinliNode, LinliObjectType
from schema.hours.types import ServiceHoursEntryType

EnrollmentStatusEnum = graphene.Enum.from_enum(
    EnrollmentStatus, description="Where a sign-up stands."
)


def with_waitlist_position(queryset: QuerySet[Enrollment]) -> QuerySet[Enrollment]:
    """Annotate each waitlisted sign-up with its place in the queue (1 = next), in SQL."""
    ahead = (
        Enrollment.objects.filter(shift_id=OuterRef("shift_id"), status=EnrollmentStatus.WAITLISTED)
        .filter(
            Q(created_at__lt=OuterRef("created_at"))
            | Q(created_at=OuterRef("created_at"), pk__lt=OuterRef("pk"))
        )
        .order_by()
        .values("shift_id")
        .annotate(count=Count("pk"))
        .values("count")
    )
    # Nobody ahead yields no row, hence the Coalesce (0 ahead, not "unknown").
    return queryset.annotate(people_ahead=Coalesce(Subquery(ahead, output_field=IntegerField()), 0))


class EnrollmentType(LinliObjectType):
    status = graphene.Field(EnrollmentStatusEnum, required=True)
    signed_up_at = graphene.DateTime(required=True)
    waitlist_position = graphene.Int(
        description="For a sign-up on the waiting list: 1 = next to get a place."
    )
    phone = graphene.String(
        description="The volunteer's phone for this sign-up: for the volunteer and for those "
        "who run the activity; masked (138****1234) for anyone else."
    )
    attendance = graphene.Field(
        AttendanceType, description="Check-in and check-out; null until the volunteer checks in."
    )
    hours_entries = graphene.List(
        graphene.NonNull(ServiceHoursEntryType),
        required=True,
        description="Service hours this sign-up earned (ledger entries, corrections included): "
        "what a coordinator verifies from the roster.",
    )

    optimizer_hints: OptimizerHints = {
        "signed_up_at": {"only": ["created_at"]},
        "waitlist_position": {"only": ["status", "created_at", "shift"]},
        "phone": {
            "select": [
                "volunteer__user",
                "shift__activity__organizer__region",
                "shift__activity__region",
            ]
        },
    }

    class Meta:
        model = Enrollment
        name = "Enrollment"
        description = "A volunteer's place on a shift."
        interfaces = (LinliNode,)
        connection_class = CountableConnection
        fields = (
            "id",
            "shift",
            "volunteer",
            "status",
            "promoted_at",
            "cancelled_at",
            "cancellation_reason",
            "is_late_cancellation",
        )

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> Any:
        """One's own sign-ups, and those on shifts of activities one manages."""
        user = current_user(info)
        if not user.is_authenticated:
            return queryset.none()
        managed = managed_activities(current_scope(info), prefix="shift__activity__")
        if managed is None:
            return queryset
        return queryset.filter(Q(volunteer__user_id=user.pk) | managed)

    @staticmethod
    def resolve_phone(root: Enrollment, info: GraphQLResolveInfo) -> str | None:
        user = current_user(info)
        phone = root.volunteer.user.phone
        runs_it = user.has_perm("activities.change_activity", root.shift.activity)
        return phone if runs_it or root.volunteer.user_id == user.pk else mask_phone(phone)

    @staticmethod
    def resolve_hours_entries(root: Enrollment, info: GraphQLResolveInfo) -> list[Any]:
        return list(root.hours_entries.all())

    @staticmethod
    def resolve_attendance(root: Enrollment, info: GraphQLResolveInfo) -> Attendance | None:
        # A missing reverse one-to-one raises; the optimizer's join caches it as None.
        return getattr(root, "attendance", None)

    @staticmethod
    def resolve_signed_up_at(root: Enrollment, info: GraphQLResolveInfo) -> Any:
        return root.created_at

    @staticmethod
    def resolve_waitlist_position(root: Enrollment, info: GraphQLResolveInfo) -> int | None:
        if root.status != EnrollmentStatus.WAITLISTED:
            return None
        ahead = getattr(root, "people_ahead", None)
        if ahead is None:  # a single sign-up fetched without the annotation
            ahead = (
                Enrollment.objects.filter(
                    shift_id=root.shift_id, status=EnrollmentStatus.WAITLISTED
                )
                .filter(
                    Q(created_at__lt=root.created_at)
                    | Q(created_at=root.created_at, pk__lt=root.pk)
                )
                .count()
            )
        return int(ahead) + 1
