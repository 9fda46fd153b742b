"""The crisis response: screening, the calm message with the client's own crisis lines,
the event record, the therapist notice; all of it holds up with the database down."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crisis_messages import GROUNDING_FLOW, SAFETY_PLAN_FLOW, crisis_response, sos_response
from bot.messages import ClientKey, Inbound, Outbound, Response, base_language
from bot.therapy_desk import TherapyDesk
from flows.catalog import Catalog
from flows.crisis_lines import CrisisLineDirectory
from flows.registry import FlowRegistry
from flows.screening import Screener, ScreeningResult, screen_inbound_text
from storage.db import Database
from storage.models import Client
from storage.repositories import ClientRepository, CrisisEventRepository, FlowSessionRepository

log = logging.getLogger(__name__)

# A crisis response waits at most this long for the database before going out without it.
CRISIS_DB_TIMEOUT = 1.0
KNOWN_CLIENTS = 10_000
_DATABASE_ERRORS = (OperationalError, PoolTimeoutError, ConnectionError, OSError, TimeoutError,
                    DBAPIError)


class CrisisResponder:
    def __init__(self, database: Database, flows: FlowRegistry, catalog: Catalog,
                 directory: CrisisLineDirectory, desk: TherapyDesk, *,
                 clock: Callable[[], datetime], screener: Screener | None,
                 default_country: str | None) -> None:
        self.database = database
        self.flows = flows
        self.catalog = catalog
        self.directory = directory
        self.desk = desk
        self.clock = clock
        self.screener = screener
        self.default_country = default_country
        # The last known country and language of recent clients, so a crisis message still
        # shows the right lines, in the client's chosen language, while the database is down.
        self._known: OrderedDict[ClientKey, tuple[str | None, str]] = OrderedDict()

    def screen(self, inbound: Inbound) -> ScreeningResult | None:
        assert inbound.text is not None
        try:
            result = screen_inbound_text(inbound.text, self.screener)
        except Exception as exc:
            # Packs are checked at start-up, so this is a bug; the message still gets an
            # answer from the flow rather than none at all.
            log.error("crisis screening failed for %s: %s", inbound.client.log_id,
                      type(exc).__name__)
            return None
        return result if result.crisis else None

    async def respond(self, key: ClientKey, language: str, *, category: str,
                                rule: str, source: str) -> Response:
        """The crisis response: pause the flow, record the event, show the client's lines.

        Also the entry point for crisis signals found inside a flow (a questionnaire's
        self-harm item). The words and lines go out whatever the database does; the database
        work gets at most CRISIS_DB_TIMEOUT seconds.
        """
        country, language = self._known.get(key, (None, base_language(language)))
        event_id: int | None = None
        alerts: list[tuple[int, Outbound]] = []
        try:
            async with asyncio.timeout(CRISIS_DB_TIMEOUT):
                country, language, event_id, alerts = await self._record_crisis(
                    key, language, category, rule, source)
        except _DATABASE_ERRORS as exc:
            log.warning("crisis (category=%s rule=%s) for %s answered without the database: "
                        "%s", category, rule, key.log_id, type(exc).__name__)
        response = crisis_response(self.catalog, self.directory,
                                   country=country or self.default_country, language=language,
                                   event_id=event_id, flows=self.crisis_flows())
        response.also.extend(alerts)
        return response

    async def _record_crisis(self, key: ClientKey, language: str, category: str, rule: str,
                             source: str
                             ) -> tuple[str | None, str, int, list[tuple[int, Outbound]]]:
        async with self.database.transaction() as session:
            client = await find_client(session, key, lock=True)
            if client is None:
                client = await create_client(session, key, language, self.clock())
            self.remember(key, client)
            event_id, alerts = await self.note_crisis(session, client, category=category,
                                                       rule=rule, source=source, pause=True)
            return client.country, client.language, event_id, alerts

    async def note_crisis(self, session: AsyncSession, client: Client, *, category: str,
                           rule: str, source: str, pause: bool
                           ) -> tuple[int, list[tuple[int, Outbound]]]:
        """Record a crisis event; pause the client's flow unless the flow raised it."""
        current = await FlowSessionRepository(session).current(client.id)
        interrupted = current.flow_id if current is not None else None
        if pause and current is not None and current.status == "active":
            current.status = "paused"
            current.updated_at = self.clock()
        event = await CrisisEventRepository(session).record(
            client_id=client.id, occurred_at=self.clock(), source=source, category=category,
            rule=rule, interrupted_flow_id=interrupted)
        log.info("crisis response for %s: category=%s rule=%s source=%s",
                 log_id(client), category, rule, source)
        return event.id, await self.desk.crisis_alerts(session, client, event)

    async def sos(self, inbound: Inbound) -> Response:
        country, language = self._known.get(inbound.client,
                                            (None, base_language(inbound.language)))
        try:
            async with asyncio.timeout(CRISIS_DB_TIMEOUT), self.database.read() as session:
                client = await find_client(session, inbound.client)
                if client is not None:
                    self.remember(inbound.client, client)
                    country, language = client.country, client.language
        except _DATABASE_ERRORS as exc:
            log.warning("/sos for %s answered without the database: %s",
                        inbound.client.log_id, type(exc).__name__)
        return sos_response(self.catalog, self.directory,
                            country=country or self.default_country, language=language,
                            flows=self.crisis_flows())

    def crisis_flows(self) -> frozenset[str]:
        """Which of the safety plan and grounding flows this programme offers."""
        return frozenset(flow for flow in (SAFETY_PLAN_FLOW, GROUNDING_FLOW)
                         if self.flows.get(flow) is not None)

    def remember(self, key: ClientKey, client: Client) -> None:
        """Keep the client's country and language for when the database is unreachable."""
        self._known[key] = (client.country, client.language)
        self._known.move_to_end(key)
        while len(self._known) > KNOWN_CLIENTS:
            self._known.popitem(last=False)


async def create_client(session: AsyncSession, key: ClientKey, language: str, now: datetime
                        ) -> Client:
    return await ClientRepository(session).create(
        now=now, language=base_language(language),
        telegram_user_id=key.telegram_user_id, chat_id=key.chat_id,
        pseudonym=key.pseudonym)


async def find_client(session: AsyncSession, key: ClientKey, *, lock: bool = False
                       ) -> Client | None:
    clients = ClientRepository(session)
    if key.telegram_user_id is not None:
        return await clients.for_telegram_user(key.telegram_user_id, lock=lock)
    assert key.pseudonym is not None
    return await clients.by_pseudonym(key.pseudonym, lock=lock)


def log_id(client: Client) -> str:
    """Like ClientKey.log_id: ids only, never a name or a word the client wrote."""
    return f"chat={client.chat_id}" if client.telegram_user_id is not None else "terminal"
