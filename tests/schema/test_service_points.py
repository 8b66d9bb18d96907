import pytest
from graphql_relay import to_global_id

from backend.core.geo import haversine_km
from tests.fixtures import CENTRE, make_service_point

SERVICE_CATEGORIES = """
query { serviceCategories { id code name nameZh nameEn } }
"""

SERVICE_POINTS = """
query ServicePoints($first: Int, $after: String, $category: ID, $region: ID, $search: String,
                    $near: NearInput, $operator: ID) {
  servicePoints(first: $first, after: $after, category: $category, region: $region,
                search: $search, near: $near, operator: $operator) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id name address latitude longitude distanceKm
      openingHours { weekday opens closes }
      category { code name }
      region { name parent { name } }
      operator { name kind }
    } }
  }
}
"""


def names(data):
    return [edge["node"]["name"] for edge in data["servicePoints"]["edges"]]


@pytest.mark.django_db
def test_the_18_categories_are_seeded_with_chinese_default_and_english_on_request(gql):
    chinese = gql.data(SERVICE_CATEGORIES)["serviceCategories"]
    english = gql.data(SERVICE_CATEGORIES, language="en")["serviceCategories"]

    assert len(chinese) == 18
    assert chinese[0]["name"] == "养老护理"
    assert english[0]["name"] == "Elder care"
    assert len({category["code"] for category in chinese}) == 18


def test_service_points_filter_by_category_region_subtree_operator_and_search(gql, community):
    haircut, meals = community.categories["haircut"], community.categories["meal-assistance"]
    make_service_point(community.grid, haircut, name="朝阳里理发点", operator=community.team)
    make_service_point(community.community, meals, name="朝阳里助餐点")
    make_service_point(community.other_community, haircut, name="新文化理发点")
    make_service_point(community.grid, haircut, name="停用理发点", is_active=False)

    by_category = gql.data(
        SERVICE_POINTS, {"category": to_global_id("ServiceCategory", haircut.pk)}
    )
    in_street = gql.data(SERVICE_POINTS, {"region": to_global_id("Region", community.street.pk)})
    in_grid = gql.data(SERVICE_POINTS, {"region": to_global_id("Region", community.grid.pk)})
    by_operator = gql.data(
        SERVICE_POINTS, {"operator": to_global_id("Organization", community.team.pk)}
    )
    searched = gql.data(SERVICE_POINTS, {"search": "助餐"})

    assert sorted(names(by_category)) == ["新文化理发点", "朝阳里理发点"]
    assert sorted(names(in_street)) == ["朝阳里助餐点", "朝阳里理发点"]
    assert names(in_grid) == ["朝阳里理发点"]
    assert names(by_operator) == ["朝阳里理发点"]
    assert names(searched) == ["朝阳里助餐点"]
    assert by_category["servicePoints"]["totalCount"] == 2


def test_near_returns_points_within_the_radius_nearest_first_with_their_distance(gql, community):
    category = community.categories["elder-care"]
    # Roughly 0.11 km per 0.001 degree of latitude.
    make_service_point(community.grid, category, name="far", latitude=CENTRE[0] + 0.02)
    make_service_point(community.grid, category, name="near", latitude=CENTRE[0] + 0.001)
    make_service_point(community.grid, category, name="middle", latitude=CENTRE[0] + 0.01)
    make_service_point(community.grid, category, name="outside", latitude=CENTRE[0] + 0.2)
    near = {"latitude": CENTRE[0], "longitude": CENTRE[1], "radiusKm": 3}

    data = gql.data(SERVICE_POINTS, {"near": near})

    assert names(data) == ["near", "middle", "far"]
    distances = [edge["node"]["distanceKm"] for edge in data["servicePoints"]["edges"]]
    expected = haversine_km(CENTRE[0], CENTRE[1], CENTRE[0] + 0.02, CENTRE[1])
    assert distances[2] == pytest.approx(expected, abs=0.001)
    assert distances == sorted(distances)
    assert data["servicePoints"]["totalCount"] == 3


def test_without_near_there_is_no_distance(gql, community):
    make_service_point(community.grid, community.categories["haircut"])

    node = gql.data(SERVICE_POINTS)["servicePoints"]["edges"][0]["node"]

    assert node["distanceKm"] is None
    assert node["openingHours"] == [{"weekday": 1, "opens": "08:30", "closes": "17:00"}]
    assert node["region"]["parent"]["name"] == "朝阳里社区"


def test_cursor_pagination_walks_every_point_once(gql, community):
    for _ in range(7):
        make_service_point(community.grid, community.categories["haircut"])
    seen, after = [], None

    while True:
        page = gql.data(SERVICE_POINTS, {"first": 3, "after": after})["servicePoints"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert len(seen) == len(set(seen)) == 7


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"category": "not-an-id"}, "INVALID_ID"),
        ({"category": to_global_id("Region", 1)}, "INVALID_ID"),
        ({"region": to_global_id("Region", "x")}, "INVALID_ID"),
        ({"after": "garbage"}, "INVALID_CURSOR"),
        ({"first": 101}, "INVALID_ARGUMENT"),
        ({"first": -1}, "INVALID_ARGUMENT"),
        ({"near": {"latitude": 91, "longitude": 117}}, "INVALID_ARGUMENT"),
        ({"near": {"latitude": 39, "longitude": 117, "radiusKm": 0}}, "INVALID_ARGUMENT"),
        ({"near": {"latitude": 39, "longitude": 117, "radiusKm": 500}}, "INVALID_ARGUMENT"),
    ],
)
def test_bad_arguments_are_typed_errors_not_crashes(gql, community, variables, code):
    assert gql.error_codes(SERVICE_POINTS, variables) == [code]


@pytest.mark.parametrize("near", [None, {"latitude": CENTRE[0], "longitude": CENTRE[1]}])
def test_the_list_costs_the_same_sql_queries_for_1_and_for_50_points(
    gql, community, django_assert_num_queries, near
):
    category = community.categories["haircut"]
    make_service_point(community.grid, category, operator=community.team)
    with django_assert_num_queries(2) as one:  # COUNT + the page with its relations joined
        gql.data(SERVICE_POINTS, {"first": 50, "near": near})
    for _ in range(49):
        make_service_point(community.grid, category, operator=community.team)

    with django_assert_num_queries(len(one.captured_queries)):
        data = gql.data(SERVICE_POINTS, {"first": 50, "near": near})

    assert len(data["servicePoints"]["edges"]) == 50
