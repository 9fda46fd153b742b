"""Turn a message (or a pack word) into the canonical text that crisis rules match.

The canonical text is lower-case ASCII words separated by single spaces, with a
space at both ends, so a rule can use ``" word"`` as a whole-word match::

    "I don't want to LIVE anymore!!"  ->  " i dont want to live anymore . "
    "k!ll mys3lf"                     ->  " kil myself "
    "me quiero moriiiir 😭"           ->  " me quiero morir emojisob "

Steps, in order: lower-case; strip accents, map look-alike letters to the
letters they imitate and risk emoji to words, drop other non-ASCII characters;
join spaced-out letters ("k i l l", "k.i.l.l"); undo leetspeak inside words
("k1ll", "su1c1de", "k!ll", "m4t4r"); turn sentence punctuation into the barrier
tokens "." and ","; collapse every run of a repeated letter to one letter
("diieee" -> "die", and also "kill" -> "kil": packs go through the same
function, so both sides agree).
"""

from __future__ import annotations

import re
import string
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
                       "@": "a", "$": "s", "!": "i", "|": "i"})  # fmt: skip
# Bytes that are not leetspeak: deleting them leaves nothing in most messages.
_NOT_LEET = bytes(code for code in range(256) if code not in b"0123456789@$|!")
_LEET_HINT = re.compile(r"[a-z][0-9@$|]|[0-9@$|][a-z]|[a-z]![a-z]")
_LEET_WORD = re.compile(r"[a-z0-9@$!|]+")
_LEET_EDGES = "@$!|"
# Numbers with a unit or ordinal keep their digits: "20mg", "3am", "2nd".
_NUMBER_WITH_UNIT = re.compile(r"\d+(?:[.,]\d+)?[a-z]{0,3}")

# Letters spelled out with one repeated separator: "k i l l", "k.i.l.l", "s-u-i".
_SPACED = re.compile(r"(?<![a-z0-9])[a-z0-9]([ .\-_*+]{1,3})[a-z0-9](?:\1[a-z0-9])+(?![a-z0-9])")
_SEPARATORS = re.compile(r"[ .\-_*+]+")
# A cheap test first, on each byte's shape ("a" letter or digit, " " separator, "x"
# anything else): two single letters in a row, as "i l" in "k i l l".
_ALNUM = (string.ascii_lowercase + string.digits).encode("ascii")
_SHAPES = bytes(
    ord("a") if code in _ALNUM else ord(" ") if code in b" .-_*+" else ord("x")
    for code in range(256)
)
_SPACED_SHAPE = re.compile(rb" a {1,3}a(?!a)")

_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# Each byte becomes 0 for a letter a-z, 1 for anything else.
_LETTERS = string.ascii_lowercase.encode("ascii")
_NOT_LETTER = bytes(0 if code in _LETTERS else 1 for code in range(256))
# bytes.translate does the table's work on ASCII, with sentence and clause punctuation
# first turned into these two control bytes.
_SENTENCE_BYTE, _CLAUSE_BYTE = "\x01", "\x02"


def normalise(text: str) -> str:
    """Return the canonical form of ``text``: " word word . word " (see module doc)."""
    s = text.lower()
    if not s.isascii():
        s = _NON_ASCII.sub(_fold, s)
    if _SENTENCE_BYTE in s or _CLAUSE_BYTE in s:  # the markers below; not words anyway
        s = s.replace(_SENTENCE_BYTE, " ").replace(_CLAUSE_BYTE, " ")
    # The rest works on bytes, in C, where a regex would look at every character.
    data = s.encode("ascii")
    if _SPACED_SHAPE.search(data.translate(_SHAPES)) is not None:
        s = _SPACED.sub(_join_spaced, s)
    if data.translate(None, _NOT_LEET) and _LEET_HINT.search(s) is not None:
        s = _LEET_WORD.sub(_undo_leet, s)
    table, deleted = _ascii_table()
    data = _squeeze(s.encode("ascii").translate(table, deleted))
    s = data.decode("ascii").replace(_SENTENCE_BYTE, " . ").replace(_CLAUSE_BYTE, " , ")
    return " " + " ".join(s.split()) + " "


def _squeeze(data: bytes) -> bytes:
    """Collapse every run of a repeated letter to one letter ("diiie" -> "die")."""
    # Byte k of ``repeats`` is zero exactly where byte k is a letter equal to byte k - 1.
    value = int.from_bytes(data, "big")
    not_letter = int.from_bytes(data.translate(_NOT_LETTER), "big")
    repeats = ((value ^ (value >> 8)) | not_letter).to_bytes(len(data), "big")
    repeat = repeats.find(0)
    if repeat < 0:
        return data
    kept, start = [], 0
    while repeat >= 0:
        kept.append(data[start:repeat])
        start = repeat + 1
        repeat = repeats.find(0, start)
    kept.append(data[start:])
    return b"".join(kept)


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


def _fold(match: re.Match[str]) -> str:
    """ASCII for a run of non-ASCII characters: accents stripped, look-alike letters,
    risk emoji and typographic punctuation mapped, anything else a space."""
    run = match.group()
    folded = _FOLDED.get(run)
    if folded is None:
        folded = run.translate(_table())
        if not folded.isascii():
            folded = _NON_ASCII.sub(" ", folded)  # other scripts and symbols
        if len(run) <= _FOLDED_LENGTH and len(_FOLDED) < _FOLDED_RUNS:
            _FOLDED[run] = folded
    return folded


# Short runs of non-ASCII characters already folded ("é", "¿", "😭😭"): the same few
# recur. Longer runs (a sentence in another script) are a client's words: not kept.
_FOLDED: dict[str, str] = {}
_FOLDED_LENGTH = 4
_FOLDED_RUNS = 5_000


@cache
def _ascii_table() -> tuple[bytes, bytes]:
    """The ASCII part of ``_table`` for bytes.translate: (256-byte table, bytes to delete)."""
    table = bytearray(range(256))
    deleted = bytearray()
    marks = {" . ": _SENTENCE_BYTE, " , ": _CLAUSE_BYTE}
    for code, replacement in _table().items():
        if code >= 128:
            continue
        if not replacement:
            deleted.append(code)
        else:
            replacement = marks.get(replacement, replacement)
            if len(replacement) != 1:
                raise ValueError(f"no one-byte form for {chr(code)!r} -> {replacement!r}")
            table[code] = ord(replacement)
    return bytes(table), bytes(deleted)


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
    table[ord("€")] = "e"  # leetspeak: "m€ mato"
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
