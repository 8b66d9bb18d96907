from typing import Any

import graphene
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from graphql import GraphQLResolveInfo

from backend.enrollments import services
from backend.enrollments.error_codes import EnrollmentErrorCode
from backend.enrollments.models import Enrollment
from schema.core.ids import get_by_global_id, pk_from_global_id
from schema.core.mutations import BaseMutation
from schema.core.scope import current_user
from schema.enrollments.types import EnrollmentType


class EnrollmentMutation(BaseMutation):
    class Meta:
        abstract = True

    @staticmethod
    def managed_enrollment(info: GraphQLResolveInfo, enrollment_id: str) -> Enrollment:
        """A sign-up on a shift the caller manages (NOT_FOUND for anything else: a sign-up
        is personal data, its existence included)."""
        queryset = Enrollment.objects.select_related(
            "shift__activity__organizer__region", "shift__activity__region"
        )
        enrollment = get_by_global_id(queryset, enrollment_id, "Enrollment", "enrollment_id")
        if not current_user(info).has_perm("activities.change_activity", enrollment.shift.activity):
            raise PermissionDenied(_("You do not run this activity."))
        return enrollment


class EnrollInShift(EnrollmentMutation):
    """Sign up for a shift. Send a fresh idempotencyKey per sign-up (e.g. a UUID) and the
    same key again when retrying: the retry gets the first answer and changes nothing."""

    enrollment = graphene.Field(EnrollmentType)
    replayed = graphene.Boolean(description="True when this answers an earlier request.")

    class Arguments:
        shift_id = graphene.ID(required=True)
        idempotency_key = graphene.String(required=True)

    class Meta:
        error_codes = EnrollmentErrorCode
        error_type_name = "EnrollmentError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, shift_id: str, idempotency_key: str
    ) -> "EnrollInShift":
        pk = pk_from_global_id(shift_id, "Shift", "shift_id")
        signed_up = services.enroll(current_user(info), pk, idempotency_key)
        return cls(enrollment=signed_up.enrollment, replayed=signed_up.replayed, errors=[])


class CancelEnrollment(EnrollmentMutation):
    """Cancel a sign-up: one's own (until the shift starts; after the activity's cut-off it
    counts as late), or any on a shift one runs. A freed place goes to the first on the
    waiting list at once."""

    enrollment = graphene.Field(EnrollmentType)
    promoted = graphene.Field(
        EnrollmentType,
        description="Who got the freed place, if anyone (shown to coordinators only).",
    )

    class Arguments:
        id = graphene.ID(required=True)
        reason = graphene.String()

    class Meta:
        error_codes = EnrollmentErrorCode
        error_type_name = "EnrollmentError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, id: str, reason: str | None = None
    ) -> "CancelEnrollment":
        user = current_user(info)
        pk = pk_from_global_id(id, "Enrollment", "enrollment_id")
        own = Enrollment.objects.filter(pk=pk, volunteer__user=user).exists()
        if not own:
            cls.managed_enrollment(info, id)
        cancelled = services.cancel(user, pk, reason or "", by_coordinator=not own)
        return cls(
            enrollment=cancelled.enrollment,
            promoted=None if own else cancelled.promoted,
            errors=[],
        )


class DecideEnrollment(EnrollmentMutation):
    enrollment = graphene.Field(EnrollmentType)

    class Meta:
        abstract = True

    approve: bool

    @classmethod
    def perform_mutation(cls, root: Any, info: GraphQLResolveInfo, id: str) -> Any:
        enrollment = cls.managed_enrollment(info, id)
        decided = services.decide(current_user(info), enrollment.pk, approve=cls.approve)
        return cls(enrollment=decided, errors=[])


class ApproveEnrollment(DecideEnrollment):
    """Accept a pending sign-up: confirmed if a place is free, else on the waiting list."""

    approve = True

    class Arguments:
        id = graphene.ID(required=True)

    class Meta:
        error_codes = EnrollmentErrorCode
        error_type_name = "EnrollmentError"


class RejectEnrollment(DecideEnrollment):
    """Turn down a pending sign-up."""

    approve = False

    class Arguments:
        id = graphene.ID(required=True)

    class Meta:
        error_codes = EnrollmentErrorCode
        error_type_name = "EnrollmentError"


class EnrollmentMutations(graphene.ObjectType):
    enroll_in_shift = EnrollInShift.Field()
    cancel_enrollment = CancelEnrollment.Field()
    approve_enrollment = ApproveEnrollment.Field()
    reject_enrollment = RejectEnrollment.Field()
