"""A fake Telegram user: sends updates to the bot and reads what the bot sent back.

Each user has a private chat (chat id == user id) and a cursor into the bot's replies in
that chat, so ``next_reply`` never loses a message that arrived before it was called.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tests.fakebotapi.models import JSON, CallbackAnswer, ChatState, Reply, UploadedFile

if TYPE_CHECKING:
    from tests.fakebotapi.server import FakeBotApi

_query_ids = itertools.count(1)


class FakeUser:
    def __init__(
        self,
        api: FakeBotApi,
        user_id: int,
        *,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> None:
        self.api, self.id = api, user_id
        profile = {"id": user_id, "is_bot": False, "first_name": first_name, "last_name": last_name}
        profile |= {"username": username, "language_code": language_code}
        self.profile: JSON = {k: v for k, v in profile.items() if v is not None}
        self._cursor = 0  # index into chat.transcript of the next reply to hand out
        self._clicks: list[str] = []  # callback query ids, in click order

    def __repr__(self) -> str:
        return f"FakeUser({self.id}, {self.profile['first_name']!r})"

    @property
    def chat(self) -> ChatState:
        return self.api.chat(self.id)

    @property
    def transcript(self) -> list[Reply]:
        """Every message and edit the bot sent to this chat, in order."""
        return list(self.chat.transcript)

    @property
    def bot_messages(self) -> list[Reply]:
        """The bot's messages as they look now (edits applied, deleted ones gone)."""
        return self.api.messages(self.id)

    # ----- things the user does ----------------------------------------------------------

    async def send(self, text: str) -> int:
        """Send a text message (a leading /command gets a bot_command entity). Returns its id."""
        content: JSON = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            length = len(command.encode("utf-16-le")) // 2
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return await self.send_message(**content)

    async def send_message(self, **content: Any) -> int:
        """Send a message with arbitrary Message fields (text, sticker, contact, ...)."""
        chat = self.chat
        message_id = next(chat.message_ids)
        message = {"message_id": message_id, "date": int(time.time()), "chat": chat.chat}
        message |= {"from": self.profile, **content}
        chat.user_messages[message_id] = message
        await self.api.inject({"message": message})
        return message_id

    async def send_sticker(self, emoji: str = "🙂") -> int:
        file_id = self.api.add_file(UploadedFile("sticker.webp", b"RIFFfake-webp"), "sticker")
        sticker: JSON = {"file_id": file_id, "file_unique_id": f"u{file_id}", "type": "regular"}
        sticker |= {"width": 512, "height": 512, "is_animated": False, "is_video": False}
        return await self.send_message(sticker={**sticker, "emoji": emoji})

    async def send_photo(self, caption: str | None = None, *, content: bytes = b"fake-jpeg") -> int:
        file_id = self.api.add_file(UploadedFile("photo.jpg", content, "image/jpeg"), "photo")
        size = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(content)}
        extra = {"caption": caption} if caption is not None else {}
        return await self.send_message(photo=[{**size, "width": 800, "height": 600}], **extra)

    async def send_voice(self, duration: int = 3, *, content: bytes = b"OggS-fake") -> int:
        file_id = self.api.add_file(UploadedFile("voice.ogg", content, "audio/ogg"), "voice")
        voice = {"file_id": file_id, "file_unique_id": f"u{file_id}", "duration": duration}
        return await self.send_message(voice={**voice, "mime_type": "audio/ogg"})

    async def edit(self, message_id: int, text: str) -> None:
        """Edit one of this user's earlier text messages (an edited_message update)."""
        original = self.chat.user_messages.get(message_id)
        if original is None:
            raise AssertionError(f"{self} has no message {message_id} to edit")
        edited = {k: v for k, v in original.items() if k != "entities"}
        edited |= {"text": text, "edit_date": int(time.time())}
        self.chat.user_messages[message_id] = edited
        await self.api.inject({"edited_message": edited})

    async def click(self, label: str, *, message_id: int | None = None) -> str:
        """Press an inline button by label, on the newest bot message that has an inline
        keyboard (or on ``message_id``). Returns the callback query id."""
        with_keyboard = [m for m in self.bot_messages if m.buttons]
        if message_id is not None:
            with_keyboard = [m for m in with_keyboard if m.message_id == message_id]
        if not with_keyboard:
            where = f"message {message_id}" if message_id is not None else "any bot message"
            raise AssertionError(f"{self}: no inline keyboard on {where}")
        message = with_keyboard[-1]
        if label not in message.button_data:
            raise AssertionError(
                f"{self}: no button {label!r} on message {message.message_id} "
                f"({message.text!r}); buttons: {message.buttons}"
            )
        return await self.click_data(message.button_data[label], message_id=message.message_id)

    async def click_data(self, data: str, *, message_id: int | None = None) -> str:
        """Send a callback_query with raw data (forgery tests). ``message_id`` defaults to the
        newest bot message; an unknown id arrives as an inaccessible message (date 0)."""
        chat = self.chat
        if message_id is None:
            if not chat.messages:
                raise AssertionError(f"{self}: the bot has sent no message to click on")
            message_id = max(chat.messages)
        known = chat.messages.get(message_id)
        message = (
            known.message if known else {"message_id": message_id, "date": 0, "chat": chat.chat}
        )
        query_id = f"cq{next(_query_ids)}"
        chat.callbacks[query_id] = CallbackAnswer(query_id, data, message_id)
        self.api.register_callback_query(chat, query_id)
        self._clicks.append(query_id)
        query = {"id": query_id, "from": self.profile, "message": message}
        query |= {"chat_instance": f"ci{self.id}", "data": data}
        await self.api.inject({"callback_query": query})
        return query_id

    # ----- waiting for the bot -----------------------------------------------------------

    async def _wait(self, predicate: Callable[[], bool], timeout: float) -> bool:  # noqa: ASYNC109
        changed = self.chat.changed
        async with changed:
            try:
                async with asyncio.timeout(timeout):
                    await changed.wait_for(predicate)
            except TimeoutError:
                return False
        return True

    async def _next(self, timeout: float) -> Reply | None:  # noqa: ASYNC109
        transcript = self.chat.transcript
        if not await self._wait(lambda: len(transcript) > self._cursor, timeout):
            return None
        self._cursor += 1
        return transcript[self._cursor - 1]

    async def next_reply(self, timeout: float = 10.0) -> Reply:  # noqa: ASYNC109
        """The next message/edit the bot sent to this chat (waits up to ``timeout`` s)."""
        reply = await self._next(timeout)
        if reply is None:
            recent = [r.text for r in self.chat.transcript[-3:]]
            raise AssertionError(f"{self} got no new reply within {timeout}s; last ones: {recent}")
        return reply

    async def replies_until_quiet(
        self,
        quiet: float = 0.5,
        timeout: float = 10.0,  # noqa: ASYNC109
        *,
        min_replies: int = 1,
    ) -> list[Reply]:
        """Waits (up to ``timeout`` s) for ``min_replies`` replies, then collects more until
        none arrives for ``quiet`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        replies: list[Reply] = []
        while (left := deadline - loop.time()) > 0:
            reply = await self._next(min(quiet, left) if len(replies) >= min_replies else left)
            if reply is None:
                break
            replies.append(reply)
        if len(replies) < min_replies:
            raise AssertionError(f"{self} got {len(replies)} replies, expected {min_replies}+")
        return replies

    async def assert_no_reply(self, within: float = 1.0) -> None:
        """Fails if the bot sends or edits anything in this chat during ``within`` seconds."""
        reply = await self._next(within)
        if reply is not None:
            raise AssertionError(f"{self} expected silence, got {reply.kind}: {reply.text!r}")

    async def callback_answer(
        self,
        query_id: str | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> CallbackAnswer:
        """The bot's answerCallbackQuery for ``query_id`` (default: this user's last click)."""
        if query_id is None:
            if not self._clicks:
                raise AssertionError(f"{self} has not clicked anything")
            query_id = self._clicks[-1]
        answer = self.chat.callbacks[query_id]
        if not await self._wait(lambda: answer.answered, timeout):
            raise AssertionError(f"{self}: the bot did not answer callback {answer.data!r}")
        return answer

    async def answered_callbacks(self, timeout: float = 10.0) -> list[CallbackAnswer]:  # noqa: ASYNC109
        """Waits (up to ``timeout`` s) until every click of this user is answered; returns the
        answers given so far, in click order."""
        answers = [self.chat.callbacks[query_id] for query_id in self._clicks]
        await self._wait(lambda: all(a.answered for a in answers), timeout)
        return [a for a in answers if a.answered]
