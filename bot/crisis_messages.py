"""The words and buttons of a crisis response and of /sos: no database needed to build them."""

from __future__ import annotations

from bot.messages import Response
from flows.catalog import Catalog
from flows.crisis_lines import CrisisLineDirectory, format_crisis_lines

# Callback data of the buttons under a crisis message.
SAFETY_PLAN = "s:plan"
SAFE_PREFIX = "s:safe:"  # + crisis event id
NOT_MEANT_PREFIX = "s:nm:"  # + crisis event id
START_FLOW_PREFIX = "n:"  # + flow id
GROUNDING_FLOW = "grounding"
SAFETY_PLAN_FLOW = "safety_plan"


def crisis_lines_text(catalog: Catalog, directory: CrisisLineDirectory, country: str | None,
                      language: str) -> str:
    lines = directory.for_country(country)
    if lines.is_fallback:
        header = catalog.get("crisis_lines_unknown_country", language)
    else:
        header = catalog.get("crisis_lines_header", language,
                             country=lines.display_name(language))
    return "\n".join((header, format_crisis_lines(lines, language), "",
                      catalog.get("not_monitored", language)))


def _next_steps(catalog: Catalog, language: str, flows: frozenset[str]
                ) -> list[tuple[str, str]]:
    buttons = []
    if SAFETY_PLAN_FLOW in flows:
        buttons.append((catalog.get("button_safety_plan", language), SAFETY_PLAN))
    if GROUNDING_FLOW in flows:
        buttons.append((catalog.get("button_grounding", language),
                        START_FLOW_PREFIX + GROUNDING_FLOW))
    return buttons


def crisis_response(catalog: Catalog, directory: CrisisLineDirectory, *, country: str | None,
                    language: str, event_id: int | None, flows: frozenset[str]) -> Response:
    """After crisis language: calm words, the country's lines, and concrete next steps."""
    response = Response()
    response.say(catalog.get("crisis_response", language))
    event = str(event_id or 0)
    response.say(crisis_lines_text(catalog, directory, country, language), (
        *_next_steps(catalog, language, flows),
        (catalog.get("button_safe_now", language), SAFE_PREFIX + event),
        (catalog.get("button_not_meant", language), NOT_MEANT_PREFIX + event),
    ))
    return response


def sos_response(catalog: Catalog, directory: CrisisLineDirectory, *, country: str | None,
                 language: str, flows: frozenset[str]) -> Response:
    """/sos: the same lines and next steps, asked for by the client."""
    response = Response()
    response.say(catalog.get("sos_intro", language))
    response.say(crisis_lines_text(catalog, directory, country, language),
                 tuple(_next_steps(catalog, language, flows)))
    return response
