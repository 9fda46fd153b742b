"""Crisis-line (hotline) directory: load, validate, look up and format.

The data lives in ``crisis_lines.yaml`` next to this module and is edited by
programme staff (see ``docs/crisis-lines.md``). This module is pure: it reads
only that packaged file, or a file it is given, never the network. Nothing is
read at import time; :func:`default_directory` loads the packaged file once
and caches it.

A broken file raises :class:`DirectoryError`, whose text names the file and
the line, e.g. ``crisis_lines.yaml:57: country 'XX' service 2 has neither
phone nor text nor website``.

Check a file from the command line (exit status 1 if it is invalid)::

    python -m flows.crisis_lines.directory flows/crisis_lines/crisis_lines.yaml
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal, cast

import yaml

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

Verification = Literal["confirmed", "reference-only"]
Channel = Literal["sms", "whatsapp"]

#: Languages the bot ships. Every localised field must give all of them.
SUPPORTED_LANGUAGES: Final[tuple[str, ...]] = ("en", "es")
#: Key of the entry used when the user's country is unknown or not listed.
FALLBACK_KEY: Final = "international"
PACKAGED_FILE: Final = "crisis_lines.yaml"

_VERIFICATIONS: Final[tuple[Verification, ...]] = ("confirmed", "reference-only")
_CHANNELS: Final[tuple[Channel, ...]] = ("sms", "whatsapp")

# ISO 3166-1 alpha-2 codes officially assigned (249, from the iso-codes
# package's iso_3166-1.json). A key outside this set is a typo.
_ISO_3166_ALPHA2_TEXT: Final = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ
    BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR
    CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR
    GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU
    ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ
    LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF
    PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI
    SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR
    TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
"""
_ISO_3166_ALPHA2: Final = frozenset(_ISO_3166_ALPHA2_TEXT.split())

_PHONE_RE: Final = re.compile(r"[0-9+*#(][0-9 +*#()./-]*")
_KEYWORD_RE: Final = re.compile(r"[A-Za-z0-9]+")
_DATE_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_PERIOD_RE: Final = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_URL_RE: Final = re.compile(r"https?://[^\s/]+\.[^\s]+")


# --------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------


class DirectoryError(ValueError):
    """The directory file is missing, not valid YAML, or breaks a rule.

    ``str(error)`` is ``"<file name>:<line>: <message>"`` for the first
    problem found; :attr:`problems` holds every problem as ``(line, message)``.
    """

    def __init__(
        self,
        filename: str,
        line: int | None,
        message: str,
        problems: Sequence[tuple[int | None, str]] = (),
    ) -> None:
        self.filename = filename
        self.line = line
        self.message = message
        self.problems: tuple[tuple[int | None, str], ...] = tuple(problems) or ((line, message),)
        where = filename if line is None else f"{filename}:{line}"
        super().__init__(f"{where}: {message}")

    def describe_all(self) -> list[str]:
        """Every problem as ``"<file>:<line>: <message>"``."""
        return [
            f"{self.filename}:{line}: {message}"
            if line is not None
            else f"{self.filename}: {message}"
            for line, message in self.problems
        ]


@dataclass(frozen=True, slots=True)
class TextLine:
    """An SMS or WhatsApp line: send ``keyword`` (if any) to ``number``."""

    number: str
    channel: Channel = "sms"
    keyword: str | None = None
    #: Shown next to the text line, by language (e.g. "a counsellor calls you back").
    note: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class CrisisService:
    """One helpline. At least one of ``phone``, ``text`` and ``website`` is set."""

    name: str
    phone: str | None
    text: TextLine | None
    website: str | None
    #: Opening hours by language, or None if unknown.
    hours: Mapping[str, str] | None
    last_verified: date
    source: str
    verification: Verification
    free: bool | None = None
    #: Shown next to the number, by language (e.g. "choose option 5").
    phone_note: Mapping[str, str] | None = None
    #: For staff only; never shown to users.
    notes: str | None = None
    #: When the source page was published, if known: "YYYY", "YYYY-MM" or "YYYY-MM-DD".
    source_date: str | None = None

    @property
    def needs_review(self) -> bool:
        """True if the entry was never checked against a source."""
        return self.verification != "confirmed"

    @property
    def source_published(self) -> date | None:
        """First day of :attr:`source_date`'s period, or None if unknown."""
        return _period_start(self.source_date) if self.source_date else None


