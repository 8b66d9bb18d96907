"""Notification texts: the recipient's language, times as people say them, and a template
for every kind. Translations may not be compiled where the tests run, so the tests check
structure (every parameter in place, nothing left to substitute), not Chinese wording."""

import datetime as dt
import re

import pytest
from django.utils import translation

from notifications.kinds import NotificationKind
from notifications.texts import TEXTS, Localized, format_hours, format_when, language_for, render

PLACEHOLDER = re.compile(r"%\((\w+)\)([sd])")
# Monday 30 November 2026, 09:05 in Shanghai.
MONDAY_MORNING = dt.datetime(2026, 11, 30, 1, 5, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("en", "en"),
        ("en-GB", "en"),
        ("en_US", "en"),  # as Android reports it
        ("EN-us", "en"),
        ("zh-hans", "zh-hans"),
        ("zh-CN", "zh-hans"),
        ("fr", "zh-hans"),
        ("", "zh-hans"),
        (None, "zh-hans"),
    ],
)
def test_language_for_falls_back_to_a_language_the_catalogue_has(code, language):
    assert language_for(code) == language


@pytest.mark.parametrize(
    ("zone", "language", "expected"),
    [
        ("Asia/Shanghai", "zh-hans", "11月30日（周一）09:05"),
        ("Asia/Shanghai", "en", "Mon 30 Nov 09:05"),
        ("Europe/London", "en", "Mon 30 Nov 01:05"),
        # 01:05 UTC on Monday is still Sunday evening in New York
        ("America/New_York", "en", "Sun 29 Nov 20:05"),
        ("America/New_York", "zh-hans", "11月29日（周日）20:05"),
    ],
)
def test_format_when_shows_the_local_day_and_time(zone, language, expected):
    assert format_when(MONDAY_MORNING, zone, language) == expected


def test_format_when_around_midnight_takes_the_local_date():
    # 16:30 UTC on Monday is 00:30 on Tuesday in Shanghai
    moment = dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.UTC)

    assert format_when(moment, "Asia/Shanghai", "zh-hans") == "12月1日（周二）00:30"
    assert format_when(moment, "Asia/Shanghai", "en") == "Tue 1 Dec 00:30"


@pytest.mark.parametrize(
    ("minutes", "language", "expected"),
    [
        (120, "en", "2 h"),
        (150, "en", "2 h 30 min"),
        (45, "en", "0 h 45 min"),
        (120, "zh-hans", "2小时"),
        (150, "zh-hans", "2小时30分钟"),
    ],
)
def test_format_hours(minutes, language, expected):
    assert format_hours(minutes, language) == expected


def params_for(kind: str) -> dict[str, object]:
    """A value for every parameter the kind's templates name, each easy to find again."""
    names: set[tuple[str, str]] = set()
    for template in TEXTS[kind]:
        with translation.override("en"):
            names |= set(PLACEHOLDER.findall(str(template)))
    params: dict[str, object] = {}
    for name, conversion in sorted(names):
        if name == "hours":
            params["minutes"] = 150
        elif name in ("when", "before", "answer_by"):
            days = {"when": 1, "before": 0, "answer_by": 2}[name]
            params[name] = MONDAY_MORNING + dt.timedelta(days=days)
        elif conversion == "d":
            params[name] = 1000 + len(params)  # a number found nowhere else in the text
        else:
            params[name] = f"«{name}»"
    return params


def expected_fragments(kind: str, language: str) -> list[str]:
    fragments = []
    for name, value in params_for(kind).items():
        if isinstance(value, dt.datetime):
            fragments.append(format_when(value, "Asia/Shanghai", language))
        elif name == "minutes":
            fragments.append(format_hours(150, language))
        else:
            fragments.append(str(value))
    return fragments


def test_every_kind_created_from_a_template_has_one():
    # a coordinator's notice brings its own text; every other kind is rendered by notify
    assert set(TEXTS) == set(NotificationKind.values) - {NotificationKind.BROADCAST}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("kind", sorted(TEXTS))
def test_every_template_renders_with_all_its_parameters(kind, language):
    # given
    params = params_for(kind)

    # when
    title, body = render(kind, language, params)

    # then every parameter is shown, nothing is left to substitute
    assert title.strip()
    assert body.strip()
    text = title + "\n" + body
    assert "%(" not in text
    for fragment in expected_fragments(kind, language):
        assert fragment in text


def test_times_are_shown_in_the_zone_the_parameters_name():
    # given a shift at 09:05 in Shanghai, shown for an activity in London
    params = {"activity": "Beach clean", "when": MONDAY_MORNING, "zone": "Europe/London"}

    # when
    _title, body = render(NotificationKind.ENROLLMENT_CONFIRMED, "en", params)

    # then
    assert "Mon 30 Nov 01:05" in body
    assert "09:05" not in body


def test_the_language_of_the_render_does_not_leak_into_the_callers():
    # given
    with translation.override("zh-hans"):
        # when
        render(NotificationKind.ENROLLMENT_CONFIRMED, "en", params_for("enrollment_confirmed"))

        # then
        assert translation.get_language() == "zh-hans"


def test_a_parameter_with_a_name_per_language_is_shown_in_the_recipients():
    # given
    place = Localized("朝阳里社区", "Chaoyangli Community")
    params = {"activity": place, "when": MONDAY_MORNING}

    # when
    _zh_title, zh_body = render(NotificationKind.ENROLLMENT_CONFIRMED, "zh-hans", params)
    _en_title, en_body = render(NotificationKind.ENROLLMENT_CONFIRMED, "en", params)

    # then
    assert "朝阳里社区" in zh_body
    assert "Chaoyangli" not in zh_body
    assert "Chaoyangli Community" in en_body
    assert "朝阳里" not in en_body
