"""`cbt-companion chat`: the same conversation on stdin/stdout, usable from a script."""

from __future__ import annotations

import asyncio
from typing import TextIO

from bot.app import Setup
from bot.conversation import Conversation
from bot.crisis_messages import START_FLOW_PREFIX
from bot.messages import ClientKey, Inbound, Outbound
from storage.db import Database
from storage.migrate import upgrade
from storage.repositories import ClientRepository


async def chat(conversation: Conversation, pseudonym: str, language: str,
               stdin: TextIO, stdout: TextIO) -> None:
    """Read one message per line until end of input; print every reply with numbered buttons."""
    await _loop(conversation, ClientKey(pseudonym=pseudonym), language, stdin, stdout, ())


async def _loop(conversation: Conversation, key: ClientKey, language: str, stdin: TextIO,
                stdout: TextIO, buttons: tuple[tuple[str, str], ...]) -> None:
    while True:
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            return
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        inbound = _to_inbound(key, text, buttons, language)
        response = await conversation.handle(inbound)
        if response.notice:
            stdout.write(f"({response.notice})\n")
        if response.messages:
            buttons = ()
        for message in response.messages:
            _print(message, stdout)
            if message.buttons:
                buttons = message.buttons
        stdout.flush()


def _to_inbound(key: ClientKey, text: str, buttons: tuple[tuple[str, str], ...],
                language: str) -> Inbound:
    stripped = text.strip()
    if stripped.startswith("/") and len(stripped) > 1:
        return Inbound(client=key, text=text, command=stripped[1:].split()[0].lower(),
                       language=language)
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
    stdout.write(message.text + "\n")
    if message.buttons:
        numbered = "  ".join(f"[{i}] {label}" for i, (label, _) in
                             enumerate(message.buttons, start=1))
        stdout.write(numbered + "\n")
    stdout.write("\n")


async def try_flow(setup: Setup, flow_id: str, language: str, stdin: TextIO,
                   stdout: TextIO) -> None:
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
        response = await conversation.handle(Inbound(client=key, button=START_FLOW_PREFIX +
                                                     flow_id, language=language))
        buttons: tuple[tuple[str, str], ...] = ()
        for message in response.messages:
            _print(message, stdout)
            buttons = message.buttons or buttons
        stdout.flush()
        await _loop(conversation, key, language, stdin, stdout, buttons)
    finally:
        await database.dispose()
