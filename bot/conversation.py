"""One client message in, the replies out: screening, then one transaction on the database.

Both the Telegram adapter and the terminal chat call ``Conversation.handle``; neither keeps
any conversation state of its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import ClientKey, Inbound, Outbound, Response, base_language
from flows.catalog import Catalog
from flows.engine import Answer, FlowEngine, FlowState, Reply
from flows.registry import FlowRegistry
from flows.screening import screen_inbound_text
from storage.db import Database
from storage.models import Client, FlowSession
from storage.repositories import ClientRepository, EntryRepository, FlowSessionRepository

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
T = TypeVar("T")

# Callback data prefixes. Flow buttons carry the turn they were shown on, so a tap on an old
# question's button is recognised as stale instead of answering the current question.
FLOW_PREFIX = "f"
CONSENT_YES, CONSENT_NO = "c:y", "c:n"
CANCEL_KEEP, CANCEL_DISCARD = "x:k", "x:d"
# Transient database failures are retried this many times before the client is told.
DB_ATTEMPTS = 3
DB_RETRY_DELAYS = (0.2, 0.8)
_TRANSIENT_ERRORS = (OperationalError, PoolTimeoutError, ConnectionError, OSError, TimeoutError)
# Two processes creating the same new client at once: the loser's retry finds the row.
_RETRIED_ERRORS = (*_TRANSIENT_ERRORS, IntegrityError)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _Turn:
    """What one transaction works with."""

    session: AsyncSession
    client: Client
    inbound: Inbound

    @property
    def language(self) -> str:
        return self.client.language


class Conversation:
    def __init__(self, database: Database, flows: FlowRegistry, catalog: Catalog,
                 clock: Clock = utc_now) -> None:
        self.database = database
        self.flows = flows
        self.catalog = catalog
        self.engine = FlowEngine(catalog)
        self.clock = clock

    async def handle(self, inbound: Inbound) -> Response:
        if inbound.text and self._is_crisis(inbound):
            return await self._crisis(inbound)
        if inbound.edited:
            return Response()  # an edit changes no answer; it was screened above
        if inbound.command == "sos":
            return self._sos(inbound.language)
        try:
            return await self._with_retries(lambda: self._in_transaction(inbound))
        except (*_TRANSIENT_ERRORS, DBAPIError) as exc:
            log.warning("storage unavailable for %s: %s", inbound.client.log_id,
                        type(exc).__name__)
            return _said(self.catalog.get("storage_unavailable", inbound.language))

    # -- safety ---------------------------------------------------------------------------

    def _is_crisis(self, inbound: Inbound) -> bool:
        assert inbound.text is not None
        try:
            return screen_inbound_text(inbound.text).crisis
        except Exception as exc:
            # Packs are checked at start-up, so this is a bug; the message still gets an
            # answer from the flow rather than none at all.
            log.error("crisis screening failed for %s: %s", inbound.client.log_id,
                      type(exc).__name__)
            return False

    def _sos(self, language: str) -> Response:
        return _said(self.catalog.get("sos", language))

    async def _crisis(self, inbound: Inbound) -> Response:
        language = inbound.language
        response = _said(self.catalog.get("crisis_response", language))
        response.say(self.catalog.get("sos", language))
        try:
            await self._pause_current_flow(inbound.client)
        except (*_TRANSIENT_ERRORS, DBAPIError) as exc:
            # The crisis message goes out whatever the database does.
            log.warning("could not pause flow after crisis for %s: %s",
                        inbound.client.log_id, type(exc).__name__)
        return response

    async def _pause_current_flow(self, key: ClientKey) -> None:
        async with self.database.transaction() as session:
            client = await self._find_client(session, key)
            if client is None:
                return
            current = await FlowSessionRepository(session).current(client.id)
            if current is not None and current.status == "active":
                current.status = "paused"
                current.updated_at = self.clock()

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
            client = await self._find_client(session, inbound.client, lock=True)
            if client is None:
                client = await ClientRepository(session).create(
                    now=self.clock(), language=base_language(inbound.language),
                    telegram_user_id=inbound.client.telegram_user_id,
                    chat_id=inbound.client.chat_id, pseudonym=inbound.client.pseudonym)
            if _already_handled(client, inbound):
                return Response()
            client.last_update_id = inbound.update_id or client.last_update_id
            client.last_active_at = self.clock()
            if inbound.client.chat_id is not None:
                client.chat_id = inbound.client.chat_id
            turn = _Turn(session, client, inbound)
            if inbound.button is not None:
                return await self._button(turn, inbound.button)
            if inbound.command is not None:
                return await self._command(turn, inbound.command)
            # A caption is screened above but is not an answer: a photo is not typed text.
            return await self._answer(turn, Answer(text=None if inbound.has_media
                                                   else inbound.text))

    async def _find_client(self, session: AsyncSession, key: ClientKey, *, lock: bool = False
                           ) -> Client | None:
        clients = ClientRepository(session)
        if key.telegram_user_id is not None:
            return await clients.for_telegram_user(key.telegram_user_id, lock=lock)
        assert key.pseudonym is not None
        return await clients.by_pseudonym(key.pseudonym, lock=lock)

    # -- commands -------------------------------------------------------------------------

    async def _command(self, turn: _Turn, command: str) -> Response:
        sessions = FlowSessionRepository(turn.session)
        current = await sessions.current(turn.client.id)
        if current is not None and current.status == "cancelling" and command != "cancel":
            await self._finish_cancel(turn, current, keep=True)
        lang = turn.language
        if command == "start":
            response = _said(self.catalog.get("welcome", lang))
            response.say(self.catalog.get("consent_question", lang), (
                (self.catalog.get("consent_yes", lang), CONSENT_YES),
                (self.catalog.get("consent_no", lang), CONSENT_NO)))
            return response
        if command == "help":
            return _said(self.catalog.get("help", lang))
        if command == "cancel":
            return await self._cancel(turn)
        flow = self.flows.for_command(command)
        if flow is None:
            return _said(self.catalog.get("unknown_command", lang))
        if turn.client.consent != "given":
            return _said(self.catalog.get("consent_needed", lang))
        return await self._open_flow(turn, flow.id)

    async def _open_flow(self, turn: _Turn, flow_id: str) -> Response:
        flow = self.flows.get(flow_id)
        assert flow is not None
        sessions = FlowSessionRepository(turn.session)
        now = self.clock()
        response = Response()
        for other in await sessions.all_for(turn.client.id):
            if other.flow_id != flow_id and other.status == "active":
                other.status = "paused"
                other.updated_at = now
                paused = self.flows.get(other.flow_id)
                if paused is not None and paused.command:
                    response.say(self.catalog.get("flow_paused", turn.language,
                                                  title=paused.title.get(turn.language),
                                                  command=paused.command))
        existing = await sessions.for_flow(turn.client.id, flow_id)
        if existing is not None and existing.flow_version != flow.version:
            await self._keep_draft(turn, existing)
            await sessions.delete(existing)
            await turn.session.flush()
            response.say(self.catalog.get("flow_restarted", turn.language))
            existing = None
        if existing is not None:
            existing.status = "active"
            existing.updated_at = now
            response.say(self.catalog.get("resume", turn.language))
            self._show(response, existing.turn,
                       self.engine.prompt(flow, _state_of(existing), turn.language))
            return response
        outcome = self.engine.start(flow, turn.language)
        sessions.add(FlowSession(
            client_id=turn.client.id, flow_id=flow.id, flow_version=flow.version,
            status="active", step=outcome.state.step, cursor=outcome.state.cursor,
            turn=outcome.state.turn, answers=dict(outcome.state.answers), started_at=now,
            updated_at=now))
        for reply in outcome.replies:
            self._show(response, outcome.state.turn, reply)
        return response

    async def _cancel(self, turn: _Turn) -> Response:
        lang = turn.language
        current = await FlowSessionRepository(turn.session).current(turn.client.id)
        if current is None:
            return _said(self.catalog.get("cancel_nothing", lang))
        if not _has_answers(current):
            await FlowSessionRepository(turn.session).delete(current)
            return _said(self.catalog.get("cancel_stopped", lang))
        current.status = "cancelling"
        current.updated_at = self.clock()
        return _said(self.catalog.get("cancel_ask", lang), (
            (self.catalog.get("cancel_keep", lang), CANCEL_KEEP),
            (self.catalog.get("cancel_discard", lang), CANCEL_DISCARD)))

    async def _finish_cancel(self, turn: _Turn, current: FlowSession, *, keep: bool) -> None:
        if keep:
            await self._keep_draft(turn, current)
        await FlowSessionRepository(turn.session).delete(current)
        await turn.session.flush()

    async def _keep_draft(self, turn: _Turn, flow_session: FlowSession) -> None:
        if not _has_answers(flow_session):
            return
        flow = self.flows.get(flow_session.flow_id)
        await EntryRepository(turn.session).add(
            client_id=turn.client.id,
            entry_type=flow.entry_type if flow else flow_session.flow_id,
            flow_id=flow_session.flow_id, flow_version=flow_session.flow_version,
            status="draft",
            data={k: v for k, v in flow_session.answers.items() if not k.startswith("_")},
            started_at=flow_session.started_at, completed_at=None, now=self.clock())

    # -- buttons --------------------------------------------------------------------------

    async def _button(self, turn: _Turn, data: str) -> Response:
        lang = turn.language
        client = turn.client
        if data in (CONSENT_YES, CONSENT_NO):
            client.consent = "given" if data == CONSENT_YES else "declined"
            client.consent_changed_at = self.clock()
            if data == CONSENT_NO:
                for flow_session in await FlowSessionRepository(turn.session).all_for(client.id):
                    await FlowSessionRepository(turn.session).delete(flow_session)
            response = _said(self.catalog.get(
                "consent_given" if data == CONSENT_YES else "consent_declined", lang))
            response.close_buttons = True
            return response
        current = await FlowSessionRepository(turn.session).current(client.id)
        if data in (CANCEL_KEEP, CANCEL_DISCARD):
            if current is None or current.status != "cancelling":
                return Response(notice=self.catalog.get("unknown_button", lang),
                                close_buttons=True)
            await self._finish_cancel(turn, current, keep=data == CANCEL_KEEP)
            response = _said(self.catalog.get(
                "cancel_kept" if data == CANCEL_KEEP else "cancel_discarded", lang))
            response.close_buttons = True
            return response
        parsed = _parse_flow_button(data)
        if parsed is None or current is None or current.status != "active":
            return Response(notice=self.catalog.get("unknown_button", lang), close_buttons=True)
        shown_on_turn, button_id = parsed
        if shown_on_turn != current.turn:
            return Response(notice=self.catalog.get("stale_button", lang), close_buttons=True)
        if not self._offers_button(current, button_id, lang):
            return Response(notice=self.catalog.get("unknown_button", lang))
        response = await self._answer(turn, Answer(button=button_id))
        response.close_buttons = True
        return response

    def _offers_button(self, current: FlowSession, button_id: str, language: str) -> bool:
        """Whether the current question really shows this button (callback data is forgeable)."""
        flow = self.flows.get(current.flow_id)
        if flow is None or flow.version != current.flow_version:
            return True  # _answer keeps the answers as a draft and restarts the flow
        prompt = self.engine.prompt(flow, _state_of(current), language)
        return any(button.id == button_id for button in prompt.buttons)

    # -- answers to the current question --------------------------------------------------

    async def _answer(self, turn: _Turn, answer: Answer) -> Response:
        lang = turn.language
        sessions = FlowSessionRepository(turn.session)
        current = await sessions.current(turn.client.id)
        if current is None:
            return _said(self.catalog.get("no_flow", lang))
        if current.status == "cancelling":
            return _said(self.catalog.get("choose_button", lang), (
                (self.catalog.get("cancel_keep", lang), CANCEL_KEEP),
                (self.catalog.get("cancel_discard", lang), CANCEL_DISCARD)))
        flow = self.flows.get(current.flow_id)
        if flow is None or flow.version != current.flow_version:
            # The flow changed (or was removed) since this session began: never lose answers.
            await self._keep_draft(turn, current)
            await sessions.delete(current)
            if flow is None:
                return _said(self.catalog.get("flow_restarted", lang))
            await turn.session.flush()
            response = await self._open_flow(turn, flow.id)
            response.messages.insert(0, Outbound(self.catalog.get("flow_restarted", lang)))
            return response
        outcome = self.engine.handle(flow, _state_of(current), answer, lang)
        response = Response()
        if outcome.finished and outcome.entry is not None:
            now = self.clock()
            await EntryRepository(turn.session).add(
                client_id=turn.client.id, entry_type=flow.entry_type, flow_id=flow.id,
                flow_version=flow.version, status="completed", data=dict(outcome.entry),
                started_at=current.started_at, completed_at=now, now=now)
            await sessions.delete(current)
        elif outcome.accepted:
            current.step = outcome.state.step
            current.cursor = outcome.state.cursor
            current.turn = outcome.state.turn
            current.answers = dict(outcome.state.answers)
            current.updated_at = self.clock()
        for reply in outcome.replies:
            self._show(response, outcome.state.turn, reply)
        return response

    def _show(self, response: Response, turn_number: int, reply: Reply) -> None:
        response.say(reply.text, tuple((button.label, f"{FLOW_PREFIX}:{turn_number}:{button.id}")
                                       for button in reply.buttons))


def _already_handled(client: Client, inbound: Inbound) -> bool:
    """An update at or below the last one handled for this client is a redelivery."""
    last = client.last_update_id
    return inbound.update_id is not None and last is not None and inbound.update_id <= last


def _said(text: str, buttons: tuple[tuple[str, str], ...] = ()) -> Response:
    response = Response()
    response.say(text, buttons)
    return response


def _state_of(flow_session: FlowSession) -> FlowState:
    return FlowState(step=flow_session.step, answers=dict(flow_session.answers),
                     cursor=flow_session.cursor, turn=flow_session.turn)


def _has_answers(flow_session: FlowSession) -> bool:
    return any(not key.startswith("_") for key in flow_session.answers)


def _parse_flow_button(data: str) -> tuple[int, str] | None:
    prefix, _, rest = data.partition(":")
    turn_text, _, button_id = rest.partition(":")
    if prefix != FLOW_PREFIX or not turn_text.isdigit() or not button_id:
        return None
    return int(turn_text), button_id

