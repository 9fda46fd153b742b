"""Which matchers could match a message, found from its words in a few int operations.

Running every pattern of every pack on every message would be far too slow, and
most patterns need words most messages do not have: "want ... to die" needs
"want", "to" and "die". The index maps each word to one int whose bits say
which matchers it helps, so a message costs one dictionary lookup and one OR
per word, and a few ANDs at the end.

Matchers come in groups (rule checks, exclusions, scoring signals), numbered
one after the other across the groups. The int has ``1 + need_slots`` segments,
each with one bit per matcher:

- segment 0: set by any word of the matcher's anchor set (``Matcher.anchors``);
- segment k: set by any word of the k-th rarest other word group the matcher
  needs (``Matcher.required``), or always set when it needs fewer.

A matcher is a candidate only when its bit is set in every segment, so ANDing
the shifted segments rules out nearly all matchers without looking at them one
by one. The index only ever rules out matchers that cannot match: the regex decides.
"""

from __future__ import annotations

from collections.abc import Sequence

from flows.crisis.packs import Matcher
from flows.crisis.patterns import PREFIX_KEY, Anchor, anchor_set_cost

__all__ = ["NEED_SLOTS", "WordIndex"]

# Word groups per matcher checked by the index besides its anchor set. Two rule
# out almost every matcher that three would; more slots make every word's int longer.
NEED_SLOTS = 2
# Words remembered with their bits; past this many (a flood of unique words), new
# words are looked up each time instead of filling memory.
_SEEN_WORDS = 20_000


class WordIndex:
    """Candidate matchers per group for a canonical text (see the module doc)."""

    def __init__(self, groups: Sequence[Sequence[Matcher]], need_slots: int = NEED_SLOTS) -> None:
        self._words: dict[str, int] = {}
        self._prefixes: dict[str, int] = {}  # first letters of a word -> bits
        self._always = 0
        self._groups: list[tuple[int, int]] = []  # (first bit, mask) of each group
        matchers = [matcher for group in groups for matcher in group]
        self._width = len(matchers)  # bits per segment
        self._segment_mask = (1 << self._width) - 1
        self._segments = 1 + need_slots
        first = 0
        for group in groups:
            self._groups.append((first, (1 << len(group)) - 1))
            first += len(group)
        for number, matcher in enumerate(matchers):
            for segment, anchors in enumerate(_word_groups(matcher, need_slots)):
                bit = 1 << (segment * self._width + number)
                if anchors is None:
                    self._always |= bit
                else:
                    for anchor in anchors:
                        self._add(anchor, bit)
        self._seen: dict[str, int] = {}  # word -> bits (words and prefixes), filled as met

    def _add(self, anchor: Anchor, bit: int) -> None:
        kind, key = anchor
        if kind == "word":
            self._words[key] = self._words.get(key, 0) | bit
        else:
            short = key[:PREFIX_KEY]
            self._prefixes[short] = self._prefixes.get(short, 0) | bit

    def candidates(self, canon: str) -> list[int]:
        """One int per group: bit n set when the group's matcher n could match ``canon``."""
        folded = self._always
        seen = self._seen
        for word in canon.split():
            bits = seen.get(word)
            if bits is None:
                bits = self._words.get(word, 0)
                prefix_bits = self._prefixes.get(word[:PREFIX_KEY], 0)
                if prefix_bits:  # else keep sharing the int above: a cache entry stays small
                    bits = bits | prefix_bits if bits else prefix_bits
                if len(seen) < _SEEN_WORDS:
                    seen[word] = bits
            if bits:  # OR with 0 would still copy the whole int
                folded |= bits
        width = self._width
        found = folded & self._segment_mask
        for segment in range(1, self._segments):
            if not found:
                break
            found &= folded >> (segment * width)
        return [(found >> first) & mask for first, mask in self._groups]


def _word_groups(matcher: Matcher, need_slots: int) -> list[frozenset[Anchor] | None]:
    """The matcher's anchor set, then its rarest other needed word groups (None: none)."""
    others = sorted(
        (anchors for anchors in matcher.required if anchors != matcher.anchors),
        key=lambda anchors: (anchor_set_cost(anchors), sorted(anchors)),
    )
    chosen: list[frozenset[Anchor] | None] = [matcher.anchors, *others[:need_slots]]
    return chosen + [None] * (1 + need_slots - len(chosen))
