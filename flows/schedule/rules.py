"""Reminder rules: on which local days and at which local times a reminder falls due."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from flows.schedule.quiet import QuietHours, leave_quiet_hours
from flows.schedule.wallclock import local_date, require_aware, wall_clock_instant

ALL_WEEKDAYS = frozenset(range(7))


@dataclass(frozen=True)
class ReminderRule:
    """Local times of day on chosen weekdays (0=Monday), daily or every N days from `anchor`.

    `anchor` is the local date of the first day of the series; days before it never fall due.
    With `every_days` > 1 a day must be both in the series and on one of `weekdays`.
    """

    times: tuple[time, ...]
    weekdays: frozenset[int] = ALL_WEEKDAYS
    every_days: int = 1
    anchor: date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "times", tuple(self.times))
        object.__setattr__(self, "weekdays", frozenset(self.weekdays))
        if not self.times:
            raise ValueError("a reminder needs at least one time of day")
        if any(wall.tzinfo is not None for wall in self.times):
            raise ValueError("reminder times are local wall-clock times, without tzinfo")
        if any(earlier >= later for earlier, later in pairwise(self.times)):
            raise ValueError("reminder times must be sorted and unique")
        if not self.weekdays or not self.weekdays <= ALL_WEEKDAYS:
            raise ValueError("weekdays must be a non-empty set drawn from 0 (Monday) to 6")
        if self.every_days < 1:
            raise ValueError("every_days must be at least 1")
        if self.every_days > 1 and self.anchor is None:
            raise ValueError("a series every N days needs an anchor date")
        if (self.anchor is not None and self.every_days % 7 == 0
                and self.anchor.weekday() not in self.weekdays):
            raise ValueError("this series never falls on one of its weekdays")

    def days_from(self, first: date) -> Iterator[date]:
        """The local dates the rule falls on, from `first` onwards, in order (endless)."""
        day = first
        if self.anchor is not None:
            day = max(day, self.anchor)
            day += timedelta(days=-(day - self.anchor).days % self.every_days)
        step = timedelta(days=self.every_days)
        while True:
            if day.weekday() in self.weekdays:
                yield day
            day += step


def _due_instants(rule: ReminderRule, zone: ZoneInfo, quiet: QuietHours | None,
                  first_day: date) -> Iterator[datetime]:
    """Every occurrence from `first_day` on, moved out of quiet hours; never decreasing."""
    for day in rule.days_from(first_day):
        for wall in rule.times:
            yield leave_quiet_hours(wall_clock_instant(day, wall, zone), zone, quiet)


def _first_after(instants: Iterator[datetime], after: datetime) -> datetime:
    return next(instant for instant in instants if instant > after)


def next_due(rule: ReminderRule, zone: ZoneInfo, after: datetime,
             quiet: QuietHours | None = None) -> datetime:
    """The first time the reminder is due strictly after `after`, in UTC.

    Times are local wall-clock times: 08:30 stays 08:30 across a DST change. A time the clocks
    skip fires when the gap ends (02:30 -> 03:00); a time that occurs twice fires once, the
    first time. An occurrence inside quiet hours fires when they end; occurrences that would
    land on the same instant that way fire once. Pass the instant just sent (or now) as
    `after` to get the following one.
    """
    require_aware("after", after)
    # Start a day early: yesterday's late occurrence may have been moved into today.
    first_day = local_date(zone, after) - timedelta(days=1)
    return _first_after(_due_instants(rule, zone, quiet, first_day), after)


def skip_today(rule: ReminderRule, zone: ZoneInfo, now: datetime,
               quiet: QuietHours | None = None) -> datetime:
    """The next time due from an occurrence on a later local day than today (UTC).

    Today's occurrences are skipped even when quiet hours would move them into tomorrow.
    """
    require_aware("now", now)
    tomorrow = local_date(zone, now) + timedelta(days=1)
    return _first_after(_due_instants(rule, zone, quiet, tomorrow), now)


def is_stale(due: datetime, now: datetime, grace: timedelta) -> bool:
    """Whether a reminder was due more than `grace` ago (skip it rather than send it late)."""
    require_aware("due", due)
    require_aware("now", now)
    return now - due > grace
