"""Privacy: a client's words are encrypted at rest and never reach a log."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.conversation import Conversation
from flows.catalog import default_catalog
from flows.registry import FlowRegistry
from storage.crypto import KeyRing, generate_key_entry
from storage.db import Database, sqlite_url_for
from storage.encrypted import configure_encryption
from storage.migrate import upgrade
from tests.chatkit import ChatClient, complete_thought_record

MARKER = "MARKER-ñ-7731-situation"


@pytest.fixture
def key_ring() -> Iterator[KeyRing]:
    ring = KeyRing.parse(generate_key_entry("k1"))
    configure_encryption(ring)
    yield ring
    configure_encryption(None)


async def test_answers_are_encrypted_in_the_database(database: Database,
                                                     key_ring: KeyRing) -> None:
    alice = ChatClient(Conversation(database, FlowRegistry.load(), default_catalog()))
    await alice.consent()
    await complete_thought_record(alice, situation=MARKER)
    await alice.send("/thought")
    await alice.send(MARKER + " (in progress)")
    async with database.read() as session:
        raw = (await session.execute(text(
            "SELECT data FROM entries UNION ALL SELECT answers FROM flow_sessions"))).all()
    assert len(raw) == 2
    for (value,) in raw:
        stored = bytes(value) if not isinstance(value, str) else value.encode()
        assert stored.startswith(b"cbt1:k1:") and MARKER.encode() not in stored
    await alice.send("/cancel")
    await alice.press("Keep as draft")  # a draft is encrypted too, and still readable
    from sqlalchemy import select

    from storage.models import Entry
    async with database.read() as session:
        situations = sorted(str(e.data.get("situation"))
                            for e in (await session.execute(select(Entry))).scalars())
    assert situations == [MARKER, MARKER + " (in progress)"]


async def test_sqlite_file_holds_no_plaintext(tmp_path: Path, key_ring: KeyRing) -> None:
    database = Database.from_url(sqlite_url_for(tmp_path))
    await upgrade(database.engine)
    try:
        alice = ChatClient(Conversation(database, FlowRegistry.load(), default_catalog()))
        await alice.consent()
        await complete_thought_record(alice, situation=MARKER)
        # While open: the database, its write-ahead log and its index.
        assert await asyncio.to_thread(files_with, tmp_path, MARKER) == []
    finally:
        await database.dispose()
    assert await asyncio.to_thread(files_with, tmp_path, MARKER) == []  # after the checkpoint


def files_with(directory: Path, marker: str) -> list[str]:
    files = list(directory.glob("cbt-companion.sqlite3*"))
    assert files, "no database file found: the check would prove nothing"
    return [path.name for path in files if marker.encode() in path.read_bytes()]


async def test_logs_never_carry_what_a_client_wrote(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    conversation = Conversation(database, FlowRegistry.load(), default_catalog())
    alice = ChatClient(conversation, language="es")
    await alice.consent()
    await alice.send(MARKER)  # outside any flow, while the country is asked
    scripts = {
        "/thought": [MARKER, "Anxious", "50", "No, that's all"],
        "/mood": ["5", "Other", "Done", MARKER, MARKER],
        "/safetyplan": [MARKER] * 7,
    }
    alice.language = "en"
    await alice.send("/language")
    await alice.press("English")
    for command, answers in scripts.items():
        await alice.send(command)
        for answer in answers:
            labels = dict(alice.buttons)
            await (alice.press(answer) if answer in labels else alice.send(answer))
        await alice.send("/cancel")
        if "Keep as draft" in dict(alice.buttons):
            await alice.press("Keep as draft")
    await alice.send("I want to kill myself " + MARKER)
    await alice.send(MARKER * 300)  # long text
    assert caplog.records, "nothing was logged: the check below would prove nothing"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert MARKER not in logged and "kill myself" not in logged
