"""The optimizer loads what a selection needs, in a fixed number of queries, and no more."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from graphql_relay import to_global_id

from backend.activities.models import Activity
from tests.fixtures import make_activity, make_service_point

COMPUTED_FROM_UNSELECTED_COLUMNS = """
{ activities(first: 50) { edges { node { remainingPlaces shifts { startsAt } } } } }
"""
COMPUTED_WITHOUT_THE_RELATION = "{ activities(first: 50) { edges { node { remainingPlaces } } } }"
BACK_AND_FORTH = """
{ activities(first: 50) { edges { node {
    shifts { isFull activity { title organizer { name } } }
} } } }
"""
FRAGMENTS_AND_ALIASES = """
query { list: activities(first: 50) { edges { node { ...Card } } } }
fragment Card on Activity {
  heading: title
  where: servicePoint { ... on ServicePoint { name category { name } } }
}
"""
NODE_WITH_FRAGMENT = """
query Node($id: ID!) {
  node(id: $id) { ... on Activity { title shifts { requiredSkills { name } } } }
}
"""


@pytest.fixture
def activities(community):
    point = make_service_point(community.grid, community.categories["haircut"])

    def add(count):
        for _ in range(count):
            make_activity(
                community.team,
                community.grid,
                service_point=point,
                capacity=4,
                category=community.categories["haircut"],
                skills=(community.first_aid,),
            )

    return add


@pytest.mark.parametrize(
    "query",
    [
        COMPUTED_FROM_UNSELECTED_COLUMNS,
        COMPUTED_WITHOUT_THE_RELATION,
        BACK_AND_FORTH,
        FRAGMENTS_AND_ALIASES,
    ],
    ids=[
        "computed-from-unselected-columns",
        "computed-without-relation",
        "back-and-forth",
        "fragments-and-aliases",
    ],
)
def test_queries_do_not_grow_with_the_page(gql, activities, django_assert_num_queries, query):
    activities(1)
    with CaptureQueriesContext(connection) as one:
        gql.data(query)
    activities(49)

    with django_assert_num_queries(len(one.captured_queries)):
        data = gql.data(query)

    assert len(next(iter(data.values()))["edges"]) == 50


def test_computed_fields_see_the_columns_they_need(gql, activities):
    activities(2)

    data = gql.data(COMPUTED_FROM_UNSELECTED_COLUMNS)

    assert [edge["node"]["remainingPlaces"] for edge in data["activities"]["edges"]] == [8, 8]


def test_columns_nobody_asked_for_are_not_read(gql, activities):
    activities(1)

    with CaptureQueriesContext(connection) as captured:
        gql.data("{ activities(first: 5) { edges { node { title servicePoint { name } } } } }")

    page_query = captured.captured_queries[1]["sql"]
    assert '"activities_activity"."title"' in page_query
    assert '"activities_activity"."description"' not in page_query
    assert '"servicepoints_servicepoint"."opening_hours"' not in page_query


def test_node_with_a_fragment_is_loaded_in_one_go(gql, activities, django_assert_num_queries):
    activities(1)
    activity_id = to_global_id("Activity", Activity.objects.get().pk)

    with django_assert_num_queries(3):  # the activity, its shifts, their skills
        data = gql.data(NODE_WITH_FRAGMENT, {"id": activity_id})

    assert data["node"]["shifts"][0]["requiredSkills"] == [{"name": "急救"}]
