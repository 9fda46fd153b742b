"""Exports of a client's completed entries: a CSV per entry type for spreadsheets (zipped
together when several), JSON with everything.

Columns are documented in docs/export.md. Dates are ISO 8601 with the offset of the time zone
the export was asked for.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from storage.models import Client, Entry

JSON_SCHEMA_VERSION = 1
# PHQ-9 item 9 (thoughts of being better off dead or of self-harm): flagged in exports.
PHQ9_ITEM9 = "44260-8"

THOUGHT_RECORD_COLUMNS: tuple[str, ...] = (
    "entry_id", "client", "flow_id", "flow_version", "started_at", "completed_at",
    "situation", "moods_before", "automatic_thoughts", "hot_thought", "distortions",
    "evidence_for",
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
        "distortions": "|".join(str(d) for d in data.get("distortions") or []),
        "evidence_for": data.get("evidence_for", ""),
        "evidence_against": data.get("evidence_against", ""),
        "balanced_thought": data.get("balanced_thought", ""),
        "belief_0_100": data.get("belief", ""),
        "moods_after": moods_cell(data.get("moods_after")),
    }


def mood_row(entry: Entry, client: Client, zone: tzinfo) -> dict[str, Any]:
    data = entry.data
    emotions = data.get("emotions")
    return {
        "entry_id": entry.id, "client": client.pseudonym, "flow_id": entry.flow_id,
        "flow_version": entry.flow_version, "completed_at": iso(entry.completed_at, zone),
        "scale": data.get("scale", ""), "mood": data.get("mood", ""),
        "emotions": "|".join(str(e) for e in emotions) if isinstance(emotions, list) else "",
        "other_emotion": data.get("other_emotion") or "", "note": data.get("note") or "",
    }


def questionnaire_rows(entry: Entry, client: Client, zone: tzinfo) -> list[dict[str, Any]]:
    """Long format: one row per item answer (and the unscored difficulty item)."""
    data = entry.data
    items = list(data.get("items") or [])
    if isinstance(data.get("difficulty"), Mapping):
        items.append(data["difficulty"])
    item9 = next((item.get("value", 0) for item in items
                  if isinstance(item, Mapping) and item.get("code") == PHQ9_ITEM9), 0)
    return [{
        "entry_id": entry.id, "client": client.pseudonym,
        "instrument": data.get("instrument", entry.entry_type),
        "administered_at": iso(entry.completed_at, zone), "flow_version": entry.flow_version,
        "item_code": item.get("code", ""), "answer_value": item.get("value", ""),
        "answer_code": item.get("answer_code", ""), "total_score": data.get("total", ""),
        "severity_band": data.get("band", ""),
        "item9_flag": "yes" if entry.entry_type == "phq9" and item9 else "no",
    } for item in items if isinstance(item, Mapping)]


def exercise_row(entry: Entry, client: Client, zone: tzinfo) -> dict[str, Any]:
    data = entry.data
    run = data.get("run") if isinstance(data.get("run"), Mapping) else {}
    assert isinstance(run, Mapping)
    return {
        "entry_id": entry.id, "client": client.pseudonym, "exercise": data.get("exercise", ""),
        "started_at": iso(entry.started_at, zone), "completed_at": iso(entry.completed_at, zone),
        "duration_s": run.get("duration_s", ""),
        "rounds_completed": run.get("rounds_completed", ""),
        "stopped": "yes" if run.get("stopped") else "no",
        "suds_scale": data.get("suds_scale", ""), "suds_pre": data.get("suds_before", ""),
        "suds_post": data.get("suds_after", ""),
    }


@dataclass(frozen=True)
class CsvTable:
    """One CSV file of an export: which entry types go in, its columns, how rows are made."""

    filename: str
    entry_types: tuple[str, ...]
    columns: tuple[str, ...]
    rows: Callable[[Entry, Client, tzinfo], list[dict[str, Any]]]


CSV_TABLES: dict[str, CsvTable] = {
    "thought_record": CsvTable("thought_records.csv", ("thought_record",),
                               THOUGHT_RECORD_COLUMNS,
                               lambda e, c, z: [thought_record_row(e, c, z)]),
    "mood": CsvTable("mood_checkins.csv", ("mood_checkin",), (
        "entry_id", "client", "flow_id", "flow_version", "completed_at", "scale", "mood",
        "emotions", "other_emotion", "note"), lambda e, c, z: [mood_row(e, c, z)]),
    "questionnaires": CsvTable("questionnaires.csv", ("phq9", "gad7"), (
        "entry_id", "client", "instrument", "administered_at", "flow_version", "item_code",
        "answer_value", "answer_code", "total_score", "severity_band", "item9_flag"),
        questionnaire_rows),
    "exercise": CsvTable("exercises.csv", ("exercise",), (
        "entry_id", "client", "exercise", "started_at", "completed_at", "duration_s",
        "rounds_completed", "stopped", "suds_scale", "suds_pre", "suds_post"),
        lambda e, c, z: [exercise_row(e, c, z)]),
}


def table_csv(table: CsvTable, entries: Iterable[Entry], client: Client, zone: tzinfo) -> str:
    """A header row, then the table's rows; every text cell spreadsheet-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.columns)
    for entry in entries:
        if entry.entry_type in table.entry_types:
            for row in table.rows(entry, client, zone):
                writer.writerow([safe_cell(row[column]) for column in table.columns])
    return buffer.getvalue()


def thought_records_csv(entries: Iterable[Entry], client: Client, zone: tzinfo) -> str:
    return table_csv(CSV_TABLES["thought_record"], entries, client, zone)


def csv_zip(entries: Sequence[Entry], client: Client, zone: tzinfo) -> bytes:
    """Every CSV table in one zip file (a table with no rows still has its header)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for table in CSV_TABLES.values():
            archive.writestr(table.filename, table_csv(table, entries, client, zone))
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
