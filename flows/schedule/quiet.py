"""Quiet hours: a local time window in which nothing is sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flows.schedule.wallclock import require_aware, wall_clock_instant


@dataclass(frozen=True)
class QuietHours:
    """Local times [start, end); wraps midnight when start > end (22:00-07:30)."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("quiet hours are local wall-clock times, without tzinfo")
        if self.start == self.end:
            raise ValueError("quiet hours must not start and end at the same time")

    @property
    def wraps_midnight(self) -> bool:
        """Whether the window runs past midnight into the next day."""
        return self.start > self.end

    def contains(self, local: time) -> bool:
        """Whether the local time falls inside the window (start included, end excluded)."""
        local = local.replace(tzinfo=None, fold=0)
        if self.wraps_midnight:
            return local >= self.start or local < self.end
        return self.start <= local < self.end


def leave_quiet_hours(instant: datetime, zone: ZoneInfo, quiet: QuietHours | None) -> datetime:
    """`instant` in UTC, or the end of the quiet period it falls in (same or next local day)."""
    require_aware("instant", instant)
    instant = instant.astimezone(UTC)
    local = instant.astimezone(zone)
    if quiet is None or not quiet.contains(local.time()):
        return instant
    end_day = local.date()
    if quiet.wraps_midnight and local.time() >= quiet.start:
        end_day += timedelta(days=1)
    # The end time may occur twice on a clocks-back day; take the first one still ahead.
    ends = (wall_clock_instant(end_day, quiet.end, zone, fold) for fold in (0, 1))
    return next((end for end in ends if end > instant), instant)
