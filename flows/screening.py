"""The one place every inbound text passes through before any flow sees it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from flows.crisis import Screener, ScreeningResult, load_pack
from flows.crisis.screener import SHIPPED_LANGUAGES, default_screener, shipped_pack_path

__all__ = ["Screener", "ScreeningResult", "build_screener", "screen_inbound_text"]


def build_screener(packs: Sequence[str] | None = None) -> Screener:
    """A screener from shipped pack languages ("en") and/or staff pack files.

    Loading compiles every rule, so calling this at start-up means a broken pack stops the
    bot with the file and line, instead of failing on a client's message.
    """
    if packs is None:
        return default_screener()
    return Screener([load_pack(shipped_pack_path(pack) if pack in SHIPPED_LANGUAGES
                               else Path(pack)) for pack in packs])


def screen_inbound_text(text: str, screener: Screener | None = None) -> ScreeningResult:
    """Screen a client's message (or caption, or edit) for crisis language.

    All configured packs are used whatever the client's language setting: a Spanish speaker
    may well have an English Telegram, and a missed crisis costs more than a second pack.
    """
    return (screener or default_screener()).screen(text)
