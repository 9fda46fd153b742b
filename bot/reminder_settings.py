"""/reminders: time zone, which homework, what time, which days, quiet hours, snooze, skip.

Every answer lands in the client's rows at once; the next due time is computed from their
IANA zone, so a reminder at 08:30 stays at 08:30 local across daylight-saving changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import Response, said
from bot.reminders import (
    REMINDER_PREFIX,
    SKIP_ACTION,
    SNOOZE_ACTIONS,
    quiet_of,
    rule_of,
    schedule_next,
    zone_of,
)
from flows.catalog import Catalog
from flows.registry import FlowRegistry
from flows.schedule import parse_local_time, skip_today, snooze_until
from flows.timezones import resolve_timezone, zone_for_location, zones_of_country
from storage.models import Client, Reminder
from storage.reminders import ReminderRepository

SETTINGS_PREFIX = "rs:"
# Homework a client can be reminded of, when the programme offers the flow.
REMINDABLE = ("thought_record", "mood", "relax")
QUESTIONNAIRES = ("phq9", "gad7")
DAY_SETS = {"all": tuple(range(7)), "wk": (0, 1, 2, 3, 4), "we": (5, 6)}
QUIET_CHOICES = (("22:00", "07:00"), ("23:00", "08:00"))
TIME_BUTTONS = ("08:00", "13:00", "20:00")


@dataclass(frozen=True)
class ReminderDefaults:
    times: tuple[str, ...]
    questionnaire_every_days: dict[str, int]


class ReminderSettings:
    def __init__(self, catalog: Catalog, flows: FlowRegistry, defaults: ReminderDefaults,
                 clock: Callable[[], datetime]) -> None:
        self.catalog = catalog
        self.flows = flows
        self.defaults = defaults
        self.clock = clock

    # -- overview ---------------------------------------------------------------------------

    async def overview(self, session: AsyncSession, client: Client) -> Response:
        lang = client.language
        get = self.catalog.get
        if client.timezone is None:
            return self.ask_timezone(client, first=True)
        lines = [get("reminders_intro", lang, zone=client.timezone,
                     now=self.clock().astimezone(zone_of(client)).strftime("%H:%M"))]
        reminders = {r.flow_id: r for r in await ReminderRepository(session).for_client(
            client.id) if r.enabled}
        for flow_id in (*self._remindable(), *self._questionnaires()):
            reminder = reminders.get(flow_id)
            title = self._title(flow_id, lang)
            lines.append(get("reminders_line", lang, title=title,
                             when=self._describe(reminder, lang) if reminder else
                             get("reminders_off", lang)))
        quiet = quiet_of(client)
        lines.append(get("reminders_quiet", lang,
                         hours=f"{client.quiet_start}-{client.quiet_end}" if quiet else
                         get("reminders_off", lang)))
        buttons = [(self._title(f, lang), f"{SETTINGS_PREFIX}f:{f}") for f in self._remindable()]
        if self._questionnaires():
            buttons.append((get("button_questionnaires", lang), f"{SETTINGS_PREFIX}qn"))
        buttons += [(get("button_timezone", lang), f"{SETTINGS_PREFIX}tz"),
                    (get("button_quiet_hours", lang), f"{SETTINGS_PREFIX}q")]
        return said("\n".join(lines), buttons)

    def _describe(self, reminder: Reminder, lang: str) -> str:
        times = ", ".join(reminder.times)
        if reminder.every_days > 1:
            return self.catalog.get("reminders_every_days", lang, days=reminder.every_days,
                                    times=times)
        days = next((k for k, v in DAY_SETS.items() if list(v) == reminder.weekdays), "all")
        return self.catalog.get(f"reminders_days_{days}", lang, times=times)

    # -- time zone --------------------------------------------------------------------------

    def ask_timezone(self, client: Client, *, first: bool = False) -> Response:
        client.pending_question = "timezone"
        lang = client.language
        suggestions = zones_of_country(client.country)[:6] if client.country else ()
        key = "timezone_question_first" if first else "timezone_question"
        return said(self.catalog.get(key, lang), [
            (zone.rsplit("/", 1)[-1].replace("_", " "), f"{SETTINGS_PREFIX}z:{zone}")
            for zone in suggestions])

    async def set_timezone(self, session: AsyncSession, client: Client, zone: str) -> Response:
        client.timezone = zone
        client.pending_question = None
        now = self.clock()
        for reminder in await ReminderRepository(session).for_client(client.id):
            if reminder.enabled:
                schedule_next(reminder, client, now)
        local = now.astimezone(zone_of(client)).strftime("%H:%M")
        response = said(self.catalog.get("timezone_set", client.language, zone=zone,
                                          now=local), close=True)
        if client.consent == "given" and not await ReminderRepository(session).for_client(
                client.id):
            response.messages.extend(self._offer_default(client).messages)
        return response

    async def answer_timezone(self, session: AsyncSession, client: Client, text: str | None,
                              location: tuple[float, float] | None) -> Response:
        zone = None
        if location is not None:
            zone = zone_for_location(location[0], location[1], client.country, self.clock())
        elif text:
            zone = resolve_timezone(text, self.clock())
        if zone is None:
            return said(self.catalog.get("timezone_unknown", client.language))
        return await self.set_timezone(session, client, zone)

    def _offer_default(self, client: Client) -> Response:
        lang = client.language
        flow_id = self._remindable()[0] if self._remindable() else None
        if flow_id is None:
            return Response()
        at = self.defaults.times[0]
        return said(self.catalog.get("reminder_offer", lang, title=self._title(flow_id, lang),
                                      time=at), [
            (self.catalog.get("button_yes_remind", lang),
             f"{SETTINGS_PREFIX}d:{flow_id}:all:{at.replace(':', '')}"),
            (self.catalog.get("button_not_now", lang), f"{SETTINGS_PREFIX}no")])

    # -- one homework -----------------------------------------------------------------------

    def ask_time(self, client: Client, flow_id: str) -> Response:
        client.pending_question = f"reminder_time:{flow_id}"
        lang = client.language
        return said(self.catalog.get("reminder_time_question", lang,
                                      title=self._title(flow_id, lang)), [
            *((t, f"{SETTINGS_PREFIX}t:{flow_id}:{t.replace(':', '')}") for t in TIME_BUTTONS),
            (self.catalog.get("button_turn_off", lang), f"{SETTINGS_PREFIX}off:{flow_id}")])

    def answer_time(self, client: Client, flow_id: str, text: str) -> Response:
        times = [parse_local_time(part) for part in text.replace(";", ",").split(",")]
        if not times or any(t is None for t in times) or len(times) > 4:
            return said(self.catalog.get("reminder_time_unknown", client.language))
        return self.ask_days(client, flow_id, [t for t in times if t is not None])

    def ask_days(self, client: Client, flow_id: str, times: Sequence[time]) -> Response:
        client.pending_question = None
        lang = client.language
        compact = "-".join(sorted({t.strftime("%H%M") for t in times}))
        return said(self.catalog.get("reminder_days_question", lang), [
            (self.catalog.get(f"button_days_{key}", lang),
             f"{SETTINGS_PREFIX}d:{flow_id}:{key}:{compact}") for key in DAY_SETS], close=True)

    async def save(self, session: AsyncSession, client: Client, flow_id: str,
                   times: Sequence[str], weekdays: Sequence[int], every_days: int = 1
                   ) -> Response:
        reminders = ReminderRepository(session)
        reminder = await reminders.for_flow(client.id, flow_id)
        if reminder is None:
            reminder = Reminder(client_id=client.id, flow_id=flow_id, times=[], weekdays=[],
                                status="idle", attempts=0)
            reminders.add(reminder)
        reminder.times = sorted(set(times))
        reminder.weekdays = sorted(set(weekdays))
        reminder.every_days = every_days
        reminder.anchor = self.clock().astimezone(zone_of(client)).date().isoformat() \
            if every_days > 1 else None
        reminder.enabled = True
        schedule_next(reminder, client, self.clock())
        assert reminder.next_due_at is not None
        local = reminder.next_due_at.astimezone(zone_of(client))
        return said(self.catalog.get("reminder_saved", client.language,
                                      title=self._title(flow_id, client.language),
                                      next=_local_label(local)), close=True)

    async def turn_off(self, session: AsyncSession, client: Client, flow_ids: Sequence[str]
                       ) -> Response:
        for flow_id in flow_ids:
            reminder = await ReminderRepository(session).for_flow(client.id, flow_id)
            if reminder is not None:
                reminder.enabled = False
                reminder.next_due_at = None
        client.pending_question = None
        return said(self.catalog.get("reminder_off", client.language), close=True)

    # -- buttons ----------------------------------------------------------------------------

    async def button(self, session: AsyncSession, client: Client, data: str) -> Response:
        """Settings buttons (rs:...); forged or stale data gets a notice, changes nothing."""
        lang = client.language
        parts = data.removeprefix(SETTINGS_PREFIX).split(":")
        action, args = parts[0], parts[1:]
        flows = set(self._remindable()) | set(self._questionnaires())
        if action == "tz":
            return self.ask_timezone(client)
        if action == "z" and args and resolve_timezone(":".join(args), self.clock()):
            return await self.set_timezone(session, client, ":".join(args))
        if action == "f" and args and args[0] in self._remindable():
            if client.timezone is None:
                return self.ask_timezone(client, first=True)
            return self.ask_time(client, args[0])
        if action == "t" and len(args) == 2 and args[0] in flows:
            parsed = parse_local_time(f"{args[1][:2]}:{args[1][2:]}")
            if parsed is not None:
                return self.ask_days(client, args[0], [parsed])
        if action == "d" and len(args) == 3 and args[0] in flows and args[1] in DAY_SETS:
            times = [parse_local_time(f"{t[:2]}:{t[2:]}") for t in args[2].split("-")]
            if times and all(t is not None for t in times):
                return await self.save(session, client, args[0],
                                       [t.strftime("%H:%M") for t in times if t is not None],
                                       DAY_SETS[args[1]])
        if action == "off" and args and args[0] in flows:
            return await self.turn_off(session, client, [args[0]])
        if action == "qn":
            return self._questionnaire_choice(client)
        if action == "qon":
            response = Response(close_buttons=True)
            for flow_id in self._questionnaires():
                saved = await self.save(session, client, flow_id, [self.defaults.times[0]],
                                        DAY_SETS["all"],
                                        self.defaults.questionnaire_every_days.get(flow_id, 14))
                response.messages.extend(saved.messages)
            return response
        if action == "qoff":
            return await self.turn_off(session, client, self._questionnaires())
        if action == "q":
            return said(self.catalog.get("quiet_question", lang), [
                *((f"{a} - {b}", f"{SETTINGS_PREFIX}qh:{a.replace(':', '')}-{b.replace(':', '')}")
                  for a, b in QUIET_CHOICES),
                (self.catalog.get("button_turn_off", lang), f"{SETTINGS_PREFIX}qh:none")])
        if action == "qh" and args:
            return await self._set_quiet(session, client, args[0])
        if action == "no":
            return said(self.catalog.get("reminder_not_now", lang), close=True)
        return Response(notice=self.catalog.get("unknown_button", lang))

    def _questionnaire_choice(self, client: Client) -> Response:
        lang = client.language
        days = max(self.defaults.questionnaire_every_days.values(), default=14)
        return said(self.catalog.get("questionnaire_reminder_question", lang, days=days,
                                      time=self.defaults.times[0]), [
            (self.catalog.get("button_turn_on", lang), f"{SETTINGS_PREFIX}qon"),
            (self.catalog.get("button_turn_off", lang), f"{SETTINGS_PREFIX}qoff")])

    async def _set_quiet(self, session: AsyncSession, client: Client, value: str) -> Response:
        if value == "none":
            client.quiet_start = client.quiet_end = None
        else:
            start, _, end = value.partition("-")
            first = parse_local_time(f"{start[:2]}:{start[2:]}")
            last = parse_local_time(f"{end[:2]}:{end[2:]}")
            if first is None or last is None or first == last:
                return Response(notice=self.catalog.get("unknown_button", client.language))
            client.quiet_start, client.quiet_end = first.strftime("%H:%M"), last.strftime("%H:%M")
        now = self.clock()
        for reminder in await ReminderRepository(session).for_client(client.id):
            if reminder.enabled:
                schedule_next(reminder, client, now)
        return said(self.catalog.get("quiet_set", client.language), close=True)

    # -- under a reminder: snooze and skip --------------------------------------------------

    async def reminder_button(self, session: AsyncSession, client: Client, data: str
                              ) -> Response:
        lang = client.language
        action, _, rid = data.removeprefix(REMINDER_PREFIX).partition(":")
        reminder = await ReminderRepository(session).of_client(client.id, int(rid)) \
            if rid.isdigit() else None
        if reminder is None or not reminder.enabled:
            return Response(notice=self.catalog.get("unknown_button", lang), close_buttons=True)
        now, zone = self.clock(), zone_of(client)
        if action in SNOOZE_ACTIONS:
            due = snooze_until(SNOOZE_ACTIONS[action], zone, now, quiet_of(client))
        elif action == SKIP_ACTION:
            due = skip_today(rule_of(reminder), zone, now, quiet_of(client))
        else:
            return Response(notice=self.catalog.get("unknown_button", lang))
        reminder.next_due_at, reminder.status, reminder.claimed_by = due, "idle", None
        key = "reminder_snoozed" if action in SNOOZE_ACTIONS else "reminder_skipped"
        return said(self.catalog.get(key, lang, next=_local_label(due.astimezone(zone))),
                     close=True)

    # -- helpers ----------------------------------------------------------------------------

    def _remindable(self) -> tuple[str, ...]:
        return tuple(f for f in REMINDABLE if self.flows.get(f) is not None)

    def _questionnaires(self) -> tuple[str, ...]:
        return tuple(f for f in QUESTIONNAIRES if self.flows.get(f) is not None)

    def _title(self, flow_id: str, lang: str) -> str:
        flow = self.flows.get(flow_id)
        return flow.title.get(lang) if flow else flow_id


def _local_label(moment: datetime) -> str:
    """Local date and time, unambiguous in any language: 2026-11-29 20:00."""
    return moment.strftime("%Y-%m-%d %H:%M")
