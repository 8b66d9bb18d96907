"""Quiet hours: when a push may wake someone, in their own time zone, across midnight and
daylight-saving changes; and pushes held by ``notify`` going out when the hours end, not
before."""

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from notifications import delivery
from notifications.models import NotificationSettings, PushState
from notifications.quiet_hours import in_quiet_hours, push_time
from tests.notifications.fixtures import make_devices, make_recipients, push_to, received_targets

SHANGHAI = ZoneInfo("Asia/Shanghai")
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
NIGHT_START, NIGHT_END = dt.time(22, 0), dt.time(7, 0)


def at(zone: ZoneInfo, *parts: int) -> dt.datetime:
    """A wall-clock time in ``zone``, as the aware UTC moment the code receives."""
    return dt.datetime(*parts, tzinfo=zone).astimezone(dt.UTC)


# --- in_quiet_hours ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "quiet"),
    [
        (dt.time(21, 59, 59), False),
        (dt.time(22, 0), True),
        (dt.time(23, 59, 59), True),
        (dt.time(0, 0), True),
        (dt.time(6, 59, 59), True),
        (dt.time(7, 0), False),
        (dt.time(12, 0), False),
    ],
)
def test_hours_across_midnight(local, quiet):
    assert in_quiet_hours(local, NIGHT_START, NIGHT_END) is quiet


@pytest.mark.parametrize(
    ("local", "quiet"),
    [
        (dt.time(12, 59), False),
        (dt.time(13, 0), True),
        (dt.time(14, 59, 59), True),
        (dt.time(15, 0), False),
        (dt.time(23, 0), False),
        (dt.time(3, 0), False),
    ],
)
def test_hours_within_one_day(local, quiet):
    assert in_quiet_hours(local, dt.time(13, 0), dt.time(15, 0)) is quiet


@pytest.mark.parametrize("local", [dt.time(0, 0), dt.time(22, 0), dt.time(23, 30), dt.time(7)])
def test_equal_start_and_end_mean_no_quiet_hours(local):
    assert in_quiet_hours(local, dt.time(22, 0), dt.time(22, 0)) is False


# --- push_time -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # 21:59 in Shanghai: not yet quiet
        (at(SHANGHAI, 2026, 11, 30, 21, 59), at(SHANGHAI, 2026, 11, 30, 21, 59)),
        # 22:00 on Monday evening: held until 07:00 on Tuesday
        (at(SHANGHAI, 2026, 11, 30, 22, 0), at(SHANGHAI, 2026, 12, 1, 7, 0)),
        # 00:30 on Tuesday, which in UTC is still Monday (16:30): held until Tuesday 07:00,
        # not Monday 07:00 (the local date counts, not the UTC one)
        (at(SHANGHAI, 2026, 12, 1, 0, 30), at(SHANGHAI, 2026, 12, 1, 7, 0)),
        # 06:59:59: a second to wait
        (at(SHANGHAI, 2026, 12, 1, 6, 59, 59), at(SHANGHAI, 2026, 12, 1, 7, 0)),
        # 07:00: over
        (at(SHANGHAI, 2026, 12, 1, 7, 0), at(SHANGHAI, 2026, 12, 1, 7, 0)),
        # 23:30 UTC is 07:30 the next morning in Shanghai: nothing to wait for
        (dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC), None),
    ],
)
def test_a_push_at_night_in_shanghai_waits_for_the_morning(now, expected):
    assert push_time(now, "Asia/Shanghai", NIGHT_START, NIGHT_END) == (expected or now)


def test_the_answer_is_an_aware_utc_moment():
    wake = push_time(at(SHANGHAI, 2026, 11, 30, 23, 0), "Asia/Shanghai", NIGHT_START, NIGHT_END)

    assert wake.utcoffset() == dt.timedelta(0)
    assert wake == dt.datetime(2026, 11, 30, 23, 0, tzinfo=dt.UTC)


