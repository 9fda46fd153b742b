"""Free text encrypted at rest: sealing, keys, legacy plaintext and key rotation.

The tests use their own small table (own MetaData) with an ``EncryptedJSON`` column, created on
the SQLite and PostgreSQL databases of the shared fixtures.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import ColumnElement, LargeBinary, String, event, select, text, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.expression import type_coerce

from storage.crypto import (
    PREFIX,
    DecryptionError,
    KeyConfigError,
    KeyRing,
    generate_key_entry,
    open_stored,
    sealed_key_id,
)
from storage.db import Database, sqlite_url_for
from storage.encrypted import EncryptedJSON, configure_encryption, current_key_ring
from storage.rekey import RekeyError, rekey

MARKER = "MARKER-Ω-situation"
CONTROL = "CONTROL-Ω-plaintext"
KEY_1 = bytes(range(32))
KEY_2 = bytes(range(100, 132))


class NoteBase(DeclarativeBase):
    pass


class Note(NoteBase):
    __tablename__ = "encryption_test_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(32), default="")
    body: Mapped[Any] = mapped_column(EncryptedJSON, nullable=True)


class PairNote(NoteBase):
    """A table with a two-column primary key, to page through in rekey."""

    __tablename__ = "encryption_test_pair_notes"

    owner: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[Any] = mapped_column(EncryptedJSON)


def ring(*keys: tuple[str, bytes]) -> KeyRing:
    return KeyRing(keys)


def entry(key_id: str, key: bytes) -> str:
    return f"{key_id}:{base64.urlsafe_b64encode(key).decode()}"


def thought(situation: str) -> dict[str, Any]:
    return {"situation": situation, "emotions": [{"name": "anxious", "intensity": 70}],
            "automatic_thought": "Ich schaffe das nicht — 我做不到", "nested": {"n": [1, 2.5]}}


@pytest.fixture(autouse=True)
def no_key_ring() -> Iterator[None]:
    """Every test starts without keys and leaves none behind for other test modules."""
    configure_encryption(None)
    yield
    configure_encryption(None)


@pytest.fixture
async def notes(database: Database) -> AsyncIterator[Database]:
    """The shared database (SQLite and PostgreSQL) with this module's table, emptied after."""
    async with database.engine.begin() as connection:
        await connection.run_sync(NoteBase.metadata.create_all)
    try:
        yield database
    finally:
        async with database.engine.begin() as connection:
            await connection.run_sync(NoteBase.metadata.drop_all)


@pytest.fixture
async def sqlite_notes(tmp_path: Path) -> AsyncIterator[Database]:
    """A SQLite file of its own, for looking at the raw bytes on disk."""
    database = Database.from_url(sqlite_url_for(tmp_path))
    async with database.engine.begin() as connection:
        await connection.run_sync(NoteBase.metadata.create_all)
    try:
        yield database
    finally:
        await database.dispose()


def sqlite_files(directory: Path) -> bytes:
    """The database file, its WAL and shared-memory index, concatenated."""
    return b"".join(path.read_bytes() for path in sorted(directory.glob("*.sqlite3*")))


def run_sqlite(directory: Path, statement: str) -> Any:
    """What an operator would type into the sqlite3 shell (outside any transaction)."""
    connection = sqlite3.connect(directory / "cbt-companion.sqlite3", isolation_level=None)
    try:
        return connection.execute(statement).fetchone()
    finally:
        connection.close()


async def add_notes(database: Database, *bodies: Any) -> list[int]:
    async with database.transaction() as session:
        rows = [Note(body=body) for body in bodies]
        session.add_all(rows)
        await session.flush()
        return [row.id for row in rows]


async def read_bodies(database: Database) -> list[Any]:
    async with database.read() as session:
        return list((await session.scalars(select(Note.body).order_by(Note.id))).all())


async def raw_bodies(database: Database) -> list[bytes]:
    """The stored bytes of the non-NULL values, bypassing the column type."""
    raw = type_coerce(Note.body, LargeBinary())
    async with database.read() as session:
        values = (await session.scalars(select(raw).where(raw.is_not(None))
                                        .order_by(Note.id))).all()
    return [value.encode() if isinstance(value, str) else bytes(value) for value in values]


