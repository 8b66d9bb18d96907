"""Becoming a volunteer and keeping one's profile up to date."""

import datetime as dt
import itertools
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import User
from backend.regions.models import Region
from backend.servicepoints.models import ServiceCategory
from backend.volunteers.error_codes import VolunteerErrorCode
from backend.volunteers.models import AvailabilityWindow, Skill, VolunteerProfile

MAX_WINDOWS = 21
MAX_SKILLS = 30
MAX_REGIONS = 20
MAX_PREFERRED_CATEGORIES = 18  # every category there is
MAX_LANGUAGES = 10
MAX_SHIFTS_PER_WEEK = 14  # two a day; 0 asks matching not to propose them at all
LANGUAGE_CODE = re.compile(r"^[a-z]{2,8}(-[a-z0-9]{2,8})*$")
UNSET: Any = object()


@dataclass(frozen=True)
class Window:
    weekday: int
    starts_at: dt.time
    ends_at: dt.time


@dataclass
class ProfileChanges:
    """What a registration or an update sets; ``UNSET`` leaves a field as it is."""

    display_name: Any = UNSET
    skill_ids: Any = UNSET
    availability: Any = UNSET
    home: Any = UNSET  # (latitude, longitude) or None to clear
    region_ids: Any = UNSET
    languages: Any = UNSET
    preferred_category_ids: Any = UNSET
    max_shifts_per_week: Any = UNSET


def _error(field_name: str, message: Any, code: VolunteerErrorCode) -> ValidationError:
    return ValidationError({field_name: ValidationError(message, code=code.value)})


def _clean(changes: ProfileChanges) -> dict[str, Any]:
    """Validate every given field; raise one ValidationError naming all the bad ones."""
    problems: dict[str, list[ValidationError]] = {}
    cleaned: dict[str, Any] = {}

    def refuse(name: str, message: Any, code: VolunteerErrorCode) -> None:
        problems.setdefault(name, []).append(ValidationError(message, code=code.value))

    if changes.display_name is not UNSET:
        name = (changes.display_name or "").strip()
        if not 1 <= len(name) <= 60:
            refuse(
                "display_name", _("Give a name of 1 to 60 characters."), VolunteerErrorCode.INVALID
            )
        cleaned["display_name"] = name

    def related(
        name: str, model: Any, ids: Any, limit: int, too_many: Any, unknown: Any
    ) -> list[Any]:
        """The rows named by ``ids`` (at most ``limit``, all of them known)."""
        wanted = set(ids)
        rows = list(model.objects.filter(pk__in=wanted))
        if len(wanted) > limit:
            refuse(name, too_many % {"max": limit}, VolunteerErrorCode.TOO_MANY)
        elif len(rows) != len(wanted):
            refuse(name, unknown, VolunteerErrorCode.NOT_FOUND)
        return rows

    if changes.skill_ids is not UNSET:
        cleaned["skills"] = related(
            "skills",
            Skill,
            changes.skill_ids,
            MAX_SKILLS,
            _("At most %(max)d skills."),
            _("Unknown skill."),
        )
    if changes.region_ids is not UNSET:
        cleaned["regions_served"] = related(
            "regions_served",
            Region,
            changes.region_ids,
            MAX_REGIONS,
            _("At most %(max)d regions."),
            _("Unknown region."),
        )
    if changes.preferred_category_ids is not UNSET:
        cleaned["preferred_categories"] = related(
            "preferred_categories",
            ServiceCategory,
            changes.preferred_category_ids,
            MAX_PREFERRED_CATEGORIES,
            _("At most %(max)d categories."),
            _("Unknown category."),
        )
    if changes.availability is not UNSET:
        windows: list[Window] = list(changes.availability)
        if len(windows) > MAX_WINDOWS:
            refuse(
                "availability",
                _("At most %(max)d windows a week.") % {"max": MAX_WINDOWS},
                VolunteerErrorCode.TOO_MANY,
            )
        for window in windows:
            if not 1 <= window.weekday <= 7 or window.ends_at <= window.starts_at:
                refuse(
                    "availability",
                    _("Each window needs a weekday 1-7 and an end after its start."),
                    VolunteerErrorCode.INVALID_AVAILABILITY,
                )
                break
        ordered = sorted(windows, key=lambda w: (w.weekday, w.starts_at))
        if any(
            a.weekday == b.weekday and b.starts_at < a.ends_at
            for a, b in itertools.pairwise(ordered)
        ):
            refuse(
                "availability",
                _("Windows of the same day must not overlap."),
                VolunteerErrorCode.INVALID_AVAILABILITY,
            )
        cleaned["availability"] = ordered
    if changes.home is not UNSET:
        if changes.home is not None:
            latitude, longitude = changes.home
            if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
                refuse(
                    "home",
                    _("Latitude must be within ±90 and longitude within ±180."),
                    VolunteerErrorCode.INVALID_LOCATION,
                )
        cleaned["home"] = changes.home
    if changes.languages is not UNSET:
        languages = [code.strip().lower() for code in changes.languages]
        if len(languages) > MAX_LANGUAGES or not all(LANGUAGE_CODE.match(c) for c in languages):
            refuse(
                "languages",
                _("Use up to %(max)d codes such as zh-hans, en or tianjin.")
                % {"max": MAX_LANGUAGES},
                VolunteerErrorCode.INVALID,
            )
        cleaned["languages"] = list(dict.fromkeys(languages))
    if changes.max_shifts_per_week is not UNSET:
        limit = changes.max_shifts_per_week
        if not isinstance(limit, int) or not 0 <= limit <= MAX_SHIFTS_PER_WEEK:
            refuse(
                "max_shifts_per_week",
                _("Give a number of shifts from 0 to %(max)d.") % {"max": MAX_SHIFTS_PER_WEEK},
                VolunteerErrorCode.INVALID,
            )
        cleaned["max_shifts_per_week"] = limit
    if problems:
        raise ValidationError(problems)
    return cleaned


