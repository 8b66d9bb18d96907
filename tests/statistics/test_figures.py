"""The ledger's figures on a handmade street, exact to the minute and the fen."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.regions.models import RegionLevel
from backend.statistics.figures import (
    QUERIES,
    Figures,
    TooManyCommunities,
    region_statistics,
)
from backend.statistics.periods import Period, PeriodError, parse_month, period_of
from tests.fixtures import make_region

NOVEMBER = parse_month("2026-11")
pytestmark = pytest.mark.django_db


def by_name(statistics):
    return {line.region.name: line for line in statistics.communities}


def test_a_community_line_counts_what_happened_there_in_the_month(street):
    # given the street's data set; when the street's November ledger is computed
    lines = by_name(region_statistics(street.community.street, NOVEMBER))

    # then 朝阳里 (with its grid) shows exactly the facts of November
    chaoyangli = lines["朝阳里社区"]
    assert chaoyangli.residents == 1000
    assert chaoyangli.registered_volunteers == 3  # v1, v2 (grid), v4; not the deactivated
    assert chaoyangli.volunteer_share_percent == Decimal("0.30")
    assert chaoyangli.active_volunteers == 2
    # 120 + 90 (grid) − 30 (correction); not pending, not a correction of pending, not
    # 31 October, not 1 December
    assert chaoyangli.verified_minutes == 180
    assert chaoyangli.service_hours == Decimal("3.00")
    # 1 November 00:00 local counts, 31 October 23:30 local does not; cancelled and drafts
    # never
    assert chaoyangli.activities_by_kind == {"elder_care": 1, "civic_practice": 1}
    assert chaoyangli.activities == 2
    elder, haircut = (street.community.categories[k] for k in ("elder-care", "haircut"))
    assert chaoyangli.service_points_by_category == {elder.pk: 2, haircut.pk: 1}
    assert chaoyangli.campaigns_launched == 1
    assert chaoyangli.campaigns_open == 2  # the one launched and one from October
    assert chaoyangli.pledges == 2
    assert chaoyangli.money_pledged == Decimal("500.00")
    assert chaoyangli.goods_pledges == 1
    assert chaoyangli.money_received == Decimal("580.25")
    assert chaoyangli.money_spent == Decimal("120.50")
    assert chaoyangli.goods_deliveries == 1  # two deliveries, one reversed
    assert chaoyangli.topics_raised == 1
    assert (chaoyangli.decisions_adopted, chaoyangli.decisions_deferred) == (1, 1)
    assert chaoyangli.decisions == 2
    assert chaoyangli.votes_held == 1

    # and 大沽路 its own
    dagulu = lines["大沽路社区"]
    assert (dagulu.registered_volunteers, dagulu.volunteer_share_percent) == (2, Decimal("0.40"))
    assert (dagulu.verified_minutes, dagulu.service_hours) == (100, Decimal("1.67"))
    assert dagulu.active_volunteers == 1
    assert dagulu.activities_by_kind == {"deliberation": 1}
    assert dagulu.topics_raised == 1  # 30 November 23:59 local
    assert dagulu.money_received == Decimal("0.00")


def test_the_street_total_is_its_communities_plus_its_own_facts(street):
    statistics = region_statistics(street.community.street, NOVEMBER)

    assert [line.region.name for line in statistics.communities] == ["朝阳里社区", "大沽路社区"]
    # the street's own activity, service point and campaign sit in no community
    own = statistics.region_level
    assert own is not None
    assert own.activities_by_kind == {"community_event": 1}
    assert (own.service_points, own.campaigns_launched, own.campaigns_open) == (1, 1, 1)

    total = statistics.total
    summed = Figures(region=statistics.region)
    for line in [*statistics.communities, own]:
        summed.add(line)
    assert total.verified_minutes == summed.verified_minutes == 280
    assert total.service_hours == Decimal("4.67")
    assert total.activities_by_kind == summed.activities_by_kind
    assert total.activities == 4
    assert total.service_points == 5
    assert total.campaigns_launched == 2
    assert total.money_received == Decimal("580.25")
    assert total.topics_raised == 2
    # people are counted once: v4 serves both communities, and served in one
    assert total.registered_volunteers == 4
    assert sum(line.registered_volunteers for line in statistics.communities) == 5
    assert total.active_volunteers == 3
    # no population recorded for the street: the sum of its communities'
    assert total.residents == 1500
    assert total.volunteer_share_percent == Decimal("0.27")


def test_the_district_sees_every_community_and_a_community_only_itself(street):
    district = region_statistics(street.community.district, NOVEMBER)
    assert [line.region.name for line in district.communities] == [
        "朝阳里社区",
        "大沽路社区",
        "新文化社区",
    ]
    assert district.total.verified_minutes == 330
    assert district.total.registered_volunteers == 5
    assert district.total.service_points == 6

    community = region_statistics(street.community.community, NOVEMBER)
    assert [line.region.name for line in community.communities] == ["朝阳里社区"]
    assert community.region_level is None
    assert community.total.verified_minutes == community.communities[0].verified_minutes == 180
    assert community.total.registered_volunteers == 3


def test_a_grid_is_its_own_single_line(street):
    grid = region_statistics(street.community.grid, NOVEMBER)
    assert [line.region.name for line in grid.communities] == ["朝阳里第一网格"]
    assert grid.total.verified_minutes == 90
    assert grid.total.activities_by_kind == {"elder_care": 1}


def test_a_period_of_days_counts_its_local_dates_only(street):
    # 1 to 15 November: the 120 minutes of the 1st, not the correction of the 16th
    first_half = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 16))
    line = by_name(region_statistics(street.community.street, first_half))["朝阳里社区"]
    assert line.verified_minutes == 120
    assert line.activities_by_kind == {"elder_care": 1}
    assert line.money_received == Decimal("500.00")


def test_too_many_communities_is_refused(community):
    make_region("120101003006", "大沽路社区", RegionLevel.COMMUNITY, community.street)
    with pytest.raises(TooManyCommunities):
        region_statistics(community.street, NOVEMBER, max_communities=1)


def test_the_number_of_queries_does_not_grow_with_the_communities(community):
    # given a street with one community, then with twenty
    def queries():
        with CaptureQueriesContext(connection) as captured:
            region_statistics(community.street, NOVEMBER)
        return len(captured.captured_queries)

    one = queries()
    for number in range(19):
        make_region(f"120101003{100 + number}", f"社区{number}", RegionLevel.COMMUNITY,
                    community.street)  # fmt: skip

    # then computing the ledger takes the same number of queries
    assert queries() == one == QUERIES


@pytest.mark.parametrize(
    ("arguments", "argument"),
    [
        ({"month": "2026-13"}, "month"),
        ({"month": "2026/11"}, "month"),
        ({"month": "Nov"}, "month"),
        ({"month": "2026-11", "start": dt.date(2026, 11, 1)}, "month"),
        ({"start": dt.date(2026, 11, 1)}, "from"),
        ({"start": dt.date(2026, 11, 2), "end": dt.date(2026, 11, 1)}, "to"),
        ({"start": dt.date(2026, 11, 1), "end": dt.date(2026, 11, 1)}, "to"),
        ({"start": dt.date(2025, 1, 1), "end": dt.date(2026, 1, 3)}, "to"),
    ],
)
def test_bad_periods_name_the_argument_at_fault(arguments, argument):
    with pytest.raises(PeriodError) as refused:
        period_of(**arguments)
    assert refused.value.argument == argument


def test_months_and_periods_in_local_time():
    december = parse_month("2026-12")
    assert (december.start, december.end) == (dt.date(2026, 12, 1), dt.date(2027, 1, 1))
    assert december.start_at == dt.datetime(2026, 11, 30, 16, tzinfo=dt.UTC)
    assert december.label == "2026-12"
    year = period_of(start=dt.date(2024, 1, 1), end=dt.date(2025, 1, 1))  # 366 days
    assert year.month is None
    assert year.label == "2024-01-01–2024-12-31"
