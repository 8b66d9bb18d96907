import pytest
from django.core.exceptions import ValidationError

from backend.regions.models import Region, RegionLevel
from tests.fixtures import make_region


def test_paths_follow_the_administrative_codes(community):
    assert community.grid.path == "120101/120101003/120101003005/120101003005001/"
    assert community.grid.depth == 4
    assert list(Region.objects.subtree(community.street).values_list("name", flat=True)) == [
        "小白楼街道",
        "朝阳里社区",
        "朝阳里第一网格",
    ]


def test_moving_a_community_moves_its_whole_subtree(community):
    other_street = community.other_community.parent

    community.community.parent = other_street
    community.community.save()

    community.grid.refresh_from_db()
    assert community.grid.path == "120101/120101004/120101003005/120101003005001/"
    assert community.grid in Region.objects.subtree(other_street)


@pytest.mark.parametrize(
    ("level", "parent_name"),
    [
        (RegionLevel.COMMUNITY, "district"),
        (RegionLevel.STREET, "community"),
        (RegionLevel.GRID, None),
    ],
)
def test_levels_must_sit_below_the_level_above_them(community, level, parent_name):
    parent = getattr(community, parent_name) if parent_name else None
    region = Region(code="999", name="x", level=level, parent=parent)

    with pytest.raises(ValidationError) as error:
        region.full_clean()

    assert "parent" in error.value.message_dict


def test_a_region_cannot_move_below_itself(community):
    community.street.parent = community.grid
    with pytest.raises(ValidationError):
        community.street.clean()


def test_codes_are_unique(community):
    with pytest.raises(ValidationError):
        Region(code="120101", name="again", level=RegionLevel.DISTRICT).full_clean()
    assert make_region("120102", "河东区", RegionLevel.DISTRICT).depth == 1
