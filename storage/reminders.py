"""Reminder rows: claiming due ones across processes, and keeping each client's settings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Client, Reminder


@dataclass(frozen=True)
class Claim:
    reminder_id: int
    client_id: int
    flow_id: str
    due_at: datetime


class ReminderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim_due(self, *, now: datetime, worker: str, limit: int,
                        lease: timedelta) -> list[Claim]:
        """Mark up to ``limit`` due reminders as being sent by ``worker``, in one statement.

        PostgreSQL skips rows other workers hold (FOR UPDATE SKIP LOCKED), so several
        processes claim disjoint sets; SQLite has one writer at a time (BEGIN IMMEDIATE). A
        claim older than ``lease`` is taken over: its worker died before finishing.
        """
        table = cast(Table, Reminder.__table__)
        claimable = and_(
            Reminder.enabled.is_(True),
            Reminder.next_due_at <= now,
            or_(Reminder.status == "idle",
                and_(Reminder.status == "sending", Reminder.claimed_at < now - lease)),
        )
        due = (select(Reminder.id)
               .join(Client, Client.id == Reminder.client_id)
               .where(claimable, Client.blocked_at.is_(None))
               .order_by(Reminder.next_due_at)
               .limit(limit)
               .with_for_update(skip_locked=True, of=Reminder))
        statement = (update(table)
                     .where(table.c.id.in_(due.scalar_subquery()), claimable)
                     .values(status="sending", claimed_by=worker, claimed_at=now,
                             attempts=table.c.attempts + 1)
                     .returning(table.c.id, table.c.client_id, table.c.flow_id,
                                table.c.next_due_at))
        rows = (await self.session.execute(statement)).all()
        return [Claim(reminder_id=row[0], client_id=row[1], flow_id=row[2], due_at=row[3])
                for row in rows]

    async def get(self, reminder_id: int) -> Reminder | None:
        return await self.session.get(Reminder, reminder_id)

    async def of_client(self, client_id: int, reminder_id: int) -> Reminder | None:
        """The reminder, only if it is this client's (button data can be forged)."""
        reminder = await self.session.get(Reminder, reminder_id)
        return reminder if reminder is not None and reminder.client_id == client_id else None

    async def for_client(self, client_id: int) -> Sequence[Reminder]:
        query = select(Reminder).where(Reminder.client_id == client_id).order_by(Reminder.id)
        return (await self.session.execute(query)).scalars().all()

    async def for_flow(self, client_id: int, flow_id: str) -> Reminder | None:
        query = select(Reminder).where(Reminder.client_id == client_id,
                                       Reminder.flow_id == flow_id)
        return (await self.session.execute(query)).scalar_one_or_none()

    def add(self, reminder: Reminder) -> None:
        self.session.add(reminder)
