"""Database tables. Conversation state lives here, not in process memory."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, MetaData, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.encrypted import EncryptedJSON
from storage.types import UTCDateTime

# Stable constraint names so Alembic batch migrations work on SQLite.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON}


class Client(Base):
    """A person doing homework: a Telegram user, or a terminal user known by pseudonym."""

    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    # What therapists and exports call the client; never their Telegram name.
    pseudonym: Mapped[str] = mapped_column(String(40), unique=True)
    language: Mapped[str] = mapped_column(String(8), default="en")
    consent: Mapped[str] = mapped_column(String(16), default="unknown")  # unknown|given|declined
    consent_changed_at: Mapped[datetime | None]
    # ISO 3166-1 alpha-2, for the crisis lines to show; None: the international fallback.
    country: Mapped[str | None] = mapped_column(String(2))
    # A question outside any flow the client's next text answers (e.g. "country").
    pending_question: Mapped[str | None] = mapped_column(String(32))
    # IANA zone (Europe/Madrid) for reminders and dates; None until the client sets one.
    timezone: Mapped[str | None] = mapped_column(String(64))
    # Quiet hours, local "HH:MM" each; reminders wait until they end.
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    # Set when Telegram says the client blocked the bot: reminders pause until they write.
    blocked_at: Mapped[datetime | None]
    # Telegram redelivers updates a killed process never confirmed; this skips repeats.
    last_update_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    last_active_at: Mapped[datetime]


class FlowSession(Base):
    """One in-progress flow of one client: which step, the answers so far."""

    __tablename__ = "flow_sessions"
    __table_args__ = (UniqueConstraint("client_id", "flow_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    flow_id: Mapped[str] = mapped_column(String(64))
    flow_version: Mapped[int]
    # active: the flow the client's next message answers; paused: set aside, resumable;
    # cancelling: /cancel asked "keep as draft or discard?" and awaits the answer.
    status: Mapped[str] = mapped_column(String(16))
    step: Mapped[str] = mapped_column(String(64))
    cursor: Mapped[int] = mapped_column(default=0)
    turn: Mapped[int] = mapped_column(default=0)
    # What the client has answered so far: their words, so encrypted at rest when a key is set.
    answers: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON)
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Entry(Base):
    """A finished (or draft) piece of homework, with the flow version it was answered under."""

    __tablename__ = "entries"
    __table_args__ = (Index("ix_entries_client_type_completed", "client_id", "entry_type",
                            "completed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    entry_type: Mapped[str] = mapped_column(String(64))
    flow_id: Mapped[str] = mapped_column(String(64))
    flow_version: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))  # completed|draft
    # The entry's answers (free text included): encrypted at rest when a key is set.
    data: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON)
    # Private entries never leave the client's own exports (no therapist sees them).
    private: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class CrisisEvent(Base):
    """A crisis response the bot gave: what matched and what happened next, never the text."""

    __tablename__ = "crisis_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"),
                                           index=True)
    occurred_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(32))  # message | questionnaire
    category: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(128))
    interrupted_flow_id: Mapped[str | None] = mapped_column(String(64))
    # The client's own answers to the crisis message; neither closes the event.
    safe_confirmed_at: Mapped[datetime | None]
    not_meant_at: Mapped[datetime | None]


class Reminder(Base):
    """One homework reminder of one client; its next due time is stored in UTC.

    Bot processes claim due rows (status 'sending', with claimed_by and claimed_at), send,
    then set the next due time. A claim older than the lease is taken over, so a process
    that dies mid-send delays a reminder but does not lose it.
    """

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("client_id", "flow_id"),
                      Index("ix_reminders_due", "status", "next_due_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    flow_id: Mapped[str] = mapped_column(String(64))
    times: Mapped[list[str]] = mapped_column(JSON)  # local "HH:MM", ascending
    weekdays: Mapped[list[int]] = mapped_column(JSON)  # 0 = Monday
    every_days: Mapped[int] = mapped_column(default=1)
    anchor: Mapped[str | None] = mapped_column(String(10))  # ISO date of an every-N-days series
    enabled: Mapped[bool] = mapped_column(default=True)
    next_due_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="idle")  # idle | sending
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_sent_at: Mapped[datetime | None]


class Therapist(Base):
    """A Telegram user who redeemed a therapist invite from programme staff."""

    __tablename__ = "therapists"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(120))
    # Language of the notices the bot sends them (crisis alerts, new links).
    language: Mapped[str] = mapped_column(String(8), default="en")
    created_at: Mapped[datetime]


class InviteCode(Base):
    """A one-time code: staff invite a therapist, a therapist invites a client to link.

    Only a hash of the code is stored, so a database dump does not hand out working codes.
    """

    __tablename__ = "invite_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # therapist | client_link
    therapist_name: Mapped[str | None] = mapped_column(String(120))
    therapist_id: Mapped[int | None] = mapped_column(
        ForeignKey("therapists.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class TherapistLink(Base):
    """A client's consent to share with one therapist; withdrawing keeps the record."""

    __tablename__ = "therapist_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"),
                                           index=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapists.id", ondelete="CASCADE"),
                                              index=True)
    consented_at: Mapped[datetime]
    share_crisis_alerts: Mapped[bool]
    withdrawn_at: Mapped[datetime | None]


class AuditRecord(Base):
    """Who looked at or exported whose data, when, in what form."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(120))  # "therapist:<id> <name>" | "staff:cli"
    action: Mapped[str] = mapped_column(String(32))  # export | digest | clients | ...
    # Kept when the client erases their data (then None): the record of access stays.
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="SET NULL"))
    client_pseudonym: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(String(200), default="")
