"""The clinician's PDF: sections a therapist reads, flags, local times, Unicode, Spanish."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import matplotlib
import pytest
from pypdf import PdfReader

from storage.models import Client, CrisisEvent, Entry
from storage.reports import pdf as pdf_module
from storage.reports.pdf import ReportFontMissing, ReportPeriod, clinician_pdf

MADRID = ZoneInfo("Europe/Madrid")
START = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
EXPORTED = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)
PERIOD = ReportPeriod(date(2025, 3, 1), date(2025, 3, 31))
TELEGRAM_ID = 7349218865
PHQ9_CODES = ("44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5",
              "44253-3", "44260-8")
GAD7_CODES = ("69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7")


def _client() -> Client:
    return Client(id=4, pseudonym="C-PDF001", telegram_user_id=TELEGRAM_ID, language="en")


def _entry(entry_id: int, kind: str, data: dict[str, Any], at: datetime) -> Entry:
    return Entry(id=entry_id, client_id=4, entry_type=kind, flow_id=kind, flow_version=1,
                 status="completed", data=data, started_at=at - timedelta(minutes=5),
                 completed_at=at, created_at=at)


def _questionnaire(entry_id: int, kind: str, values: list[int], at: datetime) -> Entry:
    codes = PHQ9_CODES if kind == "phq9" else GAD7_CODES
    return _entry(entry_id, kind, {
        "instrument": kind, "total": sum(values), "max_total": 3 * len(values),
        "items": [{"code": c, "value": v} for c, v in zip(codes, values, strict=True)]}, at)


def _thought_record(entry_id: int, at: datetime, situation: str) -> Entry:
    return _entry(entry_id, "thought_record", {
        "situation": situation,
        "moods": [{"mood": "anxious", "intensity": 80}],
        "automatic_thoughts": ["I will fail the exam"],
        "hot_thought": "I will fail the exam",
        "evidence_for": "I failed a mock test.", "evidence_against": "I passed the last two.",
        "balanced_thought": "One bad mock, and two passes.", "belief": 70,
        "moods_after": [{"mood": "anxious", "intensity": 35}]}, at)


def _month() -> tuple[list[Entry], list[CrisisEvent]]:
    entries = [_entry(i + 1, "mood_checkin", {"scale": "mood_0_10", "mood": 3 + i % 5},
                      START + timedelta(days=i)) for i in range(30)]
    entries += [_thought_record(100 + i, START + timedelta(days=3 * i, hours=10),
                                f"Situation number {i}") for i in range(7)]
    entries += [
        _questionnaire(200, "phq9", [2, 2, 2, 2, 1, 1, 1, 0, 0], START + timedelta(days=1)),
        _questionnaire(201, "phq9", [1, 1, 1, 1, 1, 1, 1, 0, 2], START + timedelta(days=15)),
        _questionnaire(202, "gad7", [2, 2, 2, 2, 1, 1, 1], START + timedelta(days=1)),
        _questionnaire(203, "gad7", [1, 1, 0, 0, 1, 1, 0], START + timedelta(days=15)),
        _entry(300, "exercise", {"exercise": "box_breathing", "suds_scale": "suds_0_10",
                                 "suds_before": 8, "suds_after": 3,
                                 "run": {"rounds_completed": 4, "duration_s": 96,
                                         "stopped": False}},
               # 23:30 UTC is already the next day in Madrid.
               datetime(2025, 3, 9, 23, 30, tzinfo=UTC)),
        _entry(301, "exercise", {"exercise": "pmr_7", "suds_scale": "suds_0_10",
                                 "suds_before": 6, "suds_after": 6,
                                 "run": {"rounds_completed": 1, "duration_s": 40,
                                         "stopped": True}}, START + timedelta(days=12)),
        _entry(400, "safety_plan", {"warning_signs": "Staying in bed all day",
                                    "reasons_for_living": "My cat Miso", "professionals": None},
               START + timedelta(days=2)),
    ]
    events = [
        CrisisEvent(id=1, client_id=4, occurred_at=START + timedelta(days=15, minutes=1),
                    source="questionnaire", category="phq9_item9", rule="phq9.item9",
                    safe_confirmed_at=START + timedelta(days=15, minutes=3)),
        CrisisEvent(id=2, client_id=4, occurred_at=START + timedelta(days=20),
                    source="message", category="suicidal_ideation", rule="en.passive_wish",
                    not_meant_at=START + timedelta(days=21)),
    ]
    return entries, events


def _text(document: bytes) -> str:
    """All pages' text, whitespace collapsed (lines wrap) and bidi marks dropped."""
    reader = PdfReader(io.BytesIO(document))
    text = " ".join(page.extract_text() for page in reader.pages)
    return " ".join(text.replace("\u200e", "").split())


def test_report_has_every_section_a_clinician_reads() -> None:
    entries, events = _month()
    document = clinician_pdf(entries, events, _client(), period=PERIOD, zone=MADRID,
                             exported_at=EXPORTED)
    assert document.startswith(b"%PDF-")
    text = _text(document)
    for heading in ("CBT homework report", "C-PDF001", "Contains sensitive health information",
                    "At a glance", "Homework completion", "Mood check-ins", "PHQ-9 and GAD-7",
                    "Relaxation exercises", "Latest thought records", "Crisis events",
                    "Safety plan", "1 Mar 2025 \u2013 31 Mar 2025"):
        assert heading in text
    assert "Days with any homework: 30 of 31." in text
    assert str(TELEGRAM_ID) not in text


