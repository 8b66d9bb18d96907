"""Coordinators creating, changing, closing and importing service points over GraphQL."""

import base64
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from graphql_relay import to_global_id

from backend.audit.models import AuditEvent
from backend.organizations.models import MembershipRole, Organization, OrganizationKind
from backend.servicepoints import services
from backend.servicepoints.models import ServicePoint
from backend.servicepoints.services import ServicePointChanges
from tests.fixtures import CENTRE, build_community, make_coordinator, make_service_point, sign_in
from tests.permissions import (
    ALLOWED,
    ANONYMOUS,
    CALLERS,
    COORDINATOR_HERE,
    REGION_ADMIN_ABOVE,
    database_fingerprint,
)

POINT_FIELDS = """
  servicePoint {
    id name address latitude longitude isActive contactPhone
    region { name } operator { name } category { code }
    openingHours { weekday opens closes }
  }
  errors { field code message }
"""
CREATE = f"""
mutation Create($input: CreateServicePointInput!) {{
  createServicePoint(input: $input) {{ {POINT_FIELDS} }}
}}
"""
UPDATE = f"""
mutation Update($id: ID!, $input: UpdateServicePointInput!, $reason: String) {{
  updateServicePoint(id: $id, input: $input, reason: $reason) {{ {POINT_FIELDS} }}
}}
"""
DEACTIVATE = f"""
mutation Deactivate($id: ID!, $reason: String) {{
  deactivateServicePoint(id: $id, reason: $reason) {{ {POINT_FIELDS} }}
}}
"""
REACTIVATE = f"""
mutation Reactivate($id: ID!) {{
  reactivateServicePoint(id: $id) {{ {POINT_FIELDS} }}
}}
"""
IMPORT = """
mutation Import($input: ImportServicePointsInput!) {
  importServicePoints(input: $input) {
    rowCount validCount importedCount skippedCount badRowCount rowErrorCount
    rowErrorsTruncated dryRun
    rowErrors { line column code message }
    errors { field code message }
  }
}
"""
CSV_HEADER = "name,category,region,address,latitude,longitude,opening_hours,operator\n"


def gid(type_name, pk):
    return to_global_id(type_name, pk)


def create_input(community, **overrides):
    values = {
        "name": "朝阳里助浴点",
        "category": gid("ServiceCategory", community.categories["bathing-assistance"].pk),
        "region": gid("Region", community.grid.pk),
        "operator": gid("Organization", community.committee.pk),
        "address": "和平区南京路12号",
        "latitude": CENTRE[0] + 0.001,
        "longitude": CENTRE[1],
        "openingHours": [{"weekday": 1, "opens": "8:30", "closes": "17:00"}],
        "contactPhone": "022-2345 6789",
    }
    return {"input": {**values, **overrides}}


def csv_base64(*rows):
    return base64.b64encode((CSV_HEADER + "".join(rows)).encode()).decode()


def import_input(community, content, **overrides):
    values = {
        "fileName": "points.csv",
        "contentBase64": content,
        "region": gid("Region", community.community.pk),
    }
    return {"input": {**values, **overrides}}


def good_rows(community, count=2):
    return [
        f"导入点{n},haircut,{community.grid.code},南京路{n}号,{CENTRE[0]},{CENTRE[1]},"
        f"Mon-Fri 08:30-17:00,{community.committee.name}\n"
        for n in range(count)
    ]


@pytest.fixture
def point(community):
    return make_service_point(
        community.grid,
        community.categories["haircut"],
        name="朝阳里理发点",
        operator=community.committee,
    )


@pytest.fixture
def closed_point(community):
    return make_service_point(
        community.grid,
        community.categories["haircut"],
        name="停用理发点",
        operator=community.committee,
        is_active=False,
    )


def codes(payload):
    return [(error["field"], error["code"]) for error in payload["errors"]]


# --- the authorization matrix ----------------------------------------------------------------


def _create(community, point, closed_point):
    return CREATE, create_input(community)


def _update(community, point, closed_point):
    return UPDATE, {"id": gid("ServicePoint", point.pk), "input": {"name": "朝阳里义剪点"}}


def _deactivate(community, point, closed_point):
    return DEACTIVATE, {"id": gid("ServicePoint", point.pk), "reason": "停业"}