@dataclass(frozen=True, slots=True)
class CountryLines:
    """The crisis lines for one country (or the international fallback)."""

    code: str
    #: Country name by language ("en", "es").
    name: Mapping[str, str]
    #: Local emergency number(s), e.g. "119 / 110"; None for the fallback.
    emergency_number: str | None
    services: tuple[CrisisService, ...]
    is_fallback: bool = False
    aliases: tuple[str, ...] = ()
    emergency_source: str | None = None
    notes: str | None = None

    def display_name(self, lang: str = "en") -> str:
        return _localised(self.name, lang)


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """A service that staff should re-check, and why."""

    code: str
    service: CrisisService
    reason: str


# --------------------------------------------------------------------------
# The directory
# --------------------------------------------------------------------------


class CrisisLineDirectory:
    """Crisis lines by country, with a fallback for unknown countries."""

    def __init__(self, countries: Mapping[str, CountryLines], fallback: CountryLines) -> None:
        self._countries: dict[str, CountryLines] = dict(countries)
        self._fallback = fallback
        self._index: dict[str, str] = {}
        for code, lines in self._countries.items():
            for term in (code, *lines.name.values(), *lines.aliases):
                key = _normalise(term)
                owner = self._index.setdefault(key, code)
                if owner != code:
                    raise ValueError(f"{term!r} names both {owner} and {code}")

    @property
    def fallback(self) -> CountryLines:
        """The international entry shown when the country is unknown."""
        return self._fallback

    def for_country(self, code: str | None) -> CountryLines:
        """Lines for an ISO code (any case); the fallback if unknown. Never raises."""
        if not code:
            return self._fallback
        return self._countries.get(code.strip().upper(), self._fallback)

    def countries(self) -> list[tuple[str, str]]:
        """``(code, English name)`` for every country, sorted by name."""
        return sorted(
            ((code, lines.display_name("en")) for code, lines in self._countries.items()),
            key=lambda item: _normalise(item[1]),
        )

    def find_country(self, text: str | None) -> str | None:
        """Turn a typed answer ("spain", "España", "es", "UK") into a code, or None."""
        if not text:
            return None
        return self._index.get(_normalise(text))

    def all_lines(self) -> list[CountryLines]:
        """Every country, by code, followed by the fallback."""
        return [self._countries[code] for code in sorted(self._countries)] + [self._fallback]

    def review_items(
        self, today: date, max_age_days: int = 180, max_source_age_days: int = 730
    ) -> list[ReviewItem]:
        """Services to re-check: reference-only ones, ones verified more than
        ``max_age_days`` ago, and ones checked against a source published more
        than ``max_source_age_days`` ago."""
        items: list[ReviewItem] = []
        for lines in self.all_lines():
            for service in lines.services:
                age = (today - service.last_verified).days
                published = service.source_published
                if service.needs_review:
                    reason = "reference-only: never checked against a source"
                elif age > max_age_days:
                    reason = f"last verified {age} days ago ({service.last_verified.isoformat()})"
                elif published is not None and (today - published).days > max_source_age_days:
                    reason = f"checked against an old source (published {service.source_date})"
                else:
                    continue
                items.append(ReviewItem(lines.code, service, reason))
        return items

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code.strip().upper() in self._countries

    def __len__(self) -> int:
        return len(self._countries)


def load_directory(path: str | os.PathLike[str]) -> CrisisLineDirectory:
    """Load and validate a directory file. Raises :class:`DirectoryError`."""
    file_path = Path(path)
    try:
        text = file_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DirectoryError(file_path.name, None, f"cannot read the file: {exc}") from None
    return _parse_directory(text, file_path.name)


@cache
def default_directory() -> CrisisLineDirectory:
    """The packaged directory, loaded once on first use and then cached."""
    package = __package__ or "flows.crisis_lines"
    text = resources.files(package).joinpath(PACKAGED_FILE).read_text(encoding="utf-8")
    return _parse_directory(text, PACKAGED_FILE)


# --------------------------------------------------------------------------
# Formatting for a chat message
# --------------------------------------------------------------------------

