"""Service certificates through the API: issuing, the list, the public check, revoking and
the PDF download."""

import datetime as dt
import io
from urllib.parse import urlsplit

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from graphql_relay import to_global_id
from pypdf import PdfReader

from backend.certificates import downloads as certificate_downloads
from backend.certificates.models import ServiceCertificate
from backend.certificates.services import issue_certificate, local_today
from backend.core import downloads
from tests.certificates.conftest import local
from tests.fixtures import make_user, make_volunteer, sign_in
from tests.permissions import ALLOWED, ANONYMOUS, CALLERS, database_fingerprint

ISSUE = """
mutation Issue($start: Date!, $end: Date!, $language: CertificateLanguage) {
  issueServiceCertificate(periodStart: $start, periodEnd: $end, language: $language) {
    certificate { id code holderName periodStart periodEnd verifiedMinutes verifiedHours
                  activityCount organizations language isRevoked
                  download { url filename expiresAt } }
    errors { field code message }
  }
}
"""
REVOKE = """
mutation Revoke($id: ID!, $reason: String!) {
  revokeServiceCertificate(id: $id, reason: $reason) {
    certificate { id isRevoked revokedAt revokedReason }
    errors { field code message }
  }
}
"""
MINE = """
query Mine {
  myServiceCertificates(first: 50) {
    totalCount
    edges { node { id code holderName periodStart periodEnd verifiedHours activityCount
                   organizations issuedAt revokedAt isRevoked download { url filename } } }
  }
}
"""
VERIFY = """
query Verify($code: String!) {
  verifyServiceCertificate(code: $code) {
    valid status code holderName periodStart periodEnd verifiedHours activityCount
    organizations issuedAt revokedAt revokedReason certificate { id }
  }
}
"""
MARCH = {"start": "2025-03-01", "end": "2025-03-31"}


@pytest.fixture
def holder(hours, volunteer):
    """A volunteer with 12.5 verified hours in March 2025, signed in."""
    hours.served(volunteer, local(dt.date(2025, 3, 3)), 450)
    hours.served(volunteer, local(dt.date(2025, 3, 17)), 300)
    return volunteer, sign_in(volunteer)


def issue(gql, token, variables=MARCH):
    return gql.with_token(token).mutate(ISSUE, variables)


def test_a_volunteer_gets_a_certificate_of_their_hours(gql, holder, community):
    answer = issue(gql, holder[1])

    assert answer["errors"] == []
    certificate = answer["certificate"]
    assert certificate["verifiedMinutes"] == 750
    assert certificate["verifiedHours"] == "12.50"
    assert certificate["activityCount"] == 2
    assert certificate["organizations"] == [community.committee.name]
    assert certificate["language"] == "ZH_HANS"
    assert certificate["isRevoked"] is False
    assert certificate["download"]["filename"] == f"志愿服务证明-{certificate['code']}.pdf"
    # a retry answers the same certificate
    assert issue(gql, holder[1])["certificate"]["code"] == certificate["code"]


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"start": "2025-03-31", "end": "2025-03-01"}, [("periodEnd", "PERIOD_REVERSED")]),
        ({"start": "today", "end": "tomorrow"}, [("periodEnd", "PERIOD_IN_FUTURE")]),
        ({"start": "2020-01-01", "end": "2025-03-31"}, [("periodEnd", "PERIOD_TOO_LONG")]),
        ({"start": "2025-04-01", "end": "2025-04-30"}, [(None, "NO_VERIFIED_HOURS")]),
    ],
)
def test_refusals_are_typed_errors(gql, holder, variables, expected):
    today = local_today()
    days = {"today": today, "tomorrow": today + dt.timedelta(days=1)}
    answer = issue(gql, holder[1], {k: str(days.get(v, v)) for k, v in variables.items()})

    assert answer["certificate"] is None
    assert [(e["field"], e["code"]) for e in answer["errors"]] == expected
    assert not ServiceCertificate.objects.exists()


def test_only_signed_in_volunteers_get_certificates(gql, db):
    assert [e["code"] for e in issue(gql, None)["errors"]] == ["UNAUTHENTICATED"]
    resident = sign_in(make_user("no-profile"))
    assert [e["code"] for e in issue(gql, resident)["errors"]] == ["NO_VOLUNTEER_PROFILE"]


def test_my_certificates_newest_first_in_constant_queries(gql, hours, holder):
    volunteer, token = holder
    issued = [
        issue_certificate(volunteer, dt.date(2025, 3, 1), dt.date(2025, 3, day))
        for day in range(17, 27)
    ]
    make_volunteer("other-holder")  # and someone else's certificate is not listed
    other = make_volunteer("other-volunteer")
    hours.served(other, local(dt.date(2025, 3, 3)), 60)
    issue_certificate(other, dt.date(2025, 3, 1), dt.date(2025, 3, 31))

    def run(limit):
        ServiceCertificate.objects.filter(volunteer__user=volunteer).exclude(
            pk__in=[c.pk for c in issued[-limit:]]
        ).delete()
        with CaptureQueriesContext(connection) as queries:
            data = gql.with_token(token).data(MINE)["myServiceCertificates"]
        return data, len(queries)

    many, queries_for_many = run(10)
    assert many["totalCount"] == 10
    codes = [edge["node"]["code"] for edge in many["edges"]]
    assert codes == [c.code for c in reversed(issued)]
    one, queries_for_one = run(1)
    assert one["totalCount"] == 1
    assert queries_for_one == queries_for_many


def test_my_certificates_need_sign_in(gql, db):
    assert gql.error_codes(MINE) == ["UNAUTHENTICATED"]


