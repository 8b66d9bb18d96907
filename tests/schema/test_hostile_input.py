"""The read API against hostile and careless input: limits, N+1 and visibility.

Each test is given / when / then; each pins a behaviour found wrong or probed in review.
"""

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from graphql_relay import to_global_id

from backend.activities.models import ActivityStatus
from schema.core.errors import ApiErrorCode
from tests.fixtures import CENTRE, make_activity, make_service_point

NODE = "query Node($id: ID!) { node(id: $id) { id } }"
ACTIVITY_TITLES = """
query Activities($first: Int, $last: Int, $after: String, $before: String, $offset: Int,
                 $dateRange: DateTimeRangeInput, $near: NearInput, $organization: ID,
                 $servicePoint: ID) {
  activities(first: $first, last: $last, after: $after, before: $before, offset: $offset,
             dateRange: $dateRange, near: $near, organization: $organization,
             servicePoint: $servicePoint) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { node { title } }
  }
}
"""
SERVICE_POINTS_BY_OPERATOR = """
query Points($operator: ID) { servicePoints(first: 5, operator: $operator) { totalCount } }
"""
SEARCHES = {
    "servicePoints": "query S($s: String) { servicePoints(first: 1, search: $s) { totalCount } }",
    "regions": "query S($s: String) { regions(first: 1, search: $s) { totalCount } }",
    "organizations": "query S($s: String) { organizations(first: 1, search: $s) { totalCount } }",
    "activities": "query S($s: String) { activities(first: 1, search: $s) { totalCount } }",
}
ALIASED_TO_MANY = """
{ activities(first: 50) { edges { node {
    withSkills: shifts { requiredSkills { name } }
    plain: shifts { id }
} } } }
"""
ALIASED_TO_ONE = """
{ activities(first: 50) { edges { node {
    named: servicePoint { name }
    addressed: servicePoint { address }
} } } }
"""
NEGATIVE_PAGE_PAYS_FOR_A_BIG_ONE = """
{ cheat: regions(first: -1000000) { edges { node { id } } }
  big: servicePoints(first: 100) { edges { node { name category { name } } } } }
"""


def fragment_bomb(levels):
    """Each fragment spreads the next twice: 2**levels expansions, yet a 1 KB document."""
    fragments = "\n".join(
        f"fragment F{level} on Query {{ ...F{level + 1} ...F{level + 1} }}"
        for level in range(levels)
    )
    return f"query {{ ...F0 }}\n{fragments}\nfragment F{levels} on Query {{ __typename }}"


def aliased_introspection(count):
    return (
        "{ "
        + " ".join(f"a{n}: __schema {{ types {{ fields {{ name }} }} }}" for n in range(count))
        + " }"
    )


def assert_typed(content):
    """No server error: data, or errors that each carry one of the documented codes."""
    untyped = [
        error["message"]
        for error in content.get("errors") or []
        if error.get("extensions", {}).get("code") not in ApiErrorCode.__members__
    ]
    assert not untyped


def titles(data):
    return [edge["node"]["title"] for edge in data["activities"]["edges"]]


@pytest.fixture
def point(community):
    return make_service_point(community.grid, community.categories["haircut"])


# --- bad input must be a typed error, never a crash -----------------------------------------


@pytest.mark.parametrize("type_name", ["ActivityKind", "DateTime", "NearInput"])
def test_node_id_naming_a_type_that_is_not_an_object_type_is_invalid_id(gql, db, type_name):
    # given an ID that names an enum, a scalar or an input type
    global_id = to_global_id(type_name, 1)

    # then it is an invalid ID, not "'EnumOptions' object has no attribute 'interfaces'"
    assert gql.error_codes(NODE, {"id": global_id}) == ["INVALID_ID"]


def test_offset_together_with_before_is_an_invalid_argument(gql, community, point):
    make_activity(community.team, community.grid, service_point=point)

    codes = gql.error_codes(ACTIVITY_TITLES, {"offset": 1, "before": "YXJyYXljb25uZWN0aW9uOjI="})

    assert codes == ["INVALID_ARGUMENT"]


