"""Therapists, one-time invite codes, consented links, the audit log, and erasure."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditRecord, Client, InviteCode, Therapist, TherapistLink

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
InviteKind = Literal["therapist", "client_link"]
RedeemProblem = Literal["unknown", "used", "expired"]


def hash_code(code: str) -> str:
    """Codes are compared by hash; the normalised form ignores case, spaces and dashes."""
    normalised = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(normalised.encode()).hexdigest()


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


class TherapistRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- invites ----------------------------------------------------------------------------

    async def create_invite(self, *, kind: InviteKind, now: datetime, valid_for: timedelta,
                            therapist_name: str | None = None,
                            therapist_id: int | None = None) -> tuple[str, InviteCode]:
        """A new code (returned once, in clear) and its stored, hashed record."""
        code = new_code()
        invite = InviteCode(code_hash=hash_code(code), kind=kind, therapist_name=therapist_name,
                            therapist_id=therapist_id, created_at=now,
                            expires_at=now + valid_for, used_at=None)
        self.session.add(invite)
        await self.session.flush()
        return code, invite

    async def find_invite(self, code: str, kind: InviteKind, now: datetime
                          ) -> InviteCode | RedeemProblem:
        query = select(InviteCode).where(InviteCode.code_hash == hash_code(code),
                                         InviteCode.kind == kind).with_for_update()
        invite = (await self.session.execute(query)).scalar_one_or_none()
        if invite is None:
            return "unknown"
        if invite.used_at is not None:
            return "used"
        if invite.expires_at <= now:
            return "expired"
        return invite

    async def invite_by_id(self, invite_id: int) -> InviteCode | None:
        return await self.session.get(InviteCode, invite_id, with_for_update=True)

    # -- therapists and links ---------------------------------------------------------------

    async def therapist_for_telegram(self, telegram_user_id: int) -> Therapist | None:
        query = select(Therapist).where(Therapist.telegram_user_id == telegram_user_id)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def add_therapist(self, therapist: Therapist) -> Therapist:
        self.session.add(therapist)
        await self.session.flush()
        return therapist

    async def active_link(self, client_id: int) -> TherapistLink | None:
        query = select(TherapistLink).where(TherapistLink.client_id == client_id,
                                            TherapistLink.withdrawn_at.is_(None))
        return (await self.session.execute(query)).scalars().first()

    async def linked_clients(self, therapist_id: int) -> Sequence[tuple[Client, TherapistLink]]:
        query = (select(Client, TherapistLink)
                 .join(TherapistLink, TherapistLink.client_id == Client.id)
                 .where(TherapistLink.therapist_id == therapist_id,
                        TherapistLink.withdrawn_at.is_(None))
                 .order_by(Client.pseudonym))
        return [(row[0], row[1]) for row in (await self.session.execute(query)).all()]

    async def linked_client(self, therapist_id: int, pseudonym: str) -> Client | None:
        """The client only if they are linked to this therapist and have not withdrawn."""
        for client, _ in await self.linked_clients(therapist_id):
            if client.pseudonym.casefold() == pseudonym.strip().casefold():
                return client
        return None

    # -- audit ------------------------------------------------------------------------------

    def audit(self, *, at: datetime, actor: str, action: str, client: Client | None,
              detail: str = "") -> None:
        self.session.add(AuditRecord(at=at, actor=actor, action=action,
                                     client_id=client.id if client else None,
                                     client_pseudonym=client.pseudonym if client else None,
                                     detail=detail[:200]))

    async def audit_records(self, since: datetime | None = None) -> Sequence[AuditRecord]:
        query = select(AuditRecord).order_by(AuditRecord.at, AuditRecord.id)
        if since is not None:
            query = query.where(AuditRecord.at >= since)
        return (await self.session.execute(query)).scalars().all()


async def erase_client(session: AsyncSession, client: Client) -> None:
    """Everything of this client goes: entries, drafts, flows, reminders, events, links.

    The rows that depend on the client are removed by ON DELETE CASCADE; the audit log keeps
    that an access happened, without saying whose.
    """
    await session.execute(update(AuditRecord).where(AuditRecord.client_id == client.id)
                          .values(client_id=None, client_pseudonym=None))
    await session.execute(delete(Client).where(Client.id == client.id))
