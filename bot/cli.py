"""The `cbt-companion` command line."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import tempfile
from collections.abc import Coroutine
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
import yaml
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.app import ConfigurationError, load_setup, open_services, prepare_storage, run_bot
from bot.config import Settings
from bot.conversation import utc_now
from bot.flows_cli import flows_app
from bot.messages import ClientKey
from bot.programme import DEFAULT_PROGRAMME_FILE
from bot.safety_cli import safety_app
from bot.terminal import TerminalChat
from flows.crisis import PackError
from flows.crisis_lines import DirectoryError
from flows.yaml_source import SourceError
from storage.crypto import EncryptionError, generate_key_entry
from storage.db import Database
from storage.export import CSV_TABLES, csv_zip, entries_json, table_csv
from storage.migrate import downgrade, upgrade
from storage.models import Entry, FlowSession
from storage.rekey import RekeyReport, rekey
from storage.reports.fhir import fhir_json
from storage.reports.pdf import ReportPeriod, clinician_pdf
from storage.repositories import ClientRepository, CrisisEventRepository, EntryRepository
from storage.therapists import TherapistRepository

app = typer.Typer(help="CBT Companion: homework between CBT sessions, on Telegram.",
                  no_args_is_help=True, add_completion=False)
T = TypeVar("T")
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(safety_app, name="safety")
app.add_typer(flows_app, name="flows")
config_app = typer.Typer(help="Programme configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")


def _settings() -> Settings:
    return Settings()


def _setup_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL at INFO, and Bot API URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # APScheduler logs every run of every job at INFO: one line per exercise phase.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("transitions").setLevel(logging.WARNING)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


@app.command()
def run() -> None:
    """Start the bot (long polling). Uses a SQLite file in CBT_DATA_DIR unless DATABASE_URL."""
    settings = _settings()
    _setup_logging(settings)
    try:
        run_bot(settings)
    except ConfigurationError as exc:
        raise _fail(str(exc)) from None


@app.command()
def chat(
    client: Annotated[str, typer.Option(help="Pseudonym to chat as (created if new).")]
    = "terminal",
    language: Annotated[str, typer.Option(help="Language of the texts.")] = "en",
) -> None:
    """Run the flows in this terminal: one message per line on stdin, replies on stdout."""
    settings = _settings()

    setup = load_setup(settings)

    async def main() -> None:
        services = await open_services(settings, setup)
        try:
            terminal = TerminalChat(services.conversation, setup.exercises, sys.stdin,
                                    sys.stdout, speed=settings.exercise_speed)
            await terminal.run(ClientKey(pseudonym=client), language)
        finally:
            await services.database.dispose()

    _run(main())


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply the database migrations (creates the SQLite file on the default setup)."""
    settings = _settings()
    if settings.uses_default_database:
        settings.data_dir.mkdir(parents=True, exist_ok=True)

    async def main() -> None:
        database = Database.from_url(settings.resolved_database_url())
        try:
            await upgrade(database.engine, revision)
        finally:
            await database.dispose()

    _run(main())
    typer.echo(f"database at revision {revision}")


@db_app.command("generate-key")
def db_generate_key(key_id: Annotated[str, typer.Option(help="Name of the new key.")] = "k1"
                    ) -> None:
    """Print a new encryption key entry for CBT_ENCRYPTION_KEY (see docs/encryption.md)."""
    typer.echo(generate_key_entry(key_id))


