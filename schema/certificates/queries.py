from typing import Any

import graphene
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from graphql import GraphQLResolveInfo

from backend.certificates import codes, services
from backend.certificates.models import ServiceCertificate
from schema.certificates.types import CertificateVerification, ServiceCertificateType
from schema.core.connection import LinliConnectionField
from schema.core.errors import ApiError, ApiErrorCode
from schema.core.scope import current_user

# The read API has no code of its own for "slow down" yet; this is the closest.
RATE_LIMITED = ApiErrorCode.RATE_LIMITED


class CertificateQueries(graphene.ObjectType):
    """Service certificates and their public verification."""

    my_service_certificates = LinliConnectionField(
        ServiceCertificateType,
        description="The signed-in volunteer's service certificates, newest first.",
    )
    verify_service_certificate = graphene.Field(
        CertificateVerification,
        required=True,
        code=graphene.String(
            required=True,
            description="As printed (LL-XXXX-XXXX-XXXX-XXXX); case, dashes and spaces do not "
            "matter and the LL may be left out.",
        ),
        description="Check a certificate's verification code; no sign-in needed. An unknown "
        "code answers status UNKNOWN; text that cannot be a code is an INVALID_ARGUMENT "
        "error. Limited per client address (RATE_LIMITED with retryAfterSeconds).",
    )

    @staticmethod
    def resolve_my_service_certificates(
        root: Any, info: GraphQLResolveInfo, **args: Any
    ) -> QuerySet[ServiceCertificate]:
        user = current_user(info)
        if not user.is_authenticated:
            raise ApiError(_("Sign in first."), ApiErrorCode.UNAUTHENTICATED)
        return ServiceCertificate.objects.filter(volunteer__user_id=user.pk).order_by(
            "-issued_at", "-pk"
        )

    @staticmethod
    def resolve_verify_service_certificate(
        root: Any, info: GraphQLResolveInfo, code: str
    ) -> CertificateVerification:
        try:
            certificate = services.check_code(code, info.context.META.get("REMOTE_ADDR"))
        except services.CheckRateLimited as limited:
            raise ApiError(
                _("Too many checks. Try again in %(seconds)d seconds.")
                % {"seconds": limited.retry_after},
                RATE_LIMITED,
                retryAfterSeconds=limited.retry_after,
            ) from None
        except codes.MalformedCode:
            raise ApiError(
                _("This is not a verification code; check what you typed."),
                ApiErrorCode.INVALID_ARGUMENT,
                argument="code",
            ) from None
        if certificate is None:
            return CertificateVerification.of(None)
        user = current_user(info)
        visible = user.is_authenticated and (
            certificate.volunteer.user_id == user.pk
            or user.has_perm("certificates.revoke_certificate", certificate)
        )
        return CertificateVerification.of(certificate, visible)
