"""Exports: spreadsheet-safe CSV, readable moods, ISO dates with offset, date filters."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from storage.db import Database
from storage.export import entries_json, moods_cell, safe_cell, thought_records_csv
from storage.repositories import ClientRepository, EntryRepository

RECORD = {
    "situation": "=HYPERLINK(\"http://evil\")",
    "moods": [{"mood": "Anxious", "intensity": 80}, {"mood": "Sad|low:ish", "intensity": 40}],
    "automatic_thoughts": ["+I will fail", "@everyone hates me"],
    "hot_thought": "-I will fail",
    "evidence_for": "\tTabbed",
    "evidence_against": "\rCarriage",
    "balanced_thought": "I might fail, and I have passed before.",
    "belief": 65,
    "moods_after": [{"mood": "Anxious", "intensity": 30}, {"mood": "Sad|low:ish", "intensity": 20}],
}


def test_safe_cell_neutralises_formulas_but_keeps_numbers() -> None:
    for dangerous in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "\0x"):
        assert safe_cell(dangerous) == "'" + dangerous
    assert safe_cell(-1) == -1 and safe_cell(65) == 65
    assert safe_cell("plain") == "plain" and safe_cell(None) == ""


def test_moods_cell_is_readable() -> None:
    assert moods_cell(RECORD["moods"]) == "Anxious:80|Sad/low ish:40"
    assert moods_cell(None) == ""


async def _store(database: Database, completed: datetime, situation: str | None = None) -> None:
    async with database.transaction() as session:
        clients = ClientRepository(session)
        client = await clients.by_pseudonym("C-TEST01") or await clients.create(
            now=completed, language="en", pseudonym="C-TEST01")
        data = dict(RECORD, situation=situation or RECORD["situation"])
        await EntryRepository(session).add(
            client_id=client.id, entry_type="thought_record", flow_id="thought_record",
            flow_version=1, status="completed", data=data, started_at=completed,
            completed_at=completed, now=completed)


async def test_csv_rows_on_both_databases(database: Database) -> None:
    await _store(database, datetime(2026, 3, 28, 23, 30, tzinfo=UTC))
    await _store(database, datetime(2026, 3, 30, 8, 0, tzinfo=UTC), situation="Second")
    madrid = ZoneInfo("Europe/Madrid")
    async with database.read() as session:
        client = await ClientRepository(session).find("C-TEST01")
        assert client is not None
        # Madrid changed to summer time on 2026-03-29: offsets differ between the rows.
        entries = await EntryRepository(session).completed(
            client.id, "thought_record", since=datetime(2026, 3, 29, tzinfo=madrid))
        everything = await EntryRepository(session).completed(client.id, "thought_record")
    rows = list(csv.DictReader(io.StringIO(thought_records_csv(everything, client, madrid))))
    assert [r["completed_at"] for r in rows] == ["2026-03-29T00:30:00+01:00",
                                                 "2026-03-30T10:00:00+02:00"]
    first = rows[0]
    assert first["situation"] == "'=HYPERLINK(\"http://evil\")"
    assert first["automatic_thoughts"] == "'+I will fail\n@everyone hates me"
    assert first["hot_thought"] == "'-I will fail"
    assert first["evidence_for"] == "'\tTabbed" and first["evidence_against"] == "'\rCarriage"
    assert first["moods_before"] == "Anxious:80|Sad/low ish:40"
    assert first["moods_after"] == "Anxious:30|Sad/low ish:20"
    assert first["belief_0_100"] == "65" and first["flow_version"] == "1"
    assert [e.data["situation"] for e in entries] == [RECORD["situation"], "Second"]
    document = json.loads(entries_json(entries, client, madrid,
                                       exported_at=datetime(2026, 4, 1, tzinfo=UTC),
                                       period=("2026-03-29", None)))
    assert document["schema_version"] == 1 and document["client"] == "C-TEST01"
    assert document["entries"][1]["data"]["situation"] == "Second"
    assert document["entries"][0]["completed_at"] == "2026-03-29T00:30:00+01:00"


async def test_every_entry_type_gets_its_csv_and_json_holds_all(database: Database) -> None:
    from bot.conversation import Conversation
    from flows.catalog import default_catalog
    from flows.engine import exercise_result_button
    from flows.registry import FlowRegistry
    from storage.export import CSV_TABLES, csv_zip
    from tests.chatkit import ChatClient

    alice = ChatClient(Conversation(database, FlowRegistry.load(), default_catalog()))
    await alice.consent()
    await alice.send("/mood")
    await alice.press("4")
    await alice.press("Sad")
    await alice.press("Done")
    await alice.send("=cmd|' /C calc'!A0")  # a note that would be a formula
    await alice.send("/phq9")
    for label in ["Several days"] * 8 + ["More than half the days", "Very difficult"]:
        await alice.press(label)
    await alice.send("/relax")
    await alice.press("Box breathing (1½ min)")
    await alice.press("6")
    turn = alice.last.messages[-1].timer
    assert turn is not None
    await alice.press_data(f"f:{turn.turn}:" + exercise_result_button(True, 2, 35))
    await alice.press("4")
    utc = ZoneInfo("UTC")
    async with database.read() as session:
        client = await ClientRepository(session).find(alice.key.telegram_user_id.__str__())
        assert client is not None
        entries = await EntryRepository(session).completed(client.id)
    with zipfile.ZipFile(io.BytesIO(csv_zip(entries, client, utc))) as archive:
        assert sorted(archive.namelist()) == sorted(t.filename for t in CSV_TABLES.values())
        tables = {name: list(csv.DictReader(io.StringIO(archive.read(name).decode())))
                  for name in archive.namelist()}
    [mood] = tables["mood_checkins.csv"]
    assert (mood["mood"], mood["emotions"], mood["scale"]) == ("4", "sad", "mood_0_10")
    assert mood["note"] == "'=cmd|' /C calc'!A0"
    rows = tables["questionnaires.csv"]
    assert len(rows) == 10 and {r["instrument"] for r in rows} == {"phq9"}
    assert rows[8]["item_code"] == "44260-8" and rows[8]["answer_value"] == "2"
    assert rows[0]["total_score"] == "10" and rows[0]["severity_band"] == "moderate"
    assert {r["item9_flag"] for r in rows} == {"yes"}
    assert rows[9]["item_code"] == "69722-7"
    [exercise] = tables["exercises.csv"]
    assert (exercise["exercise"], exercise["stopped"], exercise["rounds_completed"],
            exercise["duration_s"], exercise["suds_pre"], exercise["suds_post"]) == (
        "box_breathing", "yes", "2", "35", "6", "4")
    assert tables["thought_records.csv"] == []
    document = json.loads(entries_json(entries, client, utc, exported_at=datetime.now(UTC),
                                       period=(None, None)))
    assert [e["type"] for e in document["entries"]] == ["mood_checkin", "phq9", "exercise"]