@pytest.mark.parametrize(
    "date_range",
    [
        {"start": "2000-01-01T00:00:00", "end": "2100-01-01T00:00:00+00:00"},
        {"start": "2000-01-01T00:00:00Z", "end": "2100-01-01T00:00:00"},
    ],
    ids=["naive-start-aware-end", "aware-start-naive-end"],
)
def test_a_date_range_mixing_times_with_and_without_offset_works(gql, community, point, date_range):
    # given one activity, and a range whose ends are written differently (both are valid input)
    make_activity(community.team, community.grid, service_point=point, title="in range")

    # then the naive end is read as Asia/Shanghai, as the README promises, instead of a TypeError
    assert titles(gql.data(ACTIVITY_TITLES, {"dateRange": date_range})) == ["in range"]


@pytest.mark.parametrize(
    "date_range",
    [{"start": "0001-01-01T00:00:00"}, {"end": "9999-12-31T23:59:59-12:00"}],
    ids=["year-1", "year-9999"],
)
def test_a_date_range_at_the_ends_of_the_calendar_is_not_a_server_error(gql, community, date_range):
    # "date value out of range" (OverflowError) on SQLite, the embedded default
    assert_typed(gql.post(ACTIVITY_TITLES, {"dateRange": date_range}))


@pytest.mark.parametrize("field", list(SEARCHES))
def test_an_enormous_search_is_refused_on_every_list(gql, db, field):
    # given a 20,000-character search (60 KB of UTF-8)
    search = "朝" * 20_000

    # then every list refuses it as activities does ("LIKE or GLOB pattern too complex" on SQLite,
    # a full scan with a 60 KB pattern on PostgreSQL)
    assert gql.error_codes(SEARCHES[field], {"s": search}) == ["INVALID_FILTER"]


@pytest.mark.parametrize(
    ("query", "argument", "type_name"),
    [
        (SERVICE_POINTS_BY_OPERATOR, "operator", "Organization"),
        (ACTIVITY_TITLES, "organization", "Organization"),
        (ACTIVITY_TITLES, "servicePoint", "ServicePoint"),
    ],
    ids=["servicePoints-operator", "activities-organization", "activities-servicePoint"],
)
def test_a_filter_id_with_a_huge_primary_key_is_not_a_server_error(
    gql, db, query, argument, type_name
):
    # "Python int too large to convert to SQLite INTEGER" on the embedded default
    content = gql.post(query, {argument: to_global_id(type_name, 2**70)})

    assert_typed(content)


@pytest.mark.parametrize(
    "body",
    [
        {"query": "{ serviceCategories { code } }", "variables": [1, 2]},
        {"query": "{ serviceCategories { code } }", "variables": "[1, 2]"},
        {"query": ["{ serviceCategories { code } }"]},
        {"query": 42},
    ],
    ids=["variables-list", "variables-json-list", "query-list", "query-number"],
)
def test_a_malformed_request_body_is_a_400_not_a_500(client, db, body):
    client.raise_request_exception = False

    response = client.post(
        "/graphql/", json.dumps(body), content_type="application/json", HTTP_HOST="localhost"
    )

    assert response.status_code == 400
    assert response.json()["errors"]


def test_a_variable_of_the_wrong_type_is_a_typed_error(gql, db):
    assert_typed(gql.post(ACTIVITY_TITLES, {"first": "ten"}))


# --- limits ----------------------------------------------------------------------------------


def test_a_negative_page_size_cannot_pay_for_an_expensive_sibling(
    gql, community, settings, django_assert_num_queries
):
    # given a cost limit the big list alone exceeds (it costs about 500)
    settings.GRAPHQL_MAX_COST = 400

    # then first: -1000000 on another field does not bring the estimate under it
    with django_assert_num_queries(0):
        assert gql.error_codes(NEGATIVE_PAGE_PAYS_FOR_A_BIG_ONE) == ["QUERY_TOO_COSTLY"]


def test_a_fragment_spread_bomb_is_validated_in_linear_work(gql, db, monkeypatch):
    # given a 1 KB document whose fragments expand to 2**22 spreads (of a free __typename)
    from schema.core.limits import QueryLimitsRule

    walked = []
    original = QueryLimitsRule._selection_cost

    def counting(self, *args, **kwargs):
        walked.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(QueryLimitsRule, "_selection_cost", counting)

    gql.post(fragment_bomb(22))

    # then each fragment is costed once per depth, not once per path to it
    assert 0 < len(walked) < 1_000


def test_aliased_introspection_is_not_free(gql, db, settings):
    # given 200 aliases of a schema walk: 200 x ~400 objects, i.e. a 4 MB answer for 10 KB
    settings.GRAPHQL_MAX_COST = 10_000

    content = gql.post(aliased_introspection(200))

    codes = [error.get("extensions", {}).get("code") for error in content.get("errors") or []]
    assert codes == ["QUERY_TOO_COSTLY"]


