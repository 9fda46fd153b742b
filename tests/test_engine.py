"""The engine on its own: no database, no Telegram."""

from __future__ import annotations

from pathlib import Path

from flows.engine import Answer
from tests.flowkit import EngineClient, flow_from_text, packaged_flow


def complete_record(client: EngineClient) -> None:
    client.send("My friend didn't answer my message all day.")
    client.press("Anxious")
    client.press("80")
    client.press("Add another mood")
    client.send("lonely")  # typed, not a button
    client.send("45")
    client.press("No, that's all")
    client.send("She is angry with me.")
    client.press("Add another thought")
    client.send("Nobody likes me.")
    client.press("No, that's all")
    client.press("She is angry with me.")
    client.press("Mind reading")
    client.press("Done")
    client.send("She usually replies within an hour.")
    client.send("She told me she has exams this week.")
    client.send("She didn't reply and she is busy with exams.")
    client.press("70")
    client.press("30")
    client.send("20")


def test_thought_record_walks_every_column_and_sums_up() -> None:
    client = EngineClient(packaged_flow("thought_record"))
    assert "situation" in client.question.lower()
    complete_record(client)
    outcome = client.outcome
    assert outcome.finished
    assert outcome.entry == {
        "situation": "My friend didn't answer my message all day.",
        "moods": [{"mood": "Anxious", "intensity": 80}, {"mood": "lonely", "intensity": 45}],
        "automatic_thoughts": ["She is angry with me.", "Nobody likes me."],
        "hot_thought": "She is angry with me.",
        "distortions": ["mind_reading"],
        "evidence_for": "She usually replies within an hour.",
        "evidence_against": "She told me she has exams this week.",
        "balanced_thought": "She didn't reply and she is busy with exams.",
        "belief": 70,
        "moods_after": [{"mood": "Anxious", "intensity": 30},
                        {"mood": "lonely", "intensity": 20}],
    }
    summary = outcome.replies[-1].text
    assert "Anxious: 80 → 30 (-50)" in summary
    assert "lonely: 45 → 20 (-25)" in summary
    assert "She didn't reply and she is busy with exams." in summary


def test_single_thought_becomes_the_hot_thought_without_asking() -> None:
    client = EngineClient(packaged_flow("thought_record"))
    client.send("Exam results came out.")
    client.press("Sad")
    client.press("60")
    client.press("No, that's all")
    client.send("I'm going to fail the year.")
    client.press("No, that's all")
    assert client.state.step == "distortions"
    assert client.state.answers["hot_thought"] == "I'm going to fail the year."
    client.press("Skip")
    assert "I'm going to fail the year." in client.question


def test_number_outside_range_is_asked_again_and_nothing_changes() -> None:
    client = EngineClient(packaged_flow("thought_record"))
    client.send("Meeting at work.")
    client.press("Anxious")
    before = client.state
    for bad in ("101", "-5", "eighty", "7.5"):
        outcome = client.send(bad)
        assert not outcome.accepted
        assert client.state == before
        assert "0 to 100" in outcome.replies[0].text
        assert outcome.replies[-1].text.startswith("How strong was 'Anxious'")
    assert client.send("100").accepted


def test_sticker_where_text_is_expected_gets_a_gentle_request() -> None:
    client = EngineClient(packaged_flow("thought_record"))
    before = client.state
    outcome = client.sticker()
    assert not outcome.accepted
    assert client.state == before
    assert outcome.replies[0].text == "Please type your answer as a text message."


def test_long_text_is_kept_whole() -> None:
    client = EngineClient(packaged_flow("thought_record"))
    long_text = "It was a long day. " * 600  # ~11,400 characters
    assert client.send(long_text).accepted
    assert client.state.answers["situation"] == long_text.strip()


def test_text_over_the_limit_is_refused_with_the_reason(tmp_path: Path) -> None:
    flow = flow_from_text(tmp_path, """
id: note
version: 1
start: note
steps:
  note: {kind: text, prompt: "Note?", save: note, max_length: 10, next: done}
  done: {kind: end, prompt: "Saved {note}"}
""")
    client = EngineClient(flow)
    outcome = client.send("x" * 11)
    assert not outcome.accepted
    assert "11 characters" in outcome.replies[0].text and "10" in outcome.replies[0].text
    assert client.send("x" * 10).finished


def test_forged_button_id_is_refused() -> None:
    client = EngineClient(packaged_flow("thought_record"))
    client.send("Situation")
    before = client.state
    outcome = client.engine.handle(client.flow, client.state, Answer(button="nope"), "en")
    assert not outcome.accepted and outcome.state == before


def test_multi_choice_toggles_and_optional_skip(tmp_path: Path) -> None:
    flow = flow_from_text(tmp_path, """
id: tags
version: 2
start: tags
steps:
  tags:
    kind: multi_choice
    prompt: "Which?"
    options: [Calm, Tired, Hopeful]
    save: tags
    next: note
  note: {kind: text, prompt: "Note?", optional: true, save: note, next: done}
  done: {kind: end, prompt: "ok"}
""")
    client = EngineClient(flow)
    client.press("Calm")
    client.press("Tired")
    assert client.labels[:2] == ["✓ Calm", "✓ Tired"]
    client.press("✓ Calm")  # pressing again removes it
    client.press("Done")
    outcome = client.press("Skip")
    assert outcome.finished
    assert outcome.entry == {"tags": ["tired"], "note": None}


def test_branches_follow_the_answer(tmp_path: Path) -> None:
    flow = flow_from_text(tmp_path, """
id: branchy
version: 1
start: q
steps:
  q:
    kind: choice
    prompt: "Yes or no?"
    options: [{id: y, label: "Yes"}, {id: n, label: "No"}]
    save: answer
    next:
      - {when: {answer: y}, to: happy}
      - {to: done}
  happy: {kind: text, prompt: "Tell me more", save: more, next: done}
  done: {kind: end, prompt: "bye"}
""")
    yes = EngineClient(flow)
    yes.press("Yes")
    assert yes.state.step == "happy"
    no = EngineClient(flow)
    assert no.send("no").finished  # typing a button's label counts as pressing it
