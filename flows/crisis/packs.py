"""Crisis word packs: load a YAML pack, check it thoroughly, compile its rules.

The file format is documented at the top of ``packs/en.yaml`` and in
``docs/crisis-packs.md``. Every problem is reported as a PackError naming the
file, the line and what is wrong, in words programme staff can act on.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from flows.crisis.patterns import (
    Anchor,
    Compiled,
    PatternSyntaxError,
    anchor_set_cost,
    compile_node,
    compile_phrase,
    compile_regex,
    list_resolver,
    parse_pattern,
    regex_requirements,
)
from flows.crisis.yaml_lines import LineDict, LineList, YamlProblem, load_yaml

__all__ = [
    "CATEGORIES",
    "Exclusion",
    "Matcher",
    "Negation",
    "Pack",
    "PackError",
    "Rule",
    "Scoring",
    "Signal",
    "load_pack",
]

# Most urgent first: when one message matches several rules, the result names
# the rule of the most urgent category.
CATEGORIES: tuple[str, ...] = (
    "immediate_danger",
    "suicidal_ideation",
    "self_harm",
    "abuse",
    "harm_to_others",
)

_TOP_KEYS = {"language", "description", "lists", "negation", "rules", "exclusions", "scoring"}
_RULE_KEYS = {"id", "category", "note", "phrases", "patterns", "regex", "negatable"}
_SCORING_KEYS = {"threshold", "signals"}
_SIGNAL_KEYS = {"id", "category", "weight", "note", "phrases", "patterns", "regex", "negatable"}
_EXCLUSION_KEYS = {"id", "note", "phrases", "patterns", "regex"}
_NEGATION_KEYS = {"cues", "fillers", "keep_risk_after"}
_TEXT_KEYS = ("phrases", "patterns", "regex")
_ID = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_LANGUAGE = re.compile(r"[a-z]{2,3}")
_MAX_FILLERS = 6  # words allowed between a negation cue and the rule it cancels
_KEEP_GAP = 2  # words allowed between a keep-risk phrase and the negation cue


class PackError(Exception):
    """A crisis pack that cannot be used: ``str()`` is ``file:line: explanation``."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}")
        self.file = file
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Matcher:
    """One phrase, pattern or regex of a rule, compiled."""

    source: str
    line: int
    regex: re.Pattern[str]
    anchors: frozenset[Anchor] | None  # None: run on every message
    required: tuple[frozenset[Anchor], ...] = ()  # all must be hit (see Compiled.required)


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    negatable: bool
    line: int
    matchers: tuple[Matcher, ...]


@dataclass(frozen=True)
class Signal:
    """One weighted sign of risk; a message scores the weights of the signs it shows."""

    id: str
    category: str | None  # None: a sign that only adds to (or, negative, takes from) others
    weight: float
    negatable: bool
    line: int
    matchers: tuple[Matcher, ...]


@dataclass(frozen=True)
class Scoring:
    """Signals that together flag a message no single rule names (see docs/crisis-packs.md)."""

    threshold: float
    signals: tuple[Signal, ...]


@dataclass(frozen=True)
class Exclusion:
    id: str
    line: int
    matchers: tuple[Matcher, ...]


@dataclass(frozen=True)
class Negation:
    """Decides whether a match is cancelled by a negation just before it."""

    cue: re.Pattern[str] | None  # matches "not going to" ending where a rule matched
    keep: re.Pattern[str] | None  # matches "can't promise" ending where a cue starts

    def cancels(self, text: str, start: int) -> bool:
        """True when the rule match at ``start`` is negated ("I'm not going to ...")."""
        if self.cue is None:
            return False
        lo = max(0, start - 200)
        cue = self.cue.search(text, lo, start)
        if cue is None:
            return False
        return self.keep is None or self.keep.search(text, lo, cue.start()) is None


@dataclass(frozen=True)
class Pack:
    path: str
    language: str
    description: str
    rules: tuple[Rule, ...]
    exclusions: tuple[Exclusion, ...]
    negation: Negation
    scoring: Scoring | None = None


