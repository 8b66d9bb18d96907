"""Titles and bodies of notifications, in the recipient's language.

Written in English and translated in the project's catalogue (zh-Hans is the default
language); rendered once per language when a notification is created.
"""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from notifications.kinds import NotificationKind

TEXTS: dict[str, tuple[Any, Any]] = {
    NotificationKind.ACTIVITY_PUBLISHED: (
        _("New activity: %(activity)s"),
        _("%(organizer)s is looking for volunteers, %(when)s at %(place)s."),
    ),
    NotificationKind.ENROLLMENT_CONFIRMED: (
        _("You are signed up"),
        _("%(activity)s, %(when)s. Thank you!"),
    ),
    NotificationKind.ENROLLMENT_WAITLISTED: (
        _("You are on the waiting list"),
        _("%(activity)s, %(when)s is full. We will tell you when a place comes free."),
    ),
    NotificationKind.ENROLLMENT_PROMOTED: (
        _("A place came free for you"),
        _(
            "You now have a place in %(activity)s, %(when)s. If you cannot come, cancel in "
            "the app so that someone else can."
        ),
    ),
    NotificationKind.ENROLLMENT_PENDING: (
        _("Sign-up received"),
        _("%(activity)s, %(when)s: the organizer will confirm your place."),
    ),
    NotificationKind.ENROLLMENT_REJECTED: (
        _("Sign-up not accepted"),
        _("The organizer could not give you a place in %(activity)s, %(when)s."),
    ),
    NotificationKind.ENROLLMENT_CANCELLED: (
        _("Sign-up cancelled: %(activity)s"),
        _("The organizer cancelled your place in %(activity)s, %(when)s. Reason: %(reason)s"),
    ),
    NotificationKind.ACTIVITY_CHANGED: (
        _("Changed: %(activity)s"),
        _("%(activity)s has been updated. Please check the details in the app."),
    ),
    NotificationKind.SHIFT_CHANGED: (
        _("New time: %(activity)s"),
        _("Your shift is now %(when)s (it was %(before)s)."),
    ),
    NotificationKind.ACTIVITY_CANCELLED: (
        _("Cancelled: %(activity)s"),
        _("%(activity)s, %(when)s is cancelled. Reason: %(reason)s"),
    ),
    NotificationKind.SHIFT_CANCELLED: (
        _("Shift cancelled: %(activity)s"),
        _("Your shift %(when)s has been removed from %(activity)s."),
    ),
    NotificationKind.HOURS_VERIFIED: (
        _("Service hours verified"),
        _("%(hours)s of service for %(activity)s are verified. Thank you!"),
    ),
    NotificationKind.INVITATION: (
        _("Can you help? %(activity)s"),
        _(
            "%(organizer)s would like you for %(activity)s, %(when)s at %(place)s. "
            "Please answer by %(answer_by)s."
        ),
    ),
    NotificationKind.SHIFT_REMINDER: (
        _("Reminder: %(activity)s"),
        _("Your shift %(when)s at %(place)s. Thank you for coming!"),
    ),
    NotificationKind.SHIFT_SHORT: (
        _("Still short: %(activity)s"),
        _("The shift %(when)s has %(missing)d of %(capacity)d places unfilled."),
    ),
    NotificationKind.COORDINATOR_DIGEST: (
        _("Your week ahead"),
        _(
            "%(short_shifts)d shift(s) in the next 7 days still need volunteers; "
            "%(unverified)d service-hours entries await verification."
        ),
    ),
    NotificationKind.VOTE_OPENED: (
        _("Vote: %(proposal)s"),
        _("Residents of your community vote on “%(topic)s” until %(closes_at)s. Your vote counts."),
    ),
    NotificationKind.VOTE_COUNTED: (
        _("Vote counted: %(proposal)s"),
        _("The vote on “%(topic)s” is counted: %(outcome)s."),
    ),
    NotificationKind.DECISION_PUBLISHED: (
        _("Decided: %(topic)s"),
        _("%(summary)s"),
    ),
    NotificationKind.TASK_ASSIGNED: (
        _("New task: %(task)s"),
        _("A decision on “%(topic)s” asks you to do this by %(due_on)s."),
    ),
    NotificationKind.TASK_UPDATED: (
        _("Progress: %(task)s"),
        _("“%(task)s” is %(status)s (%(progress)d%%)."),
    ),
}

# Said when a coordinator cancelled a sign-up without giving a reason.
NO_REASON = _("none given")


@dataclass(frozen=True)
class Localized:
    """A parameter with its own name per language (a region's 名称 and English name): the
    message is built once for every recipient, and rendered in each one's language."""

    chinese: str
    english: str = ""

    def __str__(self) -> str:
        language = translation.get_language() or ""
        return self.english if language.startswith("en") and self.english else self.chinese


WEEKDAYS = {
    "zh-hans": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}


def language_for(code: str | None) -> str:
    """A language the catalogue has: ``en-GB`` / ``en_US`` → ``en``; unknown or empty → the
    default."""
    if code:
        try:
            return translation.get_supported_language_variant(code.lower().replace("_", "-"))
        except LookupError:
            pass
    return str(settings.LANGUAGE_CODE)


def format_when(moment: dt.datetime, zone: str, language: str) -> str:
    """A start time the way people say it: 11月30日（周一）09:00 / Mon 30 Nov 09:00."""
    local = moment.astimezone(ZoneInfo(zone))
    weekday = WEEKDAYS["en" if language.startswith("en") else "zh-hans"][local.weekday()]
    if language.startswith("en"):
        return f"{weekday} {local.day} {local:%b %H:%M}"
    return f"{local.month}月{local.day}日（{weekday}）{local:%H:%M}"


def format_hours(minutes: int, language: str) -> str:
    hours, rest = divmod(minutes, 60)
    if language.startswith("en"):
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    return f"{hours}小时{rest}分钟" if rest else f"{hours}小时"


def render(kind: str, language: str, params: Mapping[str, Any]) -> tuple[str, str]:
    """(title, body) of ``kind`` in ``language``. Datetime parameters are shown in the zone
    named by ``params["zone"]`` (the activity's); ``minutes`` becomes ``hours``."""
    values: dict[str, Any] = {}
    zone = params.get("zone", settings.TIME_ZONE)
    for name, value in params.items():
        if isinstance(value, dt.datetime):
            values[name] = format_when(value, zone, language)
        else:
            values[name] = value
    if "minutes" in params:
        values["hours"] = format_hours(int(params["minutes"]), language)
    title, body = TEXTS[kind]
    with translation.override(language):
        return str(title) % values, str(body) % values