def _reactivate(community, point, closed_point):
    return REACTIVATE, {"id": gid("ServicePoint", closed_point.pk)}


def _import(community, point, closed_point):
    return IMPORT, import_input(community, csv_base64(*good_rows(community)))


MUTATIONS = {
    "createServicePoint": _create,
    "updateServicePoint": _update,
    "deactivateServicePoint": _deactivate,
    "reactivateServicePoint": _reactivate,
    "importServicePoints": _import,
}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_only_the_community_s_coordinators_and_the_region_admins_above_manage_its_points(
    gql, community, callers, point, closed_point, mutation, caller
):
    document, variables = MUTATIONS[mutation](community, point, closed_point)
    before = database_fingerprint()

    payload = gql.with_token(callers.tokens[caller]).mutate(document, variables)

    if caller in ALLOWED:
        assert payload["errors"] == []
        assert AuditEvent.objects.filter(actor=callers.users[caller]).count() == 1
    else:
        expected = "UNAUTHENTICATED" if caller == ANONYMOUS else "PERMISSION_DENIED"
        assert codes(payload) == [(None, expected)]
        assert database_fingerprint() == before


# --- creating --------------------------------------------------------------------------------


def test_a_coordinator_creates_a_point_for_their_organization_and_it_is_audited(
    gql, community, callers
):
    coordinator = gql.with_token(callers.tokens[COORDINATOR_HERE])

    payload = coordinator.mutate(CREATE, create_input(community))

    assert payload["errors"] == []
    created = payload["servicePoint"]
    assert created["name"] == "朝阳里助浴点"
    assert created["operator"] == {"name": "朝阳里社区党委"}
    assert created["openingHours"] == [{"weekday": 1, "opens": "08:30", "closes": "17:00"}]
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.region) == (
        "servicepoint.create",
        callers.users[COORDINATOR_HERE],
        community.grid,
    )
    assert event.changes["name"] == [None, "朝阳里助浴点"]


def test_every_bad_field_is_reported_at_once_and_nothing_is_written(gql, community, callers):
    admin = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])
    before = database_fingerprint()

    payload = admin.mutate(
        CREATE,
        create_input(
            community,
            name="  ",
            latitude=95.0,
            openingHours=[{"weekday": 8, "opens": "09:00", "closes": "10:00"}],
            contactPhone="call me",
        ),
    )

    assert sorted(codes(payload)) == [
        ("contactPhone", "INVALID_PHONE"),
        ("latitude", "INVALID_COORDINATES"),
        ("name", "REQUIRED"),
        ("openingHours", "INVALID_OPENING_HOURS"),
    ]
    assert payload["servicePoint"] is None
    assert database_fingerprint() == before


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {
                "openingHours": [
                    {"weekday": 1, "opens": "08:00", "closes": "12:00"},
                    {"weekday": 1, "opens": "11:00", "closes": "13:00"},
                ]
            },
            ("openingHours", "INVALID_OPENING_HOURS"),
        ),
        (
            {"openingHours": [{"weekday": 1, "opens": "17:00", "closes": "08:00"}]},
            ("openingHours", "INVALID_OPENING_HOURS"),
        ),
        ({"name": "朝" * 201}, ("name", "MAX_LENGTH")),
        ({"category": "not-an-id"}, ("category", "INVALID")),
        ({"category": to_global_id("Region", 1)}, ("category", "INVALID")),
        ({"category": to_global_id("ServiceCategory", 999_999)}, ("category", "NOT_FOUND")),
        ({"region": to_global_id("Region", 2**70)}, ("region", "INVALID")),
    ],
    ids=[
        "overlapping-hours",
        "closing-before-opening",
        "name-too-long",
        "malformed-id",
        "id-of-another-type",
        "unknown-id",
        "huge-id",
    ],
)
def test_bad_input_is_a_typed_error_on_its_field(gql, community, callers, overrides, expected):
    admin = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])

    payload = admin.mutate(CREATE, create_input(community, **overrides))

    assert codes(payload) == [expected]
    assert not ServicePoint.objects.exists()


