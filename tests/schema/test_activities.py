import datetime as dt

import pytest
from django.utils import timezone
from graphql_relay import to_global_id

from backend.activities.models import ActivityKind, ActivityStatus
from tests.fixtures import CENTRE, SHANGHAI, make_activity, make_service_point

ACTIVITIES = """
query Activities($first: Int, $status: [ActivityStatus!], $kind: [ActivityKind!], $category: ID,
                 $region: ID, $organization: ID, $dateRange: DateTimeRangeInput,
                 $near: NearInput, $search: String) {
  activities(first: $first, status: $status, kind: $kind, category: $category, region: $region,
             organization: $organization, dateRange: $dateRange, near: $near, search: $search) {
    totalCount
    edges { node {
      id title kind status timeZone startsAt endsAt remainingPlaces distanceKm
      organizer { name kind }
      region { name }
      category { name }
      servicePoint { name latitude longitude category { name } }
      shifts { id title startsAt endsAt capacity remainingPlaces isFull
               requiredSkills { code name } }
    } }
  }
}
"""

ACTIVITY = """
query Activity($id: ID!) { activity(id: $id) { title shifts { capacity } organizer { name } } }
"""

NODE = """
query Node($id: ID!) { node(id: $id) { id ... on Activity { title } ... on ServicePoint { name } } }
"""


def titles(data):
    return [edge["node"]["title"] for edge in data["activities"]["edges"]]


def test_drafts_are_not_public_and_the_rest_come_soonest_first(gql, community):
    soon = timezone.now() + dt.timedelta(days=1)
    make_activity(
        community.committee,
        community.community,
        title="later",
        starts_at=soon + dt.timedelta(days=5),
    )
    make_activity(community.committee, community.community, title="sooner", starts_at=soon)
    make_activity(
        community.committee, community.community, title="draft", status=ActivityStatus.DRAFT
    )
    make_activity(
        community.committee,
        community.community,
        title="cancelled",
        status=ActivityStatus.CANCELLED,
        starts_at=soon + dt.timedelta(days=9),
    )

    assert titles(gql.data(ACTIVITIES)) == ["sooner", "later", "cancelled"]
    assert titles(gql.data(ACTIVITIES, {"status": ["DRAFT"]})) == []
    assert titles(gql.data(ACTIVITIES, {"status": ["CANCELLED"]})) == ["cancelled"]


def test_activity_shows_its_shifts_and_remaining_places(gql, community):
    point = make_service_point(community.grid, community.categories["haircut"], name="理发点")
    make_activity(
        community.team,
        community.grid,
        service_point=point,
        shifts=2,
        capacity=4,
        category=community.categories["haircut"],
        skills=(community.first_aid,),
    )

    node = gql.data(ACTIVITIES)["activities"]["edges"][0]["node"]

    assert node["remainingPlaces"] == 8
    assert [shift["remainingPlaces"] for shift in node["shifts"]] == [4, 4]
    assert node["shifts"][0]["requiredSkills"] == [{"code": "first-aid", "name": "急救"}]
    assert node["servicePoint"]["name"] == "理发点"
    assert node["category"]["name"] == "义务理发"
    assert node["startsAt"] == node["shifts"][0]["startsAt"]
    assert node["endsAt"] == node["shifts"][-1]["endsAt"]
    assert node["timeZone"] == "Asia/Shanghai"


def test_filters_by_kind_category_region_subtree_organization_and_search(gql, community):
    haircut = community.categories["haircut"]
    make_activity(
        community.team,
        community.grid,
        title="理发",
        kind=ActivityKind.HOME_SERVICE,
        category=haircut,
    )
    make_activity(
        community.committee, community.community, title="探访", kind=ActivityKind.ELDER_CARE
    )
    make_activity(
        community.committee, community.other_community, title="议事", kind=ActivityKind.DELIBERATION
    )

    def query(**variables):
        return sorted(titles(gql.data(ACTIVITIES, variables)))

    assert query(kind=["HOME_SERVICE", "ELDER_CARE"]) == ["探访", "理发"]
    assert query(category=to_global_id("ServiceCategory", haircut.pk)) == ["理发"]
    assert query(region=to_global_id("Region", community.community.pk)) == ["探访", "理发"]
    assert query(region=to_global_id("Region", community.district.pk)) == ["探访", "理发", "议事"]
    assert query(organization=to_global_id("Organization", community.team.pk)) == ["理发"]
    assert query(search="议") == ["议事"]


