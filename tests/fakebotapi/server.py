"""A fake Telegram Bot API server for offline end-to-end tests.

The bot under test reaches it through PTB's ``base_url``; tests play the users through
:class:`~tests.fakebotapi.user.FakeUser`.  The uvicorn server runs as a task on the event
loop that enters ``async with FakeBotApi()``, so tests, users and server share one loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from html.parser import HTMLParser
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakebotapi.models import JSON, ApiCall, ChatState, Reply, ReplyKind, UploadedFile
from tests.fakebotapi.user import FakeUser

Handler = Callable[[JSON, JSON], Awaitable[Any]]  # (params, bot user) -> result

# fmt: off
# Form fields that are plain strings; every other form field is JSON-decoded when possible
# (PTB sends ints/bools/objects as JSON text, strings as they are).
_STRING_PARAMS = frozenset({
    "text", "caption", "parse_mode", "callback_query_id", "inline_message_id", "url", "action",
    "emoji", "file_id", "secret_token", "language_code", "query", "title", "description",
    "short_description", "name", "question", "explanation", "first_name", "last_name",
    "address", "phone_number", "message_effect_id", "business_connection_id",
})
_HTML_TAGS = frozenset({  # what Telegram's parse_mode=HTML accepts
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "code", "pre", "blockquote", "tg-emoji",
})
# User actions reachable over HTTP (POST /_test/users/{user_id}/{action}, JSON kwargs).
_REMOTE_ACTIONS = frozenset({
    "send", "click", "click_data", "send_sticker", "send_photo", "send_voice", "edit",
    "next_reply", "replies_until_quiet",
})
# fmt: on
_BLOCKED = "Forbidden: bot was blocked by the user"
_DEFAULT_ERRORS = {
    400: "Bad Request: injected failure",
    401: "Unauthorized",
    403: _BLOCKED,
    409: "Conflict: terminated by other getUpdates request",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
}


class ApiError(Exception):
    """An error answer: ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after

    def response(self) -> JSONResponse:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return JSONResponse(body, status_code=self.code)


