"""`cbt-companion chat` and `flows try`: the same conversation on stdin/stdout, usable from a
script (one message per line; a number presses the button with that number)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TextIO

from bot.app import Setup
from bot.conversation import Conversation
from bot.crisis_messages import START_FLOW_PREFIX
from bot.flow_runner import flow_button
from bot.messages import ClientKey, ExerciseTimer, Inbound, Outbound, Response
from flows.engine import exercise_result_button
from flows.exercise import Exercise
from storage.db import Database
from storage.migrate import upgrade
from storage.repositories import ClientRepository


class TerminalChat:
    def __init__(self, conversation: Conversation, exercises: Mapping[str, Exercise],
                 stdin: TextIO, stdout: TextIO, *, speed: float = 1.0) -> None:
        self.conversation = conversation
        self.exercises = exercises
        self.stdin = stdin
        self.stdout = stdout
        self.speed = speed
        self.buttons: tuple[tuple[str, str], ...] = ()

    async def run(self, key: ClientKey, language: str) -> None:
        """Read one message per line until end of input; print every reply."""
        while True:
            line = await asyncio.to_thread(self.stdin.readline)
            if not line:
                return
            text = line.rstrip("\r\n")
            if text.strip():
                inbound = _to_inbound(key, text, self.buttons, language)
                await self.show(key, await self.conversation.handle(inbound))

    async def show(self, key: ClientKey, response: Response) -> None:
        if response.notice:
            self.stdout.write(f"({response.notice})\n")
        if response.messages:
            self.buttons = ()
        for message in response.messages:
            _print(message, self.stdout)
            self.buttons = message.buttons or self.buttons
            self.stdout.flush()
            if message.timer is not None:
                await self._pace(key, message.timer)
        self.stdout.flush()

    async def _pace(self, key: ClientKey, timer: ExerciseTimer) -> None:
        """Print each phase when it starts; a terminal has no message to edit."""
        exercise = self.exercises.get(timer.exercise_id)
        if exercise is None:
            return
        language = timer.language
        self.stdout.write(f"{exercise.title.get(language)}\n{exercise.intro.get(language)}\n")
        for round_number in range(exercise.rounds):
            for phase in exercise.phases:
                suffix = f"  ({round_number + 1}/{exercise.rounds})" if exercise.rounds > 1 else ""
                self.stdout.write(f"▶ {phase.text.get(language)}{suffix}\n")
                self.stdout.flush()
                await asyncio.sleep(phase.seconds * self.speed)
        self.stdout.write(f"✓ {exercise.finish.get(language)}\n\n")
        done = exercise_result_button(False, exercise.rounds, exercise.total_seconds)
        await self.show(key, await self.conversation.handle(
            Inbound(client=key, button=flow_button(timer.turn, done), language=language)))


def _to_inbound(key: ClientKey, text: str, buttons: tuple[tuple[str, str], ...],
                language: str) -> Inbound:
    stripped = text.strip()
    if stripped.startswith("/") and len(stripped) > 1:
        words = stripped[1:].split()
        return Inbound(client=key, text=text, command=words[0].lower(), language=language,
                       args=tuple(words[1:]))
    data = _button_for(stripped, buttons)
    if data is not None:
        return Inbound(client=key, button=data, language=language)
    return Inbound(client=key, text=text, language=language)


def _button_for(typed: str, buttons: tuple[tuple[str, str], ...]) -> str | None:
    """'3' presses the third button, unless the buttons are numbers themselves (0-100)."""
    labels_are_numbers = all(label.isdigit() for label, _ in buttons)
    if typed.isdigit() and not labels_are_numbers and 1 <= int(typed) <= len(buttons):
        return buttons[int(typed) - 1][1]
    for label, data in buttons:
        if typed.casefold() == label.casefold():
            return data
    return None


def _print(message: Outbound, stdout: TextIO) -> None:
    if message.photo is not None:
        stdout.write(f"[picture: PNG chart, {len(message.photo) // 1024} KiB]\n")
    if message.document is not None:
        stdout.write(f"[file: {message.document[0]}, {len(message.document[1])} bytes]\n")
    stdout.write(message.text + "\n")
    if message.buttons:
        numbered = "  ".join(f"[{i}] {label}" for i, (label, _) in
                             enumerate(message.buttons, start=1))
        stdout.write(numbered + "\n")
    stdout.write("\n")


async def try_flow(setup: Setup, flow_id: str, language: str, stdin: TextIO, stdout: TextIO,
                   *, speed: float = 1.0) -> None:
    """`flows try`: a consenting test client on an in-memory database, straight into a flow.

    Every flow file is loaded (not only the programme's), so staff can try a new flow before
    switching it on.
    """
    database = Database.from_url("sqlite+aiosqlite:///:memory:")
    try:
        await upgrade(database.engine)
        conversation = Conversation(database, setup.flows, setup.catalog,
                                    directory=setup.directory, screener=setup.screener,
                                    default_country=setup.programme.default_country)
        key = ClientKey(pseudonym="C-TRYOUT")
        async with database.transaction() as session:
            client = await ClientRepository(session).create(
                now=conversation.clock(), language=language, pseudonym=key.pseudonym)
            client.consent = "given"
        terminal = TerminalChat(conversation, setup.exercises, stdin, stdout, speed=speed)
        await terminal.show(key, await conversation.handle(
            Inbound(client=key, button=START_FLOW_PREFIX + flow_id, language=language)))
        await terminal.run(key, language)
    finally:
        await database.dispose()
