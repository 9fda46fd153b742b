"""Reminder messages to Telegram within its limits: about 30 messages a second overall and
one a second per chat; RetryAfter waits, a blocked bot pauses, network errors back off."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.reminders import SendOutcome

log = logging.getLogger(__name__)

NETWORK_RETRIES = 3


class RateLimiter:
    """Spaces sends: ``per_second`` overall, ``chat_interval`` seconds within one chat.

    Per process: with several bot processes, give each its share of Telegram's limit.
    """

    def __init__(self, per_second: float = 30.0, chat_interval: float = 1.0, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._gap = 1.0 / per_second
        self._chat_interval = chat_interval
        self._next_slot = 0.0
        self._chat_next: dict[int, float] = {}
        self._lock = asyncio.Lock()
        self._clock = clock
        self._sleep = sleep

    async def wait(self, chat_id: int) -> None:
        async with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot, self._chat_next.get(chat_id, 0.0))
            self._next_slot = slot + self._gap
            self._chat_next[chat_id] = slot + self._chat_interval
            if len(self._chat_next) > 10_000:  # forget chats whose interval has passed
                self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}
        await self._sleep(max(0.0, slot - self._clock()))

    def pause(self, seconds: float) -> None:
        """Telegram said RetryAfter: nothing goes out until it has passed."""
        self._next_slot = max(self._next_slot, self._clock() + seconds)


class TelegramReminderSender:
    def __init__(self, bot: Bot, limiter: RateLimiter | None = None) -> None:
        self.bot = bot
        self.limiter = limiter or RateLimiter()

    async def send(self, chat_id: int, text: str,
                   buttons: tuple[tuple[str, str], ...]) -> SendOutcome:
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(label, callback_data=data)] for label, data in buttons])
        backoff = 1.0
        for _ in range(NETWORK_RETRIES + 1):
            await self.limiter.wait(chat_id)
            try:
                await self.bot.send_message(chat_id, text, reply_markup=markup)
                return SendOutcome.SENT
            except RetryAfter as exc:
                self.limiter.pause(_retry_seconds(exc))
            except Forbidden:
                return SendOutcome.BLOCKED
            except BadRequest as exc:  # e.g. chat not found: retrying will not help
                log.warning("reminder to chat %s refused: %s", chat_id, type(exc).__name__)
                return SendOutcome.BLOCKED
            except NetworkError as exc:
                log.info("reminder to chat %s: %s, retrying", chat_id, type(exc).__name__)
                await asyncio.sleep(backoff)
                backoff *= 2
            except TelegramError as exc:
                log.warning("reminder to chat %s failed: %s", chat_id, type(exc).__name__)
                return SendOutcome.FAILED
        return SendOutcome.FAILED


def _retry_seconds(error: RetryAfter) -> float:
    # A timedelta with PTB_TIMEDELTA set (the CLI sets it), an int otherwise.
    value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
