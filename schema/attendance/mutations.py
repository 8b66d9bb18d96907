from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from backend.attendance import services
from backend.attendance.error_codes import AttendanceErrorCode
from backend.attendance.models import Attendance
from schema.attendance.types import AttendanceType
from schema.core.ids import pk_from_global_id
from schema.core.mutations import BaseMutation
from schema.core.scope import current_user
from schema.enrollments.types import EnrollmentType


class AttendanceMutation(BaseMutation):
    """A payload with the attendance and the sign-up it belongs to (whose status changes)."""

    attendance = graphene.Field(AttendanceType)
    enrollment = graphene.Field(EnrollmentType)

    class Meta:
        abstract = True

    @classmethod
    def answer(cls, attendance: Attendance) -> Any:
        return cls(attendance=attendance, enrollment=attendance.enrollment, errors=[])


class CheckIn(AttendanceMutation):
    """Check in with the code the coordinator shows, sending where you are (required when
    the activity sets a radius). Repeating a check-in that succeeded returns it."""

    class Arguments:
        shift_id = graphene.ID(required=True)
        token = graphene.String(required=True)
        latitude = graphene.Float()
        longitude = graphene.Float()

    class Meta:
        error_codes = AttendanceErrorCode
        error_type_name = "AttendanceError"

    @classmethod
    def perform_mutation(
        cls,
        root: Any,
        info: GraphQLResolveInfo,
        shift_id: str,
        token: str,
        latitude: float | None = None,
        longitude: float | None = None,
    ) -> "CheckIn":
        pk = pk_from_global_id(shift_id, "Shift", "shift_id")
        attendance = services.check_in_with_token(
            current_user(info), pk, token, latitude, longitude
        )
        return cls.answer(attendance)


class CheckOut(AttendanceMutation):
    """Check out when leaving (until the check-in grace period after the shift ends; on
    site when the activity sets a radius). Repeating a check-out returns it."""

    class Arguments:
        shift_id = graphene.ID(required=True)
        latitude = graphene.Float()
        longitude = graphene.Float()

    class Meta:
        error_codes = AttendanceErrorCode
        error_type_name = "AttendanceError"

    @classmethod
    def perform_mutation(
        cls,
        root: Any,
        info: GraphQLResolveInfo,
        shift_id: str,
        latitude: float | None = None,
        longitude: float | None = None,
    ) -> "CheckOut":
        pk = pk_from_global_id(shift_id, "Shift", "shift_id")
        return cls.answer(services.check_out(current_user(info), pk, latitude, longitude))


class CheckInVolunteer(AttendanceMutation):
    """For those who run the activity: check a volunteer in at ``at`` (default: now),
    within the shift's check-in window."""

    class Arguments:
        enrollment_id = graphene.ID(required=True)
        at = graphene.DateTime()

    class Meta:
        error_codes = AttendanceErrorCode
        error_type_name = "AttendanceError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, enrollment_id: str, at: Any = None
    ) -> "CheckInVolunteer":
        pk = pk_from_global_id(enrollment_id, "Enrollment", "enrollment_id")
        return cls.answer(services.manual_check_in(current_user(info), pk, at))


class CheckOutVolunteer(AttendanceMutation):
    """For those who run the activity: check a volunteer out at ``at`` (default: now)."""

    class Arguments:
        enrollment_id = graphene.ID(required=True)
        at = graphene.DateTime()

    class Meta:
        error_codes = AttendanceErrorCode
        error_type_name = "AttendanceError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, enrollment_id: str, at: Any = None
    ) -> "CheckOutVolunteer":
        pk = pk_from_global_id(enrollment_id, "Enrollment", "enrollment_id")
        return cls.answer(services.manual_check_out(current_user(info), pk, at))


class MarkNoShow(BaseMutation):
    """For those who run the activity: a confirmed volunteer did not come (once the shift
    has started). A volunteer who turns up later may still be checked in."""

    enrollment = graphene.Field(EnrollmentType)

    class Arguments:
        enrollment_id = graphene.ID(required=True)

    class Meta:
        error_codes = AttendanceErrorCode
        error_type_name = "AttendanceError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, enrollment_id: str
    ) -> "MarkNoShow":
        pk = pk_from_global_id(enrollment_id, "Enrollment", "enrollment_id")
        return cls(enrollment=services.mark_no_show(current_user(info), pk), errors=[])


class AttendanceMutations(graphene.ObjectType):
    """Check-in, check-out and attendance marking."""

    check_in = CheckIn.Field()
    check_out = CheckOut.Field()
    check_in_volunteer = CheckInVolunteer.Field()
    check_out_volunteer = CheckOutVolunteer.Field()
    mark_no_show = MarkNoShow.Field()