def test_coordinates_far_from_the_region_s_centre_are_refused(gql, community, callers):
    community.grid.latitude, community.grid.longitude = CENTRE
    community.grid.save()
    admin = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])

    swapped = admin.mutate(
        CREATE, create_input(community, latitude=CENTRE[1] - 80, longitude=CENTRE[0] + 80)
    )
    far = admin.mutate(CREATE, create_input(community, latitude=CENTRE[0] + 1.0))  # 111 km

    assert codes(swapped) == codes(far) == [("latitude", "INVALID_COORDINATES")]


def test_points_belong_to_a_community_or_grid_not_a_street(gql, community, callers):
    admin = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])

    payload = admin.mutate(
        CREATE, create_input(community, region=gid("Region", community.street.pk))
    )

    assert codes(payload) == [("region", "INVALID_REGION_LEVEL")]


def test_a_coordinator_names_an_operator_they_coordinate_within_its_area(gql, community, callers):
    coordinator = gql.with_token(callers.tokens[COORDINATOR_HERE])
    closed = Organization.objects.create(
        name="已停用的服务队",
        kind=OrganizationKind.VOLUNTEER_TEAM,
        region=community.grid,
        is_active=False,
    )

    without = coordinator.mutate(CREATE, create_input(community, operator=None))
    not_theirs = coordinator.mutate(
        CREATE, create_input(community, operator=gid("Organization", community.team.pk))
    )
    inactive = coordinator.mutate(
        CREATE, create_input(community, operator=gid("Organization", closed.pk))
    )

    assert codes(without) == [("operator", "REQUIRED")]
    assert codes(not_theirs) == [("operator", "OPERATOR_NOT_COORDINATED")]
    assert codes(inactive) == [("operator", "OPERATOR_INACTIVE")]


def test_a_region_admin_names_an_operator_of_the_area_not_one_from_elsewhere(
    gql, community, callers
):
    admin = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])
    elsewhere = Organization.objects.get(name="新文化社区党委")  # another street's community
    district_station = Organization.objects.create(
        name="和平区社工站", kind=OrganizationKind.SOCIAL_ORGANIZATION, region=community.district
    )

    refused = admin.mutate(
        CREATE, create_input(community, operator=gid("Organization", elsewhere.pk))
    )
    accepted = admin.mutate(
        CREATE, create_input(community, operator=gid("Organization", district_station.pk))
    )

    assert codes(refused) == [("operator", "OPERATOR_NOT_COORDINATED")]
    assert accepted["errors"] == []


def test_a_team_coordinator_cannot_place_a_point_outside_the_team_s_grid(gql, community):
    team_lead = make_coordinator(community.team, "team-lead")
    sibling = build_sibling_grid(community)

    payload = gql.with_token(sign_in(team_lead)).mutate(
        CREATE,
        create_input(
            community,
            region=gid("Region", sibling.pk),
            operator=gid("Organization", community.team.pk),
        ),
    )

    assert codes(payload) == [(None, "PERMISSION_DENIED")]


def build_sibling_grid(community):
    from backend.regions.models import RegionLevel
    from tests.fixtures import make_region

    return make_region("120101003005002", "朝阳里第二网格", RegionLevel.GRID, community.community)


def test_the_same_name_and_address_in_one_region_is_a_duplicate(gql, community, callers, point):
    admin = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])

    payload = admin.mutate(
        CREATE, create_input(community, name=" 朝阳里理发点 ", address=point.address.upper())
    )

    assert codes(payload) == [("name", "DUPLICATE")]


# --- changing --------------------------------------------------------------------------------


def test_an_update_changes_only_the_given_fields_and_records_what_changed(
    gql, community, callers, point
):
    coordinator = gql.with_token(callers.tokens[COORDINATOR_HERE])

    payload = coordinator.mutate(
        UPDATE,
        {
            "id": gid("ServicePoint", point.pk),
            "input": {"contactPhone": "13812341234", "openingHours": []},
            "reason": "电话变更",
        },
    )

    assert payload["errors"] == []
    assert payload["servicePoint"]["name"] == "朝阳里理发点"
    assert payload["servicePoint"]["contactPhone"] == "13812341234"
    event = AuditEvent.objects.get()
    assert event.action == "servicepoint.update"
    assert event.reason == "电话变更"
    assert event.changes == {
        "contact_phone": ["", "13812341234"],
        "opening_hours": [[{"weekday": 1, "opens": "08:30", "closes": "17:00"}], []],
    }


