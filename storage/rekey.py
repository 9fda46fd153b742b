"""Re-encrypt stored values with the current key, so an old key can be dropped.

Each batch of rows (in primary-key order) is read, re-sealed and written back in its own
transaction, with the rows locked (``FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite)
so a concurrent write of the bot is never overwritten by an older value. Running it again
finds everything current and writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, LargeBinary, Table, and_, bindparam, select, tuple_, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.expression import FromClause, type_coerce

from storage.crypto import EncryptionError, KeyRing, sealed_key_id
from storage.db import Database
from storage.encrypted import EncryptedJSON, as_bytes

# A mapped class or its table (``Entry`` or ``Entry.__table__``), and the column's name.
RekeyTarget = tuple[FromClause | type[DeclarativeBase], str]


class RekeyError(EncryptionError):
    """A value could not be re-encrypted; names the table, column and row, never the content."""


@dataclass
class RekeyCounts:
    re_encrypted: int = 0
    already_current: int = 0
    plaintext_encrypted: int = 0


@dataclass
class RekeyReport:
    """What ``rekey`` did, per ``table.column`` and in total."""

    columns: dict[str, RekeyCounts] = field(default_factory=dict)

    @property
    def re_encrypted(self) -> int:
        return sum(counts.re_encrypted for counts in self.columns.values())

    @property
    def already_current(self) -> int:
        return sum(counts.already_current for counts in self.columns.values())

    @property
    def plaintext_encrypted(self) -> int:
        return sum(counts.plaintext_encrypted for counts in self.columns.values())


async def rekey(database: Database, ring: KeyRing, tables: Sequence[RekeyTarget],
                batch_size: int = 500) -> RekeyReport:
    """Seal every non-NULL value of the given encrypted columns with ``ring``'s current key."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    report = RekeyReport()
    for target, column_name in tables:
        table = _table_of(target)
        _check_column(table, column_name)
        counts = report.columns.setdefault(f"{table.name}.{column_name}", RekeyCounts())
        after: tuple[Any, ...] | None = None
        while True:
            after, done = await _rekey_batch(database, ring, table, column_name, after,
                                             batch_size, counts)
            if done:
                break
    return report


async def _rekey_batch(database: Database, ring: KeyRing, table: Table, column_name: str,
                       after: tuple[Any, ...] | None, batch_size: int,
                       counts: RekeyCounts) -> tuple[tuple[Any, ...] | None, bool]:
    """One transaction: the next ``batch_size`` rows after ``after``; True when none are left."""
    keys = list(table.primary_key.columns)
    raw = type_coerce(table.c[column_name], LargeBinary())
    query = (select(*keys, raw).where(raw.is_not(None)).order_by(*keys).limit(batch_size)
             .with_for_update())
    if after is not None:
        query = query.where(_after(keys, after))
    async with database.transaction() as session:
        connection = await session.connection()
        rows = (await connection.execute(query)).all()
        changes = [_reseal(ring, table, column_name, row, len(keys), counts) for row in rows]
        writes = [change for change in changes if change is not None]
        if writes:
            statement = (
                update(table)
                .where(and_(*(key == bindparam(f"pk_{i}") for i, key in enumerate(keys))))
                .values({column_name: bindparam("sealed", type_=LargeBinary())}))
            await connection.execute(statement, writes)
    if not rows:
        return after, True
    return tuple(rows[-1][: len(keys)]), len(rows) < batch_size


def _reseal(ring: KeyRing, table: Table, column_name: str, row: Row[Any], key_count: int,
            counts: RekeyCounts) -> dict[str, Any] | None:
    """The update parameters for one row, or None when it is already sealed with the current key."""
    primary_key = tuple(row[:key_count])
    stored = as_bytes(row[key_count])
    try:
        key_id = sealed_key_id(stored)
        if key_id == ring.current_key_id:
            counts.already_current += 1
            return None
        if key_id is None:
            sealed = ring.encrypt(stored)
            counts.plaintext_encrypted += 1
        else:
            sealed = ring.encrypt(ring.decrypt(stored))
            counts.re_encrypted += 1
    except EncryptionError as error:
        where = ", ".join(map(str, primary_key))
        raise RekeyError(f"{table.name}.{column_name} row ({where}): {error}") from error
    parameters = {f"pk_{i}": value for i, value in enumerate(primary_key)}
    parameters["sealed"] = sealed
    return parameters


def _after(keys: list[Any], last: tuple[Any, ...]) -> ColumnElement[bool]:
    if len(keys) == 1:
        condition: ColumnElement[bool] = keys[0] > last[0]
        return condition
    return tuple_(*keys) > tuple_(*last)


def _table_of(target: FromClause | type[DeclarativeBase]) -> Table:
    table = target if isinstance(target, FromClause) else target.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{target!r} is not mapped to a table")
    return table


def _check_column(table: Table, column_name: str) -> None:
    if column_name not in table.c:
        raise ValueError(f"table {table.name!r} has no column {column_name!r}")
    if not isinstance(table.c[column_name].type, EncryptedJSON):
        raise ValueError(f"{table.name}.{column_name} is not an EncryptedJSON column; "
                         "rekeying it would make its values unreadable")
    if not table.primary_key.columns:
        raise ValueError(f"table {table.name!r} has no primary key to page through")
