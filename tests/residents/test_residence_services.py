"""Residences: one current residence per user, declared by them, verified by the community."""

import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from backend.audit.models import AuditEvent
from backend.organizations.models import Organization, OrganizationKind
from backend.regions.models import RegionLevel
from backend.residents import services
from backend.residents.models import Residence, ResidenceStatus
from backend.residents.services import (
    current_residence,
    declare_residence,
    end_residence,
    verify_residence,
)
from tests.fixtures import build_community, make_coordinator, make_region, make_volunteer


def codes(error: ValidationError) -> dict[str, list[str | None]]:
    return {field: [e.code for e in errors] for field, errors in error.error_dict.items()}


@pytest.fixture
def manager(community):
    return make_coordinator(community.committee, "committee-secretary")


@pytest.fixture
def resident(db):
    return make_volunteer("zhang-san")


def test_a_declared_residence_waits_for_verification(community, resident):
    residence = declare_residence(resident, community.community, " 3号楼2单元101 ")

    assert residence.status == ResidenceStatus.PENDING
    assert residence.address == "3号楼2单元101"
    assert current_residence(resident) == residence
    assert current_residence(resident).status != ResidenceStatus.VERIFIED
    [event] = AuditEvent.objects.filter(action="residence.declare")
    assert event.actor == resident
    assert event.region == community.community


def test_declaring_the_same_community_again_returns_the_current_residence(community, resident):
    first = declare_residence(resident, community.community, "3号楼")

    again = declare_residence(resident, community.community, "另一个地址")

    assert again == first
    assert Residence.objects.get().address == "3号楼"


def test_a_second_community_is_refused_while_one_is_current(community, resident):
    declare_residence(resident, community.community, "")

    with pytest.raises(ValidationError) as refused:
        declare_residence(resident, community.other_community, "")

    assert codes(refused.value) == {"community_id": ["already_resident"]}
    assert Residence.objects.count() == 1


@pytest.mark.parametrize("level", ["district", "street", "grid"])
def test_only_a_community_or_a_village_can_be_home(community, resident, level):
    region = {"district": community.district, "street": community.street, "grid": community.grid}

    with pytest.raises(ValidationError) as refused:
        declare_residence(resident, region[level], "")

    assert codes(refused.value) == {"community_id": ["not_a_community"]}
    assert not Residence.objects.exists()


def test_a_village_can_be_home(community, resident):
    village = make_region("120101003099", "李庄村", RegionLevel.VILLAGE, community.street)

    assert declare_residence(resident, village, "").community == village


def test_those_who_run_the_community_verify_once(community, resident, manager):
    residence = declare_residence(resident, community.community, "")

    verify_residence(manager, residence)

    residence.refresh_from_db()
    assert residence.status == ResidenceStatus.VERIFIED
    assert residence.verified_by == manager
    assert residence.verified_at is not None
    assert current_residence(resident) == residence
    with pytest.raises(ValidationError) as again:
        verify_residence(manager, residence)
    assert codes(again.value) == {"id": ["already_verified"]}
    assert AuditEvent.objects.filter(action="residence.verify").count() == 1


def test_a_coordinator_elsewhere_and_the_resident_themself_cannot_verify(community, resident):
    grid_team = make_coordinator(community.team, "team-coordinator")
    elsewhere = make_coordinator(
        Organization.objects.create(
            name="新文化社区党委",
            kind=OrganizationKind.PARTY_ORGANIZATION,
            region=community.other_community,
        ),
        "other-secretary",
    )
    residence = declare_residence(resident, community.community, "")

    with pytest.raises(PermissionDenied):
        verify_residence(elsewhere, residence)
    with pytest.raises(PermissionDenied):
        verify_residence(resident, residence)
    verify_residence(grid_team, residence)  # an organization based in one of its grids


def test_a_manager_cannot_verify_their_own_residence(community):
    manager = make_coordinator(community.committee, "lives-here")
    residence = declare_residence(manager, community.community, "")

    with pytest.raises(PermissionDenied):
        verify_residence(manager, residence)
    assert Residence.objects.get().status == ResidenceStatus.PENDING


def test_moving_out_ends_the_residence_and_frees_the_user_to_declare_another(community, resident):
    residence = declare_residence(resident, community.community, "")

    end_residence(resident, residence, "")

    residence.refresh_from_db()
    assert residence.status == ResidenceStatus.ENDED
    assert residence.ended_at is not None
    assert current_residence(resident) is None
    assert declare_residence(resident, community.other_community, "").pk != residence.pk
    with pytest.raises(ValidationError) as again:
        end_residence(resident, residence, "")
    assert codes(again.value) == {"id": ["residence_ended"]}


def test_a_manager_ends_a_residence_only_with_a_reason(community, resident, manager):
    residence = declare_residence(resident, community.community, "")

    with pytest.raises(ValidationError) as refused:
        end_residence(manager, residence, "  ")
    assert codes(refused.value) == {"reason": ["reason_required"]}
    assert Residence.objects.get().status == ResidenceStatus.PENDING

    end_residence(manager, residence, "户籍不在本社区")

    [event] = AuditEvent.objects.filter(action="residence.end")
    assert (event.actor, event.reason) == (manager, "户籍不在本社区")
    with pytest.raises(ValidationError) as ended:
        verify_residence(manager, residence)
    assert codes(ended.value) == {"id": ["residence_ended"]}


def test_a_neighbour_cannot_end_someone_elses_residence(community, resident):
    residence = declare_residence(resident, community.community, "")

    with pytest.raises(PermissionDenied):
        end_residence(make_volunteer("neighbour"), residence, "搬走了")
    assert Residence.objects.get().status == ResidenceStatus.PENDING


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("same_community", [True, False])
def test_two_declarations_at_once_leave_one_current_residence(monkeypatch, same_community):
    community = build_community()
    resident = make_volunteer("racer")
    barrier = threading.Barrier(2)
    checked = threading.local()
    original = services.current_residence

    def both_look_first(user):
        found = original(user)
        if not getattr(checked, "done", False):
            checked.done = True
            barrier.wait(timeout=10)  # neither sees the other's residence: both insert
        return found

    monkeypatch.setattr(services, "current_residence", both_look_first)
    homes = [
        community.community,
        community.community if same_community else community.other_community,
    ]
    outcomes: list[int | str | None] = []

    def declare(home):
        try:
            outcomes.append(declare_residence(resident, home, "").pk)
        except ValidationError as error:
            outcomes.append(codes(error)["community_id"][0])
        finally:
            connection.close()

    threads = [threading.Thread(target=declare, args=(home,)) for home in homes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    [residence] = Residence.objects.all()
    if same_community:
        assert outcomes == [residence.pk, residence.pk]
    else:
        assert sorted(outcomes, key=str) == sorted([residence.pk, "already_resident"], key=str)
