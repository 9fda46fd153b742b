"""Snoozing a reminder the client cannot do right now."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from flows.schedule.quiet import QuietHours, leave_quiet_hours
from flows.schedule.wallclock import local_date, require_aware, wall_clock_instant

SnoozeChoice = Literal["30m", "1h", "tonight"]

SNOOZE_CHOICES: tuple[SnoozeChoice, ...] = get_args(SnoozeChoice)
_DELAYS = {"30m": timedelta(minutes=30), "1h": timedelta(hours=1)}


def snooze_until(choice: SnoozeChoice, zone: ZoneInfo, now: datetime,
                 quiet: QuietHours | None = None, tonight: time = time(20, 0)) -> datetime:
    """When a snoozed reminder comes back, in UTC, moved out of quiet hours.

    "30m" and "1h" are elapsed time; "tonight" is `tonight` local today, or one hour later
    when that time has already passed.
    """
    require_aware("now", now)
    now = now.astimezone(UTC)  # add elapsed time in UTC: local-zone arithmetic is wall time
    if choice == "tonight":
        later = wall_clock_instant(local_date(zone, now), tonight, zone)
        if later <= now:
            later = now + timedelta(hours=1)
    elif choice in _DELAYS:
        later = now + _DELAYS[choice]
    else:
        raise ValueError(f"unknown snooze choice {choice!r}; expected one of {SNOOZE_CHOICES}")
    return leave_quiet_hours(later, zone, quiet)
