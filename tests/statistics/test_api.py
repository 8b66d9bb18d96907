"""The ledger through the API: communityStatistics, ledgerExport and the download link."""

import datetime as dt
from urllib.parse import urlsplit

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from graphql_relay import to_global_id

from backend.organizations.models import Membership
from backend.regions.models import RegionLevel, RegionRole
from tests.fixtures import (
    make_coordinator,
    make_region,
    make_region_admin,
    make_user,
    sign_in,
)
from tests.permissions import (
    ALLOWED,
    ANONYMOUS,
    CALLERS,
    COORDINATOR_HERE,
    database_fingerprint,
)

pytestmark = pytest.mark.django_db

STATISTICS = """
query Statistics($region: ID!, $month: String, $from: Date, $to: Date) {
  communityStatistics(region: $region, month: $month, from: $from, to: $to) {
    region { name }
    period { from to lastDay month }
    total { ...Line }
    regionLevel { ...Line }
    communities { ...Line }
  }
}
fragment Line on CommunityFigures {
  region { name code }
  residents registeredVolunteers volunteerSharePercent activeVolunteers
  activities activitiesByKind { kind count }
  verifiedMinutes serviceHours
  servicePoints servicePointsByCategory { category { name } count }
  campaigns { launched open pledges moneyPledged goodsPledges moneyReceived moneySpent
              goodsDeliveries }
  deliberation { topicsRaised votesHeld decisions decisionsAdopted decisionsRejected
                 decisionsDeferred }
}
"""
EXPORT = """
query Export($region: ID!, $month: String, $format: LedgerFormat!) {
  ledgerExport(region: $region, month: $month, format: $format) { url expiresAt filename }
}
"""


def region_id(region):
    return to_global_id("Region", region.pk)


def test_a_street_admin_reads_the_months_ledger(street, gql):
    # given the street office
    admin = make_region_admin(street.community.street, "street-office")

    # when it asks for November
    result = gql.with_token(sign_in(admin)).data(
        STATISTICS,
        {"region": region_id(street.community.street), "month": "2026-11"},
        language="en",
    )["communityStatistics"]

    # then it gets the period, its two communities, its own facts and the total
    assert result["period"] == {
        "from": "2026-11-01",
        "to": "2026-12-01",
        "lastDay": "2026-11-30",
        "month": "2026-11",
    }
    first, second = result["communities"]
    assert (first["region"]["name"], second["region"]["name"]) == ("朝阳里社区", "大沽路社区")
    assert first["serviceHours"] == "3.00"
    assert first["volunteerSharePercent"] == "0.30"
    assert {k["kind"]: k["count"] for k in first["activitiesByKind"]} == {
        "ELDER_CARE": 1,
        "CIVIC_PRACTICE": 1,
        "HOME_SERVICE": 0,
        "DELIBERATION": 0,
        "COMMUNITY_EVENT": 0,
    }
    by_category = {c["category"]["name"]: c["count"] for c in first["servicePointsByCategory"]}
    assert len(by_category) == 18
    assert (by_category["Elder care"], by_category["Free haircut"]) == (2, 1)
    assert first["campaigns"] == {
        "launched": 1,
        "open": 2,
        "pledges": 2,
        "moneyPledged": "500.00",
        "goodsPledges": 1,
        "moneyReceived": "580.25",
        "moneySpent": "120.50",
        "goodsDeliveries": 1,
    }
    assert first["deliberation"] == {
        "topicsRaised": 1,
        "votesHeld": 1,
        "decisions": 2,
        "decisionsAdopted": 1,
        "decisionsRejected": 0,
        "decisionsDeferred": 1,
    }
    assert result["regionLevel"]["region"]["name"] == "小白楼街道"
    assert result["regionLevel"]["activities"] == 1
    total = result["total"]
    assert (total["residents"], total["registeredVolunteers"]) == (1500, 4)
    assert (total["verifiedMinutes"], total["serviceHours"]) == (280, "4.67")
    assert total["servicePoints"] == 5


def test_a_period_by_dates(street, gql):
    admin = make_region_admin(street.community.street, "street-office")
    result = gql.with_token(sign_in(admin)).data(
        STATISTICS,
        {"region": region_id(street.community.community), "from": "2026-11-01", "to": "2026-11-16"},
    )["communityStatistics"]
    assert result["period"]["month"] is None
    assert result["total"]["verifiedMinutes"] == 120


@pytest.mark.parametrize(
    "period",
    [
        {"month": "2026-13"},
        {"month": "11/2026"},
        {"from": "2026-11-10", "to": "2026-11-01"},
        {"from": "2025-01-01", "to": "2026-01-03"},
        {"from": "2026-11-01"},
        {},
    ],
)
def test_bad_periods_are_invalid_arguments(community, gql, period):
    admin = make_region_admin(community.street, "street-office")
    variables = {"region": region_id(community.community), **period}
    client = gql.with_token(sign_in(admin))
    assert client.error_codes(STATISTICS, variables) == ["INVALID_ARGUMENT"]
    assert client.error_codes(EXPORT, {**variables, "format": "CSV"}) == ["INVALID_ARGUMENT"]


def test_a_region_with_too_many_communities_is_refused(community, gql, monkeypatch):
    monkeypatch.setattr("schema.statistics.queries.MAX_COMMUNITIES", 1)
    monkeypatch.setattr("backend.statistics.figures.MAX_COMMUNITIES", 1)
    make_region("120101003006", "大沽路社区", RegionLevel.COMMUNITY, community.street)
    admin = make_region_admin(community.district, "district-office")
    client = gql.with_token(sign_in(admin))
    variables = {"region": region_id(community.street), "month": "2026-11"}
    assert client.error_codes(STATISTICS, variables) == ["INVALID_ARGUMENT"]
    assert client.error_codes(EXPORT, {**variables, "format": "XLSX"}) == ["INVALID_ARGUMENT"]
    # one community is within the limit
    variables["region"] = region_id(community.community)
    assert client.data(STATISTICS, variables)["communityStatistics"]["communities"]