def _apply(profile: VolunteerProfile, cleaned: dict[str, Any]) -> None:
    if "display_name" in cleaned:
        profile.display_name = cleaned["display_name"]
    if "languages" in cleaned:
        profile.languages = cleaned["languages"]
    if "home" in cleaned:
        profile.home_latitude, profile.home_longitude = cleaned["home"] or (None, None)
    if "max_shifts_per_week" in cleaned:
        profile.max_shifts_per_week = cleaned["max_shifts_per_week"]
    profile.save()
    if "skills" in cleaned:
        profile.skills.set(cleaned["skills"])
    if "regions_served" in cleaned:
        profile.regions_served.set(cleaned["regions_served"])
    if "preferred_categories" in cleaned:
        profile.preferred_categories.set(cleaned["preferred_categories"])
    if "availability" in cleaned:
        profile.availability.all().delete()
        AvailabilityWindow.objects.bulk_create(
            AvailabilityWindow(
                volunteer=profile, weekday=w.weekday, starts_at=w.starts_at, ends_at=w.ends_at
            )
            for w in cleaned["availability"]
        )


def register_volunteer(user: User, changes: ProfileChanges) -> VolunteerProfile:
    """Make a signed-in user a volunteer. Retrying a registration that succeeded is refused
    with ALREADY_REGISTERED, never a second profile."""
    if not user.phone:
        raise _error(
            "phone", _("Sign in with a phone number first."), VolunteerErrorCode.PHONE_REQUIRED
        )
    if changes.display_name is UNSET:
        raise _error("display_name", _("A display name is required."), VolunteerErrorCode.REQUIRED)
    cleaned = _clean(changes)
    already = _error(
        "user",
        _("You are already registered as a volunteer."),
        VolunteerErrorCode.ALREADY_REGISTERED,
    )
    if VolunteerProfile.objects.filter(user=user).exists():
        raise already
    try:
        with transaction.atomic():
            profile = VolunteerProfile(user=user)
            _apply(profile, cleaned)
            return profile
    except IntegrityError:  # the same registration arriving twice at once
        raise already from None


def update_volunteer_profile(user: User, changes: ProfileChanges) -> VolunteerProfile:
    cleaned = _clean(changes)
    with transaction.atomic():
        profile = VolunteerProfile.objects.select_for_update().filter(user=user).first()
        if profile is None:
            raise _error(
                "user", _("Register as a volunteer first."), VolunteerErrorCode.NOT_REGISTERED
            )
        _apply(profile, cleaned)
        return profile