def test_item9_and_crisis_answers_are_flagged_without_client_text() -> None:
    entries, events = _month()
    text = _text(clinician_pdf(entries, events, _client(), period=PERIOD, zone=MADRID,
                               exported_at=EXPORTED))
    assert "PHQ-9 item 9 > 0 on 1 of 2 PHQ-9s (latest 16 Mar 2025)." in text
    assert "2 (item 9 > 0)" in text
    assert "Crisis responses: 2" in text
    assert "safe for now (09:03)" in text  # same day: time only, Madrid time
    assert "not what I meant (2025-03-22 09:00)" in text
    assert "phq9.item9" in text and "en.passive_wish" in text
    assert "Latest PHQ-9: 9 (mild)" in text and "first in period 11" in text


def test_latest_five_thought_records_newest_first_in_full() -> None:
    entries, events = _month()
    text = _text(clinician_pdf(entries, events, _client(), period=PERIOD, zone=MADRID,
                               exported_at=EXPORTED))
    shown = [n for n in range(7) if f"Situation number {n}" in text]
    assert shown == [2, 3, 4, 5, 6]
    positions = [text.index(f"Situation number {n}") for n in (6, 5, 4, 3, 2)]
    assert positions == sorted(positions)
    for column in ("One bad mock, and two passes.", "70/100", "Anxious 35 (\u221245)",
                   "I passed the last two."):
        assert column in text


def test_exercises_in_local_time_with_suds_and_stopped() -> None:
    entries, events = _month()
    text = _text(clinician_pdf(entries, events, _client(), period=PERIOD, zone=MADRID,
                               exported_at=EXPORTED))
    assert "2025-03-10 00:30 Box breathing 8 3 -5 no" in text
    assert "Muscle relaxation, short 6 6 0 yes" in text
    assert "stopped early: 1" in text


def test_unicode_text_renders_and_unknown_glyphs_are_named() -> None:
    record = _thought_record(1, START, "Café con José 😞👍🏽 — אני תמיד נכשל")
    record.data["automatic_thoughts"] = ["אני תמיד נכשל בפגישות", "أنا دائماً أفشل",
                                         "Ça ne marchera jamais ✨", "中文"]
    record.data["moods"] = [{"mood": "מבוכה", "intensity": 50}]
    document = clinician_pdf([record], [], _client(), period=PERIOD, zone=MADRID,
                             exported_at=EXPORTED, language="es")
    text = _text(document)
    assert "Café con José" in text and "אני תמיד נכשל" in text
    assert "[thumbs up sign]" in text and "Ça ne marchera jamais" in text
    assert "[corchetes]" in text


def test_empty_data_says_so() -> None:
    document = clinician_pdf([], [], _client(), period=ReportPeriod(None, None), zone=MADRID,
                             exported_at=EXPORTED)
    text = _text(document)
    assert "No entries in this period." in text
    assert "all entries up to 1 Apr 2025" in text
    assert len(PdfReader(io.BytesIO(document)).pages) == 1


def test_drafts_and_sections_without_data() -> None:
    draft = _thought_record(1, START, "Half-finished draft")
    draft.status = "draft"
    mood = _entry(2, "mood_checkin", {"scale": "mood_0_10", "mood": 5}, START)
    text = _text(clinician_pdf([draft, mood], [], _client(), period=PERIOD, zone=MADRID,
                               exported_at=EXPORTED))
    assert "Half-finished draft" not in text
    assert "Crisis responses: none in this period." in text
    assert "No safety plan saved in this period." in text
    assert text.count("None in this period.") == 4  # questionnaires, exercises, records, crisis


def test_spanish_labels() -> None:
    entries, events = _month()
    text = _text(clinician_pdf(entries, events, _client(), period=PERIOD, zone=MADRID,
                               exported_at=EXPORTED, language="es-MX"))
    for label in ("Informe de tareas de TCC", "Contiene información de salud sensible",
                  "Tareas completadas", "Registros de ánimo", "PHQ-9 y GAD-7",
                  "Últimos registros de pensamientos", "Eventos de crisis",
                  "Plan de seguridad", "Respiración cuadrada", "a salvo por ahora",
                  "ítem 9 > 0", "1 mar 2025 \u2013 31 mar 2025", "leve"):
        assert label in text


def test_long_answers_are_cut_with_a_pointer_to_the_full_export() -> None:
    record = _thought_record(1, START, "word " * 2000)
    text = _text(clinician_pdf([record], [], _client(), period=PERIOD, zone=MADRID,
                               exported_at=EXPORTED))
    assert "the full text is in the CSV or JSON export" in text


def test_same_input_same_bytes() -> None:
    entries, events = _month()

    def render() -> bytes:
        return clinician_pdf(entries, events, _client(), period=PERIOD, zone=MADRID,
                             exported_at=EXPORTED)

    assert render() == render()


@pytest.fixture
def no_fonts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(matplotlib, "get_data_path", lambda: str(tmp_path))
    monkeypatch.setattr(pdf_module, "_FONT_DIRS", (tmp_path,))
    pdf_module.report_fonts.cache_clear()
    yield
    pdf_module.report_fonts.cache_clear()


@pytest.mark.usefixtures("no_fonts")
def test_missing_font_is_a_clear_error() -> None:
    with pytest.raises(ReportFontMissing, match="fonts-dejavu-core"):
        clinician_pdf([], [], _client(), period=PERIOD, zone=MADRID, exported_at=EXPORTED)
