"""A Bot API stand-in inside the process: records every call, answers like Telegram would.

PTB's own tests replace the network the same way (tests/auxil/networking.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_USER = {"id": 42, "is_bot": True, "first_name": "CBT Companion", "username": "cbt_bot",
            "can_join_groups": False, "can_read_all_group_messages": False,
            "supports_inline_queries": False}


@dataclass
class Call:
    method: str
    params: dict[str, Any]


class RecordingRequest(BaseRequest):
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._message_id = 1000

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        """No connection to open."""

    async def shutdown(self) -> None:
        """No connection to close."""

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None,
                         connect_timeout: Any = None, pool_timeout: Any = None
                         ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        self.calls.append(Call(name, params))
        return 200, json.dumps({"ok": True, "result": self._result(name, params)}).encode()

    def _result(self, name: str, params: dict[str, Any]) -> Any:
        if name == "getMe":
            return BOT_USER
        if name in ("sendMessage", "editMessageText", "editMessageReplyMarkup", "sendPhoto",
                    "sendDocument"):
            self._message_id += 1
            chat_id = int(params.get("chat_id", 0))
            return {"message_id": params.get("message_id", self._message_id), "date": 0,
                    "chat": {"id": chat_id, "type": "private"}, "from": BOT_USER,
                    "text": params.get("text", "")}
        return True

    def sent(self, chat_id: int | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == "sendMessage"
                and (chat_id is None or int(c.params["chat_id"]) == chat_id)]

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [str(c.params["text"]) for c in self.sent(chat_id)]

    def buttons(self, call: Call) -> list[tuple[str, str]]:
        markup = call.params.get("reply_markup")
        if not markup:
            return []
        rows = markup["inline_keyboard"] if isinstance(markup, dict) else json.loads(
            markup)["inline_keyboard"]
        return [(b["text"], b["callback_data"]) for row in rows for b in row]