class _Server(uvicorn.Server):
    """uvicorn, minus signal capturing (Ctrl-C must still reach pytest), plus a ready event."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        self.ready.set()


class FakeBotApi:
    """In-process fake of https://api.telegram.org; use as ``async with FakeBotApi() as api``."""

    def __init__(
        self,
        *,
        port: int = 0,
        bot_username: str = "cbt_companion_test_bot",
        bot_first_name: str = "CBT Companion",
        reject_unknown_chats: bool = False,
    ) -> None:
        self.port = port  # the real port once started
        self.bot_username, self.bot_first_name = bot_username, bot_first_name
        self.reject_unknown_chats = reject_unknown_chats  # 400 "chat not found" if no user
        self.tokens: set[str] = set()
        self.files: dict[str, UploadedFile] = {}  # file_id -> content (uploads and user files)
        self._calls: list[ApiCall] = []
        self._updates: list[JSON] = []  # injected and not yet confirmed by an offset
        self._update_ids = itertools.count(1)
        self._new_update = asyncio.Condition()
        self._chats: dict[int, ChatState] = {}
        self._users: dict[int, FakeUser] = {}
        self._query_chats: dict[str, ChatState] = {}  # callback query id -> chat
        self._blocked: set[int] = set()
        self._failures: dict[str, list[ApiError]] = {}
        self._commands: dict[str, Any] = {}
        self._closing = False
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._methods: dict[str, Handler] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "sendmessage": self._send_message,
            "senddocument": self._send_document,
            "sendphoto": self._send_photo,
            "editmessagetext": self._edit_message_text,
            "editmessagecaption": self._edit_message_caption,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "getfile": self._get_file,
        }  # anything else (sendChatAction, logOut, close, ...) answers {"ok": true, "result": true}
        self.app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._handle, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._download, methods=["GET"]),
                Route("/_test/users/{user_id:int}/{action}", self._remote, methods=["POST"]),
            ]
        )

    # ----- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=2,
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(), name="fake-bot-api")
        ready = asyncio.create_task(self._server.ready.wait())
        await asyncio.wait({self._task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            await self._task  # re-raises whatever stopped the server
            raise RuntimeError("fake Bot API server did not start")
        self.port = self._server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Wake pending long-polls, then stop uvicorn and wait for it."""
        self._closing = True
        async with self._new_update:
            self._new_update.notify_all()
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ----- test-facing API -------------------------------------------------------------

    def user(
        self,
        user_id: int,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> FakeUser:
        """The fake user with this id (created on first call; later calls return the same one)."""
        if user_id not in self._users:
            user = FakeUser(
                self,
                user_id,
                first_name=first_name or f"User{user_id}",
                last_name=last_name,
                username=username,
                language_code=language_code,
            )
            self._users[user_id] = user
            profile = {
                k: v for k, v in user.profile.items() if k not in ("is_bot", "language_code")
            }
            self.chat(user_id).chat = {**profile, "type": "private"}
        return self._users[user_id]

    def chat(self, chat_id: int) -> ChatState:
        if chat_id not in self._chats:
            chat_type = "private" if chat_id > 0 else "group"
            self._chats[chat_id] = ChatState({"id": chat_id, "type": chat_type})
        return self._chats[chat_id]

    def messages(self, chat_id: int) -> list[Reply]:
        """The bot's messages in this chat as they look now (edits applied, deletions gone)."""
        return [self.chat(chat_id).messages[mid] for mid in sorted(self.chat(chat_id).messages)]

    def calls(self, method: str | None = None) -> list[ApiCall]:
        """Every call the bot made, oldest first; ``method`` matches case-insensitively."""
        if method is None:
            return list(self._calls)
        return [call for call in self._calls if call.method.lower() == method.lower()]

    def block(self, chat_id: int) -> None:
        """From now on every call with this chat_id answers 403 'bot was blocked by the user'."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def fail_next(
        self,
        method: str,
        error_code: int = 429,
        *,
        retry_after: int = 1,
        description: str | None = None,
    ) -> None:
        """Make the next call of ``method`` fail once (calls queue up if repeated)."""
        text = description or _DEFAULT_ERRORS.get(error_code, f"Error {error_code}")
        error = ApiError(
            error_code,
            text.format(retry_after=retry_after),
            retry_after if error_code == 429 else None,
        )
        self._failures.setdefault(method.lower(), []).append(error)

    async def inject(self, update: JSON) -> int:
        """Queue a raw update (``update_id`` is assigned here) and wake getUpdates."""
        update_id = next(self._update_ids)
        async with self._new_update:
            self._updates.append({"update_id": update_id, **update})
            self._new_update.notify_all()
        return update_id

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by the bot (getUpdates with a higher offset)."""
        return list(self._updates)

    def add_file(self, file: UploadedFile, prefix: str = "file") -> str:
        file_id = f"{prefix}-{len(self.files) + 1}"
        self.files[file_id] = file
        return file_id

    def bot_user(self, token: str) -> JSON:
        """The bot's User object; its id is the token's numeric prefix, like on Telegram."""
        prefix = token.split(":", 1)[0]
        return {
            "id": int(prefix) if prefix.isdigit() else 1,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    # ----- HTTP ------------------------------------------------------------------------

    async def _handle(self, request: Request) -> Response:
        token, method = request.path_params["token"], request.path_params["method"]
        call = ApiCall(method, await _read_params(request), token, time.monotonic())
        self._calls.append(call)
        self.tokens.add(token)
        try:
            result = await self._dispatch(call)
        except ApiError as error:
            call.error_code = error.code
            return error.response()
        return JSONResponse({"ok": True, "result": result})

    async def _dispatch(self, call: ApiCall) -> Any:
        name, params = call.method.lower(), call.params
        if call.token == "invalid":
            raise ApiError(401, "Unauthorized")
        if self._failures.get(name):
            raise self._failures[name].pop(0)
        chat_id = params.get("chat_id")
        if chat_id in self._blocked:
            raise ApiError(403, _BLOCKED)
        if chat_id is not None and self.reject_unknown_chats and chat_id not in self._users:
            raise ApiError(400, "Bad Request: chat not found")
        handler = self._methods.get(name)
        return True if handler is None else await handler(params, self.bot_user(call.token))

    async def _download(self, request: Request) -> Response:
        file = self.files.get(request.path_params["path"])
        if file is None:
            return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
        return Response(file.content, media_type=file.mime_type or "application/octet-stream")

    async def _remote(self, request: Request) -> Response:
        """Lets another process play a user: the body is the action's keyword arguments."""
        action = request.path_params["action"]
        if action not in _REMOTE_ACTIONS:
            return JSONResponse({"ok": False, "description": f"unknown action {action}"}, 404)
        kwargs = json.loads(await request.body() or b"{}")
        try:
            result = await getattr(self.user(request.path_params["user_id"]), action)(**kwargs)
        except AssertionError as error:
            return JSONResponse({"ok": False, "description": str(error)}, 409)
        if isinstance(result, Reply):
            result = result.as_dict()
        elif isinstance(result, list):
            result = [reply.as_dict() for reply in result]
        return JSONResponse({"ok": True, "result": result})

    # ----- Bot API methods -------------------------------------------------------------

    async def _get_me(self, params: JSON, bot: JSON) -> JSON:
        return bot

    async def _get_updates(self, params: JSON, bot: JSON) -> list[JSON]:
        offset, limit = int(params.get("offset") or 0), int(params.get("limit") or 100)
        if offset > 0:  # confirms (forgets) every update below offset
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:  # keep only the last -offset updates
            self._updates = self._updates[offset:]
        async with self._new_update:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(float(params.get("timeout") or 0)):
                    await self._new_update.wait_for(lambda: self._updates or self._closing)
        return self._updates[: max(1, min(limit, 100))]

    async def _delete_webhook(self, params: JSON, bot: JSON) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: JSON, bot: JSON) -> JSON:
        return {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    @staticmethod
    def _commands_key(params: JSON) -> str:
        return json.dumps([params.get("scope"), params.get("language_code")], sort_keys=True)

    async def _set_my_commands(self, params: JSON, bot: JSON) -> bool:
        self._commands[self._commands_key(params)] = params.get("commands") or []
        return True

    async def _get_my_commands(self, params: JSON, bot: JSON) -> Any:
        return self._commands.get(self._commands_key(params), [])

    async def _delete_my_commands(self, params: JSON, bot: JSON) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    async def _send_message(self, params: JSON, bot: JSON) -> JSON:
        text = str(params.get("text") or "")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        content = {"text": _visible_text(text, params.get("parse_mode"))}
        return await self._post(params, bot, "message", content, text)

    async def _send_document(self, params: JSON, bot: JSON) -> JSON:
        return await self._send_file(params, bot, "document")

    async def _send_photo(self, params: JSON, bot: JSON) -> JSON:
        return await self._send_file(params, bot, "photo")

    async def _send_file(self, params: JSON, bot: JSON, kind: ReplyKind) -> JSON:
        sent = params.get(kind)
        if isinstance(sent, UploadedFile):
            file = sent
        elif isinstance(sent, str) and sent:  # a file_id we know, or a URL
            file = self.files.get(sent, UploadedFile(sent.rsplit("/", 1)[-1], b""))
        else:
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        file_id = self.add_file(file, prefix=kind)
        meta = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(file.content)}
        content: JSON = (
            {"document": {**meta, "file_name": file.filename, "mime_type": file.mime_type}}
            if kind == "document"
            else {"photo": [{**meta, "width": 640, "height": 480}]}
        )
        caption = params.get("caption")
        if caption:
            content["caption"] = _visible_text(str(caption), params.get("parse_mode"))
        return await self._post(params, bot, kind, content, caption, file)

    async def _post(
        self,
        params: JSON,
        bot: JSON,
        kind: ReplyKind,
        content: JSON,
        raw_text: str | None,
        file: UploadedFile | None = None,
    ) -> JSON:
        chat = self.chat(_chat_id(params))
        message_id = next(chat.message_ids)
        message = {"message_id": message_id, "date": int(time.time()), "chat": chat.chat}
        message |= {"from": bot, **content}
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # Message.reply_markup is inline keyboards only
        text = content.get("text", content.get("caption"))
        await chat.record(Reply(kind, chat.id, message_id, text, raw_text, markup, message, file))
        return message

    async def _edit_message_text(self, params: JSON, bot: JSON) -> JSON | bool:
        return await self._edit(params, "text")

    async def _edit_message_caption(self, params: JSON, bot: JSON) -> JSON | bool:
        return await self._edit(params, "caption")

    async def _edit_message_reply_markup(self, params: JSON, bot: JSON) -> JSON | bool:
        return await self._edit(params, None)

    async def _edit(self, params: JSON, field: str | None) -> JSON | bool:
        """Edit text/caption/markup. Like Telegram, omitting reply_markup removes the keyboard."""
        if params.get("inline_message_id"):
            return True
        chat, message_id = self.chat(_chat_id(params)), int(params.get("message_id") or 0)
        old = chat.messages.get(message_id)
        if old is None:
            if message_id in chat.user_messages:
                raise ApiError(400, "Bad Request: message can't be edited")
            raise ApiError(400, "Bad Request: message to edit not found")
        message = {k: v for k, v in old.message.items() if k not in ("reply_markup", "edit_date")}
        raw_text = old.raw_text
        if field is not None:
            if field == "text" and "text" not in message:
                raise ApiError(400, "Bad Request: there is no text in the message to edit")
            raw_text = str(params.get(field) or "")
            message[field] = _visible_text(raw_text, params.get("parse_mode"))
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        if message == {k: v for k, v in old.message.items() if k != "edit_date"}:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply"
                " markup are exactly the same as a current content and reply markup of the message",
            )
        message["edit_date"] = int(time.time())
        text = message.get("text", message.get("caption"))
        edited = dataclasses.replace(
            old, kind="edit", text=text, raw_text=raw_text, reply_markup=markup, message=message
        )
        await chat.record(edited)
        return message

    async def _delete_message(self, params: JSON, bot: JSON) -> bool:
        chat, message_id = self.chat(_chat_id(params)), int(params.get("message_id") or 0)
        bot_message = chat.messages.pop(message_id, None)
        if bot_message is None and chat.user_messages.pop(message_id, None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        chat.deleted.append(message_id)
        await chat.notify()
        return True

    async def _answer_callback_query(self, params: JSON, bot: JSON) -> bool:
        query_id = str(params.get("callback_query_id"))
        chat = self._query_chats.get(query_id)
        if chat is None or chat.callbacks[query_id].answered:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        answer = chat.callbacks[query_id]
        answer.answered, answer.text = True, params.get("text")
        answer.show_alert, answer.url = bool(params.get("show_alert")), params.get("url")
        await chat.notify()
        return True

    async def _get_file(self, params: JSON, bot: JSON) -> JSON:
        file_id = str(params.get("file_id"))
        if file_id not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        size = len(self.files[file_id].content)
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": size,
            "file_path": file_id,
        }

    # ----- used by FakeUser ------------------------------------------------------------

    def register_callback_query(self, chat: ChatState, query_id: str) -> None:
        self._query_chats[query_id] = chat


async def _read_params(request: Request) -> JSON:
    """Query string plus body (JSON, urlencoded or multipart); files become UploadedFile."""
    params: JSON = dict(request.query_params)
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await request.body()
        params |= json.loads(body) if body else {}
    else:
        async with request.form() as form:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    content = await value.read()
                    params[key] = UploadedFile(value.filename or key, content, value.content_type)
                else:
                    params[key] = value
    return {k: _decode(k, v) for k, v in params.items()}


def _decode(key: str, value: Any) -> Any:
    if not isinstance(value, str) or key in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _chat_id(params: JSON) -> int:
    chat_id = params.get("chat_id")
    if not isinstance(chat_id, int):
        raise ApiError(
            400, "Bad Request: chat not found" if chat_id else "Bad Request: chat_id is empty"
        )
    return chat_id


class _HtmlText(HTMLParser):
    """Checks Telegram-HTML like the real API does (roughly) and keeps the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.open_tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            raise ApiError(
                400, f'Bad Request: can\'t parse entities: Unsupported start tag "{tag}"'
            )
        self.open_tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open_tags or self.open_tags.pop() != tag:
            raise ApiError(400, f'Bad Request: can\'t parse entities: Unexpected end tag "{tag}"')

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _visible_text(text: str, parse_mode: Any) -> str:
    """What the user sees: HTML is validated and its tags stripped; other modes unchanged."""
    if str(parse_mode).upper() != "HTML":
        return text
    parser = _HtmlText()
    parser.feed(text)
    parser.close()
    if parser.open_tags:
        raise ApiError(400, f"Bad Request: can't parse entities: unclosed <{parser.open_tags[-1]}>")
    return "".join(parser.parts)
