from graphql_relay import to_global_id

from backend.organizations.models import Organization, OrganizationKind
from backend.regions.models import RegionLevel
from tests.fixtures import make_region

REGIONS = """
query Regions($level: RegionLevel, $parent: ID, $within: ID, $search: String) {
  regions(first: 100, level: $level, parent: $parent, within: $within, search: $search) {
    totalCount
    edges { node { name code level depth parent { name } children { name } } }
  }
}
"""

ORGANIZATIONS = """
query Organizations($kind: OrganizationKind, $region: ID, $search: String) {
  organizations(first: 100, kind: $kind, region: $region, search: $search) {
    totalCount
    edges { node { name kind region { name } } }
  }
}
"""


def region_names(data):
    return [edge["node"]["name"] for edge in data["regions"]["edges"]]


def test_regions_come_in_tree_order_with_parents_and_children(gql, community):
    data = gql.data(REGIONS)

    assert region_names(data) == [
        "和平区",
        "小白楼街道",
        "朝阳里社区",
        "朝阳里第一网格",
        "南营门街道",
        "新文化社区",
    ]
    district = data["regions"]["edges"][0]["node"]
    assert district["level"] == "DISTRICT"
    assert district["parent"] is None
    assert [child["name"] for child in district["children"]] == ["小白楼街道", "南营门街道"]


def test_regions_filter_by_level_parent_subtree_and_search(gql, community):
    street = to_global_id("Region", community.street.pk)

    assert region_names(gql.data(REGIONS, {"level": "COMMUNITY"})) == ["朝阳里社区", "新文化社区"]
    assert region_names(gql.data(REGIONS, {"parent": street})) == ["朝阳里社区"]
    assert region_names(gql.data(REGIONS, {"within": street})) == [
        "小白楼街道",
        "朝阳里社区",
        "朝阳里第一网格",
    ]
    assert region_names(gql.data(REGIONS, {"search": "120101004"})) == ["南营门街道", "新文化社区"]


def test_organizations_filter_by_kind_and_region_subtree_and_hide_inactive(gql, community):
    Organization.objects.create(
        name="停用的社会组织",
        kind=OrganizationKind.SOCIAL_ORGANIZATION,
        region=community.community,
        is_active=False,
    )
    Organization.objects.create(
        name="新文化共建单位",
        kind=OrganizationKind.CO_BUILDING_UNIT,
        region=community.other_community,
    )

    def names(**variables):
        data = gql.data(ORGANIZATIONS, variables)
        return sorted(edge["node"]["name"] for edge in data["organizations"]["edges"])

    assert names() == ["新文化共建单位", "朝阳里志愿服务队", "朝阳里社区党委"]
    assert names(kind="VOLUNTEER_TEAM") == ["朝阳里志愿服务队"]
    assert names(region=to_global_id("Region", community.community.pk)) == [
        "朝阳里志愿服务队",
        "朝阳里社区党委",
    ]
    assert names(search="党委") == ["朝阳里社区党委"]


def test_region_and_organization_lists_cost_the_same_queries_for_any_page(
    gql, community, django_assert_num_queries
):
    with django_assert_num_queries(3):  # COUNT, page with parent joined, children prefetched
        gql.data(REGIONS)
    with django_assert_num_queries(2):  # COUNT, page with region joined
        gql.data(ORGANIZATIONS)
    for number in range(50):
        grid = make_region(
            f"120101004001{number:03d}",
            f"网格{number}",
            RegionLevel.GRID,
            community.other_community,
        )
        Organization.objects.create(
            name=f"志愿服务队{number}", region=grid, kind=OrganizationKind.VOLUNTEER_TEAM
        )

    with django_assert_num_queries(3):
        regions = gql.data(REGIONS)
    with django_assert_num_queries(2):
        organizations = gql.data(ORGANIZATIONS)
    assert regions["regions"]["totalCount"] == 56
    assert organizations["organizations"]["totalCount"] == 52
