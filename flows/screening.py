"""The one place every inbound text passes through before any flow sees it."""

from __future__ import annotations

from flows.crisis import ScreeningResult, screen_for_crisis

__all__ = ["ScreeningResult", "screen_inbound_text"]


def screen_inbound_text(text: str) -> ScreeningResult:
    """Screen a client's message (or caption, or edit) for crisis language.

    All shipped packs are used whatever the client's language setting: a Spanish speaker may
    well have an English Telegram, and a missed crisis costs more than a second pack.
    """
    return screen_for_crisis(text)