async def store_raw(database: Database, note_id: int, value: bytes | str) -> None:
    """Write stored bytes directly; a str is stored as TEXT where the database allows it."""
    if isinstance(value, str) and not database.is_sqlite:
        value = value.encode()  # a bytea column only holds bytes
    as_stored: ColumnElement[Any] = (type_coerce(value, LargeBinary()) if isinstance(value, bytes)
                                     else type_coerce(value, String()))
    async with database.transaction() as session:
        await session.execute(update(Note).where(Note.id == note_id).values(body=as_stored))


# --- round trip and what is on disk ---------------------------------------------------------


async def test_values_round_trip_encrypted(notes: Database) -> None:
    configure_encryption(ring(("k1", KEY_1)))
    values = [thought(MARKER), ["a", 1, None, True], "just text", 42, {}, None]
    await add_notes(notes, *values)

    assert await read_bodies(notes) == values
    stored = await raw_bodies(notes)
    assert len(stored) == len(values) - 1  # None is SQL NULL
    assert all(sealed_key_id(value) == "k1" for value in stored)


async def test_plaintext_marker_is_not_in_the_stored_column(notes: Database) -> None:
    await add_notes(notes, thought(CONTROL))  # written before encryption was switched on
    configure_encryption(ring(("k1", KEY_1)))
    await add_notes(notes, thought(MARKER))

    control, sealed = await raw_bodies(notes)
    assert CONTROL.encode() in control  # the check below can see plaintext when it is there
    assert sealed.startswith(PREFIX + b"k1:")
    assert MARKER.encode() not in sealed
    assert b"MARKER" not in sealed and b"situation" not in sealed


async def test_plaintext_marker_is_not_in_the_sqlite_files(sqlite_notes: Database,
                                                           tmp_path: Path) -> None:
    await add_notes(sqlite_notes, thought(CONTROL))
    configure_encryption(ring(("k1", KEY_1)))
    await add_notes(sqlite_notes, *(thought(f"{MARKER} {n}") for n in range(20)))

    before_checkpoint = sqlite_files(tmp_path)  # the new pages are in the WAL now
    assert run_sqlite(tmp_path, "PRAGMA wal_checkpoint(TRUNCATE)") == (0, 0, 0)  # all in the file
    after_checkpoint = sqlite_files(tmp_path)

    for contents in (before_checkpoint, after_checkpoint):
        assert CONTROL.encode() in contents
        assert MARKER.encode() not in contents
        assert b"MARKER" not in contents
    assert len(await read_bodies(sqlite_notes)) == 21


async def test_without_keys_values_are_stored_as_plain_json(notes: Database) -> None:
    await add_notes(notes, thought(MARKER))

    (stored,) = await raw_bodies(notes)
    assert json.loads(stored) == thought(MARKER)
    assert await read_bodies(notes) == [thought(MARKER)]


async def test_same_value_encrypts_differently_each_time(notes: Database) -> None:
    configure_encryption(ring(("k1", KEY_1)))
    await add_notes(notes, thought(MARKER), thought(MARKER))

    first, second = await raw_bodies(notes)
    assert first != second
    assert await read_bodies(notes) == [thought(MARKER), thought(MARKER)]


def test_nonces_are_unique() -> None:
    keys = ring(("k1", KEY_1))
    header = len(PREFIX + b"k1:")
    nonces = {keys.encrypt(b"{}")[header:header + 12] for _ in range(2000)}
    assert len(nonces) == 2000


# --- tampering and keys ---------------------------------------------------------------------


async def test_changed_ciphertext_fails_authentication(notes: Database) -> None:
    configure_encryption(ring(("k1", KEY_1)))
    (note_id,) = await add_notes(notes, thought(MARKER))
    (stored,) = await raw_bodies(notes)
    tampered = bytearray(stored)
    tampered[-20] ^= 0x01
    await store_raw(notes, note_id, bytes(tampered))

    with pytest.raises(DecryptionError, match="failed authentication under key 'k1'"):
        await read_bodies(notes)