_LABELS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "call": "call {number}",
        "call_or_text": "call or text {number}",
        "sms": "text {number}",
        "sms_keyword": "text {keyword} to {number}",
        "whatsapp": "message {number} on WhatsApp",
        "or": " or ",
        "free": "free",
        "emergency": "Emergency: {number}",
        "emergency_unknown": "Emergency: call your local emergency number",
    },
    "es": {
        "call": "llama al {number}",
        "call_or_text": "llama o envía un SMS al {number}",
        "sms": "envía un SMS al {number}",
        "sms_keyword": "envía un SMS con la palabra {keyword} al {number}",
        "whatsapp": "escribe por WhatsApp al {number}",
        "or": " o ",
        "free": "gratis",
        "emergency": "Emergencias: {number}",
        "emergency_unknown": "Emergencias: llama a tu número local de emergencias",
    },
}


def format_crisis_lines(lines: CountryLines, lang: str = "en") -> str:
    """Short plain text for a chat message: one line per service, then the
    emergency number. ``lang`` is "en" or "es" (others fall back to English).

    Example: ``Samaritans: call 116 123 (free, 24/7) · samaritans.org``
    """
    lang = _language(lang)
    labels = _LABELS[lang]
    out = [_format_service(service, lang, labels) for service in lines.services]
    if lines.emergency_number:
        out.append(labels["emergency"].format(number=lines.emergency_number))
    else:
        out.append(labels["emergency_unknown"])
    return "\n".join(out)


def _format_service(service: CrisisService, lang: str, labels: Mapping[str, str]) -> str:
    text = service.text
    extras: list[str] = []
    if service.free:
        extras.append(labels["free"])
    if service.hours is not None:
        extras.append(_localised(service.hours, lang))
    if service.phone_note is not None and service.phone is not None:
        extras.append(_localised(service.phone_note, lang))
    details = f" ({', '.join(extras)})" if extras else ""

    actions: list[str] = []
    if (
        service.phone is not None
        and text is not None
        and text.channel == "sms"
        and text.keyword is None
        and text.note is None
        and text.number == service.phone
    ):
        actions.append(labels["call_or_text"].format(number=service.phone))
    else:
        if service.phone is not None:
            actions.append(labels["call"].format(number=service.phone))
        if text is not None:
            if text.channel == "whatsapp":
                action = labels["whatsapp"].format(number=text.number)
            elif text.keyword:
                action = labels["sms_keyword"].format(keyword=text.keyword, number=text.number)
            else:
                action = labels["sms"].format(number=text.number)
            if text.note is not None:
                # The text line has its own conditions: keep the service's
                # details (hours, cost) next to the phone number they describe.
                if actions:
                    actions[0] += details
                    details = ""
                action += f" ({_localised(text.note, lang)})"
            actions.append(action)

    line = f"{service.name}: {labels['or'].join(actions)}{details}"
    if service.website:
        line += f" · {_short_url(service.website)}" if actions else _short_url(service.website)
    return line


def _period_start(text: str) -> date | None:
    """First day of "YYYY", "YYYY-MM" or "YYYY-MM-DD"; None if not valid."""
    match = _PERIOD_RE.fullmatch(text)
    if match is None:
        return None
    year, month, day = match.groups()
    try:
        return date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return None


def _short_url(url: str) -> str:
    short = re.sub(r"^https?://", "", url)
    short = re.sub(r"^www\.", "", short)
    return short.rstrip("/")


def _language(lang: str | None) -> str:
    base = re.split(r"[-_]", (lang or "en").strip().lower(), maxsplit=1)[0]
    return base if base in _LABELS else "en"


def _localised(values: Mapping[str, str], lang: str) -> str:
    return values.get(_language(lang)) or values.get("en") or next(iter(values.values()))


_ARTICLES: Final = ("the ", "el ", "la ", "los ", "las ")