def test_anyone_can_check_a_code(gql, holder, community):
    certificate = issue(gql, holder[1])["certificate"]
    typed = certificate["code"].lower().replace("-", " ")

    answer = gql.data(VERIFY, {"code": typed})["verifyServiceCertificate"]

    assert answer == {
        "valid": True,
        "status": "VALID",
        "code": certificate["code"],
        "holderName": certificate["holderName"],
        "periodStart": "2025-03-01",
        "periodEnd": "2025-03-31",
        "verifiedHours": "12.50",
        "activityCount": 2,
        "organizations": [community.committee.name],
        "issuedAt": answer["issuedAt"],
        "revokedAt": None,
        "revokedReason": None,
        "certificate": None,  # not for strangers
    }
    assert answer["issuedAt"] is not None
    # the holder sees which certificate it is
    mine = gql.with_token(holder[1]).data(VERIFY, {"code": certificate["code"]})
    assert mine["verifyServiceCertificate"]["certificate"] == {"id": certificate["id"]}


def test_an_unknown_code_is_unknown_and_a_malformed_one_an_error(gql, db):
    answer = gql.data(VERIFY, {"code": "LL-2222-3333-4444-5555"})["verifyServiceCertificate"]
    assert answer["valid"] is False
    assert answer["status"] == "UNKNOWN"
    assert all(value is None for key, value in answer.items() if key not in ("valid", "status"))

    assert gql.error_codes(VERIFY, {"code": "LL-2222"}) == ["INVALID_ARGUMENT"]


def test_checks_are_limited_per_client_address(gql, client, db):
    unknown = {"code": "LL-2222-3333-4444-5555"}
    limit = 30  # the default: 30 checks in 10 minutes
    for _ in range(limit):
        assert gql.data(VERIFY, unknown)["verifyServiceCertificate"]["status"] == "UNKNOWN"

    content = gql.post(VERIFY, unknown)

    assert [e["extensions"]["code"] for e in content["errors"]] == ["RATE_LIMITED"]
    assert content["errors"][0]["extensions"]["details"]["retryAfterSeconds"] > 0
    # another address is not held back
    response = client.post(
        "/graphql/",
        {"query": VERIFY, "variables": unknown},
        content_type="application/json",
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.json()["data"]["verifyServiceCertificate"]["status"] == "UNKNOWN"


def test_a_revoked_certificate_checks_as_revoked(gql, hours, holder):
    certificate = issue(gql, holder[1])["certificate"]
    revoked = gql.with_token(sign_in(hours.coordinator)).mutate(
        REVOKE, {"id": certificate["id"], "reason": "重复登记"}
    )
    assert revoked["errors"] == []

    answer = gql.data(VERIFY, {"code": certificate["code"]})["verifyServiceCertificate"]

    assert (answer["valid"], answer["status"]) == (False, "REVOKED")
    assert answer["revokedReason"] == "重复登记"
    assert answer["revokedAt"] == revoked["certificate"]["revokedAt"]


@pytest.mark.parametrize("caller", CALLERS)
def test_who_may_revoke_a_certificate(gql, callers, holder, caller):
    certificate = issue(gql, holder[1])["certificate"]
    before = database_fingerprint()

    answer = gql.with_token(callers.tokens[caller]).mutate(
        REVOKE, {"id": certificate["id"], "reason": "时长登记有误"}
    )

    if caller in ALLOWED:
        assert answer["errors"] == []
        assert answer["certificate"]["isRevoked"] is True
    else:
        expected = "UNAUTHENTICATED" if caller == ANONYMOUS else "PERMISSION_DENIED"
        assert [e["code"] for e in answer["errors"]] == [expected]
        assert database_fingerprint() == before


def test_the_holder_may_not_revoke_and_a_bad_id_is_invalid(gql, holder):
    certificate = issue(gql, holder[1])["certificate"]
    revoke = gql.with_token(holder[1])

    denied = revoke.mutate(REVOKE, {"id": certificate["id"], "reason": "不要了"})
    assert [e["code"] for e in denied["errors"]] == ["PERMISSION_DENIED"]
    invalid = revoke.mutate(REVOKE, {"id": to_global_id("Activity", 1), "reason": "x"})
    assert [(e["field"], e["code"]) for e in invalid["errors"]] == [("id", "INVALID")]


def link_path(certificate) -> str:
    return urlsplit(certificate["download"]["url"]).path


def test_the_download_link_gives_the_pdf(gql, client, holder):
    certificate = issue(gql, holder[1])["certificate"]

    response = client.get(link_path(certificate))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "filename*=UTF-8''%E5%BF%97%E6%84%BF" in response["Content-Disposition"]
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert certificate["holderName"] in text
    assert "12.50" in text
    assert certificate["code"] in text
    # rendered again on each download, the same bytes
    assert client.get(link_path(certificate)).content == response.content


def test_a_tampered_or_expired_link_is_not_found(gql, client, holder):
    path = link_path(issue(gql, holder[1])["certificate"])

    assert client.get(path[:-3] + "abc").status_code == 404
    later = timezone.now() + dt.timedelta(seconds=settings.DOWNLOAD_LINK_SECONDS + 5)
    with time_machine.travel(later, tick=False):
        assert client.get(path).status_code == 404
    assert client.get(path).status_code == 200


def test_a_link_of_someone_who_may_not_have_the_file_is_forbidden(client, holder):
    volunteer, _token = holder
    certificate = issue_certificate(volunteer, dt.date(2025, 3, 1), dt.date(2025, 3, 31))
    stranger = make_volunteer("stranger")
    link = downloads.link(
        None,
        stranger,
        certificate_downloads.KIND,
        certificate_downloads.params_for(certificate),
        "x.pdf",
    )

    assert client.get(urlsplit(link.url).path).status_code == 403
