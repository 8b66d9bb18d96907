from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from backend.attendance.models import Attendance, CheckMethod
from schema.core.optimizer import OptimizerHints
from schema.core.types import LinliObjectType

CheckMethodEnum = graphene.Enum.from_enum(
    CheckMethod, description="How a check-in or -out was made."
)


class AttendanceType(LinliObjectType):
    """Check-in state of one sign-up. Reached only through its enrollment, whose visibility
    it shares (the volunteer, and those who run the activity)."""

    checked_in_at = graphene.DateTime(required=True)
    checked_out_at = graphene.DateTime(description="Null while the volunteer is on site.")
    check_in_method = graphene.Field(CheckMethodEnum, required=True)
    check_out_method = graphene.Field(CheckMethodEnum)
    auto_closed = graphene.Boolean(
        required=True,
        description="True when nobody checked out and the shift's end was taken by rule: "
        "worth a look before the hours are verified.",
    )

    optimizer_hints: OptimizerHints = {"auto_closed": {"only": ["check_out_method"]}}

    class Meta:
        model = Attendance
        name = "Attendance"
        fields = ("checked_in_at", "checked_out_at", "check_in_method", "check_out_method")

    @staticmethod
    def resolve_check_out_method(root: Attendance, info: GraphQLResolveInfo) -> Any:
        return root.check_out_method or None


class CheckInCodeType(graphene.ObjectType):
    """The code a coordinator's app shows as a QR code; volunteers scan it to check in."""

    token = graphene.String(required=True)
    expires_at = graphene.DateTime(
        required=True, description="After this, check-ins with this code are refused."
    )
    refresh_in_seconds = graphene.Int(
        required=True, description="Fetch the next code after this many seconds."
    )

    class Meta:
        name = "CheckInCode"
