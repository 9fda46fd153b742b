"""Engine and transactions, with the SQLite settings that make concurrent writers safe."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

# How long a SQLite writer waits for another writer before giving up (ms).
SQLITE_BUSY_TIMEOUT_MS = 15_000
_BEGIN_OPTION = "sqlite_begin"


def normalise_url(url: str) -> str:
    """Accept the URLs operators usually write and pick the async driver for them."""
    parsed = make_url(url)
    drivers = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg",
               "postgres": "postgresql+asyncpg"}
    if parsed.drivername in drivers:
        parsed = parsed.set(drivername=drivers[parsed.drivername])
    return parsed.render_as_string(hide_password=False)


def sqlite_url_for(directory: Path) -> str:
    return str(URL.create("sqlite+aiosqlite", database=str(directory / "cbt-companion.sqlite3")))


def create_engine(url: str, *, pool: bool = True) -> AsyncEngine:
    url = normalise_url(url)
    is_sqlite = make_url(url).get_backend_name() == "sqlite"
    options: dict[str, Any] = {}
    if not pool:
        options["poolclass"] = NullPool
    if is_sqlite:
        options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    elif pool:
        # Updates of different chats run side by side (bot/update_processor.py); each holds
        # a connection for a few milliseconds. Room for bursts without queueing for one.
        # Several processes share PostgreSQL's connection limit (100 by default).
        options.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
    engine = create_async_engine(url, **options)
    if is_sqlite:
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    # The sqlite3 driver's own transaction handling starts a deferred transaction, which
    # fails at once with "database is locked" when two writers upgrade their locks
    # (reference/stack.md, section 5). We take control and begin IMMEDIATE instead.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Overwrite deleted content, so /delete and re-encryption leave no old text behind.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """Hands out transactions; every write goes through ``transaction()``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.is_sqlite = engine.dialect.name == "sqlite"
        # SQLite has one writer at a time. Queueing this process's writers here is fairer and
        # faster than letting them poll SQLite's busy handler (which sleeps up to 100 ms);
        # other processes still wait through busy_timeout.
        self._sqlite_writer = asyncio.Lock() if self.is_sqlite else None

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(create_engine(url))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: committed when the block ends, rolled back on error."""
        if self._sqlite_writer is None:
            async with self._sessions() as session, session.begin():
                yield session
            return
        async with self._sqlite_writer, self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only unit of work; on SQLite it does not block writers."""
        async with self._sessions() as session:
            if self.is_sqlite:
                await session.connection(execution_options={_BEGIN_OPTION: "DEFERRED"})
            yield session  # closing the session rolls the read transaction back

    async def dispose(self) -> None:
        await self.engine.dispose()
