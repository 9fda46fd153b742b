"""Screen a message against loaded crisis packs and say which rule matched.

How one message is screened:

1. normalise it (``normalise.py``);
2. look its words up in an index (``word_index.py``), giving the few patterns,
   exclusions and signals whose key words are all there ("want ... die"
   needs "want" and "die"); most messages stop here;
3. blank out harmless idioms found by the candidate exclusions;
4. run the candidate patterns, most urgent category first; a match counts
   unless the rule is negatable and a negation cue governs it ("I'm not going
   to ...") without a keep-risk phrase before the cue ("can't promise I won't");
5. when no rule matched, add up the weights of the pack's scoring signals the
   message shows (a means, a time, a goodbye...); at or above the pack's
   threshold, with at least one signal that names a category, it is flagged and
   the result names the signals ("en.score:en.sig.means+en.sig.when").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from flows.crisis.normalise import normalise
from flows.crisis.packs import (
    CATEGORIES,
    Matcher,
    Negation,
    Pack,
    PackError,
    Rule,
    Signal,
    load_pack,
)
from flows.crisis.word_index import NEED_SLOTS, WordIndex

__all__ = [
    "SHIPPED_LANGUAGES",
    "Screener",
    "ScreeningResult",
    "default_screener",
    "screen_for_crisis",
    "shipped_pack_path",
]

SHIPPED_LANGUAGES: tuple[str, ...] = ("en", "es")
_PACK_DIR = Path(__file__).resolve().parent / "packs"
_BLANK = " ,"  # what an exclusion leaves behind: a clause break
_RULE_LENGTH = 128  # crisis events store the rule name in a column this wide


@dataclass(frozen=True)
class ScreeningResult:
    crisis: bool
    category: str | None
    rule: str | None

    def as_dict(self) -> dict[str, object]:
        return {"crisis": self.crisis, "category": self.category, "rule": self.rule}


NOT_CRISIS = ScreeningResult(crisis=False, category=None, rule=None)


@dataclass(frozen=True)
class _Check:
    """One compiled matcher of a rule, with what is needed to report it."""

    matcher: Matcher
    rule: Rule
    negation: Negation
    result: ScreeningResult


@dataclass(frozen=True)
class _SignalCheck:
    """One compiled matcher of a scoring signal."""

    matcher: Matcher
    signal: Signal
    pack: int  # index of the pack whose threshold the signal counts towards
    negation: Negation


class Screener:
    """Screens messages with the rules of one or more packs (built once, reused).

    ``need_slots`` is how many of each pattern's needed word groups the index checks
    besides its anchor (see ``word_index.py``): a speed setting, results never depend on it.
    """

    def __init__(self, packs: Sequence[Pack], need_slots: int = NEED_SLOTS) -> None:
        if not packs:
            raise ValueError("a Screener needs at least one pack")
        self.packs = tuple(packs)
        self._check_unique_ids()
        ranked = sorted(
            (
                (CATEGORIES.index(rule.category), pack_no, rule_no, rule, pack)
                for pack_no, pack in enumerate(self.packs)
                for rule_no, rule in enumerate(pack.rules)
            ),
            key=lambda item: item[:3],
        )
        self._checks: list[_Check] = [
            _Check(matcher, rule, pack.negation, ScreeningResult(True, rule.category, rule.id))
            for _, _, _, rule, pack in ranked
            for matcher in rule.matchers
        ]
        exclusion_matchers = [
            matcher
            for pack in self.packs
            for exclusion in pack.exclusions
            for matcher in exclusion.matchers
        ]
        self._blankers = [matcher.regex for matcher in exclusion_matchers]
        # Signals with a category first: without one of them nothing can be flagged,
        # so the others are only looked for when one was found.
        self._signal_checks = sorted(
            (
                _SignalCheck(matcher, signal, pack_no, pack.negation)
                for pack_no, pack in enumerate(self.packs)
                if pack.scoring is not None
                for signal in pack.scoring.signals
                for matcher in signal.matchers
            ),
            key=lambda check: check.signal.category is None,
        )
        self._core_signals = sum(
            1 << bit
            for bit, check in enumerate(self._signal_checks)
            if check.signal.category is not None
        )
        self._index = WordIndex(
            [
                [check.matcher for check in self._checks],
                exclusion_matchers,
                [check.matcher for check in self._signal_checks],
            ],
            need_slots,
        )

    def _check_unique_ids(self) -> None:
        seen: dict[str, str] = {}
        for pack in self.packs:
            items: list[tuple[str, int]] = [(rule.id, rule.line) for rule in pack.rules]
            items += [(exclusion.id, exclusion.line) for exclusion in pack.exclusions]
            if pack.scoring is not None:
                items += [(signal.id, signal.line) for signal in pack.scoring.signals]
            for ident, line in items:
                if ident in seen:
                    raise PackError(pack.path, line, f"id {ident!r} is also used in {seen[ident]}")
                seen[ident] = pack.path

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(pack.language for pack in self.packs)

    def screen(self, text: str) -> ScreeningResult:
        """Screen one message; the result names the matching rule and its category."""
        canon = normalise(text)
        checks, blanks, signals = self._index.candidates(canon)
        if not checks and not signals:
            return NOT_CRISIS
        while blanks:
            low = blanks & -blanks
            blanks ^= low
            canon = self._blankers[low.bit_length() - 1].sub(_BLANK, canon)
        all_checks = self._checks
        while checks:
            low = checks & -checks
            checks ^= low
            check = all_checks[low.bit_length() - 1]
            if _shows(check.matcher.regex, canon, check.negation if check.rule.negatable else None):
                return check.result
        return self._score(canon, signals) if signals else NOT_CRISIS

    def _score(self, canon: str, candidates: int) -> ScreeningResult:
        """Add up the weights of the signals shown, per pack; flag at the threshold."""
        shown: dict[int, list[Signal]] = {}
        counted: set[str] = set()
        all_checks = self._signal_checks
        core_signals = self._core_signals
        if not candidates & core_signals:
            return NOT_CRISIS
        while candidates:
            low = candidates & -candidates
            if not low & core_signals and not shown:
                return NOT_CRISIS  # core signals (the lowest bits) were all looked for: none
            candidates ^= low
            index = low.bit_length() - 1
            check = all_checks[index]
            if check.signal.id in counted:
                continue
            negation = check.negation if check.signal.negatable else None
            if _shows(check.matcher.regex, canon, negation):
                counted.add(check.signal.id)
                shown.setdefault(check.pack, []).append(check.signal)
        for pack_no, signals in sorted(shown.items()):
            scoring = self.packs[pack_no].scoring
            assert scoring is not None  # only packs with scoring have signal checks
            core = [signal for signal in signals if signal.category is not None]
            if not core or sum(signal.weight for signal in signals) < scoring.threshold:
                continue
            lead = min(core, key=lambda s: (-s.weight, CATEGORIES.index(s.category or "")))
            named = sorted(
                (signal for signal in signals if signal.weight > 0), key=lambda s: -s.weight
            )
            rule = self.packs[pack_no].language + ".score:" + "+".join(s.id for s in named)
            if len(rule) > _RULE_LENGTH:
                rule = rule[: _RULE_LENGTH - 3] + "..."
            return ScreeningResult(True, lead.category, rule)
        return NOT_CRISIS


def _shows(regex: re.Pattern[str], canon: str, negation: Negation | None) -> bool:
    """True when ``regex`` matches somewhere no negation cancels (None: nothing cancels)."""
    match = regex.search(canon)  # most candidates do not match: no iterator for them
    if match is None:
        return False
    if negation is None or not negation.cancels(canon, match.start()):
        return True
    return any(
        not negation.cancels(canon, later.start())
        for later in regex.finditer(canon, match.end())
    )


def shipped_pack_path(language: str) -> Path:
    """Path of the pack shipped for ``language`` (e.g. "en")."""
    return _PACK_DIR / f"{language}.yaml"


def default_screener(languages: Sequence[str] | None = None) -> Screener:
    """The screener for shipped packs (all when None), built on first use and then reused.

    Building takes about half a second; call this once at start-up to keep that
    off the first client message.
    """
    return _shipped_screener(_shipped(languages))


@cache
def _shipped_screener(languages: tuple[str, ...]) -> Screener:
    return Screener([load_pack(shipped_pack_path(language)) for language in languages])


def screen_for_crisis(text: str, languages: Sequence[str] | None = None) -> ScreeningResult:
    """Screen one message with the shipped packs (all shipped languages when None: a Spanish speaker may have an English Telegram UI)."""  # noqa: E501 - the contract, verbatim
    return _shipped_screener(_shipped(languages)).screen(text)


def _shipped(languages: Sequence[str] | None) -> tuple[str, ...]:
    """Map language codes ("es-MX", "EN") to shipped packs; never screen with none."""
    if languages is None or isinstance(languages, str):
        languages = [] if languages is None else [languages]
    wanted = {code.lower().replace("_", "-").split("-")[0] for code in languages}
    chosen = tuple(language for language in SHIPPED_LANGUAGES if language in wanted)
    return chosen or SHIPPED_LANGUAGES