def test_an_update_that_changes_nothing_writes_nothing(gql, community, callers, point):
    coordinator = gql.with_token(callers.tokens[COORDINATOR_HERE])
    before = database_fingerprint()

    payload = coordinator.mutate(
        UPDATE, {"id": gid("ServicePoint", point.pk), "input": {"name": point.name}}
    )

    assert payload["errors"] == []
    assert database_fingerprint() == before


def test_a_coordinator_cannot_move_a_point_out_of_their_reach(gql, community, callers, point):
    coordinator = gql.with_token(callers.tokens[COORDINATOR_HERE])

    moved = coordinator.mutate(
        UPDATE,
        {
            "id": gid("ServicePoint", point.pk),
            "input": {"region": gid("Region", community.other_community.pk)},
        },
    )
    handed_over = coordinator.mutate(
        UPDATE,
        {
            "id": gid("ServicePoint", point.pk),
            "input": {"operator": gid("Organization", community.team.pk)},
        },
    )

    assert codes(moved) == [("region", "REGION_NOT_ADMINISTERED")]
    assert codes(handed_over) == [("operator", "OPERATOR_NOT_COORDINATED")]
    point.refresh_from_db()
    assert (point.region, point.operator) == (community.grid, community.committee)


def test_a_region_admin_hands_a_point_to_another_organization(gql, community, callers, point):
    admin = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])

    payload = admin.mutate(
        UPDATE,
        {
            "id": gid("ServicePoint", point.pk),
            "input": {"operator": gid("Organization", community.team.pk)},
        },
    )

    assert payload["errors"] == []
    assert payload["servicePoint"]["operator"] == {"name": "朝阳里志愿服务队"}


def test_an_unknown_point_is_not_found(gql, community, callers):
    admin = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])

    payload = admin.mutate(UPDATE, {"id": gid("ServicePoint", 123_456), "input": {"name": "x"}})

    assert codes(payload) == [("id", "NOT_FOUND")]


# --- out of service and back -----------------------------------------------------------------


def test_a_deactivated_point_leaves_the_list_and_asking_twice_changes_nothing_more(
    gql, community, callers, point
):
    coordinator = gql.with_token(callers.tokens[COORDINATOR_HERE])
    variables = {"id": gid("ServicePoint", point.pk), "reason": "停业"}

    first = coordinator.mutate(DEACTIVATE, variables)
    second = coordinator.mutate(DEACTIVATE, variables)

    assert first["errors"] == second["errors"] == []
    assert first["servicePoint"]["isActive"] is False
    assert gql.data("{ servicePoints(first: 5) { totalCount } }")["servicePoints"] == {
        "totalCount": 0
    }
    event = AuditEvent.objects.get()
    assert (event.action, event.reason) == ("servicepoint.deactivate", "停业")


def test_a_point_comes_back_unless_an_active_twin_took_its_place(
    gql, community, callers, closed_point
):
    admin = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])
    twin = make_service_point(
        community.grid, community.categories["haircut"], name=closed_point.name
    )
    ServicePoint.objects.filter(pk=twin.pk).update(address=closed_point.address)

    refused = admin.mutate(REACTIVATE, {"id": gid("ServicePoint", closed_point.pk)})
    ServicePoint.objects.filter(pk=twin.pk).update(is_active=False)
    accepted = admin.mutate(REACTIVATE, {"id": gid("ServicePoint", closed_point.pk)})

    assert codes(refused) == [(None, "DUPLICATE")]
    assert accepted["errors"] == []
    assert accepted["servicePoint"]["isActive"] is True


# --- importing through the API ---------------------------------------------------------------


def test_an_import_answers_with_counts_and_every_bad_row(gql, community, callers):
    admin = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])
    content = csv_base64(
        *good_rows(community),
        f"坏点,no-such-category,{community.grid.code},南京路9号,{CENTRE[0]},{CENTRE[1]},,\n",
    )

    refused = admin.mutate(IMPORT, import_input(community, content))
    partial = admin.mutate(IMPORT, import_input(community, content, mode="VALID_ROWS_ONLY"))

    assert codes(refused) == [(None, "IMPORT_HAS_ERRORS")]
    assert (refused["rowCount"], refused["importedCount"], refused["skippedCount"]) == (3, 0, 3)
    assert refused["rowErrors"] == [
        {
            "line": 4,
            "column": "category",
            "code": "NOT_FOUND",
            "message": refused["rowErrors"][0]["message"],
        }
    ]
    assert partial["errors"] == []
    assert (partial["importedCount"], partial["skippedCount"], partial["badRowCount"]) == (2, 1, 1)
    assert ServicePoint.objects.count() == 2


