"""Telegram updates in, Telegram messages out; everything else is the Conversation's job."""

from __future__ import annotations

import logging
from typing import Any

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import MessageLimit
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes, JobQueue

from bot.conversation import Conversation
from bot.flow_runner import flow_button
from bot.messages import ClientKey, Inbound, Outbound, Response, base_language
from bot.pacer import ExercisePacer
from flows.engine import exercise_result_button

log = logging.getLogger(__name__)

EXERCISE_CONTROL_PREFIX = "e:"


class TelegramAdapter:
    def __init__(self, pacer: ExercisePacer | None = None) -> None:
        self._conversation: Conversation | None = None
        self.pacer = pacer
        self._clients: dict[int, ClientKey] = {}
        self._bot: Bot | None = None
        self._job_queue: JobQueue[Any] | None = None
        if pacer is not None:
            pacer.on_finished = self._exercise_finished

    def attach(self, conversation: Conversation) -> None:
        """Called once the database is ready (PTB's post_init)."""
        self._conversation = conversation

    @property
    def conversation(self) -> Conversation:
        if self._conversation is None:
            raise RuntimeError("the adapter has no conversation yet (post_init not run)")
        return self._conversation

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        inbound = to_inbound(update)
        if inbound is None:
            return
        self._bot, self._job_queue = context.bot, context.job_queue
        chat_id = inbound.client.chat_id
        assert chat_id is not None
        query = update.callback_query
        if query is not None and (query.data or "").startswith(EXERCISE_CONTROL_PREFIX):
            await self._control_exercise(query, chat_id, query.data or "", inbound.language)
            return
        response = await self.conversation.handle(inbound)
        if query is not None:
            if response.replace_pressed and await _replace_pressed(query, response):
                return
            await _finish_button_press(query, response)
        await self.deliver(chat_id, inbound.client, response)

    async def deliver(self, chat_id: int, key: ClientKey, response: Response) -> None:
        """Send a response's messages in order, then start any paced exercise it asks for."""
        assert self._bot is not None
        bot = self._bot
        for message in response.messages:
            if message.document is not None:
                filename, content = message.document
                await bot.send_document(
                    chat_id, document=InputFile(content, filename=filename),
                    caption=message.text[: MessageLimit.CAPTION_LENGTH] or None)
            elif message.photo is not None:
                await bot.send_photo(
                    chat_id, photo=message.photo, reply_markup=keyboard(message),
                    caption=message.text[: MessageLimit.CAPTION_LENGTH] or None)
            else:
                parts = split_text(message.text)
                for index, part in enumerate(parts):
                    markup = keyboard(message) if index == len(parts) - 1 else None
                    await bot.send_message(chat_id, part, reply_markup=markup)
            if message.timer is not None and self.pacer is not None:
                assert self._job_queue is not None
                self._clients[chat_id] = key
                await self.pacer.start(bot, self._job_queue, chat_id, message.timer.turn,
                                       message.timer.exercise_id, message.timer.language)
        # Notices for others (a therapist's crisis notice) only after the client's own reply.
        for other_chat, notice in response.also:
            try:
                await bot.send_message(other_chat, notice.text)
            except TelegramError as exc:
                log.warning("notice to chat %s failed: %s", other_chat, type(exc).__name__)

    async def _control_exercise(self, query: CallbackQuery, chat_id: int, action: str,
                                language: str) -> None:
        running = self.pacer is not None and self._job_queue is not None and (
            await self.pacer.control(query.get_bot(), self._job_queue, chat_id, action))
        notice = None if running else self.conversation.catalog.get("exercise_over", language)
        try:
            await query.answer(notice)
        except TelegramError as exc:
            log.info("exercise button answer failed: %s", type(exc).__name__)

    async def _exercise_finished(self, chat_id: int, turn: int, stopped: bool, rounds: int,
                                 seconds: int) -> None:
        """The pacer's end of a run answers the flow's exercise step, like a button press."""
        key = self._clients.pop(chat_id, None)
        if key is None:
            return
        button = flow_button(turn, exercise_result_button(stopped, rounds, seconds))
        response = await self.conversation.handle(Inbound(client=key, button=button))
        await self.deliver(chat_id, key, response)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log ids and the error type only (never the client's words), and tell the client."""
        update_id = update.update_id if isinstance(update, Update) else None
        chat = update.effective_chat if isinstance(update, Update) else None
        log.error("error handling update %s (chat %s): %s", update_id,
                  chat.id if chat else None, type(context.error).__name__)
        if chat is None or self._conversation is None:
            return
        try:
            await context.bot.send_message(
                chat.id, self._conversation.catalog.get("internal_error", _language_of(update)))
        except TelegramError as exc:
            log.warning("could not tell chat %s about the error: %s", chat.id,
                        type(exc).__name__)


def to_inbound(update: Update) -> Inbound | None:
    """Translate an update; None for updates the bot ignores (channel posts, joins, ...)."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or user.is_bot:
        return None
    key = ClientKey(telegram_user_id=user.id, chat_id=chat.id)
    language = base_language(user.language_code)
    query = update.callback_query
    if query is not None:
        return Inbound(client=key, button=query.data or "", language=language,
                       update_id=update.update_id)
    message = update.message or update.edited_message
    if message is None:
        return None
    edited = update.edited_message is not None
    if message.text is not None:
        command = _command_of(message)
        if command is not None and not edited:
            return Inbound(client=key, text=message.text, command=command, language=language,
                           update_id=update.update_id, args=tuple(message.text.split()[1:]))
        return Inbound(client=key, text=message.text, language=language, edited=edited,
                       update_id=update.update_id)
    if message.location is not None and not edited:
        return Inbound(client=key, language=language, has_media=True, update_id=update.update_id,
                       location=(message.location.latitude, message.location.longitude))
    # A sticker, photo, voice note...: its caption is still screened for crisis language.
    return Inbound(client=key, text=message.caption, language=language, edited=edited,
                   has_media=True, update_id=update.update_id)


def _command_of(message: Message) -> str | None:
    entities = message.entities or ()
    if not entities or entities[0].type != MessageEntity.BOT_COMMAND or entities[0].offset:
        return None
    assert message.text is not None
    raw = message.text[1: entities[0].length]
    return raw.split("@", 1)[0].lower()


async def _replace_pressed(query: CallbackQuery, response: Response) -> bool:
    """Edit the pressed message into the response's one message; False if Telegram refuses."""
    [message] = response.messages
    try:
        await query.answer(response.notice)
        await query.edit_message_text(message.text, reply_markup=keyboard(message))
    except TelegramError as exc:
        log.info("could not edit the pressed message: %s", type(exc).__name__)
        return False
    return True


async def _finish_button_press(query: CallbackQuery, response: Response) -> None:
    try:
        await query.answer(response.notice)
        if response.close_buttons:
            await query.edit_message_reply_markup(reply_markup=None)
    except BadRequest as exc:
        # An old query or an unchanged keyboard: nothing the client needs to hear about.
        log.info("button cleanup skipped: %s", type(exc).__name__)
    except TelegramError as exc:
        log.warning("button cleanup failed: %s", type(exc).__name__)


def keyboard(message: Outbound) -> InlineKeyboardMarkup | None:
    if not message.buttons:
        return None
    longest = max(len(label) for label, _ in message.buttons)
    per_row = 6 if longest <= 4 else 2 if longest <= 16 else 1
    rows: list[list[InlineKeyboardButton]] = []
    for index, (label, data) in enumerate(message.buttons):
        if index % per_row == 0:
            rows.append([])
        rows[-1].append(InlineKeyboardButton(label, callback_data=data))
    return InlineKeyboardMarkup(rows)


def split_text(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Telegram refuses messages over 4096 characters: split at line breaks where possible."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = rest.rfind(" ", 0, limit)
        if cut < limit // 2:
            cut = limit
        parts.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    if rest:
        parts.append(rest)
    return parts


def _language_of(update: object) -> str:
    user = update.effective_user if isinstance(update, Update) else None
    return base_language(user.language_code if user else None)
