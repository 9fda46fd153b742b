"""Run `cbt-companion run` as a real process against the fake Bot API server."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.fakebotapi import FakeBotApi, FakeUser, Reply

CLI = Path(sys.executable).parent / "cbt-companion"


def bot_environment(api: FakeBotApi, data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "CBT_FLOWS_DIR", "TELEGRAM_BOT_TOKEN")}
    env.update(TELEGRAM_BOT_TOKEN="123456:TEST-TOKEN", TELEGRAM_API_BASE_URL=api.base_url,
               CBT_DATA_DIR=str(data_dir), CBT_POLL_TIMEOUT="1")
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return env


class BotProcess:
    """The bot as an operator starts it; output goes to a log file shown when a test fails."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        log = self.log_path.open("ab")
        try:
            self.process = await asyncio.create_subprocess_exec(
                str(CLI), "run", env=self.env, stdout=log, stderr=log,
                stdin=asyncio.subprocess.DEVNULL)
        finally:
            log.close()

    async def kill(self) -> None:
        """SIGKILL: no chance to save anything, like a crash or a pulled plug."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()

    async def stop(self) -> int | None:
        if self.process is None or self.process.returncode is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGINT)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout=20)
        except TimeoutError:
            await self.kill()
            return None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


async def expect(user: FakeUser, contains: str, timeout: float = 20.0) -> Reply:  # noqa: ASYNC109
    """Wait for the bot's next message containing ``contains`` (edits are skipped)."""
    seen: list[str | None] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (left := deadline - loop.time()) > 0:
        try:
            reply = await user.next_reply(timeout=left)
        except AssertionError:
            break
        if reply.kind != "message":
            continue
        seen.append(reply.text)
        if reply.text is not None and contains in reply.text:
            return reply
    raise AssertionError(f"no message containing {contains!r}; saw {seen}")


async def expect_button(user: FakeUser, label: str, timeout: float = 20.0) -> Reply:  # noqa: ASYNC109
    """Wait for a message or edit whose keyboard shows ``label`` (e.g. a ticked option)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (left := deadline - loop.time()) > 0:
        reply = await user.next_reply(timeout=left)
        if any(label in row for row in reply.buttons):
            return reply
    raise AssertionError(f"no keyboard with {label!r}")
