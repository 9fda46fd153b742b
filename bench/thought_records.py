"""N simulated clients complete thought records against the real bot process.

The bot runs as `cbt-companion run` against the fake Bot API server (tests/fakebotapi) over
HTTP, on SQLite and on PostgreSQL. Prints updates/s and the reply latency (from a client's
update reaching the Bot API server to the bot's answer arriving there) at p50/p95/p99.

    python bench/thought_records.py [--clients 50] [--records 2] [--databases sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from storage.db import create_engine  # noqa: E402
from tests.e2e.botprocess import BotProcess, bot_environment  # noqa: E402
from tests.fakebotapi import FakeBotApi, FakeUser  # noqa: E402

POSTGRES_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"

# (action, value): "send" types text, "click" presses a button label.
RECORD_STEPS = [
    ("send", "/thought"), ("send", "The bus was late and I missed the start of the meeting."),
    ("click", "Anxious"), ("click", "70"), ("click", "Add another mood"), ("send", "Ashamed"),
    ("send", "55"), ("click", "No, that's all"), ("send", "Everyone thinks I'm unreliable."),
    ("click", "No, that's all"), ("click", "Skip"), ("send", "I was late twice this month."),
    ("send", "Nobody mentioned it and my work is on time."),
    ("send", "I was late twice and people still rely on my work."), ("click", "70"),
    ("click", "30"), ("send", "20"),
]


async def wait_for_message(user: FakeUser) -> None:
    while (await user.next_reply(timeout=60)).kind != "message":
        pass


async def one_client(user: FakeUser, records: int, latencies: list[float]) -> int:
    updates = 0
    await user.send("/start")
    await wait_for_message(user)
    await wait_for_message(user)
    await user.click("Yes, store my entries")
    await wait_for_message(user)  # thanks
    await wait_for_message(user)  # which country?
    await user.click("Skip")
    await wait_for_message(user)  # international lines, then
    await wait_for_message(user)  # which time zone? (left open: /thought moves on)
    for _ in range(records):
        for action, value in RECORD_STEPS:
            started = time.perf_counter()
            if action == "send":
                await user.send(value)
            else:
                await user.click(value)
            await wait_for_message(user)
            latencies.append(time.perf_counter() - started)
            updates += 1
    return updates + 3


async def run(database: str, clients: int, records: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        url = None
        admin = create_engine(POSTGRES_ADMIN_URL, pool=False)
        name = f"cbt_bench_{uuid.uuid4().hex[:8]}"
        if database == "postgresql":
            async with admin.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)
        try:
            async with FakeBotApi() as api:
                bot = BotProcess(bot_environment(api, Path(scratch) / "data", url),
                                 Path(scratch) / "bot.log")
                await bot.start()
                try:
                    users = [api.user(900_000 + n) for n in range(clients)]
                    # Warm up: the first reply waits for start-up and migrations.
                    await users[0].send("/help")
                    await wait_for_message(users[0])
                    latencies: list[float] = []
                    started = time.perf_counter()
                    counts = await asyncio.gather(*(one_client(u, records, latencies)
                                                    for u in users))
                    elapsed = time.perf_counter() - started
                finally:
                    await bot.stop()
                if "Traceback" in bot.log():
                    print(bot.log())
        finally:
            if database == "postgresql":
                async with admin.connect() as connection:
                    await connection.execution_options(isolation_level="AUTOCOMMIT")
                    await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await admin.dispose()
    cuts = statistics.quantiles(latencies, n=100)
    print(f"{database:<11} clients={clients:<4} records={clients * records:<5} "
          f"updates={sum(counts):<6} {sum(counts) / elapsed:7.1f} updates/s  "
          f"latency ms p50={cuts[49] * 1000:6.1f} p95={cuts[94] * 1000:6.1f} "
          f"p99={cuts[98] * 1000:6.1f}  ({elapsed:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--records", type=int, default=2)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    for database in args.databases.split(","):
        asyncio.run(run(database, args.clients, args.records))


if __name__ == "__main__":
    main()
