"""The crisis response as a client meets it: right lines, paused flow, plan, grounding, events."""

from __future__ import annotations

from sqlalchemy import select

from bot.conversation import Conversation
from bot.messages import ClientKey
from flows.catalog import default_catalog
from flows.registry import FlowRegistry
from storage.db import Database
from storage.models import CrisisEvent, Entry, FlowSession
from tests.chatkit import ChatClient

CRISIS_TEXT = "I want to kill myself"


def conversation_on(database: Database) -> Conversation:
    return Conversation(database, FlowRegistry.load(), default_catalog())


async def events(database: Database) -> list[CrisisEvent]:
    async with database.read() as session:
        return list((await session.execute(select(CrisisEvent).order_by(CrisisEvent.id)))
                    .scalars())


async def onboard(client: ChatClient, country: str = "United Kingdom") -> None:
    await client.consent()
    await client.press(country)


async def test_crisis_mid_record_gets_the_countrys_lines_in_one_reply(database: Database) -> None:
    alice = ChatClient(conversation_on(database))
    await onboard(alice)
    await alice.send("/thought")
    await alice.send("My exam went badly.")
    response = await alice.send(CRISIS_TEXT)
    intro, lines = response.messages
    assert "I've paused the exercise" in intro.text
    assert "emergency number" in intro.text
    assert "Crisis lines in United Kingdom:" in lines.text
    assert "116 123" in lines.text and "85258" in lines.text and "999" in lines.text
    assert "not monitored" in lines.text
    assert [label for label, _ in lines.buttons] == [
        "My safety plan", "Grounding exercise", "I'm safe for now", "That's not what I meant"]
    [event] = await events(database)
    assert (event.source, event.category, event.interrupted_flow_id) == (
        "message", "suicidal_ideation", "thought_record")
    assert event.rule
    async with database.read() as session:
        flow = (await session.execute(select(FlowSession))).scalar_one()
    assert flow.status == "paused" and flow.step == "mood_pick"
    stored = " ".join(str(v) for v in (event.category, event.rule, flow.answers))
    assert "want to kill" not in stored  # the message itself is stored nowhere

    await alice.send("/thought")
    assert alice.texts[0] == "Let's carry on where you left off."
    assert alice.texts[-1].startswith("What mood did you feel?")


async def test_safe_and_not_meant_are_recorded_and_keep_the_event(database: Database) -> None:
    conversation = conversation_on(database)
    alice = ChatClient(conversation, user_id=11)
    await onboard(alice)
    await alice.send(CRISIS_TEXT)
    await alice.press("That's not what I meant")
    assert "sorry if I misunderstood" in alice.said
    await alice.press("I'm safe for now")
    [event] = await events(database)
    assert event.not_meant_at is not None and event.safe_confirmed_at is not None
    # Mallory forges a button naming Alice's event: nothing of Alice's changes.
    mallory = ChatClient(conversation, user_id=12)
    await mallory.send(CRISIS_TEXT)
    await mallory.press_data(f"s:safe:{event.id}")
    await mallory.press_data("s:nm:not-a-number")
    alice_event, mallory_event = await events(database)
    assert alice_event.safe_confirmed_at == event.safe_confirmed_at
    assert mallory_event.safe_confirmed_at is None and mallory_event.not_meant_at is None


async def test_sos_shows_the_same_lines_without_any_keyword(database: Database) -> None:
    pablo = ChatClient(conversation_on(database), user_id=21, language="es")
    await pablo.consent()
    await pablo.send("España")
    assert "España" in pablo.said
    await pablo.send("/sos")
    assert "Líneas de crisis en España:" in pablo.said
    assert "024" in pablo.said and "112" in pablo.said
    assert [label for label, _ in pablo.buttons] == ["Mi plan de seguridad",
                                                    "Ejercicio de anclaje"]


async def test_unknown_or_skipped_country_gets_the_international_fallback(
    database: Database
) -> None:
    alice = ChatClient(conversation_on(database), user_id=31)
    await alice.consent()
    await alice.send("Atlantis")
    assert "don't know that country" in alice.said
    await alice.press("Skip")
    await alice.send("/sos")
    assert "findahelpline.com" in alice.said and "/country" in alice.said