def _normalise(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form for name matching."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    folded = stripped.casefold().replace(".", "")
    words = " ".join(re.sub(r"[^\w]+", " ", folded).split())
    for article in _ARTICLES:
        if words.startswith(article):
            words = words[len(article) :]
            break
    return words


# --------------------------------------------------------------------------
# YAML reading with line numbers
# --------------------------------------------------------------------------

_NULL_TAG: Final = "tag:yaml.org,2002:null"


class _Problem(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class _Map(dict[str, Any]):
    """A YAML mapping that remembers where it and each of its keys are."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[str, int] = {}
        self.value_lines: dict[str, int] = {}


class _Seq(list[Any]):
    """A YAML sequence that remembers where it and each item are."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that records line numbers and rejects duplicate keys.

    Every plain scalar is read as text except ``null``/``~``/empty (None):
    no numbers, booleans or dates are guessed, so ``024`` stays "024"
    instead of becoming the octal number 20, and Norway's ``NO`` stays "NO"
    instead of becoming ``False``.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.map_depth = 0


_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag == _NULL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    if any(tag == _NULL_TAG for tag, _ in resolvers)
}


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _construct_map(loader: _LineLoader, node: yaml.Node) -> _Map:
    if not isinstance(node, yaml.MappingNode):  # pragma: no cover - tag forced
        raise _Problem(_line(node), "expected a mapping")
    loader.map_depth += 1
    try:
        result = _Map(_line(node))
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            key_line = _line(key_node)
            if not isinstance(key, str):
                raise _Problem(key_line, f"key {key!r} must be text")
            if key in result:
                what = "country" if loader.map_depth == 1 else "key"
                raise _Problem(
                    key_line,
                    f"duplicate {what} {key!r} (already defined at line {result.key_lines[key]})",
                )
            result[key] = loader.construct_object(value_node, deep=True)
            result.key_lines[key] = key_line
            result.value_lines[key] = _line(value_node)
        return result
    finally:
        loader.map_depth -= 1


def _construct_seq(loader: _LineLoader, node: yaml.Node) -> _Seq:
    if not isinstance(node, yaml.SequenceNode):  # pragma: no cover - tag forced
        raise _Problem(_line(node), "expected a list")
    result = _Seq(_line(node))
    for item in node.value:
        result.append(loader.construct_object(item, deep=True))
        result.item_lines.append(_line(item))
    return result


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def _read_yaml(text: str, filename: str) -> Any:
    loader = _LineLoader(text)
    try:
        return loader.get_single_data()
    except _Problem as problem:
        raise DirectoryError(filename, problem.line, problem.message) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = int(mark.line) + 1 if mark is not None else None
        detail = exc.problem or exc.context or "syntax error"
        raise DirectoryError(filename, line, f"not valid YAML: {detail}") from None
    except yaml.YAMLError as exc:
        raise DirectoryError(filename, None, f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------

_COUNTRY_REQUIRED: Final = ("name", "emergency_number", "services")
_COUNTRY_OPTIONAL: Final = ("aliases", "emergency_source", "notes")
_SERVICE_REQUIRED: Final = (
    "name",
    "phone",
    "text",
    "website",
    "last_verified",
    "source",
    "verification",
)
_SERVICE_OPTIONAL: Final = ("hours", "free", "phone_note", "notes", "source_date")
_TEXT_REQUIRED: Final = ("number", "channel")
_TEXT_OPTIONAL: Final = ("keyword", "note")

_MISSING: Final = object()


class _Validator:
    """Turns the raw YAML tree into data classes, collecting every problem."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[tuple[int, str]] = []

    def problem(self, line: int, message: str) -> None:
        self.problems.append((line, message))

    def raise_if_problems(self) -> None:
        if self.problems:
            ordered = sorted(self.problems, key=lambda item: item[0])
            line, message = ordered[0]
            raise DirectoryError(self.filename, line, message, [(ln, msg) for ln, msg in ordered])

    # -- generic field helpers ---------------------------------------------

    def check_fields(
        self, data: _Map, required: Sequence[str], optional: Sequence[str], what: str
    ) -> None:
        allowed = (*required, *optional)
        for key in data:
            if key not in allowed:
                hint = difflib.get_close_matches(key, allowed, n=1)
                suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
                self.problem(
                    data.key_lines[key],
                    f"{what} has unknown field {key!r}{suggestion}; allowed: {', '.join(allowed)}",
                )
        for key in required:
            if key not in data:
                self.problem(data.line, f"{what} is missing required field {key!r}")

    def text(self, data: _Map, key: str, what: str, *, nullable: bool = False) -> str | None:
        value = data.get(key, _MISSING)
        if value is _MISSING:
            return None  # reported by check_fields if required
        line = data.value_lines[key]
        if value is None:
            if not nullable:
                self.problem(line, f"{what} field {key!r} must not be empty")
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(line, f"{what} field {key!r} must be text")
            return None
        return value.strip()

    def number(self, data: _Map, key: str, what: str, *, nullable: bool) -> str | None:
        value = self.text(data, key, what, nullable=nullable)
        if value is None:
            return None
        if not _PHONE_RE.fullmatch(value) or not any(ch.isdigit() for ch in value):
            self.problem(
                data.value_lines[key],
                f"{what} field {key!r} {value!r} is not a phone number "
                "(digits, spaces and + * # ( ) / - only)",
            )
            return None
        return value

    def url(self, data: _Map, key: str, what: str, *, nullable: bool) -> str | None:
        value = self.text(data, key, what, nullable=nullable)
        if value is None:
            return None
        if not _URL_RE.fullmatch(value):
            self.problem(
                data.value_lines[key],
                f"{what} field {key!r} {value!r} must be a full web address starting with https://",
            )
            return None
        return value

    def localised(
        self, data: _Map, key: str, what: str, *, allow_plain: bool, nullable: bool = True
    ) -> dict[str, str] | None:
        value = data.get(key, _MISSING)
        if value is _MISSING or value is None:
            if value is None and not nullable:
                self.problem(data.value_lines[key], f"{what} field {key!r} must not be empty")
            return None
        line = data.value_lines[key]
        if isinstance(value, str):
            if not allow_plain:
                self.problem(
                    line,
                    f"{what} field {key!r} must give every language: "
                    + ", ".join(f"{lang}: ..." for lang in SUPPORTED_LANGUAGES),
                )
                return None
            if not value.strip():
                self.problem(line, f"{what} field {key!r} must not be empty")
                return None
            return dict.fromkeys(SUPPORTED_LANGUAGES, value.strip())
        if not isinstance(value, _Map):
            self.problem(line, f"{what} field {key!r} must be text or {{en: ..., es: ...}}")
            return None
        result: dict[str, str] = {}
        for lang, text in value.items():
            if lang not in SUPPORTED_LANGUAGES:
                self.problem(
                    value.key_lines[lang],
                    f"{what} field {key!r} has unknown language {lang!r}; "
                    f"allowed: {', '.join(SUPPORTED_LANGUAGES)}",
                )
            elif not isinstance(text, str) or not text.strip():
                self.problem(value.value_lines[lang], f"{what} field {key}.{lang} must be text")
            else:
                result[lang] = text.strip()
        for lang in SUPPORTED_LANGUAGES:
            if lang not in value:
                self.problem(value.line, f"{what} field {key!r} is missing language {lang!r}")
        return result if len(result) == len(SUPPORTED_LANGUAGES) else None

    def choice(self, data: _Map, key: str, what: str, choices: Sequence[str]) -> str | None:
        value = self.text(data, key, what)
        if value is None:
            return None
        if value not in choices:
            self.problem(
                data.value_lines[key],
                f"{what} field {key!r} is {value!r}; must be one of: {', '.join(choices)}",
            )
            return None
        return value

    def flag(self, data: _Map, key: str, what: str) -> bool | None:
        value = data.get(key)
        if value is None:
            return None
        if value in ("true", "false"):
            return bool(value == "true")
        self.problem(data.value_lines[key], f"{what} field {key!r} must be true or false")
        return None

    def iso_date(self, data: _Map, key: str, what: str) -> date | None:
        value = self.text(data, key, what)
        if value is None:
            return None
        parsed: date | None = None
        if _DATE_RE.fullmatch(value):
            try:
                parsed = date.fromisoformat(value)
            except ValueError:
                parsed = None
        if parsed is None:
            self.problem(
                data.value_lines[key],
                f"{what} field {key!r} {value!r} is not a valid date (use YYYY-MM-DD)",
            )
        return parsed

    def period(self, data: _Map, key: str, what: str) -> str | None:
        value = self.text(data, key, what, nullable=True)
        if value is None:
            return None
        if _period_start(value) is None:
            self.problem(
                data.value_lines[key],
                f"{what} field {key!r} {value!r} must be YYYY, YYYY-MM or YYYY-MM-DD",
            )
            return None
        return value

    # -- structure ------------------------------------------------------------

    def directory(self, raw: Any) -> CrisisLineDirectory:
        if not isinstance(raw, _Map):
            self.problem(1, "the file must be a mapping of country codes to entries")
            self.raise_if_problems()
        top = cast(_Map, raw)
        countries: dict[str, CountryLines] = {}
        fallback: CountryLines | None = None
        for key, value in top.items():
            line = top.key_lines[key]
            code = self.country_code(key, line)
            if code is None:
                continue
            lines = self.country(code, value, line)
            if lines is None:
                continue
            if lines.is_fallback:
                fallback = lines
            else:
                countries[code] = lines
        if FALLBACK_KEY not in top:
            self.problem(
                top.line,
                f"missing the {FALLBACK_KEY!r} fallback entry "
                "(shown when the user's country is unknown or not listed)",
            )
        self.check_names(top, countries)
        self.raise_if_problems()
        assert fallback is not None  # guaranteed: no problems were recorded
        return CrisisLineDirectory(countries, fallback)

    def country_code(self, key: str, line: int) -> str | None:
        if key == FALLBACK_KEY:
            return key
        if key in _ISO_3166_ALPHA2:
            return key
        if key.upper() in _ISO_3166_ALPHA2:
            self.problem(line, f"country code {key!r} must be in capitals: {key.upper()!r}")
        elif key.upper() == "UK":
            self.problem(line, "country code 'UK' is not ISO 3166-1: the United Kingdom is 'GB'")
        else:
            self.problem(
                line,
                f"{key!r} is not an ISO 3166-1 alpha-2 country code "
                f"(two capital letters, e.g. 'GB') nor {FALLBACK_KEY!r}",
            )
        return None

    def country(self, code: str, raw: Any, line: int) -> CountryLines | None:
        what = f"country {code!r}"
        if not isinstance(raw, _Map):
            self.problem(line, f"{what} must be a mapping of fields")
            return None
        is_fallback = code == FALLBACK_KEY
        self.check_fields(raw, _COUNTRY_REQUIRED, _COUNTRY_OPTIONAL, what)
        name = self.localised(raw, "name", what, allow_plain=False, nullable=False)

        emergency: str | None = None
        if "emergency_number" in raw:
            if is_fallback:
                if raw["emergency_number"] is not None:
                    self.problem(
                        raw.value_lines["emergency_number"],
                        f"{what} field 'emergency_number' must be null: "
                        "the bot tells the user to call their local emergency number",
                    )
            else:
                emergency = self.number(raw, "emergency_number", what, nullable=False)
        emergency_source = self.url(raw, "emergency_source", what, nullable=True)
        notes = self.text(raw, "notes", what, nullable=True)
        aliases = self.aliases(raw, what)
        services = self.services(raw, what)

        if name is None or services is None or (emergency is None and not is_fallback):
            return None
        return CountryLines(
            code=code,
            name=name,
            emergency_number=emergency,
            services=services,
            is_fallback=is_fallback,
            aliases=aliases,
            emergency_source=emergency_source,
            notes=notes,
        )

    def aliases(self, raw: _Map, what: str) -> tuple[str, ...]:
        value = raw.get("aliases")
        if value is None:
            return ()
        if not isinstance(value, _Seq):
            self.problem(raw.value_lines["aliases"], f"{what} field 'aliases' must be a list")
            return ()
        result: list[str] = []
        for item, item_line in zip(value, value.item_lines, strict=True):
            if not isinstance(item, str) or not _normalise(item):
                self.problem(item_line, f"{what} alias {item!r} must be text")
            else:
                result.append(item.strip())
        return tuple(result)

    def services(self, raw: _Map, what: str) -> tuple[CrisisService, ...] | None:
        value = raw.get("services", _MISSING)
        if value is _MISSING:
            return None
        line = raw.value_lines["services"]
        if not isinstance(value, _Seq) or not value:
            self.problem(line, f"{what} field 'services' must be a list with at least one service")
            return None
        result: list[CrisisService] = []
        for number, (item, item_line) in enumerate(zip(value, value.item_lines, strict=True), 1):
            service = self.service(item, item_line, f"{what} service {number}")
            if service is not None:
                result.append(service)
        return tuple(result) if len(result) == len(value) else None

    def service(self, raw: Any, line: int, what: str) -> CrisisService | None:
        if not isinstance(raw, _Map):
            self.problem(line, f"{what} must be a mapping of fields")
            return None
        self.check_fields(raw, _SERVICE_REQUIRED, _SERVICE_OPTIONAL, what)
        name = self.text(raw, "name", what)
        phone = self.number(raw, "phone", what, nullable=True)
        text_line = self.text_line(raw, what)
        website = self.url(raw, "website", what, nullable=True)
        hours = self.localised(raw, "hours", what, allow_plain=True)
        free = self.flag(raw, "free", what)
        phone_note = self.localised(raw, "phone_note", what, allow_plain=False)
        notes = self.text(raw, "notes", what, nullable=True)
        source_date = self.period(raw, "source_date", what)
        last_verified = self.iso_date(raw, "last_verified", what)
        verification = self.choice(raw, "verification", what, _VERIFICATIONS)
        source = self.text(raw, "source", what)
        if source is not None and verification == "confirmed" and not _URL_RE.fullmatch(source):
            self.problem(
                raw.value_lines["source"],
                f"{what} is 'confirmed' so its 'source' must be the web address "
                "where the facts were checked",
            )
            source = None

        if all(raw.get(key) is None for key in ("phone", "text", "website")):
            self.problem(raw.line, f"{what} has neither phone nor text nor website")
            return None
        if "phone_note" in raw and raw.get("phone") is None:
            self.problem(raw.key_lines["phone_note"], f"{what} has a 'phone_note' but no phone")
        if name is None or last_verified is None or verification is None or source is None:
            return None
        return CrisisService(
            name=name,
            phone=phone,
            text=text_line,
            website=website,
            hours=hours,
            last_verified=last_verified,
            source=source,
            verification=cast(Verification, verification),
            free=free,
            phone_note=phone_note,
            notes=notes,
            source_date=source_date,
        )

    def text_line(self, raw: _Map, what: str) -> TextLine | None:
        value = raw.get("text")
        if value is None:
            return None
        line = raw.value_lines["text"]
        if not isinstance(value, _Map):
            self.problem(
                line,
                f"{what} field 'text' must be null or a mapping like "
                '{number: "85258", keyword: "SHOUT", channel: sms}',
            )
            return None
        sub = f"{what} text line"
        self.check_fields(value, _TEXT_REQUIRED, _TEXT_OPTIONAL, sub)
        number = self.number(value, "number", sub, nullable=False)
        channel = self.choice(value, "channel", sub, _CHANNELS)
        keyword = self.text(value, "keyword", sub, nullable=True)
        if keyword is not None and not _KEYWORD_RE.fullmatch(keyword):
            self.problem(
                value.value_lines["keyword"], f"{sub} keyword {keyword!r} must be letters/digits"
            )
            keyword = None
        note = self.localised(value, "note", sub, allow_plain=False)
        if number is None or channel is None:
            return None
        return TextLine(number=number, channel=cast(Channel, channel), keyword=keyword, note=note)

    def check_names(self, top: _Map, countries: Mapping[str, CountryLines]) -> None:
        """Every code, name and alias must point to one country only."""
        seen: dict[str, str] = {}
        for code in countries:
            lines = countries[code]
            for term in (code, *lines.name.values(), *lines.aliases):
                key = _normalise(term)
                owner = seen.setdefault(key, code)
                if owner != code:
                    self.problem(
                        top.key_lines[code],
                        f"country {code!r}: name or alias {term!r} already names {owner!r}",
                    )


def _parse_directory(text: str, filename: str) -> CrisisLineDirectory:
    raw = _read_yaml(text, filename)
    if raw is None:
        raise DirectoryError(filename, None, "the file is empty")
    return _Validator(filename).directory(raw)


# --------------------------------------------------------------------------
# Command line: check a file and list what needs review
# --------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None, *, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m flows.crisis_lines.directory",
        description="Check a crisis-line directory file and list entries to re-verify.",
    )
    parser.add_argument("path", nargs="?", help="file to check (default: the packaged file)")
    parser.add_argument(
        "--max-age-days",
        type=int,
        default=180,
        help="flag services verified longer ago than this (default 180)",
    )
    parser.add_argument(
        "--today", type=date.fromisoformat, default=None, help="date to measure age from"
    )
    args = parser.parse_args(argv)
    try:
        directory = load_directory(args.path) if args.path else default_directory()
    except DirectoryError as exc:
        for problem in exc.describe_all():
            out(problem)
        out(f"{len(exc.problems)} problem(s) found; the file was NOT accepted.")
        return 1
    services = sum(len(lines.services) for lines in directory.all_lines())
    out(f"OK: {len(directory)} countries + fallback, {services} services.")
    today: date = args.today or date.today()
    for item in directory.review_items(today, args.max_age_days):
        out(f"REVIEW {item.code}: {item.service.name}: {item.reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