def load_pack(path: str | Path) -> Pack:
    """Read and check one pack file; raise PackError naming file and line on any problem."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PackError(name, 0, "file not found") from None
    except UnicodeDecodeError as exc:
        raise PackError(name, 0, f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise PackError(name, 0, f"cannot read file ({exc.strerror})") from None
    try:
        data = load_yaml(text)
    except YamlProblem as problem:
        raise PackError(name, problem.line, problem.message) from None
    return _PackReader(name).read(data)


class _PackReader:
    def __init__(self, file: str) -> None:
        self.file = file
        self.ids: dict[str, int] = {}

    def fail(self, line: int, message: str) -> NoReturn:
        raise PackError(self.file, line, message)

    def read(self, data: Any) -> Pack:
        if not isinstance(data, LineDict):
            self.fail(
                getattr(data, "line", 1),
                "a pack must be a mapping with 'language' and 'rules' at the top level",
            )
        self.check_keys(data, _TOP_KEYS, "the top level of a pack")
        language = self.text(data, "language", required=True)
        if not _LANGUAGE.fullmatch(language):
            self.fail(
                data.line_of("language"),
                f"language must be a two- or three-letter code like 'en', not {language!r}",
            )
        description = self.text(data, "description", required=False)
        lists = self.read_lists(data)
        resolve = list_resolver(lists.values, self.list_error(lists))
        for list_name in lists.values:
            resolve(list_name)  # report broken lists at their own lines
        negation = self.read_negation(data, resolve)
        rules = self.read_rules(data, resolve)
        exclusions = self.read_exclusions(data, resolve)
        scoring = self.read_scoring(data, resolve)
        return Pack(self.file, language, description, rules, exclusions, negation, scoring)

    # --------------------------------------------------------------- helpers

    def check_keys(self, mapping: LineDict, allowed: set[str], where: str) -> None:
        for key in mapping:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                self.fail(mapping.line_of(key), f"unknown key {key!r} in {where} (known: {known})")

    def text(self, mapping: LineDict, key: str, required: bool) -> str:
        if key not in mapping:
            if required:
                self.fail(mapping.line, f"missing {key!r}")
            return ""
        value = mapping[key]
        if not isinstance(value, str) or not value.strip():
            self.fail(mapping.line_of(key), f"{key!r} must be a piece of text, got {_kind(value)}")
        return value.strip()

    def text_list(self, mapping: LineDict, key: str) -> list[tuple[str, int]]:
        if key not in mapping:
            return []
        value = mapping[key]
        if isinstance(value, str):
            self.fail(
                mapping.line_of(key),
                f"{key!r} must be a list (start each entry with '- '), got a single piece of text",
            )
        if not isinstance(value, LineList):
            self.fail(mapping.line_of(key), f"{key!r} must be a list, got {_kind(value)}")
        entries: list[tuple[str, int]] = []
        for index, item in enumerate(value):
            line = value.line_of(index)
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                self.fail(line, f"entries of {key!r} must be text, got {_kind(item)}")
            # A regex keeps its spaces: ' me (?:toca|toco)' means "me" as a whole word.
            item_text = str(item) if key == "regex" else str(item).strip()
            if not item_text.strip():
                self.fail(line, f"empty entry in {key!r}")
            entries.append((item_text, line))
        return entries

    def entries(self, data: LineDict, key: str) -> list[LineDict]:
        if key not in data:
            return []
        value = data[key]
        if not isinstance(value, LineList):
            self.fail(data.line_of(key), f"{key!r} must be a list of entries, got {_kind(value)}")
        for item in value:
            if not isinstance(item, LineDict):
                self.fail(
                    getattr(item, "line", value.line),
                    f"each entry of {key!r} must be a mapping with an 'id', got {_kind(item)}",
                )
        return list(value)

    def rule_id(self, entry: LineDict) -> str:
        if "id" not in entry:
            self.fail(entry.line, "entry has no 'id' (every rule and exclusion needs a stable id)")
        value = entry["id"]
        line = entry.line_of("id")
        if not isinstance(value, str) or not _ID.fullmatch(value):
            self.fail(line, f"id {value!r} must be lower-case letters, digits, '.', '_' or '-'")
        if value in self.ids:
            self.fail(line, f"duplicate id {value!r} (first used on line {self.ids[value]})")
        self.ids[value] = line
        return value

    def matchers(
        self, entry: LineDict, ident: str, resolve: Callable[[str], Compiled]
    ) -> tuple[Matcher, ...]:
        found: list[Matcher] = []
        for key in _TEXT_KEYS:
            for source, line in self.text_list(entry, key):
                try:
                    if key == "regex":
                        needs = regex_requirements(compile_regex(source))
                        best = min(needs, key=anchor_set_cost) if needs else None
                        compiled = Compiled(source, best, 0.0, needs)
                    elif key == "phrases":
                        compiled = compile_phrase(source)
                    else:
                        compiled = compile_node(parse_pattern(source), resolve)
                    found.append(
                        Matcher(
                            source,
                            line,
                            re.compile(compiled.regex + "(?= )"),
                            compiled.anchors,
                            compiled.required,
                        )
                    )
                except PatternSyntaxError as exc:
                    self.fail(line, f"{ident!r}: {exc}")
                except (re.error, RecursionError) as exc:
                    self.fail(line, f"{ident!r}: pattern {source!r} could not be compiled: {exc}")
        if not found:
            self.fail(entry.line, f"{ident!r} has no phrases, patterns or regex")
        return tuple(found)

    # --------------------------------------------------------------- sections

    def read_lists(self, data: LineDict) -> _Lists:
        lists = _Lists()
        if "lists" not in data:
            return lists
        section = data["lists"]
        if not isinstance(section, LineDict):
            self.fail(
                data.line_of("lists"),
                f"'lists' must map list names to lists of words, got {_kind(section)}",
            )
        for name in section:
            line = section.line_of(name)
            if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                self.fail(line, f"list name {name!r} must be lower-case letters, digits and _")
            if name in ("end", "number", "big_number"):
                self.fail(line, f"{name!r} is a built-in list name; choose another name")
            entries = self.text_list(section, name)
            if not entries:
                self.fail(line, f"list {name!r} is empty")
            lists.values[name] = [entry for entry, _ in entries]
            lists.lines[name] = [entry_line for _, entry_line in entries]
            lists.line[name] = line
        return lists

    def list_error(self, lists: _Lists) -> Callable[[str, str, PatternSyntaxError], None]:
        def on_error(name: str, entry: str, exc: PatternSyntaxError) -> None:
            index = lists.values[name].index(entry)
            self.fail(lists.lines[name][index], f"list {name!r}: {exc}")

        return on_error

    def read_negation(self, data: LineDict, resolve: Callable[[str], Compiled]) -> Negation:
        if "negation" not in data:
            return Negation(None, None)
        section = data["negation"]
        if not isinstance(section, LineDict):
            self.fail(
                data.line_of("negation"), f"'negation' must be a mapping, got {_kind(section)}"
            )
        self.check_keys(section, _NEGATION_KEYS, "'negation'")
        cues = self.fragments(section, "cues", resolve)
        keep = self.fragments(section, "keep_risk_after", resolve)
        fillers: list[str] = []
        for word, line in self.text_list(section, "fillers"):
            try:
                compiled = compile_node(parse_pattern(word), resolve)
            except PatternSyntaxError as exc:
                self.fail(line, f"negation filler: {exc}")
            fillers.append(compiled.regex)
        if not cues:
            return Negation(None, None)
        between = f"(?:{'|'.join(fillers)}){{0,{_MAX_FILLERS}}}" if fillers else ""
        cue = re.compile(f"(?:{'|'.join(cues)}){between}$")
        keep_re = (
            re.compile(f"(?:{'|'.join(keep)})(?: [a-z0-9]+){{0,{_KEEP_GAP}}}$") if keep else None
        )
        return Negation(cue, keep_re)

    def fragments(
        self, section: LineDict, key: str, resolve: Callable[[str], Compiled]
    ) -> list[str]:
        result: list[str] = []
        for source, line in self.text_list(section, key):
            try:
                result.append(compile_node(parse_pattern(source), resolve).regex)
            except PatternSyntaxError as exc:
                self.fail(line, f"negation {key}: {exc}")
        return result

    def read_rules(self, data: LineDict, resolve: Callable[[str], Compiled]) -> tuple[Rule, ...]:
        if "rules" not in data:
            self.fail(data.line, "missing 'rules'")
        rules: list[Rule] = []
        for entry in self.entries(data, "rules"):
            self.check_keys(entry, _RULE_KEYS, "a rule")
            ident = self.rule_id(entry)
            category = self.category(entry)
            if category is None:
                self.fail(
                    entry.line,
                    f"rule {ident!r} has no 'category' (one of: {', '.join(CATEGORIES)})",
                )
            matchers = self.matchers(entry, ident, resolve)
            rules.append(Rule(ident, category, self.negatable(entry), entry.line, matchers))
        return tuple(rules)

    def category(self, entry: LineDict) -> str | None:
        category = entry.get("category")
        if category is not None and category not in CATEGORIES:
            self.fail(
                entry.line_of("category"),
                f"unknown category {category!r} (known: {', '.join(CATEGORIES)})",
            )
        return category

    def negatable(self, entry: LineDict) -> bool:
        negatable = entry.get("negatable", True)
        if not isinstance(negatable, bool):
            self.fail(
                entry.line_of("negatable"),
                f"'negatable' must be true or false, got {_kind(negatable)}",
            )
        return negatable

    def read_scoring(self, data: LineDict, resolve: Callable[[str], Compiled]) -> Scoring | None:
        if "scoring" not in data:
            return None
        section = data["scoring"]
        if not isinstance(section, LineDict):
            self.fail(
                data.line_of("scoring"),
                f"'scoring' must be a mapping with 'threshold' and 'signals', got {_kind(section)}",
            )
        self.check_keys(section, _SCORING_KEYS, "'scoring'")
        threshold = self.number(section, "threshold")
        if threshold <= 0:
            self.fail(section.line_of("threshold"), "'threshold' must be above 0")
        signals: list[Signal] = []
        for entry in self.entries(section, "signals"):
            self.check_keys(entry, _SIGNAL_KEYS, "a signal")
            ident = self.rule_id(entry)
            weight = self.number(entry, "weight")
            category = self.category(entry)
            if category is not None and weight <= 0:
                self.fail(
                    entry.line_of("weight"),
                    f"{ident!r}: a signal with a category needs a weight above 0",
                )
            matchers = self.matchers(entry, ident, resolve)
            signals.append(
                Signal(ident, category, weight, self.negatable(entry), entry.line, matchers)
            )
        if not any(signal.category for signal in signals):
            self.fail(section.line, "'scoring' needs at least one signal with a category")
        return Scoring(threshold, tuple(signals))

    def number(self, mapping: LineDict, key: str) -> float:
        if key not in mapping:
            self.fail(mapping.line, f"missing {key!r}")
        value = mapping[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(mapping.line_of(key), f"{key!r} must be a number, got {_kind(value)}")
        return float(value)

    def read_exclusions(
        self, data: LineDict, resolve: Callable[[str], Compiled]
    ) -> tuple[Exclusion, ...]:
        exclusions: list[Exclusion] = []
        for entry in self.entries(data, "exclusions"):
            self.check_keys(entry, _EXCLUSION_KEYS, "an exclusion")
            ident = self.rule_id(entry)
            exclusions.append(Exclusion(ident, entry.line, self.matchers(entry, ident, resolve)))
        return tuple(exclusions)


class _Lists:
    def __init__(self) -> None:
        self.values: dict[str, list[str]] = {}
        self.lines: dict[str, list[int]] = {}
        self.line: dict[str, int] = {}


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return "empty text" if not value.strip() else "text"
    return type(value).__name__
