"""Creating, changing, taking out of service and bringing back service points.

Every function validates the whole input before it writes, writes in one transaction with
its audit event, and refuses a caller outside the rules of ``backend.servicepoints.rules``
with ``PermissionDenied`` before looking at the input.
"""

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from backend.accounts.scopes import Scope, scope_of
from backend.audit.services import changes_between, record, snapshot
from backend.core.problems import Problems
from backend.organizations.models import Organization
from backend.regions.models import Region
from backend.servicepoints import validation
from backend.servicepoints.error_codes import ServicePointErrorCode as Code
from backend.servicepoints.models import ServiceCategory, ServicePoint
from backend.servicepoints.opening_hours import parse_opening_hours
from backend.servicepoints.rules import may_place

UNSET: Any = object()

# What the audit trail records of a point.
AUDITED_FIELDS = [
    "name",
    "category",
    "region",
    "operator",
    "address",
    "latitude",
    "longitude",
    "opening_hours",
    "contact_name",
    "contact_phone",
    "description",
    "is_active",
]


@dataclass
class ServicePointChanges:
    """What a creation sets or an update changes; ``UNSET`` leaves a field as it is.

    Relations arrive as model instances (the caller looked them up); ``operator=None``
    means "run by nobody in particular".
    """

    name: Any = UNSET
    category: Any = UNSET
    region: Any = UNSET
    operator: Any = UNSET
    address: Any = UNSET
    latitude: Any = UNSET
    longitude: Any = UNSET
    opening_hours: Any = UNSET
    contact_name: Any = UNSET
    contact_phone: Any = UNSET
    description: Any = UNSET

    def given(self) -> dict[str, Any]:
        return {name: value for name, value in vars(self).items() if value is not UNSET}


def _denied() -> PermissionDenied:
    return PermissionDenied(_("You do not manage service points here."))


def _clean(point: ServicePoint, changes: dict[str, Any], problems: Problems) -> None:
    """Apply ``changes`` to ``point`` (unsaved), checking each field."""
    for field in ("name", "address"):
        if field in changes:
            value = validation.clean_text(problems, field, changes[field], required=True)
            setattr(point, field, value)
    for field in ("contact_name", "description"):
        if field in changes:
            value = validation.clean_text(problems, field, changes[field], required=False)
            setattr(point, field, value)
    if "contact_phone" in changes:
        point.contact_phone = validation.clean_phone(
            problems, "contact_phone", changes["contact_phone"]
        )
    for field in ("latitude", "longitude"):
        if field in changes:
            coordinate = validation.clean_coordinate(problems, field, changes[field])
            if coordinate is not None:
                setattr(point, field, coordinate)
    if "opening_hours" in changes:
        try:
            point.opening_hours = parse_opening_hours(changes["opening_hours"])
        except ValidationError as error:
            problems.absorb("opening_hours", error)
    if "category" in changes:
        category = changes["category"]
        if not isinstance(category, ServiceCategory):
            problems.add("category", _("This field is required."), Code.REQUIRED)
        else:
            point.category = category
    if "region" in changes:
        region = changes["region"]
        if not isinstance(region, Region):
            problems.add("region", _("This field is required."), Code.REQUIRED)
        else:
            validation.check_region_level(problems, "region", region)
            point.region = region
    if "operator" in changes:
        operator = changes["operator"]
        if operator is not None and not operator.is_active:
            problems.add(
                "operator",
                _("%(name)s is no longer active.") % {"name": operator.name},
                Code.OPERATOR_INACTIVE,
            )
        point.operator = operator
    located = {"latitude", "longitude", "region"}
    if located & set(changes) and not located & set(problems.by_field):
        validation.check_near_region(problems, point.latitude, point.longitude, point.region)


def placement_problem(
    scope: Scope, region: Region, operator: Organization | None, no_operator_field: str
) -> tuple[str, str, Code] | None:
    """Why a point may not be in ``region`` run by ``operator`` (``rules.may_place``), as
    (field, message, code); ``None`` when it may. ``no_operator_field`` is the field to
    blame when a coordinator names no operator."""
    if may_place(scope, region, operator):
        return None
    if operator is not None and scope.administers_region(region):
        return (
            "operator",
            _("%(name)s works outside %(region)s and is not an organization you coordinate.")
            % {"name": operator.name, "region": region.name},
            Code.OPERATOR_NOT_COORDINATED,
        )
    if operator is None:
        return (
            no_operator_field,
            _(
                "You do not administer %(region)s: name the organization you coordinate that "
                "runs this point."
            )
            % {"region": region.name},
            Code.REQUIRED if no_operator_field == "operator" else Code.REGION_NOT_ADMINISTERED,
        )
    if operator.pk not in scope.coordinated_organization_ids:
        return (
            "operator",
            _("You do not coordinate %(name)s.") % {"name": operator.name},
            Code.OPERATOR_NOT_COORDINATED,
        )
    return (
        "region",
        _("%(region)s is outside the area of %(name)s.")
        % {"region": region.name, "name": operator.name},
        Code.REGION_NOT_ADMINISTERED,
    )


