"""Therapists and privacy: invites, consented links, exports and digests of linked clients,
a client's own export, private entries and erasure. Every therapist view is audited."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.digest import digest_text
from bot.messages import Outbound, Response, said
from bot.reminders import zone_of
from flows.catalog import Catalog
from storage.export import csv_zip, entries_json
from storage.models import Client, CrisisEvent, Entry, Therapist, TherapistLink
from storage.reminders import ReminderRepository
from storage.reports.fhir import fhir_json
from storage.reports.pdf import ReportPeriod, clinician_pdf
from storage.repositories import CrisisEventRepository, EntryRepository
from storage.therapists import TherapistRepository, erase_client

CLIENT_LINK_VALID_FOR = timedelta(days=7)
LINK_PREFIX = "lk:"  # lk:<invite id>:<a|n|c>  (agree with alerts / without / cancel)
DELETE_PREFIX = "dl:"  # dl:yes | dl:no
PRIVATE_PREFIX = "pv:"  # pv:<entry id>
EXPORT_FORMATS = ("csv", "json", "pdf", "fhir")


@dataclass(frozen=True)
class Caller:
    """Who sent the command: the client row, and the therapist row if they are one."""

    client: Client
    therapist: Therapist | None


class TherapyDesk:
    def __init__(self, catalog: Catalog, clock: Callable[[], datetime], *,
                 alerts_allowed: bool = True) -> None:
        self.catalog = catalog
        self.clock = clock
        self.alerts_allowed = alerts_allowed

    # -- therapists -------------------------------------------------------------------------

    async def become_therapist(self, session: AsyncSession, caller: Caller,
                               args: Sequence[str]) -> Response:
        lang = caller.client.language
        repo = TherapistRepository(session)
        if caller.therapist is not None:
            return said(self.catalog.get("therapist_already", lang))
        if not args:
            return said(self.catalog.get("therapist_code_missing", lang))
        found = await repo.find_invite(args[0], "therapist", self.clock())
        if isinstance(found, str):
            return said(self.catalog.get(f"code_{found}", lang))
        key = caller.client
        assert key.telegram_user_id is not None and key.chat_id is not None
        found.used_at = self.clock()
        await repo.add_therapist(Therapist(telegram_user_id=key.telegram_user_id,
                                           chat_id=key.chat_id, language=lang,
                                           name=found.therapist_name or "therapist",
                                           created_at=self.clock()))
        return said(self.catalog.get("therapist_welcome", lang, name=found.therapist_name))

    async def invite_client(self, session: AsyncSession, caller: Caller) -> Response:
        lang = caller.client.language
        if caller.therapist is None:
            return said(self.catalog.get("therapists_only", lang))
        code, invite = await TherapistRepository(session).create_invite(
            kind="client_link", now=self.clock(), valid_for=CLIENT_LINK_VALID_FOR,
            therapist_id=caller.therapist.id)
        return said(self.catalog.get("client_invite", lang, code=code,
                                      expires=invite.expires_at.date().isoformat()))

    async def list_clients(self, session: AsyncSession, caller: Caller) -> Response:
        lang = caller.client.language
        therapist = caller.therapist
        if therapist is None:
            return said(self.catalog.get("therapists_only", lang))
        repo = TherapistRepository(session)
        linked = await repo.linked_clients(therapist.id)
        if not linked:
            return said(self.catalog.get("clients_none", lang))
        now = self.clock()
        lines = [self.catalog.get("clients_intro", lang)]
        for client, link in linked:
            entries = await EntryRepository(session).completed(
                client.id, since=now - timedelta(days=90))
            shared = [e for e in entries if not e.private]
            week = sum(1 for e in shared if e.completed_at and e.completed_at >= now - timedelta(
                days=7))
            latest = {e.entry_type: e for e in shared if e.entry_type in ("phq9", "gad7")}
            bands = ", ".join(f"{t.upper().replace('PHQ9', 'PHQ-9').replace('GAD7', 'GAD-7')} "
                              f"{e.data.get('total')} ({e.data.get('band')})"
                              for t, e in sorted(latest.items())) or "-"
            events = await CrisisEventRepository(session).for_client(client.id)
            recent = [e for e in events if e.occurred_at >= now - timedelta(days=30)]
            lines.append(self.catalog.get(
                "clients_line", lang, pseudonym=client.pseudonym,
                last=client.last_active_at.date().isoformat(),
                week=week, bands=bands,
                crisis=len(recent) if link.share_crisis_alerts else "-"))
            repo.audit(at=now, actor=_actor(therapist), action="clients", client=client)
        return said("\n".join(lines))

    async def therapist_export(self, session: AsyncSession, caller: Caller,
                               args: Sequence[str]) -> Response:
        lang = caller.client.language
        therapist = caller.therapist
        assert therapist is not None
        if not args:
            return said(self.catalog.get("export_usage", lang))
        repo = TherapistRepository(session)
        client = await repo.linked_client(therapist.id, args[0])
        if client is None:
            return said(self.catalog.get("not_your_client", lang, client=args[0][:40]))
        fmt = args[1].lower() if len(args) > 1 else "pdf"
        if fmt not in EXPORT_FORMATS:
            return said(self.catalog.get("export_usage", lang))
        try:
            since = _day(args[2], after=False) if len(args) > 2 else None
            until = _day(args[3], after=True) if len(args) > 3 else None
        except ValueError:
            return said(self.catalog.get("export_usage", lang))
        entries = [e for e in await EntryRepository(session).completed(
            client.id, since=since, until=until) if not e.private]
        events = await self._shared_events(session, client)
        document = await self._render(fmt, entries, events, client, since, until, lang)
        repo.audit(at=self.clock(), actor=_actor(therapist), action="export", client=client,
                   detail=f"format={fmt} from={args[2] if len(args) > 2 else '-'} "
                          f"to={args[3] if len(args) > 3 else '-'}")
        response = Response()
        response.messages.append(Outbound(
            self.catalog.get("export_ready", lang, client=client.pseudonym,
                             count=len(entries)), document=document))
        return response

    async def digest(self, session: AsyncSession, caller: Caller, args: Sequence[str]
                     ) -> Response:
        lang = caller.client.language
        therapist = caller.therapist
        if therapist is None:
            return said(self.catalog.get("therapists_only", lang))
        if not args:
            return said(self.catalog.get("digest_usage", lang))
        repo = TherapistRepository(session)
        client = await repo.linked_client(therapist.id, args[0])
        if client is None:
            return said(self.catalog.get("not_your_client", lang, client=args[0][:40]))
        now = self.clock()
        entries = [e for e in await EntryRepository(session).completed(
            client.id, since=now - timedelta(days=28)) if not e.private]
        events = await self._shared_events(session, client)
        reminders = await ReminderRepository(session).for_client(client.id)
        repo.audit(at=now, actor=_actor(therapist), action="digest", client=client)
        return said(digest_text(self.catalog, lang, client=client, entries=entries,
                                 events=events, reminders=reminders, now=now,
                                 zone=zone_of(client)))

    async def _shared_events(self, session: AsyncSession, client: Client
                             ) -> Sequence[CrisisEvent]:
        link = await TherapistRepository(session).active_link(client.id)
        if link is None or not link.share_crisis_alerts:
            return []
        return await CrisisEventRepository(session).for_client(client.id)

    async def _render(self, fmt: str, entries: Sequence[Entry], events: Sequence[CrisisEvent],
                      client: Client, since: datetime | None, until: datetime | None,
                      lang: str) -> tuple[str, bytes]:
        now = self.clock()
        stamp = now.date().isoformat()
        name = f"{client.pseudonym}-{stamp}"
        if fmt == "csv":
            return f"{name}.zip", csv_zip(entries, client, zone_of(client))
        if fmt == "json":
            return f"{name}.json", entries_json(entries, client, zone_of(client), exported_at=now,
                                                period=(_iso(since), _iso(until))).encode()
        if fmt == "fhir":
            return f"{name}.fhir.json", fhir_json(entries, client, exported_at=now).encode()
        period = ReportPeriod(start=since.date() if since else None,
                              end=(until - timedelta(days=1)).date() if until else None)
        pdf = await asyncio.to_thread(clinician_pdf, entries, events, client, period=period,
                                      zone=zone_of(client), exported_at=now, language=lang)
        return f"{name}.pdf", pdf

    # -- clients: linking -------------------------------------------------------------------

    async def link(self, session: AsyncSession, caller: Caller, args: Sequence[str]
                   ) -> Response:
        lang = caller.client.language
        if caller.client.consent != "given":
            return said(self.catalog.get("consent_needed", lang))
        if not args:
            return said(self.catalog.get("link_code_missing", lang))
        repo = TherapistRepository(session)
        found = await repo.find_invite(args[0], "client_link", self.clock())
        if isinstance(found, str):
            return said(self.catalog.get(f"code_{found}", lang))
        therapist = await session.get(Therapist, found.therapist_id)
        if therapist is None:
            return said(self.catalog.get("code_unknown", lang))
        return said(self.catalog.get("link_explain", lang, name=therapist.name), [
            (self.catalog.get("button_link_with_alerts", lang), f"{LINK_PREFIX}{found.id}:a"),
            (self.catalog.get("button_link_without_alerts", lang),
             f"{LINK_PREFIX}{found.id}:n"),
            (self.catalog.get("button_cancel", lang), f"{LINK_PREFIX}{found.id}:c")])

    async def link_button(self, session: AsyncSession, caller: Caller, data: str) -> Response:
        """The client's answer to the link explanation; the code is checked again here, so a
        replayed or forged button cannot reuse a spent or expired code."""
        lang = caller.client.language
        invite_id, _, choice = data.removeprefix(LINK_PREFIX).partition(":")
        if choice == "c":
            return said(self.catalog.get("link_cancelled", lang), close=True)
        invite = await TherapistRepository(session).invite_by_id(int(invite_id)) \
            if invite_id.isdigit() else None
        now = self.clock()
        if invite is None or invite.kind != "client_link" or choice not in ("a", "n"):
            return Response(notice=self.catalog.get("unknown_button", lang), close_buttons=True)
        if invite.used_at is not None or invite.expires_at <= now:
            key = "code_used" if invite.used_at is not None else "code_expired"
            return said(self.catalog.get(key, lang), close=True)
        therapist = await session.get(Therapist, invite.therapist_id)
        if therapist is None:
            return Response(notice=self.catalog.get("unknown_button", lang), close_buttons=True)
        invite.used_at = now
        previous = await TherapistRepository(session).active_link(caller.client.id)
        if previous is not None:
            previous.withdrawn_at = now  # one therapist at a time
        session.add(TherapistLink(client_id=caller.client.id, therapist_id=therapist.id,
                                  consented_at=now, share_crisis_alerts=choice == "a",
                                  withdrawn_at=None))
        response = said(self.catalog.get("linked", lang, name=therapist.name), close=True)
        response.also.append((therapist.chat_id, Outbound(self.catalog.get(
            "therapist_client_linked", therapist.language,
            pseudonym=caller.client.pseudonym))))
        return response

    async def unlink(self, session: AsyncSession, caller: Caller) -> Response:
        lang = caller.client.language
        link = await TherapistRepository(session).active_link(caller.client.id)
        if link is None:
            return said(self.catalog.get("unlink_none", lang))
        link.withdrawn_at = self.clock()
        return said(self.catalog.get("unlinked", lang))

    async def crisis_alerts(self, session: AsyncSession, client: Client, event: CrisisEvent
                            ) -> list[tuple[int, Outbound]]:
        """A short notice, no message text, to a linked therapist the client agreed to alert."""
        if not self.alerts_allowed:
            return []
        link = await TherapistRepository(session).active_link(client.id)
        if link is None or not link.share_crisis_alerts:
            return []
        therapist = await session.get(Therapist, link.therapist_id)
        if therapist is None:
            return []
        return [(therapist.chat_id, Outbound(self.catalog.get(
            "therapist_crisis_alert", therapist.language, pseudonym=client.pseudonym,
            at=event.occurred_at.strftime("%Y-%m-%d %H:%M UTC"),
            category=event.category.replace("_", " "), source=event.source)))]

    # -- clients: their own data ------------------------------------------------------------

    async def own_export(self, session: AsyncSession, caller: Caller) -> Response:
        client = caller.client
        lang = client.language
        entries = await EntryRepository(session).for_client(client.id)
        completed = [e for e in entries if e.status == "completed"]
        events = await CrisisEventRepository(session).for_client(client.id)
        now = self.clock()
        document = entries_json(entries, client, zone_of(client), exported_at=now,
                                period=(None, None)).encode()
        pdf = await asyncio.to_thread(clinician_pdf, completed, events, client,
                                      period=ReportPeriod(None, None), zone=zone_of(client),
                                      exported_at=now, language=lang)
        response = Response()
        stamp = now.date().isoformat()
        response.messages.append(Outbound(self.catalog.get("own_export_json", lang),
                                          document=(f"my-data-{stamp}.json", document)))
        response.messages.append(Outbound(self.catalog.get("own_export_pdf", lang),
                                          document=(f"my-report-{stamp}.pdf", pdf)))
        return response

    def ask_delete(self, caller: Caller) -> Response:
        lang = caller.client.language
        return said(self.catalog.get("delete_question", lang), [
            (self.catalog.get("button_delete_everything", lang), f"{DELETE_PREFIX}yes"),
            (self.catalog.get("button_cancel", lang), f"{DELETE_PREFIX}no")])

    async def delete_button(self, session: AsyncSession, caller: Caller, data: str
                            ) -> Response:
        lang = caller.client.language
        if data != f"{DELETE_PREFIX}yes":
            return said(self.catalog.get("delete_cancelled", lang), close=True)
        await erase_client(session, caller.client)
        return said(self.catalog.get("deleted", lang), close=True)

    async def private_button(self, session: AsyncSession, caller: Caller, data: str
                             ) -> Response:
        lang = caller.client.language
        entry_id = data.removeprefix(PRIVATE_PREFIX)
        entry = await session.get(Entry, int(entry_id)) if entry_id.isdigit() else None
        if entry is None or entry.client_id != caller.client.id:
            return Response(notice=self.catalog.get("unknown_button", lang), close_buttons=True)
        entry.private = True
        return Response(notice=self.catalog.get("entry_private", lang), close_buttons=True)


def _actor(therapist: Therapist) -> str:
    return f"therapist:{therapist.id} {therapist.name}"[:120]


def _day(text: str, *, after: bool) -> datetime:
    day = date.fromisoformat(text) + (timedelta(days=1) if after else timedelta(0))
    return datetime.combine(day, time.min, tzinfo=ZoneInfo("UTC"))


def _iso(moment: datetime | None) -> str | None:
    return moment.date().isoformat() if moment else None