@pytest.mark.parametrize("region", ["nonce", "ciphertext", "tag"])
def test_any_changed_byte_fails_authentication(region: str) -> None:
    keys = ring(("k1", KEY_1))
    sealed = bytearray(keys.encrypt(json.dumps(thought(MARKER)).encode()))
    start = len(PREFIX + b"k1:")
    index = {"nonce": start + 3, "ciphertext": start + 12 + 5, "tag": len(sealed) - 1}[region]
    sealed[index] ^= 0x80
    with pytest.raises(DecryptionError):
        keys.decrypt(bytes(sealed))


def test_key_id_is_authenticated() -> None:
    # k1 and k2 hold the same key material: only the associated data can tell them apart.
    keys = ring(("k2", KEY_1), ("k1", KEY_1))
    relabelled = keys.encrypt(b'{"a": 1}').replace(PREFIX + b"k2:", PREFIX + b"k1:", 1)
    with pytest.raises(DecryptionError, match="failed authentication under key 'k1'"):
        keys.decrypt(relabelled)


@pytest.mark.parametrize("value", [PREFIX, PREFIX + b"k1", PREFIX + b"k1:" + bytes(20),
                                   PREFIX + b"bad id:" + bytes(40)])
def test_malformed_sealed_values_are_rejected(value: bytes) -> None:
    with pytest.raises(DecryptionError, match="malformed"):
        ring(("k1", KEY_1)).decrypt(value)


async def test_reading_without_the_key_names_the_missing_key(notes: Database) -> None:
    configure_encryption(ring(("k1", KEY_1)))
    await add_notes(notes, thought(MARKER))

    configure_encryption(None)
    with pytest.raises(KeyConfigError) as no_keys:
        await read_bodies(notes)
    assert str(no_keys.value) == "value encrypted with key 'k1', which is not configured"

    configure_encryption(ring(("k2", KEY_2)))
    with pytest.raises(KeyConfigError, match="key 'k1', which is not configured"):
        await read_bodies(notes)


async def test_same_key_id_with_a_different_key_fails_clearly(notes: Database) -> None:
    configure_encryption(ring(("k1", KEY_1)))
    await add_notes(notes, thought(MARKER))

    configure_encryption(ring(("k1", KEY_2)))
    with pytest.raises(DecryptionError, match="different key material"):
        await read_bodies(notes)


def test_configure_encryption_sets_the_ring_the_column_uses() -> None:
    keys = ring(("k1", KEY_1))
    configure_encryption(keys)
    assert current_key_ring() is keys
    configure_encryption(None)
    assert current_key_ring() is None


# --- key configuration ----------------------------------------------------------------------


def test_key_list_current_key_first() -> None:
    keys = KeyRing.parse(f" {entry('k2', KEY_2)} , {entry('k1', KEY_1)} ")
    assert keys.current_key_id == "k2"
    assert keys.key_ids == ("k2", "k1")
    old = ring(("k1", KEY_1)).encrypt(b"[1]")
    assert keys.decrypt(old) == b"[1]"
    assert sealed_key_id(keys.encrypt(b"[1]")) == "k2"


def test_a_bare_key_gets_key_id_k1() -> None:
    bare = base64.urlsafe_b64encode(KEY_1).decode()
    for text_form in (bare, bare.rstrip("="), base64.b64encode(KEY_1).decode()):
        keys = KeyRing.parse(text_form)
        assert keys.key_ids == ("k1",)
        assert keys.decrypt(ring(("k1", KEY_1)).encrypt(b"{}")) == b"{}"


def test_generated_entries_parse() -> None:
    first, second = generate_key_entry("2025-06"), generate_key_entry()
    assert first.startswith("2025-06:") and second.startswith("k1:")
    assert first != generate_key_entry("2025-06")
    keys = KeyRing.parse(f"{first},{second}")
    assert keys.key_ids == ("2025-06", "k1")
    with pytest.raises(KeyConfigError, match="invalid key id"):
        generate_key_entry("no:colons")


SECRET = base64.urlsafe_b64encode(KEY_1).decode()
SHORT = base64.urlsafe_b64encode(KEY_1[:16]).decode()