def _check_placement(actor: Any, point: ServicePoint, problems: Problems) -> None:
    """Where the point ends up must be within the actor's reach."""
    if "region" in problems or "operator" in problems:
        return
    problem = placement_problem(scope_of(actor), point.region, point.operator, "operator")
    if problem is not None:
        problems.add(*problem)


def _check_duplicate(point: ServicePoint, problems: Problems) -> None:
    """No two points with the same name and address in one region. The region row is
    locked first, so two writers cannot both find "no duplicate" and both insert."""
    if {"name", "address", "region"} & set(problems.by_field):
        return
    Region.objects.select_for_update().filter(pk=point.region.pk).first()
    key = validation.duplicate_key(point.name, point.address)
    others = ServicePoint.objects.filter(region=point.region).exclude(pk=point.pk)
    # Compared in Python: the key folds width, case and spaces, which SQL cannot.
    for other_name, other_address, other_active in others.values_list(
        "name", "address", "is_active"
    ):
        if validation.duplicate_key(other_name, other_address) == key:
            message = (
                _("A service point with this name and address already exists here.")
                if other_active
                else _(
                    "An inactive service point with this name and address exists here: "
                    "reactivate it instead."
                )
            )
            problems.add("name", message, Code.DUPLICATE)
            return


def _related(point: ServicePoint) -> ServicePoint:
    """The point with what the rules and the payload read (region, operator's region)."""
    return ServicePoint.objects.select_related("region", "operator__region", "category").get(
        pk=point.pk
    )


def create_service_point(actor: Any, changes: ServicePointChanges) -> ServicePoint:
    given = changes.given()
    region = given.get("region")
    if not actor.has_perm(
        "servicepoints.add_servicepoint", region if isinstance(region, Region) else None
    ):
        raise _denied()
    for required in ("name", "category", "region", "address", "latitude", "longitude"):
        given.setdefault(required, None)
    given.setdefault("operator", None)
    point = ServicePoint()
    problems = Problems()
    _clean(point, given, problems)
    _check_placement(actor, point, problems)
    problems.raise_if_any()
    with transaction.atomic():
        _check_duplicate(point, problems)
        problems.raise_if_any()
        point.save()
        record(
            actor,
            "servicepoint.create",
            point,
            point.region,
            changes_between({}, snapshot(point, AUDITED_FIELDS)),
        )
    return _related(point)


def update_service_point(
    actor: Any, point: ServicePoint, changes: ServicePointChanges, reason: str = ""
) -> ServicePoint:
    if not actor.has_perm("servicepoints.change_servicepoint", point):
        raise _denied()
    given = changes.given()
    with transaction.atomic():
        current = (
            ServicePoint.objects.select_for_update(of=("self",))
            .select_related("region", "operator__region", "category")
            .get(pk=point.pk)
        )
        before = snapshot(current, AUDITED_FIELDS)
        problems = Problems()
        _clean(current, given, problems)
        if current.region_id != before["region"] or current.operator_id != before["operator"]:
            _check_placement(actor, current, problems)
        if {"name", "address", "region"} & set(given):
            _check_duplicate(current, problems)
        problems.raise_if_any()
        changed = changes_between(before, snapshot(current, AUDITED_FIELDS))
        if not changed:
            return current
        current.save()
        record(actor, "servicepoint.update", current, current.region, changed, reason)
    return _related(current)


def _set_active(actor: Any, point: ServicePoint, active: bool, reason: str) -> ServicePoint:
    if not actor.has_perm("servicepoints.change_servicepoint", point):
        raise _denied()
    with transaction.atomic():
        current = ServicePoint.objects.select_for_update(of=("self",)).get(pk=point.pk)
        if current.is_active == active:
            return _related(current)  # asked twice (a retry): nothing more to do
        if active:  # not next to an active twin created while it was out of service
            problems = Problems()
            _check_active_duplicate(current, problems)
            problems.raise_if_any()
        current.is_active = active
        current.save(update_fields=["is_active", "updated_at"])
        record(
            actor,
            "servicepoint.reactivate" if active else "servicepoint.deactivate",
            current,
            current.region,
            {"is_active": [not active, active]},
            reason,
        )
    return _related(current)


def _check_active_duplicate(point: ServicePoint, problems: Problems) -> None:
    Region.objects.select_for_update().filter(pk=point.region_id).first()
    key = validation.duplicate_key(point.name, point.address)
    for name, address in (
        ServicePoint.objects.filter(region_id=point.region_id, is_active=True)
        .exclude(pk=point.pk)
        .values_list("name", "address")
    ):
        if validation.duplicate_key(name, address) == key:
            problems.add(
                None,
                _("An active service point with the same name and address exists here."),
                Code.DUPLICATE,
            )
            return


def deactivate_service_point(actor: Any, point: ServicePoint, reason: str = "") -> ServicePoint:
    """Take a point out of service: it leaves every list and search; its history stays."""
    return _set_active(actor, point, False, reason)


def reactivate_service_point(actor: Any, point: ServicePoint, reason: str = "") -> ServicePoint:
    return _set_active(actor, point, True, reason)