def test_the_document_cache_keeps_only_ordinary_documents(gql, db):
    # given one ordinary query, one valid but padded to 20 KB, one padded beyond the limit
    from schema.view import DOCUMENT_MAX_CHARS, _cached_valid_document

    _cached_valid_document.cache_clear()
    gql.data("{ serviceCategories { code } }")
    gql.data("{ serviceCategories { code } }\n#" + "x" * 20_000)

    # then only the ordinary one is cached, and the oversized one is refused before parsing
    assert _cached_valid_document.cache_info().currsize == 1
    huge = "{ serviceCategories { code } }\n#" + "x" * DOCUMENT_MAX_CHARS
    assert gql.error_codes(huge) == ["QUERY_TOO_LARGE"]


# --- N+1 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", [ALIASED_TO_MANY, ALIASED_TO_ONE], ids=["to-many", "to-one"])
def test_two_aliases_of_one_relation_cost_the_same_queries_for_any_page(
    gql, community, point, django_assert_num_queries, query
):
    def add(count):
        for _ in range(count):
            make_activity(
                community.team, community.grid, service_point=point, skills=(community.first_aid,)
            )

    add(1)
    with CaptureQueriesContext(connection) as one:
        gql.data(query)
    add(19)

    with django_assert_num_queries(len(one.captured_queries)):
        data = gql.data(query)

    assert len(data["activities"]["edges"]) == 20


# --- ordering and paging ---------------------------------------------------------------------


def test_activities_at_the_same_distance_come_soonest_first(gql, community, point):
    soon = timezone.now() + dt.timedelta(days=1)
    make_activity(
        community.team,
        community.grid,
        service_point=point,
        title="later",
        starts_at=soon + dt.timedelta(days=5),
    )
    make_activity(
        community.team, community.grid, service_point=point, title="sooner", starts_at=soon
    )

    data = gql.data(ACTIVITY_TITLES, {"near": {"latitude": CENTRE[0], "longitude": CENTRE[1]}})

    assert titles(data) == ["sooner", "later"]


def test_paging_backwards_with_last_and_before_walks_every_activity_once(gql, community, point):
    # given activities that all start at the same moment (ties broken by id)
    starts_at = timezone.now() + dt.timedelta(days=2)
    for number in range(7):
        make_activity(
            community.team,
            community.grid,
            service_point=point,
            title=f"a{number}",
            starts_at=starts_at,
        )
    seen: list[str] = []
    before = None

    while True:
        page = gql.data(ACTIVITY_TITLES, {"last": 3, "before": before})["activities"]
        seen = titles({"activities": page}) + seen
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]

    assert seen == titles(gql.data(ACTIVITY_TITLES, {"first": 10})) == [f"a{n}" for n in range(7)]


@pytest.mark.parametrize(
    "cursor",
    ["YXJyYXljb25uZWN0aW9uOi01", "YXJyYXljb25uZWN0aW9uOjEuNQ==", "Zm9vOjE=", "!!!"],
    ids=["negative", "fraction", "foreign-prefix", "not-base64"],
)
def test_bad_cursors_are_invalid_cursor(gql, db, cursor):
    assert gql.error_codes(ACTIVITY_TITLES, {"after": cursor}) == ["INVALID_CURSOR"]


def test_a_cursor_past_the_end_is_an_empty_page(gql, community, point):
    make_activity(community.team, community.grid, service_point=point)
    far = "YXJyYXljb25uZWN0aW9uOjk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5"  # offset 10**23 - 1

    page = gql.data(ACTIVITY_TITLES, {"after": far, "offset": 2**31 - 1})["activities"]

    assert page["edges"] == []
    assert page["totalCount"] == 1


# --- visibility ------------------------------------------------------------------------------


def test_shifts_of_drafts_and_inactive_points_and_organizations_are_not_nodes(gql, community):
    draft = make_activity(community.team, community.grid, status=ActivityStatus.DRAFT)
    closed = make_service_point(community.grid, community.categories["haircut"], is_active=False)
    community.committee.is_active = False
    community.committee.save()

    for global_id in (
        to_global_id("Shift", draft.shifts.earliest("starts_at").pk),
        to_global_id("ServicePoint", closed.pk),
        to_global_id("Organization", community.committee.pk),
    ):
        assert gql.data(NODE, {"id": global_id})["node"] is None
