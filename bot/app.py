"""Wiring: settings -> files (programme, flows, packs, lines) -> database -> conversation ->
Telegram application."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, TypeHandler
from telegram.request import BaseRequest

from bot.config import Settings
from bot.conversation import Conversation
from bot.pacer import ExercisePacer
from bot.programme import DEFAULT_PROGRAMME_FILE, Programme, ProgrammeError, load_programme
from bot.reminder_settings import ReminderDefaults
from bot.reminders import ReminderDispatcher
from bot.telegram_adapter import TelegramAdapter
from bot.telegram_sender import TelegramReminderSender
from bot.update_processor import PerChatUpdateProcessor
from flows.catalog import Catalog, default_catalog
from flows.crisis_lines import CrisisLineDirectory, default_directory, load_directory
from flows.definition import FlowError
from flows.exercise import Exercise, exercise_dirs, load_exercises
from flows.registry import FlowRegistry
from flows.screening import Screener, build_screener
from flows.yaml_source import line_of, load_yaml
from storage.db import Database
from storage.encrypted import configure_encryption
from storage.migrate import upgrade

log = logging.getLogger(__name__)


class ConfigurationError(Exception):
    """Something the operator must fix; its message is one line meant for them."""


@dataclass(frozen=True)
class Setup:
    """Everything read from staff-edited files, checked before the bot talks to anyone."""

    programme: Programme
    flows: FlowRegistry
    catalog: Catalog
    screener: Screener
    directory: CrisisLineDirectory
    exercises: dict[str, Exercise]


@dataclass
class Services:
    database: Database
    conversation: Conversation


def load_setup(settings: Settings) -> Setup:
    """Read and check every staff file; a problem raises an error naming file and line."""
    programme_file = settings.programme_file or DEFAULT_PROGRAMME_FILE
    programme = load_programme(programme_file)
    every_flow = FlowRegistry.load(settings.flows_dir)
    unknown = [flow_id for flow_id in programme.flows if every_flow.get(flow_id) is None]
    if unknown:
        raise ProgrammeError(programme_file, line_of(load_yaml(programme_file).root, "flows"),
                             f"flows: unknown flow '{unknown[0]}' (known: "
                             f"{', '.join(sorted(f.id for f in every_flow.all()))})")
    exercises = load_exercises(exercise_dirs(settings.flows_dir))
    _check_exercise_menus(every_flow, exercises)
    lines_file = programme.crisis.lines_file
    return Setup(
        programme=programme,
        flows=every_flow.only(programme.flows),
        catalog=default_catalog(),
        screener=build_screener(programme.crisis.packs),
        directory=load_directory(lines_file) if lines_file else default_directory(),
        exercises=exercises,
    )


def _check_exercise_menus(flows: FlowRegistry, exercises: dict[str, Exercise]) -> None:
    """Every option of a step that picks an exercise must name an exercise file."""
    for flow in flows.all():
        for step in flow.steps.values():
            if step.kind != "timed":
                continue
            menu = next((s for s in flow.steps.values() if s.save == step.exercise_from), None)
            if menu is None:
                continue
            for option in menu.options:
                if option.id not in exercises:
                    raise FlowError(flow.source, menu.line,
                                    f"step '{menu.id}': option '{option.id}' names no "
                                    f"exercise (known: {', '.join(sorted(exercises))})")


def prepare_storage(settings: Settings) -> None:
    """Encryption keys in place before any row is read or written."""
    configure_encryption(settings.key_ring())


async def open_services(settings: Settings, setup: Setup) -> Services:
    """Database ready (migrated; several processes take turns) and the conversation built."""
    prepare_storage(settings)
    if settings.uses_default_database:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database.from_url(settings.resolved_database_url())
    try:
        await upgrade(database.engine)
    except Exception:
        await database.dispose()
        raise
    conversation = Conversation(database, setup.flows, setup.catalog,
                                directory=setup.directory, screener=setup.screener,
                                default_country=setup.programme.default_country,
                                reminder_defaults=reminder_defaults(setup.programme),
                                therapist_alerts=setup.programme.therapist_alerts != "never")
    return Services(database=database, conversation=conversation)


def reminder_defaults(programme: Programme) -> ReminderDefaults:
    return ReminderDefaults(
        times=tuple(t.strftime("%H:%M") for t in programme.reminders.times),
        questionnaire_every_days={"phq9": programme.questionnaires.phq9_every_days,
                                  "gad7": programme.questionnaires.gad7_every_days})


def build_application(settings: Settings) -> Application:  # type: ignore[type-arg]
    """The bot as `cbt-companion run` starts it: staff files checked first, then services
    opened in PTB's post_init."""
    if settings.telegram_bot_token is None or not settings.telegram_bot_token.get_secret_value():
        raise ConfigurationError(
            "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and export "
            "TELEGRAM_BOT_TOKEN=<token> before 'cbt-companion run'.")
    setup = load_setup(settings)
    prepare_storage(settings)  # a malformed key stops start-up here, in one line
    adapter = TelegramAdapter(ExercisePacer(setup.exercises, setup.catalog,
                                            speed=settings.exercise_speed))
    holder: dict[str, Services] = {}

    async def on_start(application: Application) -> None:  # type: ignore[type-arg]
        services = await open_services(settings, setup)
        holder["services"] = services
        adapter.attach(services.conversation)
        dispatcher = ReminderDispatcher(
            services.database, setup.flows, setup.catalog,
            TelegramReminderSender(application.bot),
            grace=timedelta(minutes=setup.programme.reminders.grace_minutes))
        assert application.job_queue is not None
        # The JobQueue only ticks; what is due lives in the database.
        application.job_queue.run_repeating(_tick(dispatcher), interval=settings.reminder_tick,
                                            first=1.0, name="reminders")
        log.info("bot ready (database: %s, flows: %s)", services.database.engine.dialect.name,
                 ", ".join(flow.id for flow in setup.flows.all()))

    async def on_stop(application: Application) -> None:  # type: ignore[type-arg]
        services = holder.pop("services", None)
        if services is not None:
            await services.database.dispose()

    builder = telegram_builder(settings.telegram_bot_token.get_secret_value(), settings)
    application = builder.post_init(on_start).post_shutdown(on_stop).build()
    register_handlers(application, adapter)
    return application


def _tick(dispatcher: ReminderDispatcher) -> Callable[[Any], Coroutine[Any, Any, None]]:
    async def tick(context: Any) -> None:
        report = await dispatcher.tick()
        if report.claimed:
            log.info("reminders: claimed %d, sent %d, done %d, stale %d, blocked %d, failed %d",
                     report.claimed, report.sent, report.skipped_done, report.skipped_stale,
                     report.blocked, report.failed)

    return tick


def telegram_builder(token: str, settings: Settings,
                     request: BaseRequest | None = None) -> ApplicationBuilder:  # type: ignore[type-arg]
    """PTB's builder with our Bot API address and per-chat ordering (tests pass a request)."""
    builder = (
        Application.builder()
        .token(token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.base_file_url())
        .concurrent_updates(PerChatUpdateProcessor())
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    return builder


def register_handlers(application: Application, adapter: TelegramAdapter) -> None:  # type: ignore[type-arg]
    # One handler for every update: the conversation decides what each one means.
    application.add_handler(TypeHandler(Update, adapter.on_update))
    application.add_error_handler(adapter.on_error)


def run_bot(settings: Settings) -> None:
    application = build_application(settings)
    application.run_polling(allowed_updates=Update.ALL_TYPES, timeout=settings.poll_timeout,
                            drop_pending_updates=False)
