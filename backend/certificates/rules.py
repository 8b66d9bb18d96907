"""Who may revoke and download service certificates (``user.has_perm(perm, certificate)``).

- ``certificates.revoke_certificate``: whoever stands behind the hours it certifies — the
  coordinators and admins of an organization of those hours and the administrators of a
  region they were served in or of such an organization's region (the people who may
  verify them, see ``backend/hours/rules.py``), and platform admins. The hours are the
  ledger entries of the period that counted when the certificate was issued (the ledger
  never loses entries, so they are found again; hours verified later do not widen the
  circle).
- ``certificates.download_certificate``: its holder, and whoever may revoke it.
"""

from typing import Any

import rules
from django.db.models import Q, QuerySet

from backend.accounts.scopes import Scope, scope_of
from backend.certificates.models import ServiceCertificate
from backend.hours.models import ServiceHoursEntry
from backend.hours.totals import COUNTED


def managed_hours(scope: Scope) -> Q:
    """Ledger entries whose activities someone with ``scope`` runs (never for admins:
    they reach everything without a filter)."""
    reach = Q(organization_id__in=sorted(scope.coordinated_organization_ids))
    for path in scope.region_paths:
        reach |= Q(organization__region__path__startswith=path)
        reach |= Q(region__path__startswith=path)
    return reach


def certified_hours(certificate: ServiceCertificate) -> QuerySet[ServiceHoursEntry]:
    """The entries the certificate counted."""
    return ServiceHoursEntry.objects.filter(
        COUNTED,
        volunteer_id=certificate.volunteer_id,
        occurred_on__gte=certificate.period_start,
        occurred_on__lte=certificate.period_end,
        verified_at__lte=certificate.issued_at,
    )


def revoker_scope_allows(scope: Scope, certificate: ServiceCertificate) -> bool:
    if scope.is_platform_admin:
        return True
    if not scope.manages_anything:
        return False
    return certified_hours(certificate).filter(managed_hours(scope)).exists()


@rules.predicate
def may_revoke(user: Any, certificate: ServiceCertificate | None) -> bool:
    return certificate is not None and revoker_scope_allows(scope_of(user), certificate)


@rules.predicate
def holds(user: Any, certificate: ServiceCertificate | None) -> bool:
    return (
        certificate is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and certificate.volunteer.user_id == user.pk
    )


rules.add_perm("certificates.revoke_certificate", may_revoke)
rules.add_perm("certificates.download_certificate", holds | may_revoke)