@pytest.mark.parametrize(("config", "message"), [
    ("", "is empty"),
    ("   ", "is empty"),
    (SHORT, "decodes to 16 bytes; it must be 32 bytes"),
    (f"k1:{SHORT}", "entry 1 .key 'k1'. decodes to 16 bytes"),
    (f"k1:{SECRET[:-6]}!!{SECRET[-4:]}", "is not base64url text"),
    (f"k1:{SECRET[:-2]}", "decodes to 31 bytes"),
    (f"k1:{SECRET[:-3]}", "not valid base64url"),
    (f"k1:{SECRET},k1:{SECRET}", "key id 'k1' appears twice"),
    (f"k1:{SECRET},", "entry 2 is empty"),
    (f"k1:{SECRET},{SECRET}", "entry 2 has no key id"),
    (f"key one:{SECRET}", "entry 1 has an invalid key id"),
    (f":{SECRET}", "entry 1 has an invalid key id"),
    (f"{'x' * 33}:{SECRET}", "entry 1 has an invalid key id"),
    ("k1:", "entry 1 .key 'k1'. is not base64url text"),
])
def test_bad_key_configuration_is_explained_without_the_key(config: str, message: str) -> None:
    with pytest.raises(KeyConfigError, match=message) as error:
        KeyRing.parse(config)
    explanation = str(error.value)
    assert "\n" not in explanation
    assert SECRET[:12] not in explanation and SHORT[:12] not in explanation


def test_key_ring_repr_shows_key_ids_only() -> None:
    shown = repr(ring(("k2", KEY_2), ("k1", KEY_1)))
    assert shown == "KeyRing(current='k2', keys=['k2', 'k1'])"


def test_raw_keys_must_be_32_bytes() -> None:
    with pytest.raises(KeyConfigError, match="must be 32 bytes"):
        ring(("k1", KEY_1[:24]))
    with pytest.raises(KeyConfigError, match="no encryption key"):
        ring()


# --- legacy plaintext -----------------------------------------------------------------------


async def test_legacy_plaintext_is_read_with_or_without_keys(notes: Database) -> None:
    (first, second) = await add_notes(notes, None, None)
    legacy = json.dumps(thought(MARKER))  # how the JSON column stored it: ASCII escapes
    await store_raw(notes, first, legacy.encode())
    await store_raw(notes, second, legacy)  # SQLite keeps a migrated TEXT value as TEXT
    if notes.is_sqlite:
        async with notes.read() as session:
            kinds = await session.scalars(text("SELECT typeof(body) FROM encryption_test_notes"))
            assert kinds.all() == ["blob", "text"]

    assert await read_bodies(notes) == [thought(MARKER)] * 2
    configure_encryption(ring(("k1", KEY_1)))
    assert await read_bodies(notes) == [thought(MARKER)] * 2


def test_open_stored_passes_legacy_plaintext_through() -> None:
    assert open_stored(b'{"a": 1}', None) == b'{"a": 1}'
    assert open_stored(b'{"a": 1}', ring(("k1", KEY_1))) == b'{"a": 1}'


# --- rotation -------------------------------------------------------------------------------


async def test_rotation_reencrypts_everything_with_the_new_key(notes: Database) -> None:
    old, new = ("k1", KEY_1), ("k2", KEY_2)
    configure_encryption(ring(old))
    values = [thought(f"{MARKER} {n}") for n in range(7)]
    await add_notes(notes, *values[:6])
    await add_notes(notes, None)  # NULL is left alone

    configure_encryption(ring(new, old))
    await add_notes(notes, values[6])  # written during the rotation: already under k2
    assert await read_bodies(notes) == [*values[:6], None, values[6]]

    report = await rekey(notes, ring(new, old), [(Note, "body")], batch_size=2)
    assert (report.re_encrypted, report.already_current, report.plaintext_encrypted) == (6, 1, 0)
    assert report.columns["encryption_test_notes.body"].re_encrypted == 6

    again = await rekey(notes, ring(new, old), [(Note.__table__, "body")], batch_size=2)
    assert (again.re_encrypted, again.already_current, again.plaintext_encrypted) == (0, 7, 0)

    configure_encryption(ring(new))  # the old key is gone
    assert await read_bodies(notes) == [*values[:6], None, values[6]]
    assert {sealed_key_id(value) for value in await raw_bodies(notes)} == {"k2"}


