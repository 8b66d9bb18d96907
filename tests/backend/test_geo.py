import pytest

from backend.core.geo import MAX_RADIUS_KM, bounding_box, distance_km_expression, haversine_km
from backend.servicepoints.models import ServicePoint
from tests.fixtures import CENTRE, make_service_point

OFFSETS = [(0.001, 0.0), (0.0, 0.01), (0.05, -0.05), (-0.2, 0.3), (0.3, 0.0)]


def test_the_sql_distance_agrees_with_the_great_circle_within_a_tenth_of_a_percent(community):
    for d_lat, d_lng in OFFSETS:
        make_service_point(
            community.grid,
            community.categories["haircut"],
            name=f"{d_lat},{d_lng}",
            latitude=CENTRE[0] + d_lat,
            longitude=CENTRE[1] + d_lng,
        )

    rows = ServicePoint.objects.annotate(
        distance=distance_km_expression("latitude", "longitude", *CENTRE)
    ).values_list("latitude", "longitude", "distance")

    for latitude, longitude, distance in rows:
        exact = haversine_km(*CENTRE, latitude, longitude)
        assert distance == pytest.approx(exact, rel=1e-3)


@pytest.mark.parametrize("latitude", [0.0, 39.1, 53.5])  # equator, Tianjin, Mohe
def test_the_bounding_box_contains_the_whole_circle(latitude):
    box = bounding_box(latitude, 117.2, MAX_RADIUS_KM)

    north_south = haversine_km(latitude, 117.2, box.max_latitude, 117.2)
    east_west = haversine_km(latitude, 117.2, latitude, box.max_longitude)
    assert north_south >= MAX_RADIUS_KM * 0.999
    assert east_west >= MAX_RADIUS_KM * 0.999
