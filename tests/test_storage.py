"""Storage on SQLite and PostgreSQL: aware timestamps, concurrent writers, migrations."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from storage.db import Database, create_engine, normalise_url, sqlite_url_for
from storage.migrate import downgrade, upgrade
from storage.models import Base, Client
from storage.repositories import ClientRepository


async def test_timestamps_come_back_aware_in_utc(database: Database) -> None:
    tokyo = timezone(timedelta(hours=9))
    moment = datetime(2026, 6, 1, 9, 0, tzinfo=tokyo)
    async with database.transaction() as session:
        await ClientRepository(session).create(now=moment, language="en", pseudonym="C-AWARE1")
    async with database.read() as session:
        client = await ClientRepository(session).by_pseudonym("C-AWARE1")
    assert client is not None
    assert client.created_at.tzinfo is not None
    assert client.created_at == moment
    assert client.created_at.utcoffset() == timedelta(0)


async def test_naive_timestamps_are_refused(database: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        async with database.transaction() as session:
            await ClientRepository(session).create(now=datetime(2026, 1, 1), language="en",
                                                   pseudonym="C-NAIVE1")


async def test_sqlite_writers_from_two_engines_never_see_database_is_locked(
    tmp_path: Path,
) -> None:
    """Two engines stand for two processes; each does read-modify-write transactions."""
    url = sqlite_url_for(tmp_path)
    setup = Database.from_url(url)
    await upgrade(setup.engine)
    async with setup.transaction() as session:
        await ClientRepository(session).create(now=datetime.now(UTC), language="en",
                                               pseudonym="C-COUNT1")
    await setup.dispose()
    first, second = Database.from_url(url), Database.from_url(url)

    async def bump(database: Database, times: int) -> None:
        for _ in range(times):
            async with database.transaction() as session:
                client = (await session.execute(select(Client))).scalar_one()
                await asyncio.sleep(0)  # let the other writer in between read and write
                client.language = str(int(client.language) + 1 if client.language.isdigit()
                                      else 1)

    try:
        await asyncio.gather(*(bump(db, 40) for db in (first, second, first, second)))
        async with first.read() as session:
            client = (await session.execute(select(Client))).scalar_one()
        assert client.language == "160"  # no lost update, no "database is locked"
    finally:
        await first.dispose()
        await second.dispose()


async def test_sqlite_pragmas_are_set(tmp_path: Path) -> None:
    database = Database.from_url(sqlite_url_for(tmp_path))
    try:
        async with database.read() as session:
            mode = (await session.execute(text("PRAGMA journal_mode"))).scalar_one()
            keys = (await session.execute(text("PRAGMA foreign_keys"))).scalar_one()
        assert (mode, keys) == ("wal", 1)
    finally:
        await database.dispose()


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def test_migrations_stairway_up_down_up(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = sqlite_url_for(tmp_path) if kind == "sqlite" else request.getfixturevalue(
        "postgres_url")
    engine = create_engine(url, pool=False)
    try:
        await upgrade(engine)
        await downgrade(engine, "base")
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        assert set(tables) <= {"alembic_version"}
        await upgrade(engine)
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        assert set(Base.metadata.tables) <= set(tables)
    finally:
        await engine.dispose()


def test_operator_urls_get_async_drivers() -> None:
    assert normalise_url("postgresql://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert normalise_url("postgres://u:p@h/db") == "postgresql+asyncpg://u:p@h/db"
    assert normalise_url("sqlite:////tmp/x.db") == "sqlite+aiosqlite:////tmp/x.db"
    assert normalise_url("sqlite+aiosqlite:///x.db") == "sqlite+aiosqlite:///x.db"
