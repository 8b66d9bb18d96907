"""Issuing and revoking certificates in the domain layer: what is counted, what is refused,
retries, codes."""

import datetime as dt
import threading

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, close_old_connections, transaction

from backend.audit.models import AuditEvent
from backend.certificates import codes, services
from backend.certificates.error_codes import CertificateErrorCode as Code
from backend.certificates.models import ServiceCertificate
from backend.certificates.services import issue_certificate, revoke_certificate
from tests.certificates.conftest import local
from tests.fixtures import make_coordinator, make_user, make_volunteer

MARCH_1, MARCH_31 = dt.date(2025, 3, 1), dt.date(2025, 3, 31)


def codes_of(error: ValidationError) -> list[str]:
    return sorted(e.code or "" for errors in error.error_dict.values() for e in errors)


def refusal(call) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        call()
    return codes_of(refused.value)


def test_counts_exactly_the_verified_minutes_of_the_period(hours, volunteer, community):
    # given: in March, 150 + 90 verified minutes, 30 taken off the first by a correction
    first = hours.served(volunteer, local(dt.date(2025, 3, 3)), 150)
    hours.correct(first, -30)
    hours.served(volunteer, local(dt.date(2025, 3, 20)), 90, organization=community.team)
    # pending: not verified yet, and a correction of it (counts only once it is verified)
    pending = hours.served(volunteer, local(dt.date(2025, 3, 10)), 600, verified=False)
    hours.correct(pending, 15)
    # outside the period, verified
    hours.served(volunteer, local(dt.date(2025, 2, 28)), 45)
    hours.served(volunteer, local(dt.date(2025, 4, 1)), 45)
    # another volunteer's hours
    hours.served(make_volunteer("someone-else"), local(dt.date(2025, 3, 5)), 300)

    certificate = issue_certificate(volunteer, MARCH_1, MARCH_31, "zh-hans")

    assert certificate.verified_minutes == 150 - 30 + 90
    assert certificate.activity_count == 2
    # most minutes first
    assert certificate.organizations == [community.committee.name, community.team.name]
    assert certificate.holder_name == volunteer.volunteer_profile.display_name
    assert (certificate.period_start, certificate.period_end) == (MARCH_1, MARCH_31)
    assert codes.normalize(certificate.code) == certificate.code
    assert AuditEvent.objects.filter(
        action="certificate.issue", target_id=str(certificate.pk)
    ).exists()


def test_activities_and_organizations_with_nothing_left_after_corrections_are_not_listed(
    hours, volunteer, community
):
    kept = hours.served(volunteer, local(dt.date(2025, 3, 3)), 60)
    cancelled_out = hours.served(
        volunteer, local(dt.date(2025, 3, 4)), 60, organization=community.team
    )
    hours.correct(cancelled_out, -60)

    certificate = issue_certificate(volunteer, MARCH_1, MARCH_31)

    assert (certificate.verified_minutes, certificate.activity_count) == (kept.minutes, 1)
    assert certificate.organizations == [community.committee.name]


def test_the_period_is_of_local_dates_in_shanghai_both_ends_included(hours, volunteer):
    # 23:30 on 31 March in Shanghai is 15:30 UTC: it counts on the 31st
    hours.served(volunteer, local(MARCH_31, 23, 30), 60)
    # 00:30 on 1 April in Shanghai is still 31 March in UTC: it counts on 1 April
    hours.served(volunteer, local(dt.date(2025, 4, 1), 0, 30), 25)
    # the first day of the period counts from its midnight
    hours.served(volunteer, local(MARCH_1, 0, 0), 10)
    hours.served(volunteer, local(MARCH_1 - dt.timedelta(days=1), 23, 59), 7)

    assert issue_certificate(volunteer, MARCH_1, MARCH_31).verified_minutes == 70
    assert issue_certificate(volunteer, MARCH_31, MARCH_31).verified_minutes == 60
    april_1 = dt.date(2025, 4, 1)
    assert issue_certificate(volunteer, april_1, april_1).verified_minutes == 25


