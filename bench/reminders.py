"""Reminders at scale: 100,000 clients with daily reminders, one busy minute.

Prints, per database: the bot's start-up time and peak memory with that many reminders; the
time to claim one minute's due reminders; the time to dispatch them to the fake Bot API
server with two workers sharing the database; and duplicates seen (should be 0).

    python bench/reminders.py [--clients 100000] [--due 10000] [--rate 1000]
                              [--databases sqlite,postgresql]

--rate is the send rate per worker: Telegram allows about 30/s, which the bot uses; the fake
server has no limit, so the benchmark can measure the claiming and bookkeeping around sends.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.reminders import ReminderDispatcher  # noqa: E402
from bot.telegram_sender import RateLimiter, TelegramReminderSender  # noqa: E402
from flows.catalog import default_catalog  # noqa: E402
from flows.registry import FlowRegistry  # noqa: E402
from storage.db import Database, create_engine, sqlite_url_for  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Client, Reminder  # noqa: E402
from storage.reminders import ReminderRepository  # noqa: E402
from tests.e2e.botprocess import BotProcess, bot_environment  # noqa: E402
from tests.fakebotapi import FakeBotApi  # noqa: E402

POSTGRES_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


async def populate(database: Database, clients: int, due: int, due_at: datetime) -> float:
    started = time.perf_counter()
    now = datetime.now(UTC)
    chunk = 5_000
    rng = random.Random(7)
    for first in range(0, clients, chunk):
        ids = range(first, min(clients, first + chunk))
        async with database.transaction() as session:
            await session.execute(insert(Client), [
                {"id": n + 1, "telegram_user_id": 1_000_000 + n, "chat_id": 1_000_000 + n,
                 "pseudonym": f"C-B{n:07d}", "language": "en", "consent": "given",
                 "timezone": "UTC", "created_at": now, "last_active_at": now}
                for n in ids])
            await session.execute(insert(Reminder), [
                {"client_id": n + 1, "flow_id": "mood", "times": ["20:00"],
                 "weekdays": list(range(7)), "every_days": 1, "enabled": True,
                 "status": "idle", "attempts": 0,
                 # `due` clients share the busy minute; the rest are spread over the day.
                 "next_due_at": due_at if n < due else
                 due_at + timedelta(minutes=rng.randint(2, 1439))}
                for n in ids])
    return time.perf_counter() - started


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def measure_start(api: FakeBotApi, scratch: Path, url: str | None) -> tuple[float, float]:
    env = bot_environment(api, scratch / "data", url)
    env["CBT_REMINDER_TICK"] = "3600"
    bot = BotProcess(env, scratch / "bot.log")
    started = time.perf_counter()
    await bot.start()
    while "bot ready" not in bot.log():
        await asyncio.sleep(0.02)
        if time.perf_counter() - started > 120:
            raise RuntimeError("bot did not start: " + bot.log()[-2000:])
    elapsed = time.perf_counter() - started
    assert bot.process is not None
    memory = peak_rss_mb(bot.process.pid)
    await bot.stop()
    return elapsed, memory


async def run(kind: str, clients: int, due: int, rate: float) -> None:
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        admin = create_engine(POSTGRES_ADMIN_URL, pool=False)
        name = f"cbt_bench_{uuid.uuid4().hex[:8]}"
        url: str | None = None
        if kind == "postgresql":
            async with admin.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)
        database_url = url or sqlite_url_for(scratch / "data")
        (scratch / "data").mkdir()
        try:
            setup = Database.from_url(database_url)
            await upgrade(setup.engine)
            due_at = datetime.now(UTC) + timedelta(minutes=30)
            filled = await populate(setup, clients, due, due_at)
            await setup.dispose()
            async with FakeBotApi() as api:
                start_s, start_mb = await measure_start(api, scratch, url)
                # The busy minute: claim alone, then a full dispatch by two workers.
                probe = Database.from_url(database_url)
                claim_started = time.perf_counter()
                claimed = 0
                async with probe.transaction() as session:
                    claims = await ReminderRepository(session).claim_due(
                        now=due_at + timedelta(seconds=5), worker="probe", limit=due + 1,
                        lease=timedelta(minutes=5))
                    claimed = len(claims)
                    await session.rollback()  # measure only; leave the rows due
                claim_s = time.perf_counter() - claim_started
                await probe.dispose()
                workers = []
                for n in range(2):
                    database = Database.from_url(database_url)
                    sender = TelegramReminderSender(api_bot(api), RateLimiter(per_second=rate))
                    workers.append((database, sender, ReminderDispatcher(
                        database, FlowRegistry.load(), default_catalog(), sender,
                        grace=timedelta(minutes=90),
                        clock=lambda: due_at + timedelta(seconds=5), worker=f"w{n}")))
                dispatch_started = time.perf_counter()
                for _, sender, _ in workers:
                    await sender.bot.initialize()
                sent = 0
                while True:
                    reports = await asyncio.gather(*(d.tick() for _, _, d in workers))
                    sent += sum(r.sent for r in reports)
                    if not any(r.claimed for r in reports):
                        break
                dispatch_s = time.perf_counter() - dispatch_started
                for database, sender, _ in workers:
                    await sender.bot.shutdown()
                    await database.dispose()
                per_chat = Counter(int(c.params["chat_id"]) for c in api.calls("sendMessage"))
                duplicates = sum(count - 1 for count in per_chat.values() if count > 1)
        finally:
            if kind == "postgresql":
                async with admin.connect() as connection:
                    await connection.execution_options(isolation_level="AUTOCOMMIT")
                    await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await admin.dispose()
    print(f"{kind:<11} clients={clients} busy-minute={due} (populated in {filled:.0f} s)\n"
          f"  bot start: {start_s:.2f} s, peak memory {start_mb:.0f} MB\n"
          f"  claim one minute's due reminders: {claimed} in {claim_s * 1000:.0f} ms\n"
          f"  dispatch with 2 workers at {rate:.0f}/s each: {sent} sent in {dispatch_s:.1f} s "
          f"({sent / dispatch_s:.0f}/s), duplicates {duplicates}")


def api_bot(api: FakeBotApi):  # type: ignore[no-untyped-def]
    from telegram import Bot

    return Bot("123:BENCH", base_url=api.base_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=1_000.0)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    for kind in args.databases.split(","):
        asyncio.run(run(kind, args.clients, args.due, args.rate))


if __name__ == "__main__":
    main()