@db_app.command("rekey")
def db_rekey() -> None:
    """Re-encrypt every stored answer with the first key of CBT_ENCRYPTION_KEY."""
    settings = _settings()
    ring = settings.key_ring()
    if ring is None:
        raise _fail("CBT_ENCRYPTION_KEY is not set: nothing to encrypt with")
    prepare_storage(settings)

    async def main() -> RekeyReport:
        database = Database.from_url(settings.resolved_database_url())
        try:
            return await rekey(database, ring, [(Entry, "data"), (FlowSession, "answers")])
        finally:
            await database.dispose()

    report = _run(main())
    typer.echo(f"re-encrypted {report.re_encrypted}, encrypted (were plain) "
               f"{report.plaintext_encrypted}, already current {report.already_current}; "
               f"key now in use: {ring.current_key_id}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="Target, e.g. base.")]) -> None:
    """Undo migrations down to REVISION."""
    settings = _settings()

    async def main() -> None:
        database = Database.from_url(settings.resolved_database_url())
        try:
            await downgrade(database.engine, revision)
        finally:
            await database.dispose()

    _run(main())
    typer.echo(f"database at revision {revision}")


@app.command()
def export(
    client: Annotated[str, typer.Option(help="Telegram user id or pseudonym.")],
    format: Annotated[str, typer.Option("--format", help="csv, json, pdf or fhir.")] = "csv",
    entry_type: Annotated[str | None, typer.Option(
        "--type", help=f"One CSV table: {', '.join(CSV_TABLES)} (default: all, as a zip).")]
    = None,
    from_date: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD.")]
    = None,
    to_date: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD.")] = None,
    out: Annotated[Path | None, typer.Option(help="File to write (default: stdout).")] = None,
    tz: Annotated[str | None, typer.Option(help="IANA time zone for dates, e.g. "
                                           "Europe/Madrid (default CBT_EXPORT_TIMEZONE).")]
    = None,
) -> None:
    """Write a client's completed entries: CSV (one table, or all zipped), JSON, a PDF report
    or a FHIR R4 bundle. Every staff export is written to the audit log."""
    settings = _settings()
    if format not in ("csv", "json", "pdf", "fhir"):
        raise _fail(f"unknown format '{format}': use csv, json, pdf or fhir")
    if format == "pdf" and out is None:
        raise _fail("a PDF needs --out FILE.pdf")
    if entry_type is not None and entry_type not in CSV_TABLES:
        raise _fail(f"unknown type '{entry_type}': use one of {', '.join(CSV_TABLES)}")
    if format == "csv" and entry_type is None and out is None:
        raise _fail("all CSV tables come as one zip file: give --out FILE.zip, or --type")
    try:
        zone = ZoneInfo(tz or settings.export_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail(f"unknown time zone '{tz or settings.export_timezone}'") from None
    since = _day_start(from_date, zone, "--from")
    until = _day_start(to_date, zone, "--to", next_day=True)
    if since and until and since >= until:
        raise _fail("--from is after --to")

    prepare_storage(settings)

    async def main() -> str | bytes | None:
        database = Database.from_url(settings.resolved_database_url())
        try:
            async with database.transaction() as session:
                found = await ClientRepository(session).find(client)
                if found is None:
                    return None
                # Private entries never leave the client's own exports.
                entries = [e for e in await EntryRepository(session).completed(
                    found.id, since=since, until=until) if not e.private]
                events = await CrisisEventRepository(session).for_client(found.id)
                TherapistRepository(session).audit(
                    at=utc_now(), actor="staff:cli", action="export", client=found,
                    detail=f"format={format} from={from_date or '-'} to={to_date or '-'}")
        finally:
            await database.dispose()
        if format == "pdf":
            period = ReportPeriod(since.date() if since else None,
                                  (until - timedelta(days=1)).date() if until else None)
            return clinician_pdf(entries, events, found, period=period, zone=zone,
                                 exported_at=utc_now())
        if format == "fhir":
            return fhir_json(entries, found, exported_at=utc_now())
        if format == "json":
            return entries_json(entries, found, zone, exported_at=utc_now(),
                                period=(from_date, to_date))
        if entry_type is not None:
            return table_csv(CSV_TABLES[entry_type], entries, found, zone)
        return csv_zip(entries, found, zone)

    document = _run(main())
    if document is None:
        raise _fail(f"no client '{client}'")
    if out is None:
        assert isinstance(document, str)
        sys.stdout.write(document)
    else:
        _write_atomically(out, document)
        typer.echo(f"wrote {out}", err=True)


def _day_start(value: str | None, zone: ZoneInfo, option: str, *, next_day: bool = False
               ) -> datetime | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise _fail(f"{option} must be a date like 2026-01-31, not '{value}'") from None
    if next_day:
        day += timedelta(days=1)
    return datetime.combine(day, time.min, tzinfo=zone)


def _write_atomically(path: Path, content: str | bytes) -> None:
    """Write the whole file or nothing: a reader never sees half an export."""
    directory = path.resolve().parent
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.")
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coroutine)
    except (OperationalError, DBAPIError, OSError) as exc:
        # A connection problem's own words help the operator; any other database error is
        # named by type only, since its message can quote a value a client wrote.
        cause = getattr(exc, "orig", None) or exc
        connection = isinstance(cause, OSError) or "connect" in type(cause).__name__.lower()
        detail = f": {str(cause).splitlines()[0][:200]}" if connection and str(cause) else ""
        raise _fail(f"cannot use the database ({type(cause).__name__}{detail})") from None


therapists_app = typer.Typer(help="Therapist accounts.", no_args_is_help=True)
app.add_typer(therapists_app, name="therapists")


@therapists_app.command("invite")
def therapists_invite(
    name: Annotated[str, typer.Option(help="The therapist's name, as clients will see it.")],
    days: Annotated[int, typer.Option(help="Days the code stays valid.", min=1, max=90)] = 7,
) -> None:
    """Print a one-time code; the therapist sends /therapist CODE to the bot."""
    settings = _settings()

    async def main() -> tuple[str, datetime]:
        database = Database.from_url(settings.resolved_database_url())
        try:
            await upgrade(database.engine)
            async with database.transaction() as session:
                code, invite = await TherapistRepository(session).create_invite(
                    kind="therapist", now=utc_now(), valid_for=timedelta(days=days),
                    therapist_name=name)
                return code, invite.expires_at
        finally:
            await database.dispose()

    code, expires = _run(main())
    typer.echo(f"{code}  (for {name}; single use; expires {expires:%Y-%m-%d %H:%M} UTC; "
               f"they send: /therapist {code})")


@app.command()
def audit(
    since: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD.")] = None,
) -> None:
    """List who looked at or exported whose data, and when."""
    settings = _settings()
    start = _day_start(since, ZoneInfo("UTC"), "--since")

    async def main() -> list[str]:
        database = Database.from_url(settings.resolved_database_url())
        try:
            async with database.read() as session:
                records = await TherapistRepository(session).audit_records(start)
                return [f"{r.at:%Y-%m-%d %H:%M:%S}Z  {r.actor:<30} {r.action:<8} "
                        f"{r.client_pseudonym or '(erased)':<10} {r.detail}" for r in records]
        finally:
            await database.dispose()

    lines = _run(main())
    typer.echo("\n".join(lines) if lines else "no audit records")


@config_app.command("check")
def config_check() -> None:
    """Check every staff file and print the effective configuration (secrets hidden)."""
    settings = _settings()
    setup = load_setup(settings)
    effective = {
        "settings": {
            "database": make_url(settings.resolved_database_url()).render_as_string(
                hide_password=True),
            "telegram_api_base_url": settings.telegram_api_base_url,
            "telegram_bot_token": "set" if settings.telegram_bot_token else "NOT SET",
            "data_dir": str(settings.data_dir),
            "flows_dir": str(settings.flows_dir) if settings.flows_dir else None,
            "programme_file": str(settings.programme_file or DEFAULT_PROGRAMME_FILE),
            "export_timezone": settings.export_timezone,
        },
        "programme": setup.programme.model_dump(mode="json"),
        "flows": {flow.id: {"version": flow.version, "command": flow.command,
                            "source": flow.source} for flow in setup.flows.all()},
        "languages": setup.catalog.languages,
        "crisis_lines": {"countries": len(setup.directory),
                         "needing_review": len(setup.directory.review_items(utc_now().date()))},
    }
    typer.echo(yaml.safe_dump(effective, sort_keys=False, allow_unicode=True), nl=False)


def main() -> None:
    """Console-script entry point: operator mistakes become one line, not a traceback."""
    # Opt in to PTB's timedelta durations now rather than warn on every RetryAfter.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    try:
        app()
    except (SourceError, PackError, DirectoryError, EncryptionError) as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
