"""``cbt-companion safety ...``: try crisis word packs from the command line.

    cbt-companion safety screen messages.txt --lang es
    echo "I want to die" | cbt-companion safety screen -
    cbt-companion safety screen messages.txt --pack my/en.yaml
    cbt-companion safety check my/en.yaml

``screen`` prints one JSON object per input line, in order, and never the
message itself: {"crisis": true, "category": "suicidal_ideation", "rule": "..."}.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn, TextIO

import typer

from flows.crisis import PackError, Screener, load_pack, shipped_pack_path
from flows.crisis.screener import SHIPPED_LANGUAGES

__all__ = ["safety_app"]

safety_app = typer.Typer(
    help="Crisis-language screening: try messages and check crisis word packs.",
    no_args_is_help=True,
)


class Language(StrEnum):
    en = "en"
    es = "es"


FileArg = Annotated[
    str, typer.Argument(help="File with one message per line, or '-' to read standard input.")
]
LangOption = Annotated[
    Language | None,
    typer.Option("--lang", help="Use only this shipped pack (default: all shipped packs)."),
]
PackOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--pack",
        help="Use this pack file instead of the shipped ones (repeat for several).",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
]


@safety_app.command("screen")
def screen(file: FileArg, lang: LangOption = None, pack: PackOption = None) -> None:
    """Screen each line of FILE and print one JSON result per line (never the message)."""
    screener = _build_screener(lang, pack)
    try:
        if file == "-":
            _screen_lines(screener, sys.stdin)
        else:
            with open(file, encoding="utf-8") as handle:
                _screen_lines(screener, handle)
    except FileNotFoundError:
        _fail(f"{file}: file not found")
    except IsADirectoryError:
        _fail(f"{file}: is a directory, not a file of messages")
    except UnicodeDecodeError as exc:
        _fail(f"{file}: not UTF-8 text ({exc.reason})")


@safety_app.command("check")
def check(
    packs: Annotated[list[Path], typer.Argument(help="Pack files to check.")],
) -> None:
    """Check pack files: report the first problem in each (file:line: what is wrong)."""
    failed = False
    loaded = []
    for path in packs:
        try:
            loaded.append(load_pack(path))
        except PackError as exc:
            typer.echo(str(exc), err=True)
            failed = True
            continue
        rules = loaded[-1].rules
        patterns = sum(len(rule.matchers) for rule in rules)
        typer.echo(f"{path}: ok ({len(rules)} rules, {patterns} phrases and patterns)")
    if loaded and not failed:
        try:
            Screener(loaded)  # ids must also be unique across the packs
        except PackError as exc:
            typer.echo(str(exc), err=True)
            failed = True
    if failed:
        raise typer.Exit(code=1)


def _build_screener(lang: Language | None, packs: list[Path] | None) -> Screener:
    if packs:
        paths: list[Path] = list(packs)
    elif lang is not None:
        paths = [shipped_pack_path(lang.value)]
    else:
        paths = [shipped_pack_path(code) for code in SHIPPED_LANGUAGES]
    try:
        return Screener([load_pack(path) for path in paths])
    except PackError as exc:
        _fail(str(exc))


def _screen_lines(screener: Screener, lines: Iterable[str]) -> None:
    out: TextIO = sys.stdout
    for message in _messages(lines):
        out.write(json.dumps(screener.screen(message).as_dict()) + "\n")
    out.flush()


def _messages(lines: Iterable[str]) -> Iterator[str]:
    for line in lines:
        yield line.rstrip("\r\n")


def _fail(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code=2)