def test_a_window_within_one_day_ends_the_same_day():
    now = at(SHANGHAI, 2026, 11, 30, 14, 0)

    wake = push_time(now, "Asia/Shanghai", dt.time(13, 0), dt.time(15, 0))

    assert wake == at(SHANGHAI, 2026, 11, 30, 15, 0)


@pytest.mark.parametrize(
    "options",
    [
        {"enabled": False},
        {"urgent": True},
    ],
    ids=["turned off", "urgent"],
)
def test_turned_off_or_urgent_pushes_are_never_held(options):
    now = at(SHANGHAI, 2026, 11, 30, 23, 0)

    assert push_time(now, "Asia/Shanghai", NIGHT_START, NIGHT_END, **options) == now


def test_equal_start_and_end_hold_nothing():
    now = at(SHANGHAI, 2026, 11, 30, 22, 0)

    assert push_time(now, "Asia/Shanghai", dt.time(22, 0), dt.time(22, 0)) == now


def test_the_recipients_zone_decides_not_the_servers():
    # given one moment: 15:00 UTC is 23:00 in Shanghai and 10:00 in New York
    now = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)

    # then
    assert push_time(now, "Asia/Shanghai", NIGHT_START, NIGHT_END) == at(
        SHANGHAI, 2026, 12, 1, 7, 0
    )
    assert push_time(now, "America/New_York", NIGHT_START, NIGHT_END) == now


def test_london_wakes_at_seven_local_on_the_night_the_clocks_go_forward():
    # 23:00 GMT on Saturday; at 01:00 GMT the clocks go forward to 02:00 BST
    now = at(LONDON, 2027, 3, 27, 23, 0)

    wake = push_time(now, "Europe/London", NIGHT_START, NIGHT_END)

    assert wake == dt.datetime(2027, 3, 28, 6, 0, tzinfo=dt.UTC)  # 07:00 BST
    assert wake - now == dt.timedelta(hours=7)


def test_london_wakes_at_seven_local_on_the_night_the_clocks_go_back():
    # 23:00 BST on Saturday; at 02:00 BST the clocks go back to 01:00 GMT
    now = at(LONDON, 2026, 10, 24, 23, 0)

    wake = push_time(now, "Europe/London", NIGHT_START, NIGHT_END)

    assert wake == dt.datetime(2026, 10, 25, 7, 0, tzinfo=dt.UTC)  # 07:00 GMT
    assert wake - now == dt.timedelta(hours=9)


def test_new_york_wakes_at_seven_local_after_the_clocks_go_forward():
    # 23:30 EST on Saturday 13 March 2027, which is already Sunday in UTC
    now = at(NEW_YORK, 2027, 3, 13, 23, 30)
    assert now.date() == dt.date(2027, 3, 14)

    wake = push_time(now, "America/New_York", NIGHT_START, NIGHT_END)

    assert wake == dt.datetime(2027, 3, 14, 11, 0, tzinfo=dt.UTC)  # 07:00 EDT


def test_an_end_the_clocks_skip_that_night_is_kept_late_never_early():
    # quiet hours 22:00–02:30 in New York; on 14 March 2027 the clocks jump from 02:00 EST
    # to 03:00 EDT (07:00 UTC), so 02:30 never happens that night
    now = at(NEW_YORK, 2027, 3, 13, 23, 0)

    wake = push_time(now, "America/New_York", NIGHT_START, dt.time(2, 30))

    local = wake.astimezone(NEW_YORK)
    assert not in_quiet_hours(local.time(), NIGHT_START, dt.time(2, 30))
    jump = dt.datetime(2027, 3, 14, 7, 0, tzinfo=dt.UTC)
    assert jump <= wake <= jump + dt.timedelta(hours=1)


def test_after_midnight_utc_but_before_midnight_local_waits_for_the_next_local_morning():
    # 01:00 UTC on Tuesday is 20:00 on Monday in New York: not quiet yet; at 03:00 UTC
    # (22:00 local Monday) it is, until Tuesday 07:00 local
    assert push_time(
        dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC), "America/New_York", NIGHT_START, NIGHT_END
    ) == dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
    assert push_time(
        dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC), "America/New_York", NIGHT_START, NIGHT_END
    ) == at(NEW_YORK, 2026, 12, 1, 7, 0)


