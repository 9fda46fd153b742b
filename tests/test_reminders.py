"""Reminders: set at the client's local time, sent once, snoozed, skipped, paused when blocked,
recovered after a crash, shared by two processes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.conversation import Conversation
from bot.reminders import ReminderDispatcher, SendOutcome, schedule_next
from bot.telegram_sender import RateLimiter, TelegramReminderSender
from flows.catalog import default_catalog
from flows.registry import FlowRegistry
from storage.db import Database
from storage.models import Client, Entry, Reminder
from tests.chatkit import ChatClient
from tests.fakebotapi import FakeBotApi

MADRID = ZoneInfo("Europe/Madrid")


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


class RecordingSender:
    """Stands in for Telegram; can play a client who blocked the bot."""

    def __init__(self, outcome: SendOutcome = SendOutcome.SENT) -> None:
        self.sent: list[tuple[int, str, tuple[tuple[str, str], ...]]] = []
        self.outcome = outcome

    async def send(self, chat_id: int, text: str,
                   buttons: tuple[tuple[str, str], ...]) -> SendOutcome:
        if self.outcome is SendOutcome.SENT:
            self.sent.append((chat_id, text, buttons))
        return self.outcome


def dispatcher_for(database: Database, sender: RecordingSender, clock: Callable[[], datetime],
                   worker: str = "w1") -> ReminderDispatcher:
    return ReminderDispatcher(database, FlowRegistry.load(), default_catalog(), sender,
                              grace=timedelta(minutes=90), clock=clock, worker=worker)


async def onboard(client: ChatClient) -> None:
    await client.consent()
    await client.send("España")
    assert "Which time zone" in client.said or "time zone" in client.said
    await client.press("Madrid")


async def reminder_of(database: Database) -> Reminder:
    async with database.read() as session:
        return (await session.execute(select(Reminder))).scalar_one()


async def test_onboarding_sets_zone_and_a_daily_reminder(database: Database) -> None:
    clock = Clock(datetime(2026, 3, 27, 12, 0, tzinfo=UTC))
    alice = ChatClient(Conversation(database, FlowRegistry.load(), default_catalog(),
                                    clock=clock))
    await onboard(alice)
    assert "Europe/Madrid" in alice.said and "13:00" in alice.said
    await alice.press("Yes, remind me")
    assert "2026-03-27 19:00" in alice.said
    reminder = await reminder_of(database)
    assert reminder.next_due_at == datetime(2026, 3, 27, 18, 0, tzinfo=UTC)

    # Sent once; the next one keeps 19:00 local across the change to summer time.
    sender = RecordingSender()
    dispatcher = dispatcher_for(database, sender, clock)
    for day in range(3):
        clock.now = datetime(2026, 3, 27, 18, 0, 5, tzinfo=UTC) + timedelta(days=day)
        if day:
            clock.now -= timedelta(hours=1) if day >= 3 else timedelta(0)
        await dispatcher.tick()
        await dispatcher.tick()  # a second tick finds nothing new
    local_times = [(await reminder_of(database)).next_due_at]
    assert len(sender.sent) == 3
    assert local_times[0] is not None
    assert local_times[0].astimezone(MADRID).strftime("%H:%M") == "19:00"
    assert local_times[0] == datetime(2026, 3, 30, 17, 0, tzinfo=UTC)  # CEST: UTC+2
    _, text, buttons = sender.sent[0]
    assert "thought record" in text
    assert [label for label, _ in buttons] == ["Start now", "In 30 minutes", "In 1 hour",
                                               "Tonight", "Skip today"]


async def test_settings_times_days_quiet_hours(database: Database) -> None:
    clock = Clock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    bob = ChatClient(Conversation(database, FlowRegistry.load(), default_catalog(),
                                  clock=clock), user_id=2)
    await onboard(bob)
    await bob.press("Not now")
    await bob.send("/reminders")
    assert "mood check-in: off" in bob.said
    await bob.press("mood check-in")
    await bob.send("7.30pm, 23:00")
    await bob.press("Weekdays")
    assert "Reminder for your mood check-in saved" in bob.said
    await bob.send("/reminders")
    await bob.press("Quiet hours")
    await bob.press("22:00 - 07:00")
    reminder = await reminder_of(database)
    assert reminder.times == ["19:30", "23:00"] and reminder.weekdays == [0, 1, 2, 3, 4]
    await bob.send("/reminders")
    assert "mood check-in: weekdays at 19:30, 23:00" in bob.said
    assert "Quiet hours: 22:00-07:00" in bob.said
    # Monday 1 June: 19:30 first; then 23:00 falls in quiet hours -> 07:00 on Tuesday.
    assert reminder.next_due_at == datetime(2026, 6, 1, 17, 30, tzinfo=UTC)
    async with database.transaction() as session:
        row = await session.get(Reminder, reminder.id)
        client = await session.get(Client, row.client_id) if row else None
        assert row is not None and client is not None
        schedule_next(row, client, datetime(2026, 6, 1, 17, 31, tzinfo=UTC))
        assert row.next_due_at == datetime(2026, 6, 2, 5, 0, tzinfo=UTC)


async def test_done_today_snooze_and_skip(database: Database) -> None:
    clock = Clock(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))
    conversation = Conversation(database, FlowRegistry.load(), default_catalog(), clock=clock)
    carol = ChatClient(conversation, user_id=3)
    await onboard(carol)
    await carol.press("Yes, remind me")  # thought record at 19:00 Madrid = 17:00 UTC
    sender = RecordingSender()
    dispatcher = dispatcher_for(database, sender, clock)
    async with database.transaction() as session:
        client = (await session.execute(select(Client))).scalar_one()
        session.add(Entry(client_id=client.id, entry_type="thought_record",
                          flow_id="thought_record", flow_version=1, status="completed",
                          data={}, started_at=clock.now, completed_at=clock.now,
                          created_at=clock.now))
    clock.now = datetime(2026, 6, 1, 17, 0, 30, tzinfo=UTC)
    report = await dispatcher.tick()
    assert (report.claimed, report.sent, report.skipped_done) == (1, 0, 1)
    clock.now = datetime(2026, 6, 2, 17, 0, 30, tzinfo=UTC)
    assert (await dispatcher.tick()).sent == 1
    _, _, buttons = sender.sent[-1]
    await carol.press_data(dict(buttons)["In 30 minutes"])
    assert "19:30" in carol.said
    assert (await reminder_of(database)).next_due_at == clock.now + timedelta(minutes=30)
    await carol.press_data(dict(buttons)["Skip today"])
    assert (await reminder_of(database)).next_due_at == datetime(2026, 6, 3, 17, 0, tzinfo=UTC)
    await carol.press_data("r:30:99999")  # someone else's, or no reminder at all
    assert carol.last.notice == "That button has expired."


async def test_blocked_client_is_paused_until_they_write(database: Database) -> None:
    clock = Clock(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))
    dave = ChatClient(Conversation(database, FlowRegistry.load(), default_catalog(),
                                   clock=clock), user_id=4)
    await onboard(dave)
    await dave.press("Yes, remind me")
    blocked = RecordingSender(SendOutcome.BLOCKED)
    clock.now = datetime(2026, 6, 1, 17, 0, 30, tzinfo=UTC)
    assert (await dispatcher_for(database, blocked, clock).tick()).blocked == 1
    clock.now += timedelta(days=1)
    assert (await dispatcher_for(database, blocked, clock).tick()).claimed == 0
    clock.now = datetime(2026, 6, 2, 12, 0, tzinfo=UTC)
    await dave.send("/help")  # they are back
    reminder = await reminder_of(database)
    assert reminder.next_due_at == datetime(2026, 6, 2, 17, 0, tzinfo=UTC)
    clock.now = datetime(2026, 6, 2, 17, 0, 30, tzinfo=UTC)
    assert (await dispatcher_for(database, RecordingSender(), clock).tick()).sent == 1


async def add_reminders(database: Database, count: int, due: datetime) -> None:
    async with database.transaction() as session:
        for n in range(count):
            client = Client(telegram_user_id=10_000 + n, chat_id=10_000 + n,
                            pseudonym=f"C-R{n:05d}", language="en", consent="given",
                            timezone="UTC", created_at=due, last_active_at=due)
            session.add(client)
            await session.flush()
            session.add(Reminder(client_id=client.id, flow_id="mood", times=["20:00"],
                                 weekdays=list(range(7)), every_days=1, enabled=True,
                                 next_due_at=due, status="idle", attempts=0))


async def test_crash_mid_send_is_recovered_after_the_lease(database: Database) -> None:
    due = datetime(2026, 6, 1, 20, 0, tzinfo=UTC)
    await add_reminders(database, 3, due)
    clock = Clock(due + timedelta(seconds=5))
    from storage.reminders import ReminderRepository

    async with database.transaction() as session:  # a worker claims, then dies
        claimed = await ReminderRepository(session).claim_due(
            now=clock.now, worker="dead", limit=10, lease=timedelta(minutes=5))
    assert len(claimed) == 3
    sender = RecordingSender()
    assert (await dispatcher_for(database, sender, clock).tick()).claimed == 0
    clock.now += timedelta(minutes=6)
    report = await dispatcher_for(database, sender, clock).tick()
    assert (report.claimed, report.sent) == (3, 3)


async def test_stale_reminders_after_downtime_are_skipped(database: Database) -> None:
    due = datetime(2026, 6, 1, 20, 0, tzinfo=UTC)
    await add_reminders(database, 2, due)
    sender = RecordingSender()
    clock = Clock(due + timedelta(hours=3))
    report = await dispatcher_for(database, sender, clock).tick()
    assert (report.skipped_stale, report.sent, len(sender.sent)) == (2, 0, 0)
    async with database.read() as session:
        nexts = {r.next_due_at for r in (await session.execute(select(Reminder))).scalars()}
    assert nexts == {datetime(2026, 6, 2, 20, 0, tzinfo=UTC)}


async def test_two_processes_send_each_reminder_once(database_url: str) -> None:
    """Two Database objects are two connection pools: two bot processes on one database."""
    first, second = Database.from_url(database_url), Database.from_url(database_url)
    try:
        due = datetime(2026, 6, 1, 20, 0, tzinfo=UTC)
        await add_reminders(first, 240, due)
        clock = Clock(due + timedelta(seconds=1))
        senders = [RecordingSender(), RecordingSender()]
        one = dispatcher_for(first, senders[0], clock, worker="one")
        two = dispatcher_for(second, senders[1], clock, worker="two")
        reports = await asyncio.gather(one.tick(), two.tick(), one.tick(), two.tick())
        sent = [chat for sender in senders for chat, _, _ in sender.sent]
        assert len(sent) == 240 and len(set(sent)) == 240
        assert sum(r.sent for r in reports) == 240
    finally:
        await first.dispose()
        await second.dispose()


async def test_rate_limiter_spaces_sends_overall_and_per_chat() -> None:
    now = [0.0]
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(round(seconds, 3))

    limiter = RateLimiter(per_second=10, chat_interval=1.0, clock=lambda: now[0], sleep=sleep)
    for chat in (1, 2, 3, 1):
        await limiter.wait(chat)
    # 10/s overall: 0, 0.1, 0.2 apart; chat 1 again waits a whole second after its first.
    assert sleeps == [0.0, 0.1, 0.2, 1.0]
    limiter.pause(5)
    await limiter.wait(4)
    assert sleeps[-1] == 5.0


async def test_telegram_sender_retries_after_and_detects_blocking() -> None:
    from telegram import Bot

    async with FakeBotApi() as api:
        api.user(501)
        api.user(502)
        async with Bot("123:TEST", base_url=api.base_url) as bot:
            limiter = RateLimiter(per_second=1000, chat_interval=0.0)
            sender = TelegramReminderSender(bot, limiter)
            api.fail_next("sendMessage", error_code=429, retry_after=1)
            assert await sender.send(501, "hello", (("Start now", "n:mood"),)) == \
                SendOutcome.SENT
            assert len(api.calls("sendMessage")) == 2
            api.block(502)
            assert await sender.send(502, "hello", ()) == SendOutcome.BLOCKED
