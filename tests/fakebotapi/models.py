"""Plain data the fake Bot API records: calls, files, bot replies, callback answers, chats."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

JSON = dict[str, Any]
ReplyKind = Literal["message", "edit", "document", "photo"]


@dataclass(frozen=True)
class UploadedFile:
    """A file the bot uploaded (multipart) or a fake user sent."""

    filename: str
    content: bytes
    mime_type: str | None = None


@dataclass
class ApiCall:
    """One HTTP call the bot made. ``params`` are decoded (JSON strings parsed, files read)."""

    method: str
    params: JSON
    token: str
    time: float  # time.monotonic() when the request arrived
    error_code: int | None = None  # set when the fake answered with an error


@dataclass
class CallbackAnswer:
    """A button press by a fake user and, once the bot calls answerCallbackQuery, its answer."""

    query_id: str
    data: str
    message_id: int
    answered: bool = False
    text: str | None = None
    show_alert: bool = False
    url: str | None = None


@dataclass(frozen=True)
class Reply:
    """A snapshot of a bot message, as a user sees it right after a send or an edit."""

    kind: ReplyKind
    chat_id: int
    message_id: int
    text: str | None  # visible text (or caption); HTML tags stripped when parse_mode=HTML
    raw_text: str | None  # text (or caption) exactly as the bot sent it
    reply_markup: JSON | None  # as the bot sent it: inline keyboard, reply keyboard, ...
    message: JSON  # the Message object the fake returned to the bot
    file: UploadedFile | None = None

    @property
    def buttons(self) -> list[list[str]]:
        """Labels of the inline keyboard, row by row ([] when there is none)."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [[button["text"] for button in row] for row in rows]

    @property
    def button_data(self) -> dict[str, str]:
        """Label -> callback_data for the inline buttons that carry callback data."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return {
            button["text"]: button["callback_data"]
            for row in reversed(rows)
            for button in reversed(row)  # reversed: the first of duplicate labels wins
            if "callback_data" in button
        }

    @property
    def keyboard(self) -> list[list[str]]:
        """Labels of a reply keyboard (ReplyKeyboardMarkup), row by row."""
        rows = (self.reply_markup or {}).get("keyboard", [])
        return [[b if isinstance(b, str) else b["text"] for b in row] for row in rows]

    @property
    def document(self) -> UploadedFile | None:
        return self.file if "document" in self.message else None

    @property
    def photo(self) -> UploadedFile | None:
        return self.file if "photo" in self.message else None

    def as_dict(self) -> JSON:
        """JSON-friendly view (file content replaced by its size)."""
        file = self.file and {"filename": self.file.filename, "size": len(self.file.content)}
        return {
            "kind": self.kind,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "text": self.text,
            "buttons": self.buttons,
            "reply_markup": self.reply_markup,
            "file": file,
        }


@dataclass
class ChatState:
    """Everything the fake knows about one chat."""

    chat: JSON  # the Chat object used in updates and messages
    message_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    messages: dict[int, Reply] = field(default_factory=dict)  # bot messages, current state
    user_messages: dict[int, JSON] = field(default_factory=dict)  # what the user sent
    transcript: list[Reply] = field(default_factory=list)  # every bot send/edit, in order
    deleted: list[int] = field(default_factory=list)  # message ids the bot deleted
    callbacks: dict[str, CallbackAnswer] = field(default_factory=dict)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def id(self) -> int:
        chat_id: int = self.chat["id"]
        return chat_id

    async def notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def record(self, reply: Reply) -> None:
        self.messages[reply.message_id] = reply
        self.transcript.append(reply)
        await self.notify()
