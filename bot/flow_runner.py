"""Running flows for a client inside one transaction: open, resume, answer, cancel, save."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.crisis_messages import START_FLOW_PREFIX, crisis_response
from bot.crisis_response import CrisisResponder
from bot.messages import ExerciseTimer, Inbound, Outbound, Response, said
from bot.therapy_desk import PRIVATE_PREFIX
from flows.catalog import Catalog
from flows.definition import FlowDefinition
from flows.engine import Answer, FlowEngine, FlowState, Reply, parse_exercise_result
from flows.registry import FlowRegistry
from storage.models import Client, Entry, FlowSession
from storage.repositories import EntryRepository, FlowSessionRepository

# Flow buttons carry the turn they were shown on, so a tap on an old question's button is
# recognised as stale instead of answering the current question.
FLOW_PREFIX = "f"
CANCEL_KEEP, CANCEL_DISCARD = "x:k", "x:d"


@dataclass(frozen=True)
class Turn:
    """What one transaction works with."""

    session: AsyncSession
    client: Client
    inbound: Inbound

    @property
    def language(self) -> str:
        return self.client.language


class FlowRunner:
    def __init__(self, flows: FlowRegistry, catalog: Catalog, clock: Callable[[], datetime],
                 safety: CrisisResponder) -> None:
        self.flows = flows
        self.catalog = catalog
        self.engine = FlowEngine(catalog)
        self.clock = clock
        self.safety = safety

    async def show_saved(self, turn: Turn, flow: FlowDefinition) -> Response | None:
        """The client's latest entry of this flow (a safety plan), with a way to redo it."""
        entry = await EntryRepository(turn.session).latest_completed(turn.client.id, flow.id)
        if entry is None or entry.completed_at is None:
            return None
        lang = turn.language
        response = said(self.catalog.get("saved_entry_intro", lang,
                                          date=entry.completed_at.date().isoformat()))
        saved_under = self.flows.get(entry.flow_id)
        response.say(self.engine.summary(saved_under or flow, entry.data, lang), (
            (self.catalog.get("button_new_entry", lang), START_FLOW_PREFIX + flow.id),))
        return response

    async def open_flow(self, turn: Turn, flow_id: str) -> Response:
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
            await self.keep_draft(turn, existing)
            await sessions.delete(existing)
            await turn.session.flush()
            response.say(self.catalog.get("flow_restarted", turn.language))
            existing = None
        if existing is not None:
            existing.status = "active"
            existing.updated_at = now
            response.say(self.catalog.get("resume", turn.language))
            self.show(response, existing.turn,
                       self.engine.prompt(flow, state_of(existing), turn.language),
                       turn.language)
            return response
        outcome = self.engine.start(flow, turn.language)
        sessions.add(FlowSession(
            client_id=turn.client.id, flow_id=flow.id, flow_version=flow.version,
            status="active", step=outcome.state.step, cursor=outcome.state.cursor,
            turn=outcome.state.turn, answers=dict(outcome.state.answers), started_at=now,
            updated_at=now))
        for reply in outcome.replies:
            self.show(response, outcome.state.turn, reply, turn.language)
        return response

    async def cancel(self, turn: Turn) -> Response:
        lang = turn.language
        current = await FlowSessionRepository(turn.session).current(turn.client.id)
        if current is None:
            return said(self.catalog.get("cancel_nothing", lang))
        if not _has_answers(current):
            await FlowSessionRepository(turn.session).delete(current)
            return said(self.catalog.get("cancel_stopped", lang))
        current.status = "cancelling"
        current.updated_at = self.clock()
        return said(self.catalog.get("cancel_ask", lang), (
            (self.catalog.get("cancel_keep", lang), CANCEL_KEEP),
            (self.catalog.get("cancel_discard", lang), CANCEL_DISCARD)))

    async def finish_cancel(self, turn: Turn, current: FlowSession, *, keep: bool) -> None:
        if keep:
            await self.keep_draft(turn, current)
        await FlowSessionRepository(turn.session).delete(current)
        await turn.session.flush()

    async def keep_draft(self, turn: Turn, flow_session: FlowSession) -> None:
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

    def offers_button(self, current: FlowSession, button_id: str, language: str) -> bool:
        """Whether the current question really shows this button (callback data is forgeable)."""
        flow = self.flows.get(current.flow_id)
        if flow is None or flow.version != current.flow_version:
            return True  # _answer keeps the answers as a draft and restarts the flow
        if flow.step(current.step).kind == "timed":
            return parse_exercise_result(button_id) is not None
        prompt = self.engine.prompt(flow, state_of(current), language)
        return any(button.id == button_id for button in prompt.buttons)

    async def answer(self, turn: Turn, answer: Answer) -> Response:
        """An answer to the client's current flow question (or a nudge when there is none)."""
        lang = turn.language
        sessions = FlowSessionRepository(turn.session)
        current = await sessions.current(turn.client.id)
        if current is None:
            return said(self.catalog.get("no_flow", lang))
        if current.status == "cancelling":
            return said(self.catalog.get("choose_button", lang), (
                (self.catalog.get("cancel_keep", lang), CANCEL_KEEP),
                (self.catalog.get("cancel_discard", lang), CANCEL_DISCARD)))
        flow = self.flows.get(current.flow_id)
        if flow is None or flow.version != current.flow_version:
            # The flow changed (or was removed) since this session began: never lose answers.
            await self.keep_draft(turn, current)
            await sessions.delete(current)
            if flow is None:
                return said(self.catalog.get("flow_restarted", lang))
            await turn.session.flush()
            response = await self.open_flow(turn, flow.id)
            response.messages.insert(0, Outbound(self.catalog.get("flow_restarted", lang)))
            return response
        outcome = self.engine.handle(flow, state_of(current), answer, lang)
        response = Response()
        for alert in outcome.alerts[:1]:
            # A questionnaire answer that calls for the crisis response gets it at once; the
            # questionnaire itself carries on after it.
            event_id, alerts = await self.safety.note_crisis(
                turn.session, turn.client, category=alert.category, rule=alert.rule,
                source="questionnaire", pause=False)
            response.also.extend(alerts)
            response.messages.extend(crisis_response(
                self.catalog, self.safety.directory,
                country=turn.client.country or self.safety.default_country, language=lang,
                event_id=event_id, flows=self.safety.crisis_flows()).messages)
        follow_up: str | None = None
        saved: Entry | None = None
        if outcome.finished and not flow.store:
            await sessions.delete(current)
        elif outcome.finished and outcome.entry is not None:
            now = self.clock()
            entries = EntryRepository(turn.session)
            previous = await entries.latest_completed(turn.client.id, flow.id)
            saved = await entries.add(
                client_id=turn.client.id, entry_type=flow.entry_type, flow_id=flow.id,
                flow_version=flow.version, status="completed", data=dict(outcome.entry),
                started_at=current.started_at, completed_at=now, now=now)
            await sessions.delete(current)
            if flow.scoring:
                follow_up = self.score_change(previous, outcome.entry, lang)
        elif outcome.accepted:
            current.step = outcome.state.step
            current.cursor = outcome.state.cursor
            current.turn = outcome.state.turn
            current.answers = dict(outcome.state.answers)
            current.updated_at = self.clock()
        for reply in outcome.replies:
            self.show(response, outcome.state.turn, reply, turn.language)
        if follow_up:
            response.say(follow_up)
        if saved is not None:  # a stored entry can be kept from any therapist's eyes
            last = response.messages[-1]
            response.messages[-1] = replace(last, buttons=(*last.buttons, (
                self.catalog.get("button_private", lang), f"{PRIVATE_PREFIX}{saved.id}")))
        return response

    def score_change(self, previous: Entry | None, entry: Mapping[str, Any],
                      language: str) -> str:
        """How a questionnaire total compares with the client's previous one."""
        before = previous.data.get("total") if previous is not None else None
        if previous is None or previous.completed_at is None or not isinstance(before, int):
            return self.catalog.get("score_first", language)
        return self.catalog.get("score_change", language,
                                date=previous.completed_at.date().isoformat(),
                                previous=before, change=f"{int(entry['total']) - before:+d}")

    def show(self, response: Response, turn_number: int, reply: Reply,
              language: str) -> None:
        buttons = tuple((button.label, flow_button(turn_number, button.id))
                        for button in reply.buttons)
        timer = ExerciseTimer(reply.timer, turn_number, language) if reply.timer else None
        response.messages.append(Outbound(reply.text, buttons, timer=timer))


def state_of(flow_session: FlowSession) -> FlowState:
    return FlowState(step=flow_session.step, answers=dict(flow_session.answers),
                     cursor=flow_session.cursor, turn=flow_session.turn)


def _has_answers(flow_session: FlowSession) -> bool:
    return any(not key.startswith("_") for key in flow_session.answers)


def flow_button(turn: int, button_id: str) -> str:
    """Callback data of a flow button: the turn it was shown on, then the button's id."""
    return f"{FLOW_PREFIX}:{turn}:{button_id}"


def parse_flow_button(data: str) -> tuple[int, str] | None:
    """(turn, button id) from flow button data; None for anything else or forged."""
    prefix, _, rest = data.partition(":")
    turn_text, _, button_id = rest.partition(":")
    if prefix != FLOW_PREFIX or not turn_text.isdigit() or not button_id:
        return None
    return int(turn_text), button_id
