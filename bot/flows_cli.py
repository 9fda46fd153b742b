"""`cbt-companion flows ...`: what programme staff use to check, draw and try flow files."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.config import Settings
from flows.catalog import default_catalog
from flows.diagram import to_dot, to_mermaid
from flows.registry import FlowRegistry
from flows.validation import packaged_and_staff, validate

flows_app = typer.Typer(help="Check, draw and try flow files.", no_args_is_help=True)


@flows_app.command("validate")
def validate_command(
    directory: Annotated[Path | None, typer.Argument(
        help="Staff flow directory (default: CBT_FLOWS_DIR); packaged flows are always "
             "checked too.")] = None,
    strict: Annotated[bool, typer.Option(help="Treat warnings (missing translations) as "
                                               "errors.")] = False,
) -> None:
    """Report every problem with file and line; exit 1 on any error."""
    staff = directory or Settings().flows_dir
    if staff is not None and not staff.is_dir():
        typer.echo(f"error: {staff} is not a directory", err=True)
        raise typer.Exit(2)
    report = validate(packaged_and_staff(staff), default_catalog())
    for problem in report.errors:
        typer.echo(f"error: {problem}")
    for warning in report.warnings:
        typer.echo(f"warning: {warning}")
    failed = not report.ok or (strict and report.warnings)
    typer.echo(f"{len(report.flows)} flows checked: {len(report.errors)} errors, "
               f"{len(report.warnings)} warnings")
    if failed:
        raise typer.Exit(1)


@flows_app.command("graph")
def graph_command(
    name: Annotated[str, typer.Argument(help="Flow id, e.g. thought_record.")],
    format: Annotated[str, typer.Option("--format", help="mermaid, dot, svg or png.")]
    = "mermaid",
    out: Annotated[Path | None, typer.Option(help="File to write (default: stdout; "
                                                  "required for png).")] = None,
    language: Annotated[str, typer.Option(help="Language of the prompts shown.")] = "en",
) -> None:
    """Draw a flow. Mermaid needs no extra software; svg and png need Graphviz's `dot`."""
    report = validate(packaged_and_staff(Settings().flows_dir), default_catalog())
    flow = report.flows.get(name)
    if flow is None:
        known = ", ".join(sorted(report.flows)) or "none"
        typer.echo(f"error: no valid flow '{name}' (valid flows: {known})", err=True)
        raise typer.Exit(2)
    if format in ("mermaid", "dot"):
        text = to_mermaid(flow, language) if format == "mermaid" else to_dot(flow, language)
        if out is None:
            sys.stdout.write(text)
        else:
            out.write_text(text, encoding="utf-8")
        return
    if format not in ("svg", "png"):
        typer.echo(f"error: unknown format '{format}': use mermaid, dot, svg or png", err=True)
        raise typer.Exit(2)
    dot = shutil.which("dot")
    if dot is None:
        typer.echo(f"error: {format} needs Graphviz's 'dot' (e.g. apt install graphviz); "
                   "--format mermaid needs nothing", err=True)
        raise typer.Exit(2)
    if format == "png" and out is None:
        typer.echo("error: --format png needs --out FILE", err=True)
        raise typer.Exit(2)
    rendered = subprocess.run([dot, f"-T{format}"], input=to_dot(flow, language).encode(),
                              capture_output=True, check=False)
    if rendered.returncode != 0:
        typer.echo(f"error: dot failed: {rendered.stderr.decode(errors='replace')}", err=True)
        raise typer.Exit(1)
    if out is None:
        sys.stdout.buffer.write(rendered.stdout)
    else:
        out.write_bytes(rendered.stdout)


@flows_app.command("try")
def try_command(
    name: Annotated[str, typer.Argument(help="Flow id to play.")],
    language: Annotated[str, typer.Option(help="Language to play it in.")] = "en",
) -> None:
    """Play a flow in this terminal with crisis screening on, on a throwaway in-memory
    database (the real one is never touched)."""
    from dataclasses import replace  # the bot's wiring is only needed for this command

    from bot.app import load_setup
    from bot.terminal import try_flow

    settings = Settings()
    report = validate(packaged_and_staff(settings.flows_dir), default_catalog())
    if name not in report.flows:
        known = ", ".join(sorted(report.flows)) or "none"
        typer.echo(f"error: no valid flow '{name}' (valid flows: {known})", err=True)
        raise typer.Exit(2)
    setup = load_setup(settings)
    every_flow = FlowRegistry.load(settings.flows_dir)
    asyncio.run(try_flow(replace(setup, flows=every_flow), name, language, sys.stdin,
                         sys.stdout, speed=settings.exercise_speed))
