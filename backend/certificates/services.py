"""Issuing, checking and revoking service certificates.

A certificate states what the service-hours ledger said when it was issued: verified
minutes over a period of local dates, the activities they came from and the organizations
served. Those figures are stored, so the PDF can be rendered again at any time and says the
same; its verification code can be checked by anyone (``check_code``, rate-limited per
client address since the check needs no account).
"""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.accounts import ratelimit
from backend.accounts.models import User
from backend.audit.services import record, snapshot
from backend.certificates import codes
from backend.certificates.error_codes import CertificateErrorCode as Code
from backend.certificates.models import CertificateLanguage, ServiceCertificate
from backend.core.problems import Problems, refuse
from backend.hours.totals import COUNTED, ledger, totals
from backend.volunteers.models import VolunteerProfile

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")
MAX_PERIOD_YEARS = 5
MAX_REASON_LENGTH = 500
# Attempts at a fresh code: a second one is needed only if 80 random bits repeat.
CODE_ATTEMPTS = 3
_AUDITED = ["code", "period_start", "period_end", "verified_minutes", "activity_count"]


@dataclass(frozen=True)
class Figures:
    """What a certificate certifies, read from the ledger."""

    verified_minutes: int
    activity_count: int
    organizations: list[str]


def local_today() -> dt.date:
    return timezone.now().astimezone(LOCAL_ZONE).date()


def figures(volunteer: VolunteerProfile, start: dt.date, end: dt.date) -> Figures:
    """Verified minutes from ``start`` to ``end`` (local dates, both included); the
    activities and organizations with verified minutes left after corrections, the
    organizations by minutes served (most first), then by name."""
    entries = ledger(volunteer=volunteer, start=start, end=end + dt.timedelta(days=1))
    counted = entries.filter(COUNTED).order_by()
    activities = (
        counted.filter(enrollment__isnull=False)
        .values("enrollment__shift__activity")
        .annotate(total=Sum("minutes"))
        .filter(total__gt=0)
    )
    organizations = (
        counted.values("organization_id", "organization__name")
        .annotate(total=Sum("minutes"))
        .filter(total__gt=0)
        .order_by("-total", "organization__name", "organization_id")
    )
    return Figures(
        verified_minutes=totals(entries).verified_minutes,
        activity_count=activities.count(),
        organizations=[row["organization__name"] for row in organizations],
    )


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _check_period(start: dt.date, end: dt.date, language: str) -> None:
    problems = Problems()
    if end < start:
        problems.add(
            "period_end", _("The period cannot end before it starts."), Code.PERIOD_REVERSED
        )
    if end > local_today():
        problems.add(
            "period_end",
            _("The period cannot end after today: only hours already served count."),
            Code.PERIOD_IN_FUTURE,
        )
    if end >= _add_years(start, MAX_PERIOD_YEARS):
        problems.add(
            "period_end",
            _("A certificate covers at most %(years)d years.") % {"years": MAX_PERIOD_YEARS},
            Code.PERIOD_TOO_LONG,
        )
    if language not in CertificateLanguage.values:
        problems.add("language", _("Choose Chinese or English."), Code.INVALID)
    problems.raise_if_any()


