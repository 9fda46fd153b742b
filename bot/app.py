"""Wiring: settings -> database -> flows -> conversation -> Telegram application."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, TypeHandler
from telegram.request import BaseRequest

from bot.config import Settings
from bot.conversation import Conversation
from bot.telegram_adapter import TelegramAdapter
from bot.update_processor import PerChatUpdateProcessor
from flows.catalog import Catalog, default_catalog
from flows.registry import FlowRegistry
from flows.screening import prepare_screening
from storage.db import Database
from storage.migrate import upgrade

log = logging.getLogger(__name__)


class ConfigurationError(Exception):
    """Something the operator must fix; its message is one line meant for them."""


@dataclass
class Services:
    database: Database
    conversation: Conversation


def load_flows(settings: Settings) -> tuple[FlowRegistry, Catalog]:
    return FlowRegistry.load(settings.flows_dir), default_catalog()


async def open_services(settings: Settings) -> Services:
    """Database ready (migrated when it is the embedded default), flows loaded."""
    flows, catalog = load_flows(settings)
    prepare_screening()
    if settings.uses_default_database:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database.from_url(settings.resolved_database_url())
    try:
        await upgrade(database.engine)
    except Exception:
        await database.dispose()
        raise
    return Services(database=database, conversation=Conversation(database, flows, catalog))


def build_application(settings: Settings) -> Application:  # type: ignore[type-arg]
    """The bot as `cbt-companion run` starts it: services opened in PTB's post_init."""
    if settings.telegram_bot_token is None or not settings.telegram_bot_token.get_secret_value():
        raise ConfigurationError(
            "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and export "
            "TELEGRAM_BOT_TOKEN=<token> before 'cbt-companion run'.")
    adapter = TelegramAdapter()
    holder: dict[str, Services] = {}

    async def on_start(application: Application) -> None:  # type: ignore[type-arg]
        services = await open_services(settings)
        holder["services"] = services
        adapter.attach(services.conversation)
        log.info("bot ready (database: %s)", services.database.engine.dialect.name)

    async def on_stop(application: Application) -> None:  # type: ignore[type-arg]
        services = holder.pop("services", None)
        if services is not None:
            await services.database.dispose()

    builder = telegram_builder(settings.telegram_bot_token.get_secret_value(), settings)
    application = builder.post_init(on_start).post_shutdown(on_stop).build()
    register_handlers(application, adapter)
    return application


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
