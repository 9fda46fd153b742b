"""Phase timing of paced exercises for many simultaneous clients.

N clients start box breathing (4-4-4-4, 6 rounds, 96 s) at about the same time against the
real bot process and the fake Bot API server. For every phase edit the fake server receives,
drift = arrival time - (arrival of that run's first message + the phases' nominal seconds).
Prints p50/p95/max drift and edits/s.

    python bench/exercise_drift.py [--clients 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flows.exercise import exercise_dirs, load_exercises  # noqa: E402
from tests.e2e.botprocess import BotProcess, bot_environment, expect  # noqa: E402
from tests.fakebotapi import FakeBotApi, FakeUser  # noqa: E402

EXERCISE = "box_breathing"


async def start_exercise(user: FakeUser) -> None:
    await user.send("/start")
    await expect(user, "May I store", timeout=60)
    await user.click("Yes, store my entries")
    await expect(user, "Which country", timeout=60)
    await user.send("/relax")
    await expect(user, "Which exercise", timeout=60)
    await user.click("Box breathing (1½ min)")
    await expect(user, "how distressed", timeout=60)
    await user.click("5")


async def run(clients: int) -> None:
    exercise = load_exercises(exercise_dirs(None))[EXERCISE]
    offsets = []  # nominal start of each phase after the first, from the run's start
    elapsed = 0
    for _ in range(exercise.rounds):
        for phase in exercise.phases:
            elapsed += phase.seconds
            offsets.append(elapsed)
    with tempfile.TemporaryDirectory() as scratch:
        async with FakeBotApi() as api:
            bot = BotProcess(bot_environment(api, Path(scratch) / "data", None),
                             Path(scratch) / "bot.log")
            await bot.start()
            try:
                users = [api.user(800_000 + n) for n in range(clients)]
                await asyncio.gather(*(start_exercise(u) for u in users))
                await asyncio.gather(*(expect(u, "And now: how distressed",
                                              timeout=exercise.total_seconds + 60)
                                       for u in users))
            finally:
                await bot.stop()
        drifts: list[float] = []
        first_at: dict[int, tuple[int, float]] = {}
        for call in api.calls("sendMessage"):
            if str(call.params.get("text", "")).startswith(exercise.title.get("en")):
                first_at[int(call.params["chat_id"])] = (0, call.time)
        edits = [c for c in api.calls("editMessageText") if int(c.params["chat_id"]) in first_at]
        for call in edits:
            chat = int(call.params["chat_id"])
            index, start = first_at[chat]
            drifts.append(call.time - (start + offsets[index]))
            first_at[chat] = (index + 1, start)
        span = max(c.time for c in edits) - min(t for _, t in first_at.values())
    cuts = statistics.quantiles(drifts, n=100)
    print(f"clients={clients} exercise={EXERCISE} edits={len(drifts)} "
          f"({len(drifts) / span:.1f} edits/s) drift ms: p50={cuts[49] * 1000:.0f} "
          f"p95={cuts[94] * 1000:.0f} max={max(drifts) * 1000:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    started = time.perf_counter()
    asyncio.run(run(args.clients))
    print(f"(took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
