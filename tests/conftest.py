"""Shared fixtures: a migrated database on SQLite and on the machine's PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import Database, create_engine, sqlite_url_for
from storage.migrate import upgrade
from storage.models import Base

# As the CLI does: PTB's timedelta durations instead of a deprecation warning per RetryAfter.
os.environ.setdefault("PTB_TIMEDELTA", "true")

# The PostgreSQL server this machine runs; CI sets CBT_REQUIRE_POSTGRES=1 so that a missing
# server fails the run instead of skipping half the storage tests.
POSTGRES_ADMIN_URL = os.environ.get(
    "CBT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")


async def _postgres_reachable() -> bool:
    engine = create_engine(POSTGRES_ADMIN_URL, pool=False)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True
    except (OSError, Exception):
        return False
    finally:
        await engine.dispose()


async def _admin(statement: str) -> None:
    engine = create_engine(POSTGRES_ADMIN_URL, pool=False)
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def _migrate(url: str) -> None:
    engine = create_engine(url, pool=False)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session, dropped afterwards."""
    if not asyncio.run(_postgres_reachable()):
        if os.environ.get("CBT_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is required but not reachable at {POSTGRES_ADMIN_URL}")
        pytest.skip("PostgreSQL not reachable (set CBT_TEST_POSTGRES_URL)")
    name = f"cbt_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        asyncio.run(_migrate(url))
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (migrating once is the slow part)."""
    directory = tmp_path_factory.mktemp("sqlite-template")
    asyncio.run(_migrate(sqlite_url_for(directory)))
    return directory / "cbt-companion.sqlite3"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copy(template, tmp_path / "cbt-companion.sqlite3")
        return sqlite_url_for(tmp_path)
    return str(request.getfixturevalue("empty_postgres_url"))


@pytest.fixture
def empty_postgres_url(postgres_url: str) -> str:
    """The session's PostgreSQL database with every table emptied for this test."""
    asyncio.run(_empty_tables(postgres_url))
    return postgres_url


async def _empty_tables(url: str) -> None:
    engine = create_engine(url, pool=False)
    try:
        async with engine.begin() as connection:
            names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
            await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = Database.from_url(database_url)
    try:
        yield database
    finally:
        await database.dispose()