async def test_rekey_encrypts_legacy_plaintext(notes: Database) -> None:
    ids = await add_notes(notes, thought(MARKER), thought(MARKER), thought(MARKER))
    await store_raw(notes, ids[2], json.dumps(thought(MARKER)))  # as TEXT, on SQLite
    configure_encryption(ring(("k1", KEY_1)))
    await add_notes(notes, thought(MARKER))

    report = await rekey(notes, ring(("k1", KEY_1)), [(Note, "body")], batch_size=3)
    assert (report.re_encrypted, report.already_current, report.plaintext_encrypted) == (0, 1, 3)
    stored = await raw_bodies(notes)
    assert all(sealed_key_id(value) == "k1" for value in stored)
    assert not any(MARKER.encode() in value for value in stored)
    assert await read_bodies(notes) == [thought(MARKER)] * 4


async def test_rekey_stops_at_a_value_it_cannot_open_and_names_the_row(notes: Database) -> None:
    configure_encryption(ring(("k1", KEY_1)))
    await add_notes(notes, thought(MARKER))
    configure_encryption(ring(("k0", KEY_2)))  # a key nobody has any more
    await add_notes(notes, thought(MARKER))

    with pytest.raises(RekeyError) as error:
        await rekey(notes, ring(("k2", KEY_2), ("k1", KEY_1)), [(Note, "body")], batch_size=1)
    assert str(error.value) == ("encryption_test_notes.body row (2): value encrypted with key "
                                "'k0', which is not configured")
    # The batch before the failing one was committed; running again after fixing resumes.
    assert [sealed_key_id(value) for value in await raw_bodies(notes)] == ["k2", "k0"]


async def test_rekey_pages_through_a_composite_primary_key(notes: Database) -> None:
    configure_encryption(ring(("k1", KEY_1)))
    pairs = [(owner, number) for owner in (2, 1, 3) for number in (5, 1, 3)]
    async with notes.transaction() as session:
        session.add_all(PairNote(owner=owner, number=number, body=[owner, number])
                        for owner, number in pairs)

    keys = ring(("k2", KEY_2), ("k1", KEY_1))
    report = await rekey(notes, keys, [(PairNote, "body")], batch_size=2)
    assert report.re_encrypted == len(pairs)
    configure_encryption(ring(("k2", KEY_2)))
    async with notes.read() as session:
        rows = (await session.scalars(select(PairNote))).all()
    assert sorted(row.body for row in rows) == sorted([owner, number] for owner, number in pairs)


async def test_rekey_refuses_a_column_that_is_not_encrypted(notes: Database) -> None:
    with pytest.raises(ValueError, match="not an EncryptedJSON column"):
        await rekey(notes, ring(("k1", KEY_1)), [(Note, "label")])
    with pytest.raises(ValueError, match="no column 'missing'"):
        await rekey(notes, ring(("k1", KEY_1)), [(Note, "missing")])


async def test_rekey_then_vacuum_leaves_no_plaintext_in_the_sqlite_files(tmp_path: Path) -> None:
    database = Database.from_url(sqlite_url_for(tmp_path))

    # Many SQLite builds (not all) zero deleted bytes by default; test the worst case.
    @event.listens_for(database.engine.sync_engine, "connect")
    def _keep_deleted_bytes(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA secure_delete=OFF")

    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(NoteBase.metadata.create_all)
        await add_notes(database, *(thought(f"{MARKER} {n}") for n in range(5)))
        await rekey(database, ring(("k1", KEY_1)), [(Note, "body")])
        run_sqlite(tmp_path, "PRAGMA wal_checkpoint(TRUNCATE)")
        assert b"MARKER" in sqlite_files(tmp_path)  # old bytes linger in free space...

        run_sqlite(tmp_path, "VACUUM")  # ...until the file is rebuilt
        run_sqlite(tmp_path, "PRAGMA wal_checkpoint(TRUNCATE)")
        assert b"MARKER" not in sqlite_files(tmp_path)
        configure_encryption(ring(("k1", KEY_1)))
        assert await read_bodies(database) == [thought(f"{MARKER} {n}") for n in range(5)]
    finally:
        await database.dispose()
