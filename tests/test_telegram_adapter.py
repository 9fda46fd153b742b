"""The Telegram adapter in-process: real PTB Application, recording fake instead of the network."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from telegram import Update

from bot.app import register_handlers, telegram_builder
from bot.config import Settings
from bot.conversation import Conversation
from bot.telegram_adapter import TelegramAdapter, split_text
from bot.update_processor import PerChatUpdateProcessor
from flows.catalog import default_catalog
from flows.registry import FlowRegistry
from storage.db import Database
from storage.models import FlowSession
from tests.recording_request import BOT_USER, RecordingRequest

_ids = itertools.count(1)


class TelegramUser:
    """Builds the updates a Telegram client would produce and feeds them to the Application."""

    def __init__(self, application: Any, request: RecordingRequest, user_id: int) -> None:
        self.application = application
        self.request = request
        self.user_id = user_id
        self.user = {"id": user_id, "is_bot": False, "first_name": "Test",
                     "language_code": "en"}
        self.chat = {"id": user_id, "type": "private"}

    async def _process(self, payload: dict[str, Any]) -> None:
        update = Update.de_json({"update_id": next(_ids), **payload}, self.application.bot)
        await self.application.process_update(update)

    def _message(self, **fields: Any) -> dict[str, Any]:
        return {"message_id": next(_ids), "date": 0, "chat": self.chat, "from": self.user,
                **fields}

    async def send(self, text: str) -> None:
        fields: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            fields["entities"] = [{"type": "bot_command", "offset": 0,
                                   "length": len(text.split()[0])}]
        await self._process({"message": self._message(**fields)})

    async def sticker(self) -> None:
        sticker = {"file_id": "s1", "file_unique_id": "u1", "type": "regular", "width": 512,
                   "height": 512, "is_animated": False, "is_video": False}
        await self._process({"message": self._message(sticker=sticker)})

    async def photo(self, caption: str) -> None:
        photo = [{"file_id": "p1", "file_unique_id": "pu1", "width": 90, "height": 90}]
        await self._process({"message": self._message(photo=photo, caption=caption)})

    async def edit(self, text: str) -> None:
        await self._process({"edited_message": self._message(text=text, edit_date=1)})

    async def press(self, label: str) -> None:
        await self.press_data(dict(self.buttons())[label])

    async def press_data(self, data: str) -> None:
        message = {"message_id": 1, "date": 0, "chat": self.chat, "from": BOT_USER,
                   "text": "question"}
        await self._process({"callback_query": {"id": str(next(_ids)), "from": self.user,
                                                "chat_instance": "ci", "data": data,
                                                "message": message}})

    def buttons(self) -> list[tuple[str, str]]:
        for call in reversed(self.request.sent(self.user_id)):
            found = self.request.buttons(call)
            if found:
                return found
        return []

    @property
    def last_text(self) -> str:
        return self.request.texts(self.user_id)[-1]


@pytest.fixture
async def telegram(database: Database) -> AsyncIterator[tuple[Any, RecordingRequest]]:
    request = RecordingRequest()
    settings = Settings(TELEGRAM_API_BASE_URL="http://127.0.0.1:9/bot")
    application = telegram_builder("123:TEST", settings, request).build()
    adapter = TelegramAdapter()
    adapter.attach(Conversation(database, FlowRegistry.load(), default_catalog()))
    register_handlers(application, adapter)
    async with application:
        yield application, request


async def test_start_and_a_button_press(telegram: tuple[Any, RecordingRequest]) -> None:
    application, request = telegram
    alice = TelegramUser(application, request, 5001)
    await alice.send("/start")
    assert "not monitored" in request.texts(5001)[0]
    assert [label for label, _ in alice.buttons()] == ["Yes, store my entries",
                                                       "No, don't store anything"]
    await alice.press("Yes, store my entries")
    methods = [c.method for c in request.calls]
    assert "answerCallbackQuery" in methods and "editMessageReplyMarkup" in methods
    assert request.texts(5001)[-2].startswith("Thank you.")
    assert alice.last_text.startswith("Which country are you in?")
    await alice.press("United Kingdom")
    assert "United Kingdom" in request.texts(5001)[-2]
    assert alice.last_text.startswith("So that reminders arrive at your own local time")


async def test_thought_record_buttons_and_bad_input(
    telegram: tuple[Any, RecordingRequest], database: Database
) -> None:
    application, request = telegram
    alice = TelegramUser(application, request, 5002)
    await alice.send("/start")
    await alice.press("Yes, store my entries")
    await alice.send("/thought")
    await alice.sticker()
    assert request.texts(5002)[-2] == "Please type your answer as a text message."
    await alice.send("Dinner with my parents.")
    await alice.press("Guilty")
    await alice.send("250")
    assert request.texts(5002)[-2] == "Please send a whole number from 0 to 100."
    await alice.press("60")
    async with database.read() as session:
        flow = (await session.execute(select(FlowSession))).scalar_one()
    assert flow.step == "mood_more" and flow.answers["moods"] == [
        {"mood": "Guilty", "intensity": 60}]


async def test_forged_callback_gets_an_answer_not_a_crash(
    telegram: tuple[Any, RecordingRequest]
) -> None:
    application, request = telegram
    alice = TelegramUser(application, request, 5003)
    await alice.press_data("f:0:" + "x" * 40)
    answers = [c for c in request.calls if c.method == "answerCallbackQuery"]
    assert answers and answers[-1].params.get("text") == "That button has expired."


async def test_captions_and_edits_are_screened(telegram: tuple[Any, RecordingRequest]) -> None:
    application, request = telegram
    alice = TelegramUser(application, request, 5004)
    await alice.photo(caption="I want to kill myself")
    assert "paused the exercise" in request.texts(5004)[0]
    await alice.edit("I want to die")
    assert "paused the exercise" in alice.last_text or "emergency" in alice.last_text


async def test_progress_is_sent_as_a_photo(telegram: tuple[Any, RecordingRequest]) -> None:
    application, request = telegram
    alice = TelegramUser(application, request, 5005)
    await alice.send("/start")
    await alice.press("Yes, store my entries")
    await alice.send("/mood")
    await alice.press("5")
    await alice.press("Skip")
    await alice.press("Skip")
    await alice.send("/progress")
    [photo] = [c for c in request.calls if c.method == "sendPhoto"]
    assert "This week" in str(photo.params["caption"])
    assert "Show 90 days" in str(photo.params["reply_markup"])


def test_long_texts_are_split_at_line_breaks() -> None:
    text = "\n".join(f"line {n} " + "x" * 90 for n in range(100))
    parts = split_text(text)
    assert len(parts) == 3
    assert all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text


async def test_one_chat_in_order_while_chats_run_side_by_side() -> None:
    processor = PerChatUpdateProcessor(max_concurrent_updates=64)
    log: list[tuple[int, int]] = []

    async def handle(chat: int, n: int, delay: float) -> None:
        await asyncio.sleep(delay)
        log.append((chat, n))

    def update(chat: int) -> Update:
        return Update.de_json({"update_id": next(_ids), "message": {
            "message_id": 1, "date": 0, "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": False, "first_name": "x"}, "text": "hi"}}, None)

    # Chat 1's first update is slow; its second must still wait for it. Chat 2 is not held up.
    await processor.initialize()
    tasks = [
        asyncio.create_task(processor.process_update(update(1), handle(1, 1, 0.2))),
        asyncio.create_task(processor.process_update(update(1), handle(1, 2, 0.0))),
        asyncio.create_task(processor.process_update(update(2), handle(2, 1, 0.0))),
    ]
    await asyncio.gather(*tasks)
    await processor.shutdown()
    assert log.index((1, 1)) < log.index((1, 2))
    assert log[0] == (2, 1)
    assert processor._locks == {}  # no lock kept for idle chats
