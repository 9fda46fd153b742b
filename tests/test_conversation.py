"""The conversation service on a real database (SQLite and PostgreSQL), as a client sees it."""

from __future__ import annotations

import asyncio
from datetime import UTC

from sqlalchemy import func, select

from bot.conversation import Conversation
from bot.messages import Inbound
from flows.catalog import default_catalog
from flows.registry import FlowRegistry
from storage.db import Database
from storage.models import Client, Entry, FlowSession
from tests.chatkit import ChatClient, complete_thought_record


def conversation_on(database: Database) -> Conversation:
    return Conversation(database, FlowRegistry.load(), default_catalog())


async def count(database: Database, model: type) -> int:
    async with database.read() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def entries(database: Database) -> list[Entry]:
    async with database.read() as session:
        return list((await session.execute(select(Entry).order_by(Entry.id))).scalars())


async def test_start_explains_the_bot_and_asks_consent(database: Database) -> None:
    alice = ChatClient(conversation_on(database))
    await alice.send("/start")
    welcome = alice.said
    assert "not monitored" in welcome and "not an emergency service" in welcome
    assert "/sos" in welcome
    assert [label for label, _ in alice.buttons] == ["Yes, store my entries",
                                                    "No, don't store anything"]


async def test_without_consent_nothing_is_stored(database: Database) -> None:
    alice = ChatClient(conversation_on(database))
    await alice.send("/thought")
    assert "permission" in alice.said
    await alice.send("/start")
    await alice.press("No, don't store anything")
    await alice.send("/thought")
    assert "permission" in alice.said
    await alice.send("Something happened at work")
    assert await count(database, FlowSession) == 0
    assert await count(database, Entry) == 0


async def test_a_full_thought_record_is_stored_with_its_flow_version(database: Database) -> None:
    alice = ChatClient(conversation_on(database))
    await alice.consent()
    await complete_thought_record(alice)
    assert "Anxious: 70 → 30 (-40)" in alice.said
    [entry] = await entries(database)
    assert entry.status == "completed"
    assert (entry.flow_id, entry.flow_version, entry.entry_type) == (
        "thought_record", 1, "thought_record")
    assert entry.data["moods"] == [{"mood": "Anxious", "intensity": 70}]
    assert entry.completed_at is not None and entry.completed_at.tzinfo is not None
    assert entry.completed_at.utcoffset() == UTC.utcoffset(None)
    assert await count(database, FlowSession) == 0


async def test_a_restart_resumes_at_the_same_question(database: Database) -> None:
    alice = ChatClient(conversation_on(database))
    await alice.consent()
    await alice.send("/thought")
    await alice.send("Argument with my brother.")
    await alice.press("Angry")
    # A new service object over the same database is what a restarted bot is.
    restarted = ChatClient(conversation_on(database))
    await restarted.send("/thought")
    assert restarted.texts[0] == "Let's carry on where you left off."
    assert restarted.texts[-1].startswith("How strong was 'Angry'")
    await restarted.press("90")
    assert restarted.said.startswith("Did you feel any other mood")


async def test_cancel_keeps_a_draft_when_asked(database: Database) -> None:
    alice = ChatClient(conversation_on(database))
    await alice.consent()
    await alice.send("/thought")
    await alice.send("Someone laughed when I spoke.")
    await alice.send("/cancel")
    assert "draft" in alice.said
    await alice.press("Keep as draft")
    [entry] = await entries(database)
    assert entry.status == "draft"
    assert entry.data == {"situation": "Someone laughed when I spoke."}
    assert await count(database, FlowSession) == 0


async def test_cancel_can_discard(database: Database) -> None:
    alice = ChatClient(conversation_on(database))
    await alice.consent()
    await alice.send("/thought")
    await alice.send("Someone laughed when I spoke.")
    await alice.send("/cancel")
    await alice.press("Discard")
    assert await count(database, Entry) == 0
    assert await count(database, FlowSession) == 0
    await alice.send("/cancel")
    assert "nothing to cancel" in alice.said


async def test_a_command_while_deciding_keeps_the_draft(database: Database) -> None:
    alice = ChatClient(conversation_on(database))
    await alice.consent()
    await alice.send("/thought")
    await alice.send("Someone laughed when I spoke.")
    await alice.send("/cancel")
    await alice.send("/thought")  # never lose what they wrote
    [entry] = await entries(database)
    assert entry.status == "draft"
    assert alice.texts[-1].startswith("Let's look at one moment")


async def test_stale_and_forged_buttons_change_nothing(database: Database) -> None:
    conversation = conversation_on(database)
    alice = ChatClient(conversation, user_id=1)
    await alice.consent()
    await alice.send("/thought")
    await alice.send("Late for class.")
    old_anxious = dict(alice.buttons)["Anxious"]
    await alice.press("Anxious")
    await alice.press_data(old_anxious)  # the same button again, from an earlier question
    assert alice.last.notice == "That button belongs to an earlier question. Please answer " \
        "the question below."
    for forged in ("f:999:anxious", "f:x:y", "garbage", "", "x:k", "f:2:" + "a" * 60):
        await alice.press_data(forged)
        assert alice.last.notice is not None and not alice.last.messages
    async with database.read() as session:
        flow = (await session.execute(select(FlowSession))).scalar_one()
    assert flow.step == "mood_rate" and flow.answers["_mood"] == "Anxious"
    # Another client pressing Alice's button only ever touches their own (empty) state.
    mallory = ChatClient(conversation, user_id=2)
    await mallory.press_data(f"f:{flow.turn}:80")
    assert mallory.last.notice == "That button has expired."
    async with database.read() as session:
        unchanged = (await session.execute(select(FlowSession))).scalar_one()
    assert unchanged.turn == flow.turn and unchanged.step == "mood_rate"