# --- Held by notify, sent when the hours end -----------------------------------------------


@pytest.mark.django_db
def test_a_push_during_someones_quiet_hours_is_held_and_sent_when_they_end(fcm_stub):
    # given a person in London with quiet hours 22:00–07:00 and a phone
    person = make_recipients(1)[0]
    NotificationSettings.objects.create(
        user=person,
        time_zone="Europe/London",
        quiet_hours_start=NIGHT_START,
        quiet_hours_end=NIGHT_END,
    )
    phone = make_devices(person)[0]
    evening = at(LONDON, 2026, 11, 30, 23, 15)
    morning = at(LONDON, 2026, 12, 1, 7, 0)

    # when a push is created late in the evening
    [notification] = push_to([person], now=evening)

    # then it is held until 07:00 London time, goes out then and not a second before
    assert (notification.push_state, notification.push_after) == (PushState.HELD, morning)
    before = delivery.push_due(now=morning - dt.timedelta(seconds=1))
    assert (before.dispatched, before.sent, fcm_stub.state.count) == (0, 0, 0)
    on_time = delivery.push_due(now=morning)
    assert (on_time.dispatched, on_time.sent) == (1, 1)
    assert received_targets(fcm_stub) == Counter({phone.identifier: 1})
    notification.refresh_from_db()
    assert notification.push_state == PushState.DISPATCHED


@pytest.mark.django_db
def test_without_settings_the_default_hours_apply_in_the_default_zone(fcm_stub):
    # given a person who never changed their quiet hours (22:00–07:00, Asia/Shanghai)
    person = make_recipients(1)[0]
    make_devices(person)

    # when a push is created at 23:00 in Shanghai
    [notification] = push_to([person], now=at(SHANGHAI, 2026, 11, 30, 23, 0))

    # then
    assert notification.push_state == PushState.HELD
    assert notification.push_after == at(SHANGHAI, 2026, 12, 1, 7, 0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("settings_row", "message"),
    [
        ({"quiet_hours_enabled": False}, {}),
        ({}, {"urgent": True}),
        ({"quiet_hours_start": dt.time(13, 0), "quiet_hours_end": dt.time(15, 0)}, {}),
    ],
    ids=["quiet hours off", "urgent", "quiet only in the afternoon"],
)
def test_pushes_outside_quiet_hours_go_out_at_once(fcm_stub, settings_row, message):
    # given
    person = make_recipients(1)[0]
    NotificationSettings.objects.create(user=person, time_zone="Asia/Shanghai", **settings_row)
    phone = make_devices(person)[0]
    night = at(SHANGHAI, 2026, 11, 30, 23, 0)

    # when
    [notification] = push_to([person], now=night, **message)
    run = delivery.push_due(now=night)

    # then
    assert (notification.push_state, notification.push_after) == (PushState.QUEUED, night)
    assert run.sent == 1
    assert received_targets(fcm_stub) == Counter({phone.identifier: 1})


@pytest.mark.django_db
def test_each_recipient_is_held_by_their_own_hours(fcm_stub):
    # given one event at 15:00 UTC: 23:00 in Shanghai, 10:00 in New York
    in_shanghai, in_new_york = make_recipients(2)
    NotificationSettings.objects.create(user=in_new_york, time_zone="America/New_York")
    make_devices(in_shanghai)
    new_york_phone = make_devices(in_new_york)[0]
    now = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)

    # when
    held, queued = push_to([in_shanghai, in_new_york], now=now)
    run = delivery.push_due(now=now)

    # then
    assert (held.recipient, held.push_state) == (in_shanghai, PushState.HELD)
    assert (queued.recipient, queued.push_state) == (in_new_york, PushState.QUEUED)
    assert run.sent == 1
    assert received_targets(fcm_stub) == Counter({new_york_phone.identifier: 1})