def test_those_who_run_a_grids_team_see_its_community_not_another(community, gql):
    coordinator = make_coordinator(community.team, "grid-team")  # the team is based in the grid
    client = gql.with_token(sign_in(coordinator))
    for region in (community.community, community.grid):
        variables = {"region": region_id(region), "month": "2026-11"}
        assert client.data(STATISTICS, variables)["communityStatistics"]["total"]
    for region in (community.other_community, community.street, community.district):
        variables = {"region": region_id(region), "month": "2026-11"}
        assert client.error_codes(STATISTICS, variables) == ["PERMISSION_DENIED"]


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("query", [STATISTICS, EXPORT], ids=["statistics", "export"])
def test_only_those_who_run_the_community_or_oversee_it_may_read_it(
    community, callers, gql, caller, query
):
    variables = {"region": region_id(community.community), "month": "2026-11", "format": "XLSX"}
    before = database_fingerprint()

    content = gql.with_token(callers.tokens[caller]).post(query, variables)

    if caller in ALLOWED:
        assert "errors" not in content, content
    else:
        expected = "UNAUTHENTICATED" if caller == ANONYMOUS else "PERMISSION_DENIED"
        assert [e["extensions"]["code"] for e in content["errors"]] == [expected]
        assert database_fingerprint() == before


@pytest.mark.parametrize("query", [STATISTICS, EXPORT], ids=["statistics", "export"])
def test_a_community_coordinator_never_sees_the_street(community, callers, gql, query):
    variables = {"region": region_id(community.street), "month": "2026-11", "format": "CSV"}
    client = gql.with_token(callers.tokens[COORDINATOR_HERE])
    assert client.error_codes(query, variables) == ["PERMISSION_DENIED"]


def test_a_district_admin_sees_every_street(community, gql):
    admin = make_region_admin(community.district, "district-office")
    result = gql.with_token(sign_in(admin)).data(
        STATISTICS, {"region": region_id(community.district), "month": "2026-11"}
    )["communityStatistics"]
    assert [line["region"]["name"] for line in result["communities"]] == [
        "朝阳里社区",
        "新文化社区",
    ]


def test_an_unknown_region_is_denied_like_a_foreign_one(community, gql):
    admin = make_region_admin(community.street, "street-office")
    variables = {"region": to_global_id("Region", 999_999), "month": "2026-11"}
    assert gql.with_token(sign_in(admin)).error_codes(STATISTICS, variables) == [
        "PERMISSION_DENIED"
    ]


def test_the_query_count_is_the_same_for_one_community_and_twenty(community, gql):
    admin = make_region_admin(community.street, "street-office")
    client = gql.with_token(sign_in(admin))
    variables = {"region": region_id(community.street), "month": "2026-11"}

    def queries():
        with CaptureQueriesContext(connection) as captured:
            client.data(STATISTICS, variables)
        return len(captured.captured_queries)

    one = queries()
    for number in range(19):
        make_region(f"120101003{100 + number}", f"社区{number}", RegionLevel.COMMUNITY,
                    community.street)  # fmt: skip
    assert queries() == one


def export_link(gql, user, region, format="XLSX"):
    link = gql.with_token(sign_in(user)).data(
        EXPORT, {"region": region_id(region), "month": "2026-11", "format": format}
    )["ledgerExport"]
    return link, urlsplit(link["url"]).path


def test_the_export_link_downloads_the_ledger(street, gql, client):
    admin = make_region_admin(street.community.street, "street-office")
    link, path = export_link(gql, admin, street.community.street)
    assert link["filename"].endswith("-2026-11.xlsx")
    assert link["filename"].startswith("小白楼街道-")

    response = client.get(path)

    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert "filename*=UTF-8''%E5%B0%8F%E7%99%BD%E6%A5%BC" in response["Content-Disposition"]
    assert response.content[:2] == b"PK"  # a zip: the workbook


def test_the_csv_link_downloads_csv(street, gql, client):
    admin = make_region_admin(street.community.street, "street-office")
    link, path = export_link(gql, admin, street.community.street, "CSV")
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert link["filename"].endswith(".csv")
    assert response.content.startswith(b"\xef\xbb\xbf")


def test_an_expired_link_is_not_found(community, gql, client, settings):
    admin = make_region_admin(community.street, "street-office")
    _, path = export_link(gql, admin, community.community)
    later = timezone.now() + dt.timedelta(seconds=settings.DOWNLOAD_LINK_SECONDS + 5)
    with time_machine.travel(later, tick=False):
        assert client.get(path).status_code == 404
    assert client.get(path).status_code == 200


def test_a_tampered_link_is_not_found(community, gql, client):
    admin = make_region_admin(community.street, "street-office")
    _, path = export_link(gql, admin, community.community)
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert client.get(tampered).status_code == 404


def test_a_user_who_lost_the_role_is_refused_the_file(community, gql, client):
    admin = make_region_admin(community.street, "street-office")
    _, path = export_link(gql, admin, community.community)
    RegionRole.objects.filter(user=admin).delete()
    assert client.get(path).status_code == 403


def test_a_coordinator_who_left_the_organization_is_refused_the_file(community, gql, client):
    coordinator = make_user("secretary")
    Membership.objects.create(user=coordinator, organization=community.committee, role="admin")
    _, path = export_link(gql, coordinator, community.community, "CSV")
    assert client.get(path).status_code == 200
    Membership.objects.filter(user=coordinator).update(is_active=False)
    assert client.get(path).status_code == 403
