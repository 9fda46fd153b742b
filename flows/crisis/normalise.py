"""Turn a message (or a pack word) into the canonical text that crisis rules match.

The canonical text is lower-case ASCII words separated by single spaces, with a
space at both ends, so a rule can use ``" word"`` as a whole-word match::

    "I don't want to LIVE anymore!!"  ->  " i dont want to live anymore . "
    "k!ll mys3lf"                     ->  " kil myself "
    "me quiero moriiiir 😭"           ->  " me quiero morir emojisob "

Steps, in order: lower-case; join spaced-out letters ("k i l l", "k.i.l.l");
undo leetspeak inside words ("k1ll", "su1c1de", "k!ll", "m4t4r"); strip accents
and map look-alike letters and risk emoji to words; turn sentence punctuation
into the barrier tokens "." and ","; collapse every run of a repeated letter to
one letter ("diieee" -> "die", and also "kill" -> "kil": packs go through the
same function, so both sides agree).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

__all__ = ["EMOJI_WORDS", "normalise", "normalise_words"]

# Emoji that carry meaning for crisis screening become words. Write the emoji
# itself in a pack; it is normalised to the same word.
EMOJI_WORDS: dict[str, str] = {
    "🔪": "emojiknife",
    "🗡": "emojiknife",
    "🪒": "emojirazor",
    "✂": "emojiscissors",
    "🩸": "emojiblood",
    "💊": "emojipills",
    "💉": "emojisyringe",
    "⚰": "emojicoffin",
    "🪦": "emojigrave",
    "💀": "emojiskull",
    "☠": "emojiskull",
    "🔫": "emojigun",
    "🪢": "emojirope",
    "🌉": "emojibridge",
    "🚆": "emojitrain",
    "🚂": "emojitrain",
    "🚄": "emojitrain",
    "🚅": "emojitrain",
    "🚇": "emojitrain",
    "👋": "emojiwave",
    "🥀": "emojiwilted",
    "😭": "emojisob",
    "😢": "emojisob",
    "😂": "emojilaugh",
    "🤣": "emojilaugh",
    "😹": "emojilaugh",
    "😆": "emojilaugh",
    "😅": "emojilaugh",
}

# Look-alike Cyrillic and Greek letters used to dodge filters, and the Latin
# letter each one imitates (written as escapes so the source stays readable).
_HOMOGLYPHS = dict(
    zip(
        "\u0430\u0432\u0435\u0451\u0456\u0457\u0458\u043a"
        "\u043c\u043d\u043e\u0440\u0441\u0442\u0443\u0445"
        "\u0455\u0501\u04bb\u04cf\u051b\u051d\u03b1\u03b2\u03b5\u03b9\u03ba\u03bd\u03bf\u03c1\u03c4\u03c5\u03c7",
        "abeeiijkmhopctyxsdhlqwabeikvoptux",
        strict=True,
    )
)

_SENTENCE_END = ".!?\u2026\n\r"
_CLAUSE_BREAK = ',;:()[]{}"\u201c\u201d\u201e\u00ab\u00bb\u00bf\u00a1'
_WORD_JOINERS = "'\u2019\u2018`\u00b4\u02bc\u00ad\u200b\u200c\u200d\u2060\ufeff\ufe0e\ufe0f"
_SPACERS = "-\u2010\u2011\u2012\u2013\u2014_*/\\~#&+=^<>|@$%\u00b0\u00b7\u2022\t"

# Leetspeak inside a word: "k1ll", "su1c1de", "k!ll", "m4t4r", "d13".
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t",
                       "@": "a", "$": "s", "!": "i", "|": "i", "€": "e"})  # fmt: skip
# Cheap tests that a message may need de-leeting at all (most do not).
_LEET_CHARS = re.compile(r"[0-9@$|€!]")
_LEET_HINT = re.compile(r"[^\W\d_][0-9@$|€]|[0-9@$|€][^\W\d_]|[^\W\d_]![^\W\d_]")
_LEET_WORD = re.compile(r"(?:[^\W_]|[@$!|€])+")
_LEET_EDGES = "@$!|€"
# Numbers with a unit or ordinal keep their digits: "20mg", "3am", "2nd".
_NUMBER_WITH_UNIT = re.compile(r"\d+(?:[.,]\d+)?[a-z]{0,3}")

# Letters spelled out with one repeated separator: "k i l l", "k.i.l.l", "s-u-i".
_SPACED = re.compile(r"(?<![^\W_])[^\W_]([ .\-_*+·•]{1,3})[^\W_](?:\1[^\W_])+(?![^\W_])")
_SPACED_HINT = re.compile(r"(?:^|[ .\-_*+·•])\w[ .\-_*+·•]{1,3}\w[ .\-_*+·•]{1,3}\w(?![^\W_])")
_SEPARATORS = re.compile(r"[ .\-_*+·•]+")

_DOUBLE = re.compile(r"([a-z])\1")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def normalise(text: str) -> str:
    """Return the canonical form of ``text``: " word word . word " (see module doc)."""
    s = text.lower()
    if _SPACED_HINT.search(s) is not None:
        s = _SPACED.sub(_join_spaced, s)
    if _LEET_CHARS.search(s) is not None and _LEET_HINT.search(s) is not None:
        s = _LEET_WORD.sub(_undo_leet, s)
    s = s.translate(_table())
    double = _DOUBLE.search(s)
    while double is not None:  # faster than a regex sub: few letters repeat
        pair = double.group()
        letter = pair[0]
        while pair in s:
            s = s.replace(pair, letter)
        double = _DOUBLE.search(s, double.start())
    if not s.isascii():
        s = _NON_ASCII.sub(" ", s)
    return " " + " ".join(s.split()) + " "


def normalise_words(text: str) -> list[str]:
    """Normalise a pack phrase into its words, dropping punctuation barriers."""
    return [word for word in normalise(text).split() if word not in (".", ",")]


def _join_spaced(match: re.Match[str]) -> str:
    return _SEPARATORS.sub("", match.group())


def _undo_leet(match: re.Match[str]) -> str:
    word = match.group()
    core = word.strip(_LEET_EDGES)
    if not core or core.isdigit() or _NUMBER_WITH_UNIT.fullmatch(core) is not None:
        return word
    if not any(ch.isalpha() for ch in core):
        return word
    start = word.index(core[0])
    return word[:start] + core.translate(_LEET) + word[start + len(core) :]


@cache
def _table() -> dict[int, str]:
    """One translation table for everything str.translate can do in a single pass."""
    table: dict[int, str] = {}
    ranges = [(0x00C0, 0x0250), (0x1E00, 0x1F00), (0xFF01, 0xFF5F), (0x1D400, 0x1D800)]
    for lo, hi in ranges:
        for code in range(lo, hi):
            folded = unicodedata.normalize("NFKD", chr(code))
            base = "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()
            if base.isascii() and base.isalnum():
                table[code] = base
    table.update({ord("ß"): "ss", ord("æ"): "ae", ord("œ"): "oe", ord("ø"): "o",
                  ord("đ"): "d", ord("ł"): "l", ord("\u0131"): "i"})  # fmt: skip
    for code in range(0x24D0, 0x24EA):  # circled letters ⓐ..ⓩ (lower() maps Ⓐ to ⓐ)
        table[code] = chr(ord("a") + code - 0x24D0)
    for char, letter in _HOMOGLYPHS.items():
        table[ord(char)] = letter
    for char in _WORD_JOINERS:
        table[ord(char)] = ""
    for code in range(0x1F3FB, 0x1F400):  # skin-tone modifiers
        table[code] = ""
    for char in _SPACERS:
        table[ord(char)] = " "
    for char in _CLAUSE_BREAK:
        table[ord(char)] = " , "
    for char in _SENTENCE_END:
        table[ord(char)] = " . "
    for emoji, word in EMOJI_WORDS.items():
        table[ord(emoji)] = f" {word} "
    return table
