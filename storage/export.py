"""Exports of a client's completed thought records: CSV for spreadsheets, JSON for everything.

Columns are documented in docs/export.md. Dates are ISO 8601 with the offset of the time zone
the export was asked for.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

from storage.models import Client, Entry

JSON_SCHEMA_VERSION = 1

THOUGHT_RECORD_COLUMNS: tuple[str, ...] = (
    "entry_id", "client", "flow_id", "flow_version", "started_at", "completed_at",
    "situation", "moods_before", "automatic_thoughts", "hot_thought", "evidence_for",
    "evidence_against", "balanced_thought", "belief_0_100", "moods_after",
)

# A spreadsheet runs a cell that starts with one of these as a formula (CWE-1236).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


def safe_cell(value: Any) -> Any:
    """Neutralise text a spreadsheet would execute; numbers stay numbers."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return value
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def moods_cell(moods: Any) -> str:
    """[{mood: Anxious, intensity: 80}, ...] -> 'Anxious:80|Sad:40'."""
    if not isinstance(moods, list):
        return ""
    parts = []
    for row in moods:
        if isinstance(row, Mapping):
            # The separators can't appear inside a name, or the cell could not be read back.
            name = str(row.get("mood", "")).replace("|", "/").replace(":", " ")
            parts.append(f"{name}:{row.get('intensity', '')}")
    return "|".join(parts)


def iso(moment: datetime | None, zone: tzinfo) -> str:
    return moment.astimezone(zone).isoformat(timespec="seconds") if moment else ""


def thought_record_row(entry: Entry, client: Client, zone: tzinfo) -> dict[str, Any]:
    data = entry.data
    thoughts = data.get("automatic_thoughts", [])
    return {
        "entry_id": entry.id,
        "client": client.pseudonym,
        "flow_id": entry.flow_id,
        "flow_version": entry.flow_version,
        "started_at": iso(entry.started_at, zone),
        "completed_at": iso(entry.completed_at, zone),
        "situation": data.get("situation", ""),
        "moods_before": moods_cell(data.get("moods")),
        "automatic_thoughts": "\n".join(str(t) for t in thoughts)
        if isinstance(thoughts, list) else str(thoughts),
        "hot_thought": data.get("hot_thought", ""),
        "evidence_for": data.get("evidence_for", ""),
        "evidence_against": data.get("evidence_against", ""),
        "balanced_thought": data.get("balanced_thought", ""),
        "belief_0_100": data.get("belief", ""),
        "moods_after": moods_cell(data.get("moods_after")),
    }


def thought_records_csv(entries: Iterable[Entry], client: Client, zone: tzinfo) -> str:
    """One row per record, a header row first, every text cell spreadsheet-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(THOUGHT_RECORD_COLUMNS)
    for entry in entries:
        row = thought_record_row(entry, client, zone)
        writer.writerow([safe_cell(row[column]) for column in THOUGHT_RECORD_COLUMNS])
    return buffer.getvalue()


def entries_json(entries: Sequence[Entry], client: Client, zone: tzinfo, *,
                 exported_at: datetime, period: tuple[str | None, str | None]) -> str:
    document = {
        "schema_version": JSON_SCHEMA_VERSION,
        "client": client.pseudonym,
        "exported_at": iso(exported_at, zone),
        "timezone": str(zone),
        "period": {"from": period[0], "to": period[1]},
        "entries": [
            {
                "id": entry.id,
                "type": entry.entry_type,
                "flow_id": entry.flow_id,
                "flow_version": entry.flow_version,
                "started_at": iso(entry.started_at, zone),
                "completed_at": iso(entry.completed_at, zone),
                "data": entry.data,
            }
            for entry in entries
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
