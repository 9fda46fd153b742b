"""Tests for the reminder scheduling rules (flows/schedule): local wall time, DST, quiet hours."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flows.schedule import (
    QuietHours,
    ReminderRule,
    SnoozeChoice,
    is_stale,
    local_day_bounds,
    next_due,
    parse_local_time,
    parse_utc_offset,
    skip_today,
    snooze_until,
    zone_for_offset,
)

MADRID = ZoneInfo("Europe/Madrid")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
KOLKATA = ZoneInfo("Asia/Kolkata")
TOKYO = ZoneInfo("Asia/Tokyo")
SANTIAGO = ZoneInfo("America/Santiago")

NIGHT = QuietHours(time(22, 0), time(7, 30))
DAILY_0830 = ReminderRule(times=(time(8, 30),))


def local(zone: ZoneInfo, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def walk(rule: ReminderRule, zone: ZoneInfo, after: datetime, count: int,
         quiet: QuietHours | None = None) -> list[datetime]:
    """The next `count` due instants, each computed from the one before (as the worker does)."""
    due: list[datetime] = []
    for _ in range(count):
        after = next_due(rule, zone, after, quiet)
        due.append(after)
    return due


def in_zone(instants: list[datetime], zone: ZoneInfo) -> list[datetime]:
    return [instant.astimezone(zone) for instant in instants]


def test_the_time_zone_database_is_installed() -> None:
    assert zoneinfo.available_timezones()


# --- daylight-saving changes -------------------------------------------------------------------

DST_CHANGES = [
    pytest.param(MADRID, date(2026, 3, 29), 1, 2, id="Madrid spring"),
    pytest.param(MADRID, date(2026, 10, 25), 2, 1, id="Madrid autumn"),
    pytest.param(NEW_YORK, date(2026, 3, 8), -5, -4, id="New York spring"),
    pytest.param(NEW_YORK, date(2026, 11, 1), -4, -5, id="New York autumn"),
    pytest.param(SYDNEY, date(2026, 4, 5), 11, 10, id="Sydney autumn"),
    pytest.param(SYDNEY, date(2026, 10, 4), 10, 11, id="Sydney spring"),
]


@pytest.mark.parametrize(("zone", "change_day", "hours_before", "hours_after"), DST_CHANGES)
def test_a_daily_reminder_keeps_its_local_time_across_a_dst_change(
        zone: ZoneInfo, change_day: date, hours_before: int, hours_after: int) -> None:
    start = local(zone, change_day - timedelta(days=4), 12)
    due = walk(DAILY_0830, zone, start, 7)

    assert all(instant.tzinfo is UTC for instant in due)
    shown = in_zone(due, zone)
    assert [moment.time() for moment in shown] == [time(8, 30)] * 7
    assert [moment.date() for moment in shown] == [
        change_day + timedelta(days=n) for n in range(-3, 4)]
    assert shown[0].utcoffset() == timedelta(hours=hours_before)
    assert shown[-1].utcoffset() == timedelta(hours=hours_after)
    assert due[-1] - due[0] == timedelta(days=6, hours=hours_before - hours_after)


@pytest.mark.parametrize(("zone", "change_day"), [
    pytest.param(MADRID, date(2026, 3, 29), id="Madrid"),
    pytest.param(NEW_YORK, date(2026, 3, 8), id="New York"),
    pytest.param(SYDNEY, date(2026, 10, 4), id="Sydney"),
])
def test_a_time_the_clocks_skip_fires_when_the_gap_ends(zone: ZoneInfo, change_day: date) -> None:
    rule = ReminderRule(times=(time(2, 30),))
    due = in_zone(walk(rule, zone, local(zone, change_day - timedelta(days=1), 12), 2), zone)

    assert due[0].replace(tzinfo=None) == datetime.combine(change_day, time(3, 0))
    assert due[1].replace(tzinfo=None) == datetime.combine(
        change_day + timedelta(days=1), time(2, 30))


def test_several_skipped_times_in_one_gap_fire_once() -> None:
    rule = ReminderRule(times=(time(2, 15), time(2, 45), time(3, 0)))
    due = in_zone(walk(rule, MADRID, local(MADRID, date(2026, 3, 28), 12), 2), MADRID)

    assert due[0] == local(MADRID, date(2026, 3, 29), 3, 0)
    assert due[1] == local(MADRID, date(2026, 3, 30), 2, 15)


@pytest.mark.parametrize(("zone", "change_day", "wall", "first_offset"), [
    pytest.param(NEW_YORK, date(2026, 11, 1), time(1, 30), -4, id="New York 01:30"),
    pytest.param(MADRID, date(2026, 10, 25), time(2, 30), 2, id="Madrid 02:30"),
    pytest.param(SYDNEY, date(2026, 4, 5), time(2, 30), 11, id="Sydney 02:30"),
])
def test_a_time_that_occurs_twice_fires_once_at_the_first(
        zone: ZoneInfo, change_day: date, wall: time, first_offset: int) -> None:
    rule = ReminderRule(times=(wall,))
    due = in_zone(walk(rule, zone, local(zone, change_day - timedelta(days=1), 12), 3), zone)

    assert [moment.date() for moment in due] == [
        change_day, change_day + timedelta(days=1), change_day + timedelta(days=2)]
    assert all(moment.time() == wall for moment in due)
    assert due[0].utcoffset() == timedelta(hours=first_offset)


def test_new_york_fall_back_0130_is_0530_utc_and_not_again_an_hour_later() -> None:
    rule = ReminderRule(times=(time(1, 30),))
    first = next_due(rule, NEW_YORK, datetime(2026, 11, 1, 4, 0, tzinfo=UTC))

    assert first == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert next_due(rule, NEW_YORK, first) == datetime(2026, 11, 2, 6, 30, tzinfo=UTC)
    # Asked during the repeated hour, after the first 01:30 has gone: tomorrow, not 01:30 EST.
    assert next_due(rule, NEW_YORK, datetime(2026, 11, 1, 6, 0, tzinfo=UTC)) == datetime(
        2026, 11, 2, 6, 30, tzinfo=UTC)


@pytest.mark.parametrize(("zone", "utc_time"), [
    pytest.param(KOLKATA, time(3, 0), id="Kolkata +05:30"),
    pytest.param(TOKYO, time(23, 30), id="Tokyo +09:00"),
])
def test_a_zone_without_dst_fires_at_the_same_utc_time_all_year(
        zone: ZoneInfo, utc_time: time) -> None:
    for change_day in (date(2026, 3, 8), date(2026, 3, 29), date(2026, 10, 25), date(2026, 11, 1)):
        due = walk(DAILY_0830, zone, local(zone, change_day - timedelta(days=2), 12), 4)
        assert {instant.timetz() for instant in due} == {utc_time.replace(tzinfo=UTC)}
        assert {moment.time() for moment in in_zone(due, zone)} == {time(8, 30)}


# --- rules --------------------------------------------------------------------------------------

def test_next_due_is_strictly_after_and_in_utc() -> None:
    rule = ReminderRule(times=(time(8, 30), time(20, 0)))
    at_0830 = local(MADRID, date(2026, 5, 4), 8, 30)

    assert next_due(rule, MADRID, at_0830) == local(MADRID, date(2026, 5, 4), 20, 0)
    assert next_due(rule, MADRID, at_0830 - timedelta(seconds=1)) == at_0830
    assert next_due(rule, MADRID, at_0830.astimezone(UTC)).tzinfo is UTC


def test_weekdays_filter_the_days() -> None:
    rule = ReminderRule(times=(time(19, 0),), weekdays=frozenset({0, 2, 4}))
    due = in_zone(walk(rule, MADRID, local(MADRID, date(2026, 5, 5), 12), 6), MADRID)  # Tuesday

    assert [moment.date() for moment in due] == [
        date(2026, 5, 6), date(2026, 5, 8), date(2026, 5, 11),
        date(2026, 5, 13), date(2026, 5, 15), date(2026, 5, 18)]
    assert {moment.time() for moment in due} == {time(19, 0)}


def test_every_14_days_from_an_anchor_across_a_dst_change() -> None:
    rule = ReminderRule(times=(time(9, 0),), every_days=14, anchor=date(2026, 3, 2))
    due = in_zone(walk(rule, MADRID, local(MADRID, date(2026, 1, 1), 12), 4), MADRID)

    assert due == [local(MADRID, day, 9, 0) for day in (
        date(2026, 3, 2), date(2026, 3, 16), date(2026, 3, 30), date(2026, 4, 13))]
    assert due[1].utcoffset() != due[2].utcoffset()


@pytest.mark.parametrize(("after_day", "hour", "expected_day"), [
    (date(2026, 3, 16), 8, date(2026, 3, 16)),   # on a series day, before the time
    (date(2026, 3, 16), 10, date(2026, 3, 30)),  # on a series day, after the time
    (date(2026, 3, 20), 12, date(2026, 3, 30)),  # between series days
])
def test_every_14_days_resumes_on_the_series(after_day: date, hour: int,
                                               expected_day: date) -> None:
    rule = ReminderRule(times=(time(9, 0),), every_days=14, anchor=date(2026, 3, 2))
    assert next_due(rule, MADRID, local(MADRID, after_day, hour)) == local(
        MADRID, expected_day, 9, 0)


def test_every_n_days_and_weekdays_both_apply() -> None:
    rule = ReminderRule(times=(time(9, 0),), weekdays=frozenset(range(5)), every_days=3,
                        anchor=date(2026, 6, 1))  # Monday
    due = in_zone(walk(rule, MADRID, local(MADRID, date(2026, 5, 1), 12), 4), MADRID)

    # 1 Mon, 4 Thu, (7 Sun skipped), 10 Wed, (13 Sat skipped), 16 Tue
    assert [moment.day for moment in due] == [1, 4, 10, 16]


def test_an_anchor_starts_a_daily_series() -> None:
    rule = ReminderRule(times=(time(9, 0),), anchor=date(2026, 6, 10))
    assert next_due(rule, MADRID, local(MADRID, date(2026, 6, 1), 12)) == local(
        MADRID, date(2026, 6, 10), 9, 0)


@pytest.mark.parametrize("arguments", [
    pytest.param({"times": ()}, id="no times"),
    pytest.param({"times": (time(20, 0), time(8, 30))}, id="unsorted"),
    pytest.param({"times": (time(8, 30), time(8, 30))}, id="duplicate"),
    pytest.param({"times": (time(8, 30, tzinfo=UTC),)}, id="aware time"),
    pytest.param({"times": (time(8, 30),), "weekdays": frozenset()}, id="no weekdays"),
    pytest.param({"times": (time(8, 30),), "weekdays": frozenset({7})}, id="weekday 7"),
    pytest.param({"times": (time(8, 30),), "weekdays": frozenset({-1})}, id="weekday -1"),
    pytest.param({"times": (time(8, 30),), "every_days": 0}, id="every 0 days"),
    pytest.param({"times": (time(8, 30),), "every_days": 14}, id="no anchor"),
    pytest.param({"times": (time(8, 30),), "every_days": 14, "anchor": date(2026, 6, 1),
                  "weekdays": frozenset({1, 2})}, id="never on its weekdays"),
])
def test_invalid_rules_are_refused(arguments: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ReminderRule(**arguments)


@pytest.mark.parametrize("function", [next_due, skip_today])
def test_naive_datetimes_are_refused(function: Any) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        function(DAILY_0830, MADRID, datetime(2026, 5, 4, 12, 0))


# --- quiet hours --------------------------------------------------------------------------------

@pytest.mark.parametrize(("quiet", "wall", "inside"), [
    (NIGHT, time(21, 59), False),
    (NIGHT, time(22, 0), True),
    (NIGHT, time(23, 59), True),
    (NIGHT, time(0, 0), True),
    (NIGHT, time(7, 29), True),
    (NIGHT, time(7, 30), False),
    (NIGHT, time(12, 0), False),
    (QuietHours(time(12, 0), time(14, 0)), time(11, 59), False),
    (QuietHours(time(12, 0), time(14, 0)), time(12, 0), True),
    (QuietHours(time(12, 0), time(14, 0)), time(13, 59), True),
    (QuietHours(time(12, 0), time(14, 0)), time(14, 0), False),
])
def test_quiet_hours_contain_start_but_not_end(quiet: QuietHours, wall: time,
                                               inside: bool) -> None:
    assert quiet.contains(wall) is inside


@pytest.mark.parametrize(("start", "end"), [
    (time(22, 0), time(22, 0)),
    (time(22, 0, tzinfo=UTC), time(7, 0)),
])
def test_invalid_quiet_hours_are_refused(start: time, end: time) -> None:
    with pytest.raises(ValueError):
        QuietHours(start, end)


def test_a_reminder_in_quiet_hours_wrapping_midnight_moves_to_the_next_morning() -> None:
    rule = ReminderRule(times=(time(23, 0),))
    due = in_zone(walk(rule, MADRID, local(MADRID, date(2026, 5, 4), 12), 3, NIGHT), MADRID)

    assert due == [local(MADRID, day, 7, 30) for day in (
        date(2026, 5, 5), date(2026, 5, 6), date(2026, 5, 7))]


def test_a_reminder_at_the_start_of_quiet_hours_moves_too() -> None:
    rule = ReminderRule(times=(time(22, 0),))
    assert next_due(rule, MADRID, local(MADRID, date(2026, 5, 4), 12), NIGHT) == local(
        MADRID, date(2026, 5, 5), 7, 30)


def test_a_reminder_at_the_end_of_quiet_hours_is_not_moved() -> None:
    rule = ReminderRule(times=(time(7, 30),))
    assert next_due(rule, MADRID, local(MADRID, date(2026, 5, 4), 1), NIGHT) == local(
        MADRID, date(2026, 5, 4), 7, 30)


def test_an_early_morning_reminder_in_quiet_hours_fires_once_a_day() -> None:
    rule = ReminderRule(times=(time(7, 0),))
    due = in_zone(walk(rule, MADRID, local(MADRID, date(2026, 5, 4), 6), 3, NIGHT), MADRID)

    assert due == [local(MADRID, day, 7, 30) for day in (
        date(2026, 5, 4), date(2026, 5, 5), date(2026, 5, 6))]


def test_two_reminders_moved_to_the_same_morning_fire_once() -> None:
    rule = ReminderRule(times=(time(7, 0), time(12, 0), time(23, 0)))
    due = in_zone(walk(rule, MADRID, local(MADRID, date(2026, 5, 4), 8), 5, NIGHT), MADRID)

    assert due == [
        local(MADRID, date(2026, 5, 4), 12, 0),
        local(MADRID, date(2026, 5, 5), 7, 30),  # Monday 23:00 and Tuesday 07:00 together
        local(MADRID, date(2026, 5, 5), 12, 0),
        local(MADRID, date(2026, 5, 6), 7, 30),
        local(MADRID, date(2026, 5, 6), 12, 0),
    ]


def test_a_moved_reminder_is_still_due_when_asked_during_quiet_hours() -> None:
    rule = ReminderRule(times=(time(7, 0),))
    assert next_due(rule, MADRID, local(MADRID, date(2026, 5, 4), 7, 10), NIGHT) == local(
        MADRID, date(2026, 5, 4), 7, 30)
    late = ReminderRule(times=(time(23, 0),))
    assert next_due(late, MADRID, local(MADRID, date(2026, 5, 5), 3), NIGHT) == local(
        MADRID, date(2026, 5, 5), 7, 30)


def test_a_weekly_late_reminder_moved_past_midnight_is_not_dropped() -> None:
    rule = ReminderRule(times=(time(23, 0),), weekdays=frozenset({0}))  # Mondays
    due = in_zone(walk(rule, MADRID, local(MADRID, date(2026, 5, 4), 12), 2, NIGHT), MADRID)

    assert due == [local(MADRID, date(2026, 5, 5), 7, 30), local(MADRID, date(2026, 5, 12), 7, 30)]


def test_quiet_hours_within_the_day_move_to_their_end() -> None:
    rule = ReminderRule(times=(time(13, 0),))
    lunch = QuietHours(time(12, 0), time(14, 0))
    assert next_due(rule, MADRID, local(MADRID, date(2026, 5, 4), 8), lunch) == local(
        MADRID, date(2026, 5, 4), 14, 0)


def test_quiet_hours_ending_in_a_dst_gap_end_when_the_gap_does() -> None:
    rule = ReminderRule(times=(time(1, 30),))
    quiet = QuietHours(time(1, 0), time(2, 30))
    due = next_due(rule, MADRID, local(MADRID, date(2026, 3, 28), 12), quiet)
    assert due.astimezone(MADRID) == local(MADRID, date(2026, 3, 29), 3, 0)


# --- snooze and skip ----------------------------------------------------------------------------

@pytest.mark.parametrize(("choice", "now_hour", "now_minute", "expected"), [
    ("30m", 10, 0, datetime(2026, 5, 4, 10, 30)),
    ("1h", 10, 0, datetime(2026, 5, 4, 11, 0)),
    ("tonight", 10, 0, datetime(2026, 5, 4, 20, 0)),
    ("tonight", 19, 59, datetime(2026, 5, 4, 20, 0)),
    ("tonight", 20, 0, datetime(2026, 5, 4, 21, 0)),
    ("tonight", 20, 30, datetime(2026, 5, 4, 21, 30)),
    ("30m", 23, 45, datetime(2026, 5, 5, 0, 15)),
])
def test_snooze_choices(choice: SnoozeChoice, now_hour: int, now_minute: int,
                        expected: datetime) -> None:
    now = local(MADRID, date(2026, 5, 4), now_hour, now_minute)
    until = snooze_until(choice, MADRID, now)
    assert until.tzinfo is UTC
    assert until.astimezone(MADRID) == expected.replace(tzinfo=MADRID)


@pytest.mark.parametrize(("choice", "now_hour", "now_minute", "expected"), [
    ("30m", 21, 45, datetime(2026, 5, 5, 7, 30)),
    ("1h", 21, 0, datetime(2026, 5, 5, 7, 30)),
    ("tonight", 21, 30, datetime(2026, 5, 5, 7, 30)),
    ("30m", 6, 45, datetime(2026, 5, 4, 7, 30)),
    ("30m", 7, 10, datetime(2026, 5, 4, 7, 40)),
])
def test_snooze_is_pushed_out_of_quiet_hours(choice: SnoozeChoice, now_hour: int,
                                             now_minute: int, expected: datetime) -> None:
    now = local(MADRID, date(2026, 5, 4), now_hour, now_minute)
    assert snooze_until(choice, MADRID, now, NIGHT).astimezone(MADRID) == expected.replace(
        tzinfo=MADRID)


def test_snooze_tonight_into_evening_quiet_hours_waits_for_morning() -> None:
    quiet = QuietHours(time(19, 0), time(7, 0))
    now = local(MADRID, date(2026, 5, 4), 10)
    assert snooze_until("tonight", MADRID, now, quiet) == local(MADRID, date(2026, 5, 5), 7, 0)


def test_snooze_at_a_custom_evening_time() -> None:
    now = local(MADRID, date(2026, 5, 4), 10)
    assert snooze_until("tonight", MADRID, now, tonight=time(21, 15)) == local(
        MADRID, date(2026, 5, 4), 21, 15)


def test_snooze_counts_elapsed_time_across_a_dst_change() -> None:
    now = local(MADRID, date(2026, 3, 29), 1, 45)  # 15 minutes before clocks go 02:00 -> 03:00
    assert snooze_until("30m", MADRID, now).astimezone(MADRID) == local(
        MADRID, date(2026, 3, 29), 3, 15)
    in_an_hour = snooze_until("1h", MADRID, now.astimezone(UTC))
    assert in_an_hour == now.astimezone(UTC) + timedelta(hours=1)
    assert in_an_hour.astimezone(MADRID) == local(MADRID, date(2026, 3, 29), 3, 45)


def test_snooze_refuses_an_unknown_choice_and_a_naive_now() -> None:
    now = local(MADRID, date(2026, 5, 4), 10)
    with pytest.raises(ValueError, match="unknown snooze choice"):
        snooze_until("2h", MADRID, now)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone-aware"):
        snooze_until("30m", MADRID, now.replace(tzinfo=None))


@pytest.mark.parametrize(("rule", "now", "expected"), [
    pytest.param(ReminderRule(times=(time(20, 0),)), datetime(2026, 5, 4, 10, 0),
                 datetime(2026, 5, 5, 20, 0), id="before today's time"),
    pytest.param(ReminderRule(times=(time(20, 0),)), datetime(2026, 5, 4, 21, 0),
                 datetime(2026, 5, 5, 20, 0), id="after today's time"),
    pytest.param(ReminderRule(times=(time(8, 30), time(20, 0))), datetime(2026, 5, 4, 7, 0),
                 datetime(2026, 5, 5, 8, 30), id="all of today's times"),
    pytest.param(ReminderRule(times=(time(20, 0),), weekdays=frozenset({4})),
                 datetime(2026, 5, 8, 9, 0), datetime(2026, 5, 15, 20, 0), id="weekly"),
    pytest.param(ReminderRule(times=(time(20, 0),)), datetime(2026, 5, 4, 0, 5),
                 datetime(2026, 5, 5, 20, 0), id="just after midnight"),
])
def test_skip_today(rule: ReminderRule, now: datetime, expected: datetime) -> None:
    skipped = skip_today(rule, MADRID, now.replace(tzinfo=MADRID))
    assert skipped.tzinfo is UTC
    assert skipped.astimezone(MADRID) == expected.replace(tzinfo=MADRID)


def test_skip_today_also_skips_todays_reminder_moved_into_tomorrow_by_quiet_hours() -> None:
    rule = ReminderRule(times=(time(23, 0),))
    now = local(MADRID, date(2026, 5, 4), 12)
    assert next_due(rule, MADRID, now, NIGHT) == local(MADRID, date(2026, 5, 5), 7, 30)
    assert skip_today(rule, MADRID, now, NIGHT) == local(MADRID, date(2026, 5, 6), 7, 30)


def test_skip_today_uses_the_clients_date_not_utc() -> None:
    rule = ReminderRule(times=(time(8, 0),))
    now = datetime(2026, 5, 4, 23, 30, tzinfo=UTC)  # already 5 May in Kolkata (05:00)
    assert skip_today(rule, KOLKATA, now).astimezone(KOLKATA) == local(
        KOLKATA, date(2026, 5, 6), 8, 0)


# --- local day bounds and staleness -------------------------------------------------------------

@pytest.mark.parametrize(("zone", "day", "hours"), [
    pytest.param(MADRID, date(2026, 5, 4), 24, id="Madrid ordinary"),
    pytest.param(MADRID, date(2026, 3, 29), 23, id="Madrid spring"),
    pytest.param(MADRID, date(2026, 10, 25), 25, id="Madrid autumn"),
    pytest.param(NEW_YORK, date(2026, 3, 8), 23, id="New York spring"),
    pytest.param(NEW_YORK, date(2026, 11, 1), 25, id="New York autumn"),
    pytest.param(SYDNEY, date(2026, 4, 5), 25, id="Sydney autumn"),
    pytest.param(SYDNEY, date(2026, 10, 4), 23, id="Sydney spring"),
    pytest.param(KOLKATA, date(2026, 3, 29), 24, id="Kolkata"),
])
def test_local_day_bounds(zone: ZoneInfo, day: date, hours: int) -> None:
    for hour in (0, 1, 12, 23):
        now = local(zone, day, hour, 59)
        start, end = local_day_bounds(zone, now)
        assert start.tzinfo is UTC and end.tzinfo is UTC
        assert start <= now < end
        assert end - start == timedelta(hours=hours)
        assert start.astimezone(zone) == local(zone, day, 0)
        assert end.astimezone(zone) == local(zone, day + timedelta(days=1), 0)


def test_local_day_bounds_when_midnight_is_skipped() -> None:
    # Chile moves clocks from 00:00 to 01:00: 6 September 2026 starts at 01:00.
    start, end = local_day_bounds(SANTIAGO, datetime(2026, 9, 6, 15, 0, tzinfo=UTC))
    assert start.astimezone(SANTIAGO) == local(SANTIAGO, date(2026, 9, 6), 1, 0)
    assert end - start == timedelta(hours=23)


def test_local_day_bounds_follow_the_clients_date() -> None:
    now = datetime(2026, 5, 4, 20, 0, tzinfo=UTC)  # 01:30 on 5 May in Kolkata
    start, end = local_day_bounds(KOLKATA, now)
    assert (start, end) == (datetime(2026, 5, 4, 18, 30, tzinfo=UTC),
                            datetime(2026, 5, 5, 18, 30, tzinfo=UTC))


NOON = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("due", "stale"), [
    (NOON - timedelta(minutes=10), False),
    (NOON - timedelta(minutes=15), False),
    (NOON - timedelta(minutes=15, seconds=1), True),
    (NOON - timedelta(days=2), True),
    (NOON + timedelta(minutes=5), False),
])
def test_is_stale(due: datetime, stale: bool) -> None:
    assert is_stale(due, NOON, timedelta(minutes=15)) is stale


def test_is_stale_compares_instants_not_wall_times() -> None:
    due = datetime(2026, 5, 4, 13, 50, tzinfo=MADRID)  # 11:50 UTC
    assert is_stale(due, NOON, timedelta(minutes=15)) is False
    with pytest.raises(ValueError):
        is_stale(due.replace(tzinfo=None), NOON, timedelta(minutes=15))


# --- parsing ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "hours", "minutes"), [
    ("UTC+2", 2, 0),
    ("utc +2", 2, 0),
    ("UTC+02:00", 2, 0),
    ("+05:30", 5, 30),
    ("+0530", 5, 30),
    ("+530", 5, 30),
    ("UTC+5:45", 5, 45),
    ("GMT-3", -3, 0),
    ("-0800", -8, 0),
    ("UTC\u22123", -3, 0),
    ("-03:30", -3, -30),
    (" UTC ", 0, 0),
    ("GMT", 0, 0),
    ("UTC+0", 0, 0),
    ("-00:00", 0, 0),
    ("+14:00", 14, 0),
    ("-12:00", -12, 0),
])
def test_parse_utc_offset_accepts(text: str, hours: int, minutes: int) -> None:
    assert parse_utc_offset(text) == timezone(timedelta(hours=hours, minutes=minutes))


@pytest.mark.parametrize("text", [
    "", "UTC2", "2", "+", "UTC+", "+14:30", "-12:30", "+15", "UTC+2:20", "+05:3", "+05:60",
    "Europe/Madrid", "CET", "UTC+2 hours", "++2", "+123:00",
])
def test_parse_utc_offset_refuses(text: str) -> None:
    assert parse_utc_offset(text) is None


def test_parse_utc_offset_zero_is_utc() -> None:
    assert parse_utc_offset("UTC") is UTC


@pytest.mark.parametrize(("text", "expected"), [
    ("8:30", time(8, 30)),
    ("08:30", time(8, 30)),
    (" 8:30 ", time(8, 30)),
    ("20h", time(20, 0)),
    ("20H30", time(20, 30)),
    ("8pm", time(20, 0)),
    ("8 PM", time(20, 0)),
    ("8 p.m.", time(20, 0)),
    ("8:30 am", time(8, 30)),
    ("8.30pm", time(20, 30)),
    ("12am", time(0, 0)),
    ("12:15 am", time(0, 15)),
    ("12pm", time(12, 0)),
    ("20.15", time(20, 15)),
    ("0:00", time(0, 0)),
    ("23:59", time(23, 59)),
])
def test_parse_local_time_accepts(text: str, expected: time) -> None:
    assert parse_local_time(text) == expected


@pytest.mark.parametrize("text", [
    "", "8", "20", "0830", "24:00", "8:60", "8:3", "8:", "20.", "13pm", "0am", "20:30pm",
    "8:30:00", "eight", "8 o'clock", "-8:00", "8:30 xm", "at 8pm",
])
def test_parse_local_time_refuses(text: str) -> None:
    assert parse_local_time(text) is None


JANUARY = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
JULY = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("hours", "minutes", "now", "name"), [
    (1, 0, JANUARY, "Europe/Paris"),
    (1, 0, JULY, "Europe/London"),
    (2, 0, JULY, "Europe/Paris"),
    (0, 0, JANUARY, "Europe/London"),
    (0, 0, JULY, "Africa/Abidjan"),
    (5, 30, JANUARY, "Asia/Kolkata"),
    (5, 30, JULY, "Asia/Kolkata"),
    (5, 45, JULY, "Asia/Kathmandu"),
    (-5, 0, JANUARY, "America/New_York"),
    (-4, 0, JULY, "America/New_York"),
    (-3, -30, JANUARY, "America/St_Johns"),
    (10, 0, JULY, "Australia/Sydney"),
    (11, 0, JANUARY, "Australia/Sydney"),
    (10, 0, JANUARY, "Australia/Brisbane"),
    (-9, 0, JULY, "Etc/GMT+9"),
    (6, 0, JANUARY, "Asia/Dhaka"),
])
def test_zone_for_offset_picks_a_common_zone(hours: int, minutes: int, now: datetime,
                                             name: str) -> None:
    zone = zone_for_offset(timedelta(hours=hours, minutes=minutes), now)
    assert zone == ZoneInfo(name)


@pytest.mark.parametrize("now", [JANUARY, JULY], ids=["January", "July"])
def test_zone_for_offset_always_matches_the_offset(now: datetime) -> None:
    for quarter_hours in range(-12 * 4, 14 * 4 + 1):
        offset = timedelta(minutes=15 * quarter_hours)
        zone = zone_for_offset(offset, now)
        if quarter_hours % 4 == 0:
            assert zone is not None, offset
        if zone is not None:
            assert now.astimezone(zone).utcoffset() == offset


@pytest.mark.parametrize("offset", [timedelta(hours=15), timedelta(hours=-13),
                                    timedelta(hours=8, minutes=30)])
def test_zone_for_offset_without_a_match(offset: timedelta) -> None:
    assert zone_for_offset(offset, JANUARY) is None


def test_a_parsed_offset_leads_to_a_zone() -> None:
    offset = parse_utc_offset("UTC+5:30")
    assert offset is not None
    assert zone_for_offset(offset.utcoffset(None), JANUARY) == KOLKATA

