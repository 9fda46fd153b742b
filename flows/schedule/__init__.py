"""When reminders fall due: pure rules over local wall-clock time, stored as UTC instants.

Nothing here reads the clock; every function takes `now` (or `after`) as an aware datetime.
"""

from __future__ import annotations

from flows.schedule.parsing import parse_local_time, parse_utc_offset
from flows.schedule.quiet import QuietHours
from flows.schedule.rules import ReminderRule, is_stale, next_due, skip_today
from flows.schedule.snooze import SnoozeChoice, snooze_until
from flows.schedule.wallclock import local_day_bounds
from flows.schedule.zones import zone_for_offset

__all__ = [
    "QuietHours",
    "ReminderRule",
    "SnoozeChoice",
    "is_stale",
    "local_day_bounds",
    "next_due",
    "parse_local_time",
    "parse_utc_offset",
    "skip_today",
    "snooze_until",
    "zone_for_offset",
]
