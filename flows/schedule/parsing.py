"""Reading what a client types for a UTC offset or a time of day."""

from __future__ import annotations

import re
from datetime import UTC, time, timedelta, timezone

MIN_OFFSET = timedelta(hours=-12)
MAX_OFFSET = timedelta(hours=14)

_MINUS_SIGNS = str.maketrans({"\u2212": "-", "\u2013": "-"})  # typographic minus, en dash
_UTC_NAMES = frozenset({"UTC", "GMT", "Z"})
_OFFSET = re.compile(
    r"(?:UTC|GMT)?\s*(?P<sign>[+-])\s*(?P<hours>\d{1,2})(?::?(?P<minutes>\d{2}))?",
    re.IGNORECASE,
)
_CLOCK = re.compile(
    r"(?P<hour>\d{1,2})(?:(?P<separator>[:.h])(?P<minute>\d{2})?)?"
    r"\s*(?:(?P<half>[ap])\.?\s*m\.?)?",
    re.IGNORECASE,
)


def parse_utc_offset(text: str) -> timezone | None:
    """A fixed offset from "UTC+2", "+05:30", "GMT-3", "-0800" or "UTC"; None otherwise.

    "GMT-3" means three hours behind UTC, as people write it (not the inverted POSIX sense).
    Offsets must lie in -12:00..+14:00 with minutes 00, 15, 30 or 45, as every real one does.
    """
    text = text.strip().translate(_MINUS_SIGNS)
    if text.upper() in _UTC_NAMES:
        return UTC
    match = _OFFSET.fullmatch(text)
    if match is None:
        return None
    minutes = int(match["minutes"] or 0)
    if minutes >= 60 or minutes % 15:
        return None
    offset = timedelta(hours=int(match["hours"]), minutes=minutes)
    if match["sign"] == "-":
        offset = -offset
    if not MIN_OFFSET <= offset <= MAX_OFFSET:
        return None
    return UTC if not offset else timezone(offset)


def parse_local_time(text: str) -> time | None:
    """A time of day from "8:30", "08:30", "20h", "20h30", "8pm", "8:30 am", "20.15"; else None.

    A bare number ("8") is refused: it could mean morning or evening.
    """
    match = _CLOCK.fullmatch(text.strip())
    if match is None:
        return None
    separator, minute_text, half = match["separator"], match["minute"], match["half"]
    if separator is None and half is None:
        return None
    if separator in (":", ".") and minute_text is None:
        return None
    hour, minute = int(match["hour"]), int(minute_text or 0)
    if half is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half.lower() == "p" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)
