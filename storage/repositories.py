"""Queries the rest of the code needs, one small class per table."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Client, CrisisEvent, Entry, FlowSession

_PSEUDONYM_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


def new_pseudonym() -> str:
    return "C-" + "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(6))


class ClientRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_telegram_user(self, telegram_user_id: int, *, lock: bool = False
                                ) -> Client | None:
        query = select(Client).where(Client.telegram_user_id == telegram_user_id)
        if lock:
            # Serialises one client's updates across bot processes (PostgreSQL row lock;
            # SQLite already serialises writers with BEGIN IMMEDIATE).
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def by_pseudonym(self, pseudonym: str, *, lock: bool = False) -> Client | None:
        query = select(Client).where(Client.pseudonym == pseudonym)
        if lock:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def find(self, identifier: str) -> Client | None:
        """A client by Telegram user id or pseudonym, as staff type it on the command line."""
        if identifier.lstrip("-").isdigit():
            found = await self.for_telegram_user(int(identifier))
            if found is not None:
                return found
        return await self.by_pseudonym(identifier)

    async def create(self, *, now: datetime, language: str, telegram_user_id: int | None = None,
                     chat_id: int | None = None, pseudonym: str | None = None) -> Client:
        client = Client(
            telegram_user_id=telegram_user_id,
            chat_id=chat_id,
            pseudonym=pseudonym or new_pseudonym(),
            language=language,
            consent="unknown",
            created_at=now,
            last_active_at=now,
        )
        self.session.add(client)
        await self.session.flush()
        return client


class FlowSessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def current(self, client_id: int) -> FlowSession | None:
        """The flow the client's next message belongs to (active or awaiting a cancel answer)."""
        query = (
            select(FlowSession)
            .where(FlowSession.client_id == client_id,
                   FlowSession.status.in_(("active", "cancelling")))
            .order_by(FlowSession.updated_at.desc())
            .limit(1)
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def for_flow(self, client_id: int, flow_id: str) -> FlowSession | None:
        query = select(FlowSession).where(FlowSession.client_id == client_id,
                                          FlowSession.flow_id == flow_id)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def all_for(self, client_id: int) -> Sequence[FlowSession]:
        query = select(FlowSession).where(FlowSession.client_id == client_id)
        return (await self.session.execute(query)).scalars().all()

    def add(self, flow_session: FlowSession) -> None:
        self.session.add(flow_session)

    async def delete(self, flow_session: FlowSession) -> None:
        await self.session.delete(flow_session)


class EntryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, *, client_id: int, entry_type: str, flow_id: str, flow_version: int,
                  status: str, data: dict[str, Any], started_at: datetime,
                  completed_at: datetime | None, now: datetime) -> Entry:
        entry = Entry(client_id=client_id, entry_type=entry_type, flow_id=flow_id,
                      flow_version=flow_version, status=status, data=data,
                      started_at=started_at, completed_at=completed_at, created_at=now)
        self.session.add(entry)
        await self.session.flush()
        return entry

    async def completed(self, client_id: int, entry_type: str | None = None, *,
                        since: datetime | None = None, until: datetime | None = None
                        ) -> Sequence[Entry]:
        """Completed entries (of one type, or all), oldest first; ``until`` is exclusive."""
        query = select(Entry).where(Entry.client_id == client_id,
                                    Entry.status == "completed")
        if entry_type is not None:
            query = query.where(Entry.entry_type == entry_type)
        if since is not None:
            query = query.where(Entry.completed_at >= since)
        if until is not None:
            query = query.where(Entry.completed_at < until)
        query = query.order_by(Entry.completed_at, Entry.id)
        return (await self.session.execute(query)).scalars().all()

    async def for_client(self, client_id: int) -> Sequence[Entry]:
        query = select(Entry).where(Entry.client_id == client_id).order_by(Entry.id)
        return (await self.session.execute(query)).scalars().all()

    async def latest_completed(self, client_id: int, flow_id: str) -> Entry | None:
        query = (select(Entry)
                 .where(Entry.client_id == client_id, Entry.flow_id == flow_id,
                        Entry.status == "completed")
                 .order_by(Entry.completed_at.desc(), Entry.id.desc()).limit(1))
        return (await self.session.execute(query)).scalar_one_or_none()


class CrisisEventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, *, client_id: int, occurred_at: datetime, source: str,
                     category: str, rule: str, interrupted_flow_id: str | None) -> CrisisEvent:
        event = CrisisEvent(client_id=client_id, occurred_at=occurred_at, source=source,
                            category=category, rule=rule,
                            interrupted_flow_id=interrupted_flow_id)
        self.session.add(event)
        await self.session.flush()
        return event

    async def of_client(self, client_id: int, event_id: int) -> CrisisEvent | None:
        """The event, only if it belongs to this client (button data can be forged)."""
        query = select(CrisisEvent).where(CrisisEvent.id == event_id,
                                          CrisisEvent.client_id == client_id)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def for_client(self, client_id: int) -> Sequence[CrisisEvent]:
        query = (select(CrisisEvent).where(CrisisEvent.client_id == client_id)
                 .order_by(CrisisEvent.occurred_at))
        return (await self.session.execute(query)).scalars().all()
