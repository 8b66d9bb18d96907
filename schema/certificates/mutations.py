import datetime as dt
from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from backend.certificates import services
from backend.certificates.error_codes import CertificateErrorCode
from backend.certificates.models import CertificateLanguage
from schema.certificates.types import CertificateLanguageEnum, ServiceCertificateType
from schema.core.ids import pk_from_global_id
from schema.core.mutations import BaseMutation
from schema.core.scope import current_user


class CertificateMutation(BaseMutation):
    certificate = graphene.Field(ServiceCertificateType, description="Null on errors.")

    class Meta:
        abstract = True


class IssueServiceCertificate(CertificateMutation):
    """A certificate of one's own verified service hours over a period of local dates
    (both included, at most five years, ending today at the latest). Asking again while the
    hours are unchanged returns the same certificate, so a retry never makes two."""

    class Arguments:
        period_start = graphene.Date(required=True, description="First local date counted.")
        period_end = graphene.Date(required=True, description="Last local date counted.")
        language = CertificateLanguageEnum(default_value=CertificateLanguage.ZH_HANS.value)

    class Meta:
        error_codes = CertificateErrorCode
        error_type_name = "CertificateError"

    @classmethod
    def perform_mutation(
        cls,
        root: Any,
        info: GraphQLResolveInfo,
        period_start: dt.date,
        period_end: dt.date,
        language: str = CertificateLanguage.ZH_HANS,
    ) -> "IssueServiceCertificate":
        certificate = services.issue_certificate(
            current_user(info), period_start, period_end, str(getattr(language, "value", language))
        )
        return cls(certificate=certificate, errors=[])


class RevokeServiceCertificate(CertificateMutation):
    """Revoke a certificate issued in error (the check then answers REVOKED), with the
    reason. For those who run the activities of its hours, and platform admins."""

    class Arguments:
        id = graphene.ID(required=True)
        reason = graphene.String(required=True)

    class Meta:
        error_codes = CertificateErrorCode
        error_type_name = "CertificateError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, id: str, reason: str
    ) -> "RevokeServiceCertificate":
        pk = pk_from_global_id(id, "ServiceCertificate", "id")
        certificate = services.revoke_certificate(current_user(info), pk, reason)
        return cls(certificate=certificate, errors=[])


class CertificateMutations(graphene.ObjectType):
    """Issuing and revoking service certificates."""

    issue_service_certificate = IssueServiceCertificate.Field()
    revoke_service_certificate = RevokeServiceCertificate.Field()