def test_asking_again_with_the_same_figures_returns_the_same_certificate(hours, volunteer):
    entry = hours.served(volunteer, local(dt.date(2025, 3, 3)), 120)
    first = issue_certificate(volunteer, MARCH_1, MARCH_31)

    assert issue_certificate(volunteer, MARCH_1, MARCH_31) == first
    assert ServiceCertificate.objects.count() == 1

    # a new certificate when the figures changed, the period differs or the first was revoked
    hours.correct(entry, 30)
    changed = issue_certificate(volunteer, MARCH_1, MARCH_31)
    assert changed != first
    assert changed.verified_minutes == 150
    assert issue_certificate(volunteer, MARCH_1, dt.date(2025, 3, 30)) not in (first, changed)
    assert issue_certificate(volunteer, MARCH_1, MARCH_31, "en") not in (first, changed)
    revoke_certificate(hours.coordinator, changed.pk, "重复开具")
    again = issue_certificate(volunteer, MARCH_1, MARCH_31)
    assert again not in (first, changed)
    assert again.verified_minutes == 150
    assert len({c.code for c in ServiceCertificate.objects.all()}) == 5


def test_refusals(hours, volunteer):
    hours.served(volunteer, local(dt.date(2025, 3, 3)), 120)
    today = services.local_today()

    assert refusal(lambda: issue_certificate(make_user("not-a-volunteer"), MARCH_1, MARCH_31)) == [
        Code.NO_VOLUNTEER_PROFILE
    ]
    assert refusal(lambda: issue_certificate(volunteer, MARCH_31, MARCH_1)) == [
        Code.PERIOD_REVERSED
    ]
    tomorrow = today + dt.timedelta(days=1)
    assert refusal(lambda: issue_certificate(volunteer, MARCH_1, tomorrow)) == [
        Code.PERIOD_IN_FUTURE
    ]
    assert refusal(lambda: issue_certificate(volunteer, dt.date(2020, 3, 3), MARCH_31)) == [
        Code.PERIOD_TOO_LONG
    ]
    assert refusal(lambda: issue_certificate(volunteer, MARCH_1, MARCH_31, "fr")) == [Code.INVALID]
    assert refusal(lambda: issue_certificate(volunteer, dt.date(2025, 4, 1), today)) == [
        Code.NO_VERIFIED_HOURS
    ]
    # every fault of the input at once
    day_after = tomorrow + dt.timedelta(days=1)
    assert refusal(lambda: issue_certificate(volunteer, day_after, tomorrow, "fr")) == sorted(
        [Code.INVALID, Code.PERIOD_IN_FUTURE, Code.PERIOD_REVERSED]
    )
    assert not ServiceCertificate.objects.exists()


def test_five_years_at_most(hours, volunteer):
    hours.served(volunteer, local(dt.date(2024, 2, 29)), 60)

    assert issue_certificate(volunteer, dt.date(2020, 3, 1), dt.date(2025, 2, 28))
    assert refusal(lambda: issue_certificate(volunteer, dt.date(2020, 3, 1), MARCH_1)) == [
        Code.PERIOD_TOO_LONG
    ]
    # from 29 February, five years end on 27 February (there is no 29th)
    assert issue_certificate(volunteer, dt.date(2020, 2, 29), dt.date(2025, 2, 27))
    assert refusal(
        lambda: issue_certificate(volunteer, dt.date(2020, 2, 29), dt.date(2025, 2, 28))
    ) == [Code.PERIOD_TOO_LONG]


def test_today_is_the_local_date_in_shanghai(hours, volunteer):
    hours.served(volunteer, local(dt.date(2025, 3, 3)), 60)
    # 00:30 on 1 June in Shanghai, still 31 May in UTC
    with time_machine.travel(local(dt.date(2025, 6, 1), 0, 30), tick=False):
        assert issue_certificate(volunteer, MARCH_1, dt.date(2025, 6, 1)).verified_minutes == 60
        assert refusal(lambda: issue_certificate(volunteer, MARCH_1, dt.date(2025, 6, 2))) == [
            Code.PERIOD_IN_FUTURE
        ]
    # 23:30 on 31 May in Shanghai: 1 June is tomorrow
    with time_machine.travel(local(dt.date(2025, 5, 31), 23, 30), tick=False):
        assert refusal(lambda: issue_certificate(volunteer, MARCH_1, dt.date(2025, 6, 1))) == [
            Code.PERIOD_IN_FUTURE
        ]


