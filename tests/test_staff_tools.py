"""What programme staff rely on: validation in one pass, programme file checks, versions."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import load_setup
from bot.config import Settings
from bot.conversation import Conversation
from bot.programme import ProgrammeError, load_programme
from flows.catalog import default_catalog
from flows.definition import FlowError
from flows.diagram import to_dot, to_mermaid
from flows.registry import FlowRegistry
from flows.validation import packaged_and_staff, validate
from storage.db import Database
from storage.models import Entry
from tests.chatkit import ChatClient

TWO_PROBLEMS = """\
id: broken
version: 1
start: first
steps:
  first:
    kind: text
    prompt: {en: "First?", es: "¿Primero?"}
    save: first
    next: nowhere
  second:
    kind: essay
    prompt: {en: "Second?"}
    next: done
  done:
    kind: end
    prompt: {en: "Bye {missing}"}
"""


def test_validate_reports_every_problem_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(TWO_PROBLEMS, encoding="utf-8")
    report = validate(packaged_and_staff(tmp_path), default_catalog())
    messages = [str(problem) for problem in report.errors]
    assert f"{tmp_path / 'broken.yaml'}:11: step 'second': kind must be one of" in messages[0]
    assert not report.ok and len(report.errors) == 1  # a broken step stops the graph checks
    (tmp_path / "broken.yaml").write_text(TWO_PROBLEMS.replace("kind: essay", "kind: text"),
                                          encoding="utf-8")
    report = validate(packaged_and_staff(tmp_path), default_catalog())
    messages = sorted(str(problem) for problem in report.errors)
    assert any(":9: step 'first' goes to unknown step 'nowhere'" in m for m in messages)
    assert any("step 'second' can never be reached" in m for m in messages)
    assert any(":16: step 'done' prompt (en) uses '{missing}'" in m for m in messages)


def test_missing_translations_and_duplicates(tmp_path: Path) -> None:
    flow = TWO_PROBLEMS.replace("next: nowhere", "next: done").replace("  second:\n"
           "    kind: essay\n    prompt: {en: \"Second?\"}\n    next: done\n", "").replace(
           "Bye {missing}", "Bye {first}")
    (tmp_path / "a.yaml").write_text(flow, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(flow, encoding="utf-8")
    report = validate(packaged_and_staff(tmp_path), default_catalog())
    assert [str(e) for e in report.errors] == [
        f"{tmp_path / 'b.yaml'}:1: duplicate flow id 'broken' (also in {tmp_path / 'a.yaml'})"]
    warnings = [str(w) for w in report.warnings]
    assert warnings == [f"{tmp_path / 'a.yaml'}:12: step 'done' prompt has no es "
                        "translation (English is shown)"]


def test_packaged_flows_have_no_problems_or_gaps() -> None:
    report = validate(packaged_and_staff(None), default_catalog())
    assert report.ok and report.warnings == []


def test_diagrams_show_every_step_and_branch() -> None:
    flow = FlowRegistry.load().get("thought_record")
    assert flow is not None
    mermaid = to_mermaid(flow)
    assert mermaid.startswith("flowchart TD\n")
    assert "mood_more -->|more| mood_pick" in mermaid
    assert all(f"    {step}[" in mermaid or f"    {step}(" in mermaid for step in flow.steps)
    assert '"mood_more" -> "mood_pick" [label="more"];' in to_dot(flow)


def test_programme_file_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "programme.yaml"
    cases = [
        ("flows: [thought_record]\ndefault_country: Spain\n", 2, "default_country"),
        ("flows: [thought_record]\ncolour: blue\n", 2, "colour"),
        ("flows: [thought_record, thought_record]\n", 1, "listed twice"),
        ("flows: [thought_record]\nreminders:\n  grace_minutes: -5\n", 3, "grace_minutes"),
        ("flows: []\n", 1, "flows"),
    ]
    for text, line, words in cases:
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ProgrammeError) as caught:
            load_programme(path)
        assert caught.value.line == line and words in str(caught.value), str(caught.value)


def test_programme_switches_flows_and_names_unknown_ones(tmp_path: Path) -> None:
    path = tmp_path / "programme.yaml"
    path.write_text("flows: [grounding, thought_record]\ndefault_country: gb\n"
                    "crisis: {packs: [en]}\n", encoding="utf-8")
    setup = load_setup(Settings(CBT_PROGRAMME_FILE=path))
    assert [flow.id for flow in setup.flows.all()] == ["grounding", "thought_record"]
    assert setup.programme.default_country == "GB"
    path.write_text("flows: [grounding, mood_diary]\n", encoding="utf-8")
    with pytest.raises(ProgrammeError, match="1: flows: unknown flow 'mood_diary'"):
        load_setup(Settings(CBT_PROGRAMME_FILE=path))


async def test_a_new_version_mid_flow_keeps_the_old_answers(
    database: Database, tmp_path: Path
) -> None:
    alice = ChatClient(Conversation(database, FlowRegistry.load(), default_catalog()))
    await alice.consent()
    await alice.send("/thought")
    await alice.send("A difficult phone call.")
    await alice.press("Sad")
    # Staff publish version 2 while Alice is on the intensity question.
    packaged = (FlowRegistry.load().get("thought_record"))
    assert packaged is not None
    text = (await asyncio.to_thread(Path(packaged.source).read_text, encoding="utf-8")
            ).replace("version: 1", "version: 2")
    (tmp_path / "thought_record.yaml").write_text(text, encoding="utf-8")
    alice.conversation = Conversation(database, FlowRegistry.load(tmp_path), default_catalog())
    await alice.send("60")
    assert alice.texts[0].startswith("This exercise has been updated")
    assert alice.texts[-1].startswith("Let's look at one moment")
    async with database.read() as session:
        draft = (await session.execute(select(Entry))).scalar_one()
    assert (draft.status, draft.flow_version) == ("draft", 1)
    assert draft.data == {"situation": "A difficult phone call."}


async def test_help_lists_the_programmes_flows_in_order(database: Database) -> None:
    registry = FlowRegistry.load().only(["grounding", "thought_record"])
    bob = ChatClient(Conversation(database, registry, default_catalog()), language="es")
    await bob.send("/help")
    lines = bob.said.splitlines()
    dash = "\N{EN DASH}"
    assert lines[1].startswith(f"/grounding {dash} ") and lines[2].startswith(f"/thought {dash} ")
    assert "/safetyplan" not in bob.said
    await bob.send("/safetyplan")
    assert "No conozco ese comando" in bob.said
    await bob.send("/language")
    await bob.press("English")
    await bob.send("/help")
    assert bob.said.startswith("Here is what I can do:")


def test_an_exercise_menu_naming_no_exercise_stops_start_up(tmp_path: Path) -> None:
    relax = FlowRegistry.load().get("relax")
    assert relax is not None
    text = Path(relax.source).read_text(encoding="utf-8").replace(
        "- {id: box_breathing,", "- {id: box_breating,")
    (tmp_path / "relax.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(FlowError, match="option 'box_breating' names no exercise") as caught:
        load_setup(Settings(CBT_FLOWS_DIR=tmp_path))
    assert caught.value.file.endswith("relax.yaml") and caught.value.line is not None