def issue_certificate(
    user: User,
    period_start: dt.date,
    period_end: dt.date,
    language: str = CertificateLanguage.ZH_HANS,
) -> ServiceCertificate:
    """A certificate of the user's own verified hours from ``period_start`` to
    ``period_end`` (local dates, both included).

    Asking again for the same period while the ledger says the same returns the
    certificate issued before (a retried request gets one certificate, one code), unless
    it was revoked. Requests of one volunteer are serialized on their profile row, so two
    identical requests at once still make one certificate.
    """
    with transaction.atomic():
        volunteer = VolunteerProfile.objects.select_for_update().filter(user_id=user.pk).first()
        if volunteer is None:
            raise refuse(
                None,
                _("Only volunteers get service certificates; register as a volunteer first."),
                Code.NO_VOLUNTEER_PROFILE,
            )
        _check_period(period_start, period_end, language)
        found = figures(volunteer, period_start, period_end)
        if found.verified_minutes <= 0:
            raise refuse(
                None,
                _("No verified service hours in this period."),
                Code.NO_VERIFIED_HOURS,
            )
        same_request = ServiceCertificate.objects.filter(
            volunteer=volunteer,
            period_start=period_start,
            period_end=period_end,
            language=language,
            verified_minutes=found.verified_minutes,
            activity_count=found.activity_count,
            revoked_at__isnull=True,
        )
        for earlier in same_request:
            if earlier.organizations == found.organizations:
                return earlier
        certificate = _create(volunteer, period_start, period_end, language, found)
        record(
            user,
            "certificate.issue",
            certificate,
            None,
            {name: [None, value] for name, value in snapshot(certificate, _AUDITED).items()},
        )
    return certificate


def _create(
    volunteer: VolunteerProfile,
    period_start: dt.date,
    period_end: dt.date,
    language: str,
    found: Figures,
) -> ServiceCertificate:
    attempts = 0
    while True:
        attempts += 1
        certificate = ServiceCertificate(
            volunteer=volunteer,
            code=codes.new_code(),
            holder_name=volunteer.display_name,
            period_start=period_start,
            period_end=period_end,
            verified_minutes=found.verified_minutes,
            activity_count=found.activity_count,
            organizations=found.organizations,
            language=language,
        )
        try:
            with transaction.atomic():
                certificate.save()
            return certificate
        except IntegrityError:
            if attempts >= CODE_ATTEMPTS:
                raise


class CheckRateLimited(Exception):
    """Too many checks from one address; ``retry_after`` seconds until the next."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def check_code(typed_code: str, ip_address: str | None) -> ServiceCertificate | None:
    """The certificate with this code (revoked ones too: the check says so), or None.

    Raises ``codes.MalformedCode`` for text that cannot be a code, and ``CheckRateLimited``
    when the address checked too many codes lately (malformed ones count too: guessing is
    what the limit is for)."""
    rate = settings.CERTIFICATE_CHECK_RATE_PER_IP
    if wait := ratelimit.hit("certificate-check-ip", ip_address or "-", rate):
        raise CheckRateLimited(wait)
    code = codes.normalize(typed_code)
    return ServiceCertificate.objects.filter(code=code).first()


def revoke_certificate(actor: User, certificate_id: int, reason: str) -> ServiceCertificate:
    """Revoke a certificate issued in error; the check then answers REVOKED. Only those
    who stand behind its hours may (``backend/certificates/rules.py``)."""
    reason = (reason or "").strip()
    with transaction.atomic():
        certificate = (
            ServiceCertificate.objects.select_for_update(of=("self",))
            .select_related("volunteer")
            .filter(pk=certificate_id)
            .first()
        )
        if certificate is None:
            raise refuse("id", _("No service certificate has this ID."), Code.NOT_FOUND)
        if not actor.has_perm("certificates.revoke_certificate", certificate):
            raise PermissionDenied(_("You do not run the activities of these hours."))
        problems = Problems()
        if certificate.revoked_at is not None:
            problems.add(None, _("This certificate is revoked already."), Code.ALREADY_REVOKED)
        if not reason:
            problems.add("reason", _("Say why the certificate is revoked."), Code.REASON_REQUIRED)
        elif len(reason) > MAX_REASON_LENGTH:
            problems.add(
                "reason",
                _("Keep the reason under %(limit)d characters.") % {"limit": MAX_REASON_LENGTH},
                Code.INVALID,
            )
        problems.raise_if_any()
        certificate.revoked_at = timezone.now()
        certificate.revoked_by = actor
        certificate.revoked_reason = reason
        certificate.save(update_fields=["revoked_at", "revoked_by", "revoked_reason"])
        record(
            actor,
            "certificate.revoke",
            certificate,
            None,
            {"revoked_at": [None, certificate.revoked_at.isoformat()]},
            reason,
        )
    return certificate
