"""One client message in, the replies out: screening, then one transaction on the database.

Both the Telegram adapter and the terminal chat call ``Conversation.handle``; neither keeps
any conversation state of its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crisis_messages import (
    NOT_MEANT_PREFIX,
    SAFE_PREFIX,
    SAFETY_PLAN,
    SAFETY_PLAN_FLOW,
    START_FLOW_PREFIX,
)
from bot.crisis_response import CrisisResponder, create_client, find_client
from bot.flow_runner import CANCEL_DISCARD, CANCEL_KEEP, FlowRunner, Turn, parse_flow_button
from bot.messages import (
    ClientKey,
    Inbound,
    Outbound,
    Response,
    base_language,
    said,
)
from bot.reminder_settings import SETTINGS_PREFIX, ReminderDefaults, ReminderSettings
from bot.reminders import REMINDER_PREFIX, schedule_next
from bot.therapy_desk import DELETE_PREFIX, LINK_PREFIX, PRIVATE_PREFIX, Caller, TherapyDesk
from flows.catalog import Catalog
from flows.crisis_lines import CrisisLineDirectory, default_directory
from flows.engine import Answer
from flows.registry import FlowRegistry
from flows.screening import Screener
from storage.db import Database
from storage.models import Client
from storage.reminders import ReminderRepository
from storage.reports.progress import render_progress_png, summary_lines
from storage.reports.progress_data import load_progress
from storage.repositories import (
    CrisisEventRepository,
    FlowSessionRepository,
)
from storage.therapists import TherapistRepository

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
T = TypeVar("T")

# Callback data prefixes (flow buttons: bot/flow_runner.py).
CONSENT_YES, CONSENT_NO = "c:y", "c:n"
COUNTRY_PREFIX = "k:"
# Commands about therapists and the client's own data (bot/therapy_desk.py).
DESK_COMMANDS = frozenset({"therapist", "invite", "clients", "digest", "link", "unlink",
                           "delete", "export"})
LANGUAGE_PREFIX = "l:"
PROGRESS_PREFIX = "p:"
# Transient database failures are retried this many times before the client is told.
DB_ATTEMPTS = 3
DB_RETRY_DELAYS = (0.2, 0.8)
_TRANSIENT_ERRORS = (OperationalError, PoolTimeoutError, ConnectionError, OSError, TimeoutError)
# Two processes creating the same new client at once: the loser's retry finds the row.
_RETRIED_ERRORS = (*_TRANSIENT_ERRORS, IntegrityError)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Conversation:
    def __init__(self, database: Database, flows: FlowRegistry, catalog: Catalog, *,
                 clock: Clock = utc_now, directory: CrisisLineDirectory | None = None,
                 screener: Screener | None = None, default_country: str | None = None,
                 reminder_defaults: ReminderDefaults | None = None,
                 therapist_alerts: bool = True) -> None:
        self.database = database
        self.flows = flows
        self.catalog = catalog
        self.clock = clock
        self.directory = directory or default_directory()
        self.desk = TherapyDesk(catalog, clock, alerts_allowed=therapist_alerts)
        self.safety = CrisisResponder(database, flows, catalog, self.directory, self.desk,
                                      clock=clock, screener=screener,
                                      default_country=default_country)
        self.runner = FlowRunner(flows, catalog, clock, self.safety)
        self.reminders = ReminderSettings(
            catalog, flows, reminder_defaults or ReminderDefaults(
                times=("19:00",), questionnaire_every_days={"phq9": 14, "gad7": 14}), clock)

    async def respond_to_crisis(self, key: ClientKey, language: str, *, category: str,
                                rule: str, source: str) -> Response:
        """The crisis response for a signal found outside a message (see CrisisResponder)."""
        return await self.safety.respond(key, language, category=category, rule=rule,
                                         source=source)

    async def handle(self, inbound: Inbound) -> Response:
        if inbound.text:
            screening = self.safety.screen(inbound)
            if screening is not None:
                return await self.safety.respond(
                    inbound.client, inbound.language, category=screening.category or "crisis",
                    rule=screening.rule or "unknown", source="message")
        if inbound.edited:
            return Response()  # an edit changes no answer; it was screened above
        if inbound.command == "sos":
            return await self.safety.sos(inbound)
        if inbound.command == "progress" or (inbound.button or "").startswith(PROGRESS_PREFIX):
            return await self._progress(inbound)
        try:
            return await self._with_retries(lambda: self._in_transaction(inbound))
        except (*_TRANSIENT_ERRORS, DBAPIError) as exc:
            log.warning("storage unavailable for %s: %s", inbound.client.log_id,
                        type(exc).__name__)
            return said(self.catalog.get("storage_unavailable", inbound.language))

    async def _progress(self, inbound: Inbound) -> Response:
        """/progress: a chart and three summary lines. Read-only, and drawn outside any
        transaction, so a slow render never holds the database."""
        days = 90 if inbound.button == PROGRESS_PREFIX + "90" else 30
        now = self.clock()
        language = base_language(inbound.language)
        async with self.database.read() as session:
            client = await find_client(session, inbound.client)
            if client is not None:
                language = client.language
                data = await load_progress(session, client.id, now - timedelta(days=days))
        if client is None or data.is_empty():
            return said(self.catalog.get("progress_empty", language))
        picture = await asyncio.to_thread(render_progress_png, data, now=now, days=days,
                                          language=language)
        caption = "\n".join(summary_lines(data, now=now, language=language))
        other = 30 if days == 90 else 90
        response = Response()
        response.messages.append(Outbound(caption, (
            (self.catalog.get("progress_other_window", language, days=other),
             PROGRESS_PREFIX + str(other)),), photo=picture))
        return response

    # -- one transaction per inbound ------------------------------------------------------

    async def _with_retries(self, work: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(DB_ATTEMPTS):
            try:
                return await work()
            except _RETRIED_ERRORS:
                if attempt == DB_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(DB_RETRY_DELAYS[min(attempt, len(DB_RETRY_DELAYS) - 1)])
        raise AssertionError("unreachable")

    async def _in_transaction(self, inbound: Inbound) -> Response:
        async with self.database.transaction() as session:
            client = await find_client(session, inbound.client, lock=True)
            if client is None:
                client = await create_client(session, inbound.client, inbound.language,
                                             self.clock())
            self.safety.remember(inbound.client, client)
            if _already_handled(client, inbound):
                return Response()
            if client.blocked_at is not None:
                await self._unblock(session, client)
            client.last_update_id = inbound.update_id or client.last_update_id
            client.last_active_at = self.clock()
            if inbound.client.chat_id is not None:
                client.chat_id = inbound.client.chat_id
            turn = Turn(session, client, inbound)
            if inbound.button is not None:
                return await self._button(turn, inbound.button)
            if inbound.command is not None:
                return await self._command(turn, inbound.command)
            # A caption is screened above but is not an answer: a photo is not typed text.
            return await self._answer(turn, Answer(text=None if inbound.has_media
                                                   else inbound.text))

    async def _unblock(self, session: AsyncSession, client: Client) -> None:
        """A client who blocked the bot wrote again: their reminders resume from now."""
        client.blocked_at = None
        for reminder in await ReminderRepository(session).for_client(client.id):
            if reminder.enabled:
                schedule_next(reminder, client, self.clock())

    # -- commands -------------------------------------------------------------------------

    async def _command(self, turn: Turn, command: str) -> Response:
        sessions = FlowSessionRepository(turn.session)
        current = await sessions.current(turn.client.id)
        if current is not None and current.status == "cancelling" and command != "cancel":
            await self.runner.finish_cancel(turn, current, keep=True)
        lang = turn.language
        turn.client.pending_question = None  # a command moves on from any open question
        if command == "country":
            return self._ask_country(turn)
        if command in DESK_COMMANDS:
            return await self._desk_command(turn, command)
        if command == "reminders":
            if turn.client.consent != "given":
                return said(self.catalog.get("consent_needed", lang))
            return await self.reminders.overview(turn.session, turn.client)
        if command == "start":
            response = said(self.catalog.get("welcome", lang))
            response.say(self.catalog.get("consent_question", lang), (
                (self.catalog.get("consent_yes", lang), CONSENT_YES),
                (self.catalog.get("consent_no", lang), CONSENT_NO)))
            return response
        if command == "help":
            return said(self._help(lang))
        if command == "language":
            return said(self.catalog.get("language_question", lang), tuple(
                (self.catalog.get("language_name", code), LANGUAGE_PREFIX + code)
                for code in self.catalog.languages))
        if command == "cancel":
            return await self.runner.cancel(turn)
        flow = self.flows.for_command(command)
        if flow is None:
            return said(self.catalog.get("unknown_command", lang))
        if flow.requires_consent and turn.client.consent != "given":
            return said(self.catalog.get("consent_needed", lang))
        if flow.show_saved and await FlowSessionRepository(turn.session).for_flow(
                turn.client.id, flow.id) is None:
            saved = await self.runner.show_saved(turn, flow)
            if saved is not None:
                return saved
        return await self.runner.open_flow(turn, flow.id)

    async def _desk_command(self, turn: Turn, command: str) -> Response:
        caller = await self._caller(turn)
        args, desk, session = turn.inbound.args, self.desk, turn.session
        if command == "therapist":
            return await desk.become_therapist(session, caller, args)
        if command == "invite":
            return await desk.invite_client(session, caller)
        if command == "clients":
            return await desk.list_clients(session, caller)
        if command == "digest":
            return await desk.digest(session, caller, args)
        if command == "link":
            return await desk.link(session, caller, args)
        if command == "unlink":
            return await desk.unlink(session, caller)
        if command == "delete":
            return desk.ask_delete(caller)
        # /export: a therapist naming a client exports theirs; anyone else gets their own.
        if caller.therapist is not None and args:
            return await desk.therapist_export(session, caller, args)
        return await desk.own_export(session, caller)

    async def _caller(self, turn: Turn) -> Caller:
        therapist = None
        if turn.client.telegram_user_id is not None:
            therapist = await TherapistRepository(turn.session).therapist_for_telegram(
                turn.client.telegram_user_id)
        return Caller(client=turn.client, therapist=therapist)

    def _help(self, language: str) -> str:
        lines = [self.catalog.get("help_intro", language)]
        lines += [self.catalog.get("help_flow_line", language, command=flow.command,
                                   description=(flow.description or flow.title).get(language))
                  for flow in self.flows.all() if flow.command]
        lines.append(self.catalog.get("help_commands", language))
        return "\n".join(lines)

    def _ask_country(self, turn: Turn) -> Response:
        turn.client.pending_question = "country"
        lang = turn.language
        buttons = tuple((self.directory.for_country(code).display_name(lang),
                         COUNTRY_PREFIX + code) for code in suggested_countries(lang))
        return said(self.catalog.get("country_question", lang), (
            *buttons, (self.catalog.get("button_skip", lang), COUNTRY_PREFIX + "skip")))

    def _set_country(self, turn: Turn, code: str | None) -> Response:
        turn.client.country = code
        turn.client.pending_question = None
        self.safety.remember(turn.inbound.client, turn.client)
        lang = turn.language
        if code is None:
            response = said(self.catalog.get("country_skipped", lang))
        else:
            name = self.directory.for_country(code).display_name(lang)
            response = said(self.catalog.get("country_set", lang, country=name))
        if turn.client.consent == "given" and turn.client.timezone is None:
            response.messages.extend(self.reminders.ask_timezone(turn.client,
                                                                 first=True).messages)
        return response

    # -- buttons --------------------------------------------------------------------------

    async def _button(self, turn: Turn, data: str) -> Response:
        lang = turn.language
        client = turn.client
        if data in (CONSENT_YES, CONSENT_NO):
            client.consent = "given" if data == CONSENT_YES else "declined"
            client.consent_changed_at = self.clock()
            if data == CONSENT_NO:
                for flow_session in await FlowSessionRepository(turn.session).all_for(client.id):
                    await FlowSessionRepository(turn.session).delete(flow_session)
            response = said(self.catalog.get(
                "consent_given" if data == CONSENT_YES else "consent_declined", lang))
            if client.country is None:
                response.messages.extend(self._ask_country(turn).messages)
            response.close_buttons = True
            return response
        if data.startswith(LANGUAGE_PREFIX):
            chosen = data.removeprefix(LANGUAGE_PREFIX)
            if chosen not in self.catalog.languages:
                return Response(notice=self.catalog.get("unknown_button", lang))
            client.language = chosen
            response = said(self.catalog.get("language_set", chosen))
            response.close_buttons = True
            return response
        if data.startswith(COUNTRY_PREFIX):
            return self._country_button(turn, data.removeprefix(COUNTRY_PREFIX))
        if data.startswith(LINK_PREFIX):
            return await self.desk.link_button(turn.session, await self._caller(turn), data)
        if data.startswith(DELETE_PREFIX):
            return await self.desk.delete_button(turn.session, await self._caller(turn), data)
        if data.startswith(PRIVATE_PREFIX):
            return await self.desk.private_button(turn.session, await self._caller(turn), data)
        if data.startswith((SETTINGS_PREFIX, REMINDER_PREFIX)):
            if client.consent != "given":
                return Response(notice=self.catalog.get("consent_needed", lang))
            if data.startswith(SETTINGS_PREFIX):
                return await self.reminders.button(turn.session, client, data)
            return await self.reminders.reminder_button(turn.session, client, data)
        if data.startswith(("s:", START_FLOW_PREFIX)):
            return await self._crisis_button(turn, data)
        current = await FlowSessionRepository(turn.session).current(client.id)
        if data in (CANCEL_KEEP, CANCEL_DISCARD):
            if current is None or current.status != "cancelling":
                return Response(notice=self.catalog.get("unknown_button", lang),
                                close_buttons=True)
            await self.runner.finish_cancel(turn, current, keep=data == CANCEL_KEEP)
            response = said(self.catalog.get(
                "cancel_kept" if data == CANCEL_KEEP else "cancel_discarded", lang))
            response.close_buttons = True
            return response
        parsed = parse_flow_button(data)
        if parsed is None or current is None or current.status != "active":
            return Response(notice=self.catalog.get("unknown_button", lang), close_buttons=True)
        shown_on_turn, button_id = parsed
        if shown_on_turn != current.turn:
            return Response(notice=self.catalog.get("stale_button", lang), close_buttons=True)
        if not self.runner.offers_button(current, button_id, lang):
            return Response(notice=self.catalog.get("unknown_button", lang))
        step_before = current.step
        response = await self._answer(turn, Answer(button=button_id))
        flow = self.flows.get(current.flow_id)
        toggled = (flow is not None and current.step == step_before and len(response.messages) == 1
                   and flow.step(step_before).kind == "multi_choice")
        response.replace_pressed = toggled
        response.close_buttons = not toggled
        return response

    def _country_button(self, turn: Turn, choice: str) -> Response:
        if choice == "skip":
            response = self._set_country(turn, None)
        elif choice in self.directory:
            response = self._set_country(turn, choice)
        else:
            return Response(notice=self.catalog.get("unknown_button", turn.language),
                            close_buttons=True)
        response.close_buttons = True
        return response

    async def _crisis_button(self, turn: Turn, data: str) -> Response:
        """The buttons under a crisis message: plan, grounding, "safe for now", "not meant"."""
        lang = turn.language
        if data == SAFETY_PLAN:
            plan = self.flows.get(SAFETY_PLAN_FLOW)
            saved = await self.runner.show_saved(turn, plan) if plan else None
            return saved or said(self.catalog.get("no_safety_plan", lang))
        if data.startswith(START_FLOW_PREFIX):
            flow = self.flows.get(data.removeprefix(START_FLOW_PREFIX))
            if flow is None:
                return Response(notice=self.catalog.get("unknown_button", lang))
            if flow.requires_consent and turn.client.consent != "given":
                return said(self.catalog.get("consent_needed", lang))
            return await self.runner.open_flow(turn, flow.id)
        for prefix, field, reply in ((SAFE_PREFIX, "safe_confirmed_at", "safe_now_ack"),
                                     (NOT_MEANT_PREFIX, "not_meant_at", "not_meant_ack")):
            if data.startswith(prefix):
                event_id = data.removeprefix(prefix)
                event = await CrisisEventRepository(turn.session).of_client(
                    turn.client.id, int(event_id)) if event_id.isdigit() else None
                # Recorded on the event, which stays open: "not what I meant" is information
                # for the therapist, not a reason to forget that the bot was worried.
                if event is not None and getattr(event, field) is None:
                    setattr(event, field, self.clock())
                response = said(self.catalog.get(reply, lang))
                response.close_buttons = True
                return response
        return Response(notice=self.catalog.get("unknown_button", lang))

    # -- answers to the current question --------------------------------------------------

    async def _answer(self, turn: Turn, answer: Answer) -> Response:
        lang = turn.language
        pending = turn.client.pending_question or ""
        if pending == "timezone" and (answer.text or turn.inbound.location):
            return await self.reminders.answer_timezone(turn.session, turn.client, answer.text,
                                                        turn.inbound.location)
        if pending.startswith("reminder_time:") and answer.text:
            return self.reminders.answer_time(turn.client, pending.partition(":")[2],
                                              answer.text)
        if turn.client.pending_question == "country" and answer.text:
            code = self.directory.find_country(answer.text)
            if code is None:
                return said(self.catalog.get("country_unknown", lang), (
                    (self.catalog.get("button_skip", lang), COUNTRY_PREFIX + "skip"),))
            return self._set_country(turn, code)
        return await self.runner.answer(turn, answer)


def suggested_countries(language: str) -> tuple[str, ...]:
    """A few likely countries as buttons; any other is typed by name."""
    if language == "es":
        return ("ES", "MX", "AR", "CO", "CL", "PE", "US")
    return ("US", "GB", "CA", "AU", "IE", "IN", "NZ")


def _already_handled(client: Client, inbound: Inbound) -> bool:
    """An update at or below the last one handled for this client is a redelivery."""
    last = client.last_update_id
    return inbound.update_id is not None and last is not None and inbound.update_id <= last
