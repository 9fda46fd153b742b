"""Guessing an IANA time zone from the UTC offset a client gave."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flows.schedule.parsing import MAX_OFFSET, MIN_OFFSET
from flows.schedule.wallclock import require_aware

# Tried in order; the first zone whose offset at `now` matches wins. Where several regions
# share an offset at the same moment, the one listed first is where most of our clients are
# expected (the countries of the crisis-line directory): Europe, then the Americas, then the
# rest. A DST zone that wins only in one season is placed so that the other season falls
# through to the best fixed-offset zone: "+01:00" is Europe/Paris in winter and
# Europe/London in summer, "+02:00" Europe/Helsinki in winter and Europe/Paris in summer.
COMMON_ZONES: tuple[str, ...] = (
    "Europe/London",        # +00:00, summer +01:00
    "Europe/Paris",         # +01:00, summer +02:00
    "Europe/Helsinki",      # +02:00, summer +03:00
    "Europe/Moscow",        # +03:00
    "Africa/Abidjan",       # +00:00 (when London is on summer time)
    "Atlantic/Azores",      # -01:00, summer +00:00
    "Atlantic/Cape_Verde",  # -01:00
    "America/New_York",     # -05:00, summer -04:00
    "America/Chicago",      # -06:00, summer -05:00
    "America/Mexico_City",  # -06:00
    "America/Denver",       # -07:00, summer -06:00
    "America/Los_Angeles",  # -08:00, summer -07:00
    "America/Anchorage",    # -09:00, summer -08:00
    "Pacific/Honolulu",     # -10:00
    "Pacific/Pago_Pago",    # -11:00
    "America/Sao_Paulo",    # -03:00
    "America/Halifax",      # -04:00, summer -03:00
    "America/St_Johns",     # -03:30, summer -02:30
    "America/Noronha",      # -02:00
    "Asia/Tehran",          # +03:30
    "Asia/Dubai",           # +04:00
    "Asia/Kabul",           # +04:30
    "Asia/Karachi",         # +05:00
    "Asia/Kolkata",         # +05:30
    "Asia/Kathmandu",       # +05:45
    "Asia/Dhaka",           # +06:00
    "Asia/Yangon",          # +06:30
    "Asia/Bangkok",         # +07:00
    "Asia/Shanghai",        # +08:00
    "Asia/Tokyo",           # +09:00
    "Australia/Adelaide",   # +09:30, southern summer +10:30
    "Australia/Darwin",     # +09:30
    "Australia/Sydney",     # +10:00, southern summer +11:00
    "Australia/Brisbane",   # +10:00
    "Pacific/Noumea",       # +11:00
    "Pacific/Auckland",     # +12:00, southern summer +13:00
    "Pacific/Fiji",         # +12:00
    "Pacific/Chatham",      # +12:45, southern summer +13:45
    "Pacific/Tongatapu",    # +13:00
    "Pacific/Kiritimati",   # +14:00
)


def zone_for_offset(offset: timedelta, now: datetime) -> ZoneInfo | None:
    """A common IANA zone whose offset at `now` is `offset`, else Etc/GMT±N; None if neither.

    The guess keeps reminders at the right local time through the client's DST changes only
    if it picked the client's region; asking for the country or zone name is better.
    """
    require_aware("now", now)
    if not MIN_OFFSET <= offset <= MAX_OFFSET:
        return None
    for name in COMMON_ZONES:
        zone = ZoneInfo(name)
        if now.astimezone(zone).utcoffset() == offset:
            return zone
    return _fixed_zone(offset)


def _fixed_zone(offset: timedelta) -> ZoneInfo | None:
    """The Etc zone for a whole-hour offset (POSIX-style names: Etc/GMT-5 is UTC+05:00)."""
    hours, remainder = divmod(offset, timedelta(hours=1))
    if remainder:
        return None
    return ZoneInfo("Etc/UTC" if hours == 0 else f"Etc/GMT{-hours:+d}")
