"""The authorization matrix: who calls, and proof that a refused call changed nothing."""

from dataclasses import dataclass
from typing import Any

from django.apps import apps

from backend.organizations.models import Organization, OrganizationKind
from tests.fixtures import (
    Community,
    make_coordinator,
    make_region_admin,
    make_volunteer,
    sign_in,
)

# The callers every restricted operation is tried with.
ANONYMOUS = "anonymous"
VOLUNTEER = "volunteer"
COORDINATOR_ELSEWHERE = "coordinator of another community"
COORDINATOR_HERE = "coordinator of this community"
REGION_ADMIN_ABOVE = "region admin above it"
CALLERS = [ANONYMOUS, VOLUNTEER, COORDINATOR_ELSEWHERE, COORDINATOR_HERE, REGION_ADMIN_ABOVE]
ALLOWED = {COORDINATOR_HERE, REGION_ADMIN_ABOVE}


@dataclass
class Callers:
    tokens: dict[str, str | None]
    users: dict[str, Any]


def build_callers(community: Community) -> Callers:
    """One user per kind of caller around ``community`` (see tests/fixtures.py)."""
    elsewhere = Organization.objects.create(
        name="新文化社区党委",
        kind=OrganizationKind.PARTY_ORGANIZATION,
        region=community.other_community,
    )
    users = {
        ANONYMOUS: None,
        VOLUNTEER: make_volunteer("matrix-volunteer"),
        COORDINATOR_ELSEWHERE: make_coordinator(elsewhere, "matrix-elsewhere"),
        COORDINATOR_HERE: make_coordinator(community.committee, "matrix-here"),
        REGION_ADMIN_ABOVE: make_region_admin(community.street, "matrix-street"),
    }
    tokens = {caller: sign_in(user) if user else None for caller, user in users.items()}
    return Callers(tokens=tokens, users=users)


DOMAIN_APPS = (
    "regions",
    "organizations",
    "servicepoints",
    "volunteers",
    "activities",
    "audit",
    "enrollments",
    "attendance",
    "hours",
    "notifications",
    "matching",
    "residents",
    "deliberation",
    "campaigns",
    "certificates",
)


def database_fingerprint() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the domain tables, to compare before and after a refused call."""
    fingerprint = {}
    for label in DOMAIN_APPS:
        for model in apps.get_app_config(label).get_models():
            rows = model._default_manager.order_by("pk").values_list()
            fingerprint[model._meta.label] = [tuple(map(str, row)) for row in rows]
    return fingerprint
