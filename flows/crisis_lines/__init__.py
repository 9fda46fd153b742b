"""Crisis-line (hotline) directory: data file plus its loader.

Usage::

    from flows.crisis_lines import default_directory, format_crisis_lines

    lines = default_directory().for_country("GB")
    message = format_crisis_lines(lines, lang="en")

Names are imported lazily, so importing this package does no work (and
``python -m flows.crisis_lines.directory`` runs without warnings).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flows.crisis_lines.directory import (
        FALLBACK_KEY,
        SUPPORTED_LANGUAGES,
        CountryLines,
        CrisisLineDirectory,
        CrisisService,
        DirectoryError,
        ReviewItem,
        TextLine,
        default_directory,
        format_crisis_lines,
        load_directory,
    )

__all__ = [
    "FALLBACK_KEY",
    "SUPPORTED_LANGUAGES",
    "CountryLines",
    "CrisisLineDirectory",
    "CrisisService",
    "DirectoryError",
    "ReviewItem",
    "TextLine",
    "default_directory",
    "format_crisis_lines",
    "load_directory",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from flows.crisis_lines import directory

        return getattr(directory, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
