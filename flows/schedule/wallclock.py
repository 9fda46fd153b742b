"""Local wall-clock times to UTC instants, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def require_aware(name: str, value: datetime) -> None:
    """Refuse naive datetimes: every instant in this package must say which zone it is in."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")


def wall_clock_instant(day: date, wall: time, zone: ZoneInfo, fold: int = 0) -> datetime:
    """The UTC instant at which the clock in `zone` shows `wall` on `day`.

    An ambiguous time (clocks going back) resolves by `fold`: 0 is the first occurrence. A time
    the clocks skip (clocks going forward) resolves to the first valid instant after the gap,
    e.g. 02:30 on a 02:00->03:00 day gives 03:00 local.
    """
    local = datetime.combine(day, wall.replace(tzinfo=None), tzinfo=zone).replace(fold=fold)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None, fold=0):
        return instant
    return _end_of_gap(local, zone)


def _end_of_gap(local: datetime, zone: ZoneInfo) -> datetime:
    """The transition instant that skipped over the non-existent local time `local`."""
    # fold=1 reads `local` with the offset after the change, fold=0 with the one before, so the
    # transition lies in (early, late]; tzdata transitions fall on whole seconds.
    early = local.replace(fold=1).astimezone(UTC).replace(microsecond=0)
    late = local.replace(fold=0).astimezone(UTC)
    after_offset = late.astimezone(zone).utcoffset()
    low, high = 0, int((late - early).total_seconds()) + 1
    while high - low > 1:
        middle = (low + high) // 2
        if (early + timedelta(seconds=middle)).astimezone(zone).utcoffset() == after_offset:
            high = middle
        else:
            low = middle
    return early + timedelta(seconds=high)


def local_date(zone: ZoneInfo, instant: datetime) -> date:
    """The calendar date the clock in `zone` shows at `instant`."""
    require_aware("instant", instant)
    return instant.astimezone(zone).date()


def local_day_bounds(zone: ZoneInfo, now: datetime) -> tuple[datetime, datetime]:
    """Start and end (UTC, half-open) of the local day holding `now`: 23 or 25 hours on DST days."""
    today = local_date(zone, now)
    return (wall_clock_instant(today, time(0), zone),
            wall_clock_instant(today + timedelta(days=1), time(0), zone))