async def test_two_quick_taps_of_one_button_count_once(database: Database) -> None:
    conversation = conversation_on(database)
    alice = ChatClient(conversation)
    await alice.consent()
    await alice.send("/thought")
    await alice.send("Phone call from the bank.")
    data = dict(alice.buttons)["Anxious"]
    first, second = await asyncio.gather(alice.press_data(data), alice.press_data(data))
    notices = sorted(str(r.notice) for r in (first, second))
    assert notices[0] == "None" and "earlier question" in notices[1]
    async with database.read() as session:
        flow = (await session.execute(select(FlowSession))).scalar_one()
    assert flow.turn == 2 and flow.step == "mood_rate"


async def test_many_clients_write_at_once_without_lock_errors(database: Database) -> None:
    conversation = conversation_on(database)
    clients = [ChatClient(conversation, user_id=100 + n) for n in range(12)]
    await asyncio.gather(*(c.consent() for c in clients))
    await asyncio.gather(*(complete_thought_record(c, f"Situation {n}")
                           for n, c in enumerate(clients)))
    stored = await entries(database)
    assert sorted(e.data["situation"] for e in stored) == sorted(
        f"Situation {n}" for n in range(12))
    assert "storage" not in " ".join(c.said for c in clients)


async def test_media_where_text_is_expected(database: Database) -> None:
    alice = ChatClient(conversation_on(database))
    await alice.consent()
    await alice.send("/thought")
    await alice.sticker()
    assert alice.texts[0] == "Please type your answer as a text message."
    assert alice.texts[1].startswith("Let's look at one moment")
    await alice.sticker(caption="here is a photo of my desk")
    assert alice.texts[0] == "Please type your answer as a text message."


async def test_crisis_mid_flow_pauses_and_the_flow_resumes(database: Database) -> None:
    alice = ChatClient(conversation_on(database))
    await alice.consent()
    await alice.send("/thought")
    await alice.send("I failed the exam.")
    await alice.send("I want to kill myself")
    assert "paused the exercise" in alice.said
    assert "not an emergency service" in alice.said
    async with database.read() as session:
        flow = (await session.execute(select(FlowSession))).scalar_one()
    assert flow.status == "paused" and flow.step == "mood_pick"
    assert "kill" not in str(flow.answers)
    await alice.send("Sad")  # outside any flow now: not taken as an answer
    assert "/thought" in alice.said
    await alice.send("/thought")
    assert alice.texts[-1].startswith("What mood did you feel?")


async def test_edits_and_captions_are_screened(database: Database) -> None:
    alice = ChatClient(conversation_on(database))
    await alice.edit("actually I want to die")
    assert "paused the exercise" in alice.said
    await alice.sticker(caption="I want to die")
    assert "paused the exercise" in alice.said
    await alice.edit("fixed a typo")
    assert alice.last.messages == []


async def test_long_message_is_stored_whole(database: Database) -> None:
    alice = ChatClient(conversation_on(database))
    await alice.consent()
    await alice.send("/thought")
    situation = "A long, detailed account. " * 160  # over 4,000 characters
    await alice.send(situation)
    async with database.read() as session:
        flow = (await session.execute(select(FlowSession))).scalar_one()
    assert flow.answers["situation"] == situation.strip()
    assert len(flow.answers["situation"]) > 4000


async def test_storage_down_gets_an_honest_answer_and_sos_still_works() -> None:
    unreachable = Database.from_url("postgresql+asyncpg://postgres@127.0.0.1:1/none")
    alice = ChatClient(conversation_on(unreachable))
    try:
        await alice.send("/thought")
        assert "can't reach my storage" in alice.said
        await alice.send("/sos")
        assert "emergency" in alice.said
        await alice.send("I want to kill myself")
        assert "paused the exercise" in alice.said and "findahelpline" in alice.said
    finally:
        await unreachable.dispose()


async def test_client_rows_get_a_pseudonym_and_language(database: Database) -> None:
    alice = ChatClient(conversation_on(database), language="es-ES")
    await alice.send("/help")
    async with database.read() as session:
        client = (await session.execute(select(Client))).scalar_one()
    assert client.pseudonym.startswith("C-") and client.language == "es"
    assert client.created_at.tzinfo is not None


async def test_a_redelivered_update_is_handled_once(database: Database) -> None:
    conversation = conversation_on(database)
    alice = ChatClient(conversation)
    await alice.consent()
    await alice.send("/thought")
    answer = Inbound(client=alice.key, text="The train was cancelled.", update_id=50)
    first = await conversation.handle(answer)
    again = await conversation.handle(answer)  # a killed process never confirmed it
    assert first.messages and again.messages == []
    async with database.read() as session:
        flow = (await session.execute(select(FlowSession))).scalar_one()
    assert flow.step == "mood_pick" and flow.turn == 1