def test_date_range_keeps_activities_that_overlap_it_in_local_time(gql, community):
    # Shanghai is UTC+8: the local day 2026-12-01 is 2026-11-30T16:00Z .. 2026-12-01T16:00Z.
    day = dt.datetime(2026, 12, 1, tzinfo=SHANGHAI)
    make_activity(
        community.committee,
        community.community,
        title="just before midnight",
        starts_at=day - dt.timedelta(hours=3),
        shifts=1,
    )  # 21:00-23:00 the day before
    make_activity(
        community.committee,
        community.community,
        title="early morning",
        starts_at=day + dt.timedelta(hours=1),
        shifts=1,
    )
    make_activity(
        community.committee,
        community.community,
        title="across midnight",
        starts_at=day + dt.timedelta(hours=23),
        shifts=1,
    )  # 23:00-01:00

    with_offset = gql.data(
        ACTIVITIES,
        {"dateRange": {"start": "2026-12-01T00:00:00+08:00", "end": "2026-12-02T00:00:00+08:00"}},
    )
    naive_is_shanghai = gql.data(
        ACTIVITIES, {"dateRange": {"start": "2026-12-01T00:00:00", "end": "2026-12-02T00:00:00"}}
    )

    assert titles(with_offset) == ["early morning", "across midnight"]
    assert titles(naive_is_shanghai) == titles(with_offset)


def test_near_uses_the_service_point_location(gql, community):
    category = community.categories["elder-care"]
    close = make_service_point(community.grid, category, latitude=CENTRE[0] + 0.001)
    far = make_service_point(community.grid, category, latitude=CENTRE[0] + 0.3)
    make_activity(community.team, community.grid, title="far", service_point=far)
    make_activity(community.team, community.grid, title="close", service_point=close)
    make_activity(community.team, community.grid, title="nowhere")

    data = gql.data(ACTIVITIES, {"near": {"latitude": CENTRE[0], "longitude": CENTRE[1]}})

    assert titles(data) == ["close"]
    assert data["activities"]["edges"][0]["node"]["distanceKm"] == pytest.approx(0.111, abs=0.01)


def test_activity_by_id_and_node_find_public_activities_only(gql, community):
    published = make_activity(community.team, community.grid, title="open")
    draft = make_activity(community.team, community.grid, status=ActivityStatus.DRAFT)
    point = make_service_point(community.grid, community.categories["haircut"], name="理发点")

    assert (
        gql.data(ACTIVITY, {"id": to_global_id("Activity", published.pk)})["activity"]["title"]
        == "open"
    )
    assert gql.data(ACTIVITY, {"id": to_global_id("Activity", draft.pk)})["activity"] is None
    assert gql.data(NODE, {"id": to_global_id("Activity", published.pk)})["node"]["title"] == "open"
    assert (
        gql.data(NODE, {"id": to_global_id("ServicePoint", point.pk)})["node"]["name"] == "理发点"
    )


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        (ACTIVITY, {"id": "bm90LWFuLWlk"}, "INVALID_ID"),
        (ACTIVITY, {"id": to_global_id("ServicePoint", 1)}, "INVALID_ID"),
        (NODE, {"id": "%%%"}, "INVALID_ID"),
        (NODE, {"id": to_global_id("NoSuchType", 1)}, "INVALID_ID"),
        (NODE, {"id": to_global_id("Activity", "1; drop table")}, "INVALID_ID"),
        (ACTIVITIES, {"organization": to_global_id("Activity", 1)}, "INVALID_ID"),
        (
            ACTIVITIES,
            {
                "dateRange": {
                    "start": "2026-12-02T00:00:00+08:00",
                    "end": "2026-12-01T00:00:00+08:00",
                }
            },
            "INVALID_ARGUMENT",
        ),
        (ACTIVITIES, {"search": "x" * 101}, "INVALID_FILTER"),
    ],
)
def test_malformed_input_is_a_typed_error(gql, community, query, variables, code):
    assert gql.error_codes(query, variables) == [code]


def test_the_list_costs_the_same_sql_queries_for_1_and_for_50_activities(
    gql, community, django_assert_max_num_queries, django_assert_num_queries
):
    point = make_service_point(community.grid, community.categories["haircut"])

    def add_activity():
        make_activity(
            community.team,
            community.grid,
            service_point=point,
            category=community.categories["haircut"],
            skills=(community.first_aid,),
        )

    add_activity()
    # COUNT, the page with organizer/region/category/service point joined, shifts, skills.
    with django_assert_max_num_queries(6) as one:
        gql.data(ACTIVITIES, {"first": 50})
    for _ in range(49):
        add_activity()

    with django_assert_num_queries(len(one.captured_queries)):
        data = gql.data(ACTIVITIES, {"first": 50})

    assert len(data["activities"]["edges"]) == 50