def test_a_dry_run_answers_like_the_import_and_writes_nothing(gql, community, callers):
    admin = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])
    before = database_fingerprint()

    payload = admin.mutate(
        IMPORT, import_input(community, csv_base64(*good_rows(community, 3)), dryRun=True)
    )

    assert payload["errors"] == []
    assert (payload["validCount"], payload["importedCount"], payload["dryRun"]) == (3, 0, True)
    assert database_fingerprint() == before


@pytest.mark.parametrize(
    ("content", "file_name", "expected"),
    [
        ("not base64!", "points.csv", ("contentBase64", "INVALID")),
        (base64.b64encode(b"x").decode(), "points.xls", ("contentBase64", "UNSUPPORTED_FORMAT")),
        (
            base64.b64encode(b"name,colour\n").decode(),
            "p.csv",
            ("contentBase64", "UNKNOWN_COLUMNS"),
        ),
        (base64.b64encode(b"not a zip").decode(), "p.xlsx", ("contentBase64", "INVALID_FILE")),
    ],
    ids=["bad-base64", "old-excel", "unknown-column", "not-a-workbook"],
)
def test_a_file_that_cannot_be_read_is_a_typed_error(
    gql, community, callers, content, file_name, expected
):
    admin = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])

    payload = admin.mutate(IMPORT, import_input(community, content, fileName=file_name))

    assert codes(payload) == [expected]
    assert payload["rowCount"] is None


def test_an_upload_over_10_mb_is_refused(gql, community, callers):
    admin = gql.with_token(callers.tokens[REGION_ADMIN_ABOVE])
    content = base64.b64encode(b"a" * (10 * 2**20 + 1)).decode()

    payload = admin.mutate(IMPORT, import_input(community, content))

    assert codes(payload) == [("contentBase64", "FILE_TOO_LARGE")]


def test_a_coordinator_s_import_refuses_rows_outside_their_organization_s_area(
    gql, community, callers
):
    coordinator = gql.with_token(callers.tokens[COORDINATOR_HERE])
    content = csv_base64(
        *good_rows(community, 1),
        f"外区点,haircut,{community.other_community.code},南京路7号,{CENTRE[0]},{CENTRE[1]},,"
        f"{community.committee.name}\n",
        f"无运营方点,haircut,{community.grid.code},南京路8号,{CENTRE[0]},{CENTRE[1]},,\n",
    )

    payload = coordinator.mutate(
        IMPORT, import_input(community, content, region=None, mode="VALID_ROWS_ONLY")
    )

    assert payload["importedCount"] == 1
    assert [(e["line"], e["column"], e["code"]) for e in payload["rowErrors"]] == [
        (3, "operator", "NOT_FOUND"),
        (4, "region", "REGION_NOT_ADMINISTERED"),
    ]


# --- races (PostgreSQL) ----------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_coordinators_creating_the_same_point_at_once_make_one(monkeypatch):
    community = build_community()
    first = make_coordinator(community.committee, "twin-a", MembershipRole.ADMIN)
    second = make_coordinator(community.committee, "twin-b", MembershipRole.ADMIN)
    barrier = threading.Barrier(2)
    original = services._check_duplicate

    def slow_check(point, problems):
        original(point, problems)
        threading.Event().wait(0.3)  # both would have found "no duplicate" without the lock

    monkeypatch.setattr(services, "_check_duplicate", slow_check)
    outcomes = []

    def create(user):
        barrier.wait()
        try:
            services.create_service_point(
                user,
                ServicePointChanges(
                    name="同名点",
                    category=community.categories["haircut"],
                    region=community.grid,
                    operator=community.committee,
                    address="南京路1号",
                    latitude=CENTRE[0],
                    longitude=CENTRE[1],
                ),
            )
            outcomes.append("created")
        except ValidationError as error:
            outcomes.append(type(error).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(user,)) for user in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["ValidationError", "created"]
    assert ServicePoint.objects.filter(name="同名点").count() == 1
