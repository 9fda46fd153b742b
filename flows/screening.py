"""The one place every inbound text passes through before any flow sees it."""

from __future__ import annotations

from flows.crisis import ScreeningResult, screen_for_crisis
from flows.crisis.screener import default_screener

__all__ = ["ScreeningResult", "prepare_screening", "screen_inbound_text"]


def prepare_screening() -> None:
    """Load and compile the shipped packs now, so a broken pack stops start-up, not a client."""
    default_screener()


def screen_inbound_text(text: str) -> ScreeningResult:
    """Screen a client's message (or caption, or edit) for crisis language.

    All shipped packs are used whatever the client's language setting: a Spanish speaker may
    well have an English Telegram, and a missed crisis costs more than a second pack.
    """
    return screen_for_crisis(text)
