"""Finding a client's IANA time zone from what they type, their country or their location.

Telegram never tells a bot the user's time zone, so the client tells us: a city ("Madrid"),
a zone name, a UTC offset ("UTC+2"), or a shared location.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import available_timezones

from flows.schedule import parse_utc_offset, zone_for_offset

# The system's zone table (Debian: tzdata). Used only for suggestions; optional.
ZONE_TAB = Path("/usr/share/zoneinfo/zone.tab")


@cache
def _zones_by_name() -> dict[str, str]:
    """'europe/madrid' and 'madrid' (the city part) -> 'Europe/Madrid'."""
    names: dict[str, str] = {}
    for zone in sorted(available_timezones()):
        if zone.startswith(("Etc/", "SystemV/", "posix/", "right/")) or "/" not in zone:
            continue
        names.setdefault(zone.casefold(), zone)
        city = zone.rsplit("/", 1)[1].replace("_", " ").casefold()
        names.setdefault(city, zone)
    return names


@cache
def _zone_table() -> tuple[tuple[str, float, float, str], ...]:
    """(country, latitude, longitude, zone) of each zone's principal city."""
    try:
        lines = ZONE_TAB.read_text(encoding="utf-8").splitlines()
    except OSError:
        return ()
    rows = []
    for line in lines:
        parts = line.split("\t")
        if len(parts) < 3 or line.startswith("#"):
            continue
        position = _iso6709(parts[1])
        if position is not None:
            rows.append((parts[0], position[0], position[1], parts[2]))
    return tuple(rows)


def _iso6709(text: str) -> tuple[float, float] | None:
    """'+4024-00341' -> (40.4, -3.68): degrees and minutes (and maybe seconds)."""
    split = max(text.rfind("+"), text.rfind("-"))
    if split <= 0:
        return None

    def degrees(part: str, width: int) -> float:
        sign = -1 if part[0] == "-" else 1
        digits = part[1:]
        value = int(digits[:width]) + int(digits[width:width + 2]) / 60
        if len(digits) > width + 2:
            value += int(digits[width + 2:width + 4]) / 3600
        return sign * value

    try:
        return degrees(text[:split], 2), degrees(text[split:], 3)
    except ValueError:
        return None


def zones_of_country(code: str) -> tuple[str, ...]:
    """The zones of a country, most populous region first (as the zone table lists them)."""
    return tuple(zone for country, _, _, zone in _zone_table() if country == code.upper())


def resolve_timezone(text: str, now: datetime) -> str | None:
    """A zone for a typed answer: a zone name, a city, or a UTC offset; None if unknown."""
    cleaned = " ".join(text.strip().split())
    found = _zones_by_name().get(cleaned.casefold())
    if found is not None:
        return found
    offset = parse_utc_offset(cleaned)
    if offset is not None:
        zone = zone_for_offset(offset.utcoffset(None) or timedelta(0), now)
        return zone.key if zone is not None else None
    return None


def zone_for_location(latitude: float, longitude: float, country: str | None,
                      now: datetime) -> str | None:
    """The zone whose principal city is nearest to a shared location (within the client's
    country when known); the solar offset when the zone table is missing."""
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    rows = [row for row in _zone_table() if country is None or row[0] == (country or "").upper()]
    if not rows:
        rows = list(_zone_table())
    if rows:
        return min(rows, key=lambda row: _distance(latitude, longitude, row[1], row[2]))[3]
    fallback = zone_for_offset(timedelta(hours=round(longitude / 15)), now)
    return fallback.key if fallback is not None else None


def _distance(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in radians (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * math.asin(min(1.0, math.sqrt(a)))