def test_codes_are_typable_random_and_normalized():
    code = codes.new_code()
    assert len(code) == len("LL-7K3M-Q9TX-4HWD-2PZA")
    body = code.removeprefix("LL-").replace("-", "")
    assert len(body) * 5 >= 80
    assert set(body) <= set(codes.ALPHABET)
    assert not set("ILOU") & set(codes.ALPHABET)
    assert len({codes.new_code() for _ in range(1000)}) == 1000

    canonical = "LL-7K3M-Q9TX-4HWD-2PZA"
    for typed in [
        canonical,
        "ll-7k3m-q9tx-4hwd-2pza",
        " LL 7K3M Q9TX 4HWD 2PZA ",
        "7K3MQ9TX4HWD2PZA",
        "LL7K3M-Q9TX4HWD-2PZA",
    ]:
        assert codes.normalize(typed) == canonical
    # read as Crockford's base32: O is 0, I and L are 1
    assert codes.normalize("LL-OOOO-IIII-LLLL-0000") == "LL-0000-1111-1111-0000"
    for malformed in [
        "",
        "LL-7K3M",
        "LL-7K3M-Q9TX-4HWD-2PZA-X",
        "LL-7K3M-Q9TX-4HWD-2PZU",
        "验证码",
    ]:
        with pytest.raises(codes.MalformedCode):
            codes.normalize(malformed)


def test_codes_are_unique_and_a_repeated_one_is_drawn_again(hours, volunteer, monkeypatch):
    hours.served(volunteer, local(dt.date(2025, 3, 3)), 60)
    first = issue_certificate(volunteer, MARCH_1, MARCH_31)
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceCertificate.objects.create(
            volunteer=first.volunteer,
            code=first.code,
            holder_name="x",
            period_start=MARCH_1,
            period_end=MARCH_31,
            verified_minutes=1,
            activity_count=0,
        )

    drawn = iter([first.code, "LL-2222-3333-4444-5555"])
    monkeypatch.setattr(codes, "new_code", lambda: next(drawn))
    second = issue_certificate(volunteer, MARCH_1, MARCH_31, "en")

    assert second.code == "LL-2222-3333-4444-5555"
    assert ServiceCertificate.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_identical_requests_at_once_make_one_certificate(community):
    from tests.certificates.conftest import Hours

    hours = Hours(community)
    volunteer = make_volunteer("concurrent-holder")
    hours.served(volunteer, local(dt.date(2025, 3, 3)), 60)
    barrier = threading.Barrier(4)
    issued: list[int] = []

    def request() -> None:
        try:
            barrier.wait()
            issued.append(issue_certificate(volunteer, MARCH_1, MARCH_31).pk)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(issued) == 4
    assert len(set(issued)) == 1
    assert ServiceCertificate.objects.count() == 1


def test_revoking(hours, volunteer):
    hours.served(volunteer, local(dt.date(2025, 3, 3)), 60)
    certificate = issue_certificate(volunteer, MARCH_1, MARCH_31)

    assert refusal(lambda: revoke_certificate(hours.coordinator, certificate.pk, "  ")) == [
        Code.REASON_REQUIRED
    ]
    assert refusal(lambda: revoke_certificate(hours.coordinator, certificate.pk, "x" * 501)) == [
        Code.INVALID
    ]
    assert refusal(lambda: revoke_certificate(hours.coordinator, 10**9, "重复")) == [Code.NOT_FOUND]
    with pytest.raises(PermissionDenied):
        revoke_certificate(volunteer, certificate.pk, "我自己撤销")

    revoked = revoke_certificate(hours.coordinator, certificate.pk, " 时长登记有误 ")

    assert revoked.revoked_at is not None
    assert revoked.revoked_by == hours.coordinator
    assert revoked.revoked_reason == "时长登记有误"
    event = AuditEvent.objects.get(action="certificate.revoke", target_id=str(certificate.pk))
    assert (event.actor, event.reason) == (hours.coordinator, "时长登记有误")
    assert refusal(lambda: revoke_certificate(hours.coordinator, certificate.pk, "再次")) == [
        Code.ALREADY_REVOKED
    ]


def test_only_those_behind_the_certified_hours_may_revoke(hours, volunteer, community):
    # hours of the team (in the grid), none of the committee
    hours.served(
        volunteer,
        local(dt.date(2025, 3, 3)),
        60,
        organization=community.team,
        region=community.grid,
    )
    certificate = issue_certificate(volunteer, MARCH_1, MARCH_31)
    # hours of the committee verified after the certificate was issued widen nothing
    hours.served(volunteer, local(dt.date(2025, 3, 4)), 60)
    committee_coordinator = make_coordinator(community.committee, "committee-coordinator")
    team_coordinator = make_coordinator(community.team, "team-coordinator")

    assert not committee_coordinator.has_perm("certificates.revoke_certificate", certificate)
    assert team_coordinator.has_perm("certificates.revoke_certificate", certificate)
    assert make_user("root", superuser=True).has_perm(
        "certificates.revoke_certificate", certificate
    )