async def test_crisis_and_sos_with_the_database_down_use_the_last_known_country(
    database: Database
) -> None:
    conversation = conversation_on(database)
    alice = ChatClient(conversation, user_id=41)
    await onboard(alice, "Australia")
    await alice.send("/language")
    await alice.press("Español")  # Telegram still says English
    await alice.send("/sos")  # the bot learns the client's choices while it can
    working = conversation.database
    broken = Database.from_url("postgresql+asyncpg://postgres@127.0.0.1:1/none")
    conversation.database = conversation.safety.database = broken
    try:
        await alice.send(CRISIS_TEXT)
        assert "13 11 14" in alice.said  # Lifeline Australia, from memory
        assert "Gracias por contármelo" in alice.said  # in the language the client chose
        await alice.send("/sos")
        assert "13 11 14" in alice.said
        stranger = ChatClient(conversation, user_id=42)
        await stranger.send(CRISIS_TEXT)
        assert "findahelpline.com" in stranger.said

    finally:
        await broken.dispose()
        conversation.database = conversation.safety.database = working


async def test_safety_plan_is_written_shown_and_offered_in_a_crisis(database: Database) -> None:
    alice = ChatClient(conversation_on(database), user_id=51)
    await onboard(alice)
    await alice.press_data("s:plan")
    assert "haven't written a safety plan" in alice.said
    await alice.send("/safetyplan")
    assert "1/7 Warning signs" in alice.said
    answers = ["Not sleeping, pulling away from friends.", "Walk the dog, hot shower.", None,
               "My sister Ana, 555-0100.", "Dr Lee; Samaritans 116 123.",
               "Give my pills to Ana to keep.", "My niece, my dog, finishing my degree."]
    for answer in answers:
        if answer is None:
            await alice.press("Skip")
        else:
            await alice.send(answer)
    assert "Your safety plan" in alice.said and "My niece, my dog" in alice.said
    async with database.read() as session:
        plan = (await session.execute(select(Entry))).scalar_one()
    assert plan.entry_type == "safety_plan" and plan.data["people_and_places"] is None
    assert plan.data["reasons_for_living"] == "My niece, my dog, finishing my degree."

    await alice.send("/safetyplan")
    assert "Here is the one you saved" in alice.said and "Walk the dog" in alice.said
    await alice.send(CRISIS_TEXT)
    await alice.press("My safety plan")
    assert "Give my pills to Ana to keep." in alice.said
    await alice.press("Write it again")
    assert "1/7 Warning signs" in alice.said


async def test_grounding_works_without_consent_and_keeps_nothing(database: Database) -> None:
    bob = ChatClient(conversation_on(database), user_id=61)
    await bob.send("/start")
    await bob.press("No, don't store anything")
    await bob.press("Skip")
    await bob.send(CRISIS_TEXT)
    await bob.press("Grounding exercise")
    assert "5 things you can see" in bob.said
    await bob.send("a lamp, my hands, the window, a cup, the door")
    for _ in range(4):
        await bob.press("Next")
    assert "Well done for staying with it" in bob.said
    async with database.read() as session:
        assert (await session.execute(select(Entry))).first() is None
        assert (await session.execute(select(FlowSession))).first() is None
    await bob.send("/thought")
    assert "permission" in bob.said


async def test_questionnaire_signals_use_the_same_response(database: Database) -> None:
    """The entry point a questionnaire's self-harm item (PHQ-9 item 9) calls."""
    conversation = conversation_on(database)
    key = ClientKey(telegram_user_id=71, chat_id=71)
    response = await conversation.respond_to_crisis(
        key, "en", category="self_harm", rule="phq9.item9.several_days", source="questionnaire")
    assert "I've paused the exercise" in response.messages[0].text
    [event] = await events(database)
    assert (event.source, event.rule) == ("questionnaire", "phq9.item9.several_days")
