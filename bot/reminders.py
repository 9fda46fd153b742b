"""Sending due reminders: claim, check, send through a rate limiter, schedule the next one.

The JobQueue only ticks; every reminder is a database row, so reminders survive restarts
and several bot processes can share the work (each row is claimed by one of them).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.catalog import Catalog
from flows.registry import FlowRegistry
from flows.schedule import (
    QuietHours,
    ReminderRule,
    SnoozeChoice,
    is_stale,
    local_day_bounds,
    next_due,
)
from storage.db import Database
from storage.models import Client, Entry, Reminder
from storage.reminders import Claim, ReminderRepository

log = logging.getLogger(__name__)

# How long a claim may stay unfinished before another worker takes the reminder over.
CLAIM_LEASE = timedelta(minutes=5)
CLAIM_BATCH = 500
# Deliveries in flight at once per process: sending is paced by Telegram's limits anyway, and
# each delivery holds a database connection for a moment.
DELIVERY_CONCURRENCY = 16
# After this many failed attempts at one occurrence, it is skipped for the next one.
MAX_ATTEMPTS = 5
# Callback data of the buttons under a reminder: r:<action>:<reminder id>.
REMINDER_PREFIX = "r:"
SNOOZE_ACTIONS: dict[str, SnoozeChoice] = {"30": "30m", "60": "1h", "tn": "tonight"}
SKIP_ACTION = "sk"


class SendOutcome(enum.Enum):
    SENT = "sent"
    BLOCKED = "blocked"  # the client blocked the bot: pause their reminders
    FAILED = "failed"  # gave up for now: the same occurrence is tried again later


class ReminderSender(Protocol):
    async def send(self, chat_id: int, text: str,
                   buttons: tuple[tuple[str, str], ...]) -> SendOutcome: ...


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def zone_of(client: Client) -> ZoneInfo:
    try:
        return ZoneInfo(client.timezone) if client.timezone else ZoneInfo("UTC")
    except ZoneInfoNotFoundError:
        return ZoneInfo("UTC")


def quiet_of(client: Client) -> QuietHours | None:
    if not client.quiet_start or not client.quiet_end:
        return None
    return QuietHours(time.fromisoformat(client.quiet_start), time.fromisoformat(client.quiet_end))


def rule_of(reminder: Reminder) -> ReminderRule:
    return ReminderRule(
        times=tuple(time.fromisoformat(t) for t in reminder.times),
        weekdays=frozenset(reminder.weekdays),
        every_days=reminder.every_days,
        anchor=date.fromisoformat(reminder.anchor) if reminder.anchor else None,
    )


def schedule_next(reminder: Reminder, client: Client, after: datetime) -> None:
    """Set the next due time after ``after`` and release any claim."""
    reminder.next_due_at = next_due(rule_of(reminder), zone_of(client), after, quiet_of(client))
    reminder.status = "idle"
    reminder.claimed_by = None
    reminder.claimed_at = None
    reminder.attempts = 0


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    skipped_done: int = 0
    skipped_stale: int = 0
    blocked: int = 0
    failed: int = 0
    sent_ids: list[int] = field(default_factory=list)


class ReminderDispatcher:
    def __init__(self, database: Database, flows: FlowRegistry, catalog: Catalog,
                 sender: ReminderSender, *, grace: timedelta,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 worker: str | None = None) -> None:
        self.database = database
        self.flows = flows
        self.catalog = catalog
        self.sender = sender
        self.grace = grace
        self.clock = clock
        self.worker = worker or worker_name()

    async def tick(self) -> DispatchReport:
        """Claim what is due now and deliver it; runs every few seconds on each process."""
        report = DispatchReport()
        now = self.clock()
        async with self.database.transaction() as session:
            claims = await ReminderRepository(session).claim_due(
                now=now, worker=self.worker, limit=CLAIM_BATCH, lease=CLAIM_LEASE)
        report.claimed = len(claims)
        slots = asyncio.Semaphore(DELIVERY_CONCURRENCY)

        async def deliver(claim: Claim) -> str:
            async with slots:
                return await self._deliver(claim, now)

        outcomes = await asyncio.gather(*(deliver(claim) for claim in claims))
        for claim, outcome in zip(claims, outcomes, strict=True):
            setattr(report, outcome, getattr(report, outcome) + 1)
            if outcome == "sent":
                report.sent_ids.append(claim.reminder_id)
        return report

    async def _deliver(self, claim: Claim, now: datetime) -> str:
        async with self.database.transaction() as session:
            reminder = await ReminderRepository(session).get(claim.reminder_id)
            client = await session.get(Client, claim.client_id)
            if reminder is None or client is None:
                return "failed"
            if reminder.claimed_by != self.worker:
                return "failed"  # taken over after our lease ran out: theirs now
            if is_stale(claim.due_at, now, self.grace):
                schedule_next(reminder, client, now)  # missed in downtime: no stale burst
                return "skipped_stale"
            if await self._done_today(session, client, reminder.flow_id, now):
                schedule_next(reminder, client, now)
                return "skipped_done"
            chat_id, language = client.chat_id, client.language
            text, buttons = self._message(reminder, language)
        if chat_id is None:
            outcome = SendOutcome.BLOCKED
        else:
            outcome = await self.sender.send(chat_id, text, buttons)
        async with self.database.transaction() as session:
            reminder = await ReminderRepository(session).get(claim.reminder_id)
            client = await session.get(Client, claim.client_id)
            if reminder is None or client is None:
                return "failed"
            finished = self.clock()
            if outcome is SendOutcome.SENT:
                reminder.last_sent_at = finished
                schedule_next(reminder, client, max(finished, claim.due_at))
                return "sent"
            if outcome is SendOutcome.BLOCKED:
                client.blocked_at = finished
                reminder.status, reminder.claimed_by = "idle", None
                return "blocked"
            if reminder.attempts >= MAX_ATTEMPTS:
                schedule_next(reminder, client, max(finished, claim.due_at))
            else:
                reminder.status, reminder.claimed_by = "idle", None  # next tick retries
            return "failed"

    async def _done_today(self, session: AsyncSession, client: Client, flow_id: str,
                          now: datetime) -> bool:
        start, end = local_day_bounds(zone_of(client), now)
        query = select(func.count()).select_from(Entry).where(
            Entry.client_id == client.id, Entry.flow_id == flow_id,
            Entry.status == "completed", Entry.completed_at >= start, Entry.completed_at < end)
        return bool((await session.execute(query)).scalar_one())

    def _message(self, reminder: Reminder, language: str
                 ) -> tuple[str, tuple[tuple[str, str], ...]]:
        flow = self.flows.get(reminder.flow_id)
        title = flow.title.get(language) if flow else reminder.flow_id
        rid = reminder.id
        get = self.catalog.get
        return get("reminder_text", language, title=title), (
            (get("button_start_now", language), f"n:{reminder.flow_id}"),
            (get("button_snooze_30", language), f"{REMINDER_PREFIX}30:{rid}"),
            (get("button_snooze_60", language), f"{REMINDER_PREFIX}60:{rid}"),
            (get("button_snooze_tonight", language), f"{REMINDER_PREFIX}tn:{rid}"),
            (get("button_skip_today", language), f"{REMINDER_PREFIX}{SKIP_ACTION}:{rid}"),
        )
