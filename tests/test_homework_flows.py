"""Mood check-in, PHQ-9 and GAD-7 as a client answers them, on both databases."""

from __future__ import annotations

from sqlalchemy import select

from bot.conversation import Conversation
from flows.catalog import default_catalog
from flows.registry import FlowRegistry
from storage.db import Database
from storage.models import CrisisEvent, Entry
from tests.chatkit import ChatClient


def conversation_on(database: Database) -> Conversation:
    return Conversation(database, FlowRegistry.load(), default_catalog())


async def stored(database: Database, entry_type: str) -> list[Entry]:
    async with database.read() as session:
        query = select(Entry).where(Entry.entry_type == entry_type).order_by(Entry.id)
        return list((await session.execute(query)).scalars())


async def test_mood_check_in_in_three_taps(database: Database) -> None:
    alice = ChatClient(conversation_on(database))
    await alice.consent()
    await alice.send("/mood")
    assert [label for label, _ in alice.buttons] == [str(n) for n in range(11)]
    await alice.press("6")
    await alice.press("Anxious")
    await alice.press("Other")
    await alice.press("Done")
    await alice.send("restless")
    await alice.press("Skip")
    assert "mood 6/10" in alice.said
    [entry] = await stored(database, "mood_checkin")
    assert entry.data == {"scale": "mood_0_10", "mood": 6, "emotions": ["anxious", "other"],
                          "other_emotion": "restless", "note": None}


async def test_mood_check_in_skipping_everything_optional(database: Database) -> None:
    alice = ChatClient(conversation_on(database))
    await alice.consent()
    await alice.send("/mood")
    await alice.press("3")
    await alice.press("Skip")
    await alice.press("Skip")
    [entry] = await stored(database, "mood_checkin")
    assert entry.data == {"scale": "mood_0_10", "mood": 3, "emotions": None, "note": None}


async def answer_phq9(client: ChatClient, values: list[int], difficulty: str) -> None:
    labels = ["Not at all", "Several days", "More than half the days", "Nearly every day"]
    await client.send("/phq9")
    assert "Over the last 2 weeks" in client.said and "1/9" in client.said
    for value in values:
        await client.press(labels[value])
    await client.press(difficulty)


async def test_phq9_scores_bands_codes_and_change(database: Database) -> None:
    alice = ChatClient(conversation_on(database))
    await alice.consent()
    await answer_phq9(alice, [2, 2, 1, 2, 1, 1, 1, 0, 0], "Somewhat difficult")
    assert "total is 10 out of 27, in the moderate range" in alice.said
    assert "not a diagnosis" in alice.said and "first one here" in alice.said
    await answer_phq9(alice, [1, 1, 1, 1, 1, 0, 0, 0, 0], "Not difficult at all")
    assert "total is 5 out of 27, in the mild range" in alice.said
    assert "it was 10, so that's -5 since then" in alice.said
    first, _ = await stored(database, "phq9")
    assert first.data["total"] == 10 and first.data["band"] == "moderate"
    assert first.data["items"][0] == {"code": "44250-9", "value": 2, "answer_code": "LA6570-1"}
    assert [item["code"] for item in first.data["items"]][-1] == "44260-8"
    assert first.data["difficulty"] == {"code": "69722-7", "value": 1,
                                        "answer_code": "LA6573-5"}
    assert not any(key.startswith("_") for key in first.data)


async def test_phq9_item9_goes_through_the_crisis_response_at_once(database: Database) -> None:
    alice = ChatClient(conversation_on(database))
    await alice.consent()
    await alice.press("United Kingdom")
    labels = ["Not at all", "Several days", "More than half the days", "Nearly every day"]
    await alice.send("/phq9")
    for value in [1, 1, 1, 1, 1, 1, 1, 1]:
        await alice.press(labels[value])
    await alice.press("Several days")  # item 9
    assert "116 123" in alice.said and "I'm a bot" in alice.said
    assert alice.texts[-1].startswith("If you checked off any problems")  # it carries on
    await alice.press("Very difficult")
    async with database.read() as session:
        event = (await session.execute(select(CrisisEvent))).scalar_one()
    assert (event.source, event.rule, event.interrupted_flow_id) == (
        "questionnaire", "phq9.item9", "phq9")
    [entry] = await stored(database, "phq9")
    assert entry.data["total"] == 9


async def test_gad7_in_spanish(database: Database) -> None:
    pablo = ChatClient(conversation_on(database), language="es")
    await pablo.consent()
    await pablo.send("/gad7")
    assert "Durante las últimas 2 semanas" in pablo.said
    for label in ["Casi todos los días"] * 5 + ["Varios días", "Ningún día"]:
        await pablo.press(label)
    assert "16 de 21, en el rango grave" in pablo.said
    [entry] = await stored(database, "gad7")
    assert (entry.data["instrument"], entry.data["band"]) == ("gad7", "severe")


async def test_progress_is_a_picture_with_three_lines(database: Database) -> None:
    alice = ChatClient(conversation_on(database))
    await alice.send("/progress")
    assert "Nothing to chart yet" in alice.said and alice.last.messages[0].photo is None
    await alice.consent()
    for mood in ("4", "7"):
        await alice.send("/mood")
        await alice.press(mood)
        await alice.press("Skip")
        await alice.press("Skip")
    await answer_phq9(alice, [1, 1, 1, 1, 1, 1, 1, 0, 0], "Somewhat difficult")
    await alice.send("/progress")
    [message] = alice.last.messages
    assert message.photo is not None and message.photo.startswith(b"\x89PNG\r\n\x1a\n")
    lines = message.text.splitlines()
    assert len(lines) == 3
    assert "3" in lines[0] and "PHQ-9" in lines[2] and "mild" in lines[2]
    await alice.press("Show 90 days")
    assert alice.last.messages[0].photo is not None
