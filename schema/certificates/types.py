from decimal import Decimal
from enum import StrEnum
from typing import Any

import graphene
from django.db.models import Exists, OuterRef, Q, QuerySet
from graphql import GraphQLResolveInfo

from backend.certificates import downloads, pdf
from backend.certificates.models import CertificateLanguage, ServiceCertificate
from backend.certificates.rules import managed_hours
from backend.hours.models import ServiceHoursEntry
from backend.hours.totals import COUNTED
from schema.core.connection import CountableConnection
from schema.core.downloads import DownloadLink, download_link
from schema.core.optimizer import OptimizerHints
from schema.core.scope import current_scope, current_user
from schema.core.types import LinliNode, LinliObjectType

CertificateLanguageEnum = graphene.Enum.from_enum(
    CertificateLanguage, name="CertificateLanguage", description="The language of a certificate."
)


class CertificateStatus(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


CertificateStatusEnum = graphene.Enum.from_enum(
    CertificateStatus,
    name="CertificateStatus",
    description="What a verification code stands for: a valid certificate, a revoked one, or none.",
)


def hours_of(certificate: ServiceCertificate) -> Decimal:
    return pdf.verified_hours(certificate.verified_minutes)


class ServiceCertificateConnection(CountableConnection):
    class Meta:
        abstract = True


class ServiceCertificateType(LinliObjectType):
    verified_hours = graphene.Decimal(
        required=True, description="Verified minutes in hours, two decimals (as printed)."
    )
    organizations = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="Organizations served, most hours first, as printed.",
    )
    language = graphene.Field(CertificateLanguageEnum, required=True)
    is_revoked = graphene.Boolean(required=True)
    download = graphene.Field(
        DownloadLink,
        required=True,
        description="A short-lived link to the PDF (A4), rendered on request; a revoked "
        "certificate is stamped as revoked.",
    )

    optimizer_hints: OptimizerHints = {
        "verified_hours": {"only": ["verified_minutes"]},
        "is_revoked": {"only": ["revoked_at"]},
        "download": {"only": ["code", "language"]},
    }

    class Meta:
        model = ServiceCertificate
        name = "ServiceCertificate"
        description = (
            "A certificate of a volunteer's verified service hours over a period, with a "
            "verification code anyone can check (verifyServiceCertificate). What it says is "
            "fixed when it is issued; one issued in error is revoked, never deleted."
        )
        interfaces = (LinliNode,)
        connection_class = ServiceCertificateConnection
        fields = (
            "id",
            "code",
            "holder_name",
            "period_start",
            "period_end",
            "verified_minutes",
            "activity_count",
            "organizations",
            "language",
            "issued_at",
            "revoked_at",
            "revoked_reason",
        )

    @classmethod
    def visible_queryset(cls, queryset: QuerySet[Any], info: GraphQLResolveInfo) -> Any:
        """One's own certificates, and those of hours one stands behind (who may revoke)."""
        user, scope = current_user(info), current_scope(info)
        if not user.is_authenticated:
            return queryset.none()
        if scope.is_platform_admin:
            return queryset
        reach = Q(volunteer__user_id=user.pk)
        if scope.manages_anything:
            managed = ServiceHoursEntry.objects.filter(
                COUNTED,
                managed_hours(scope),
                volunteer_id=OuterRef("volunteer_id"),
                occurred_on__gte=OuterRef("period_start"),
                occurred_on__lte=OuterRef("period_end"),
                verified_at__lte=OuterRef("issued_at"),
            )
            reach |= Q(Exists(managed))
        return queryset.filter(reach)

    @staticmethod
    def resolve_verified_hours(root: ServiceCertificate, info: GraphQLResolveInfo) -> Decimal:
        return hours_of(root)

    @staticmethod
    def resolve_organizations(root: ServiceCertificate, info: GraphQLResolveInfo) -> list[str]:
        return list(root.organizations or [])

    @staticmethod
    def resolve_is_revoked(root: ServiceCertificate, info: GraphQLResolveInfo) -> bool:
        return root.revoked_at is not None

    @staticmethod
    def resolve_download(root: ServiceCertificate, info: GraphQLResolveInfo) -> Any:
        return download_link(info, downloads.KIND, downloads.params_for(root), pdf.filename(root))


class CertificateVerification(graphene.ObjectType):
    """The answer of the public check of a verification code: what the certificate says,
    or UNKNOWN (all else null) when no certificate has the code."""

    valid = graphene.Boolean(
        required=True, description="The code belongs to a certificate that is not revoked."
    )
    status = graphene.Field(CertificateStatusEnum, required=True)
    code = graphene.String(description="The code in canonical form.")
    holder_name = graphene.String()
    period_start = graphene.Date()
    period_end = graphene.Date()
    verified_hours = graphene.Decimal()
    activity_count = graphene.Int()
    organizations = graphene.List(graphene.NonNull(graphene.String))
    issued_at = graphene.DateTime()
    revoked_at = graphene.DateTime()
    revoked_reason = graphene.String()
    certificate = graphene.Field(
        ServiceCertificateType,
        description="The certificate itself, for its holder and for those who may revoke it "
        "(null for everyone else).",
    )

    @staticmethod
    def of(
        certificate: ServiceCertificate | None, visible: bool = False
    ) -> "CertificateVerification":
        if certificate is None:
            return CertificateVerification(valid=False, status=CertificateStatus.UNKNOWN)
        revoked = certificate.revoked_at is not None
        return CertificateVerification(
            valid=not revoked,
            status=CertificateStatus.REVOKED if revoked else CertificateStatus.VALID,
            code=certificate.code,
            holder_name=certificate.holder_name,
            period_start=certificate.period_start,
            period_end=certificate.period_end,
            verified_hours=hours_of(certificate),
            activity_count=certificate.activity_count,
            organizations=list(certificate.organizations or []),
            issued_at=certificate.issued_at,
            revoked_at=certificate.revoked_at,
            revoked_reason=certificate.revoked_reason if revoked else None,
            certificate=certificate if visible else None,
        )
