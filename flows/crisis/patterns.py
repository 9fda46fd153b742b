"""The crisis-pack pattern language: parse, compile to a regex, pick anchor words.

Syntax (matched word by word against normalised text, see ``normalise``):

    word        the whole word "word"              kill myself
    word*       any word starting with "word"      kill* -> kill, kills, killing
    (a|b c)     one of the choices                 (want|need) to die
    [a|b]       optional: one of the choices, or nothing    i [really] want
    (a|b)?      the same as [a|b]
    ...         up to 4 other words (not across . ! ?)      want ... to die
    ...N        up to N other words, N from 1 to 10         make him pay ...8 gun
                (gaps in a row add up: "...10 ...10" is up to 20 words)
    ...+ ...+N  the same, also past the end of a sentence    on the roof ...+8 sorry
    <name>      any entry of the pack's word list "name"    <kill> <self>
    <end>       end of a sentence or clause: . , ! ? (all of them) or the end of
                the message; "thank you for everything <end> goodbye"
    <number>    any number: 30, 20mg
    <big_number>  a whole number of 10 or more: 30, 100

A compiled pattern is a regex fragment in which every piece starts with a space,
so it only ever matches whole words of the canonical text " word word . word ".

Anchors: a set of words (or word prefixes) at least one of which must occur in
any text the pattern matches. The screener only runs a pattern when one of its
anchors is present, which keeps screening fast with hundreds of patterns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flows.crisis.normalise import normalise_words

__all__ = [
    "GAP_WORDS",
    "MAX_GAP_WORDS",
    "Anchor",
    "Compiled",
    "PatternSyntaxError",
    "anchor_set_cost",
    "compile_node",
    "compile_phrase",
    "compile_regex",
    "list_resolver",
    "parse_pattern",
    "regex_requirements",
]

GAP_WORDS = 4
MAX_GAP_WORDS = 10
_WORD = "[a-z0-9]"
# <end>: sentence punctuation or the end of the message, after any sad or farewell emoji
# ("I can't go on 😭" ends where the words end). Laughing emoji are not skipped.
_TRAILING_EMOJI = "(?: (?:emojisob|emojiwilted|emojiwave|emojicoffin|emojigrave))*"
_END = f"(?:{_TRAILING_EMOJI}(?:(?: [.,])+|(?= $)))"
_NUMBER = " [0-9][a-z0-9]*"
_BIG_NUMBER = " [1-9][0-9]+(?= )"

# An anchor is ("word", w): the word w occurs; or ("prefix", p): a word starts with p.
Anchor = tuple[str, str]
PREFIX_KEY = 3  # prefix anchors are indexed by their first three letters

# Very common words make poor anchors (the pattern would run on most messages).
_COMMON_WORDS = (
    "a an and are be been but do dont for going gona have i im in is it its just me my no "
    "not of on or so that the this to too wana want was what when with you "
    "a al con de del el en es esta estoy la las le lo los me mi mis no para pero por que "
    "quiero se si te todo tu un una y ya yo voy"
)
_COMMON = frozenset(_COMMON_WORDS.split())


class PatternSyntaxError(ValueError):
    """A pattern that cannot be understood; the message says why, in plain words."""


@dataclass(frozen=True)
class Compiled:
    regex: str  # a fragment; the caller appends "(?= )" and compiles it
    anchors: frozenset[Anchor] | None  # None: cannot be anchored, run on every message
    cost: float
    # Every anchor set the text must hit for the pattern to match ("want ... die" needs
    # "want" and "die"): the word index skips the regex when the anchors or one of the
    # rarest of these is missing (see word_index.py).
    required: tuple[frozenset[Anchor], ...] = ()


# ---------------------------------------------------------------- syntax tree


@dataclass(frozen=True)
class _Word:
    text: str
    prefix: bool


@dataclass(frozen=True)
class _Gap:
    words: int = GAP_WORDS
    across_sentences: bool = False


@dataclass(frozen=True)
class _End:
    pass


@dataclass(frozen=True)
class _Number:
    big: bool = False


@dataclass(frozen=True)
class _Ref:
    name: str


@dataclass(frozen=True)
class _Choice:
    options: tuple[_Seq, ...]
    optional: bool


@dataclass(frozen=True)
class _Seq:
    items: tuple[_Node, ...]


_Node = _Word | _Gap | _End | _Number | _Ref | _Choice | _Seq

# "?" is a token of its own, so "(own )?life" reads as an optional "own", then "life".
_TOKEN = re.compile(r"\s+|\.\.\.\+?\d*|<[^<>]*>|[()\[\]|?]|(?:(?!\.\.\.)[^\s()\[\]|<>?])+|[<>]")
_LIST_NAME = re.compile(r"[a-z][a-z0-9_]*")


def parse_pattern(source: str) -> _Seq:
    """Parse one pattern; raise PatternSyntaxError with a plain explanation."""
    tokens = []
    for found in _TOKEN.finditer(source):
        tok = found.group()
        if tok.isspace():
            continue
        if tok.startswith("<") and tok.endswith(">") and source[found.end() :][:1].isalnum():
            raise PatternSyntaxError(
                f"{tok + source[found.end():].split()[0]!r} in pattern {source!r}: a list cannot "
                "take an ending (it would match the list, then a separate word); "
                "write the forms out in another list"
            )
        tokens.append(tok)
    parser = _Parser(tokens, source)
    node = parser.alternatives(closing=None)
    if not _can_be_nonempty(node):
        raise PatternSyntaxError(f"pattern {source!r} has no words to match")
    return node


class _Parser:
    def __init__(self, tokens: list[str], source: str) -> None:
        self.tokens = tokens
        self.pos = 0
        self.source = source

    def alternatives(self, closing: str | None) -> _Seq:
        options = [self.sequence()]
        while self.pos < len(self.tokens) and self.tokens[self.pos] == "|":
            self.pos += 1
            options.append(self.sequence())
        if closing is None:
            if self.pos < len(self.tokens):
                raise PatternSyntaxError(
                    f"unexpected {self.tokens[self.pos]!r} in pattern {self.source!r}"
                )
        elif self.pos >= len(self.tokens) or self.tokens[self.pos] != closing:
            raise PatternSyntaxError(f"missing {closing!r} in pattern {self.source!r}")
        for option in options:
            if not option.items:
                raise PatternSyntaxError(
                    f"empty choice in pattern {self.source!r} "
                    "(use [ ] for something optional, not an empty alternative)"
                )
        if len(options) == 1:
            return options[0]
        return _Seq((_Choice(tuple(options), optional=False),))

    def sequence(self) -> _Seq:
        items: list[_Node] = []
        while self.pos < len(self.tokens):
            tok = self.tokens[self.pos]
            if tok in ("|", ")", "]"):
                break
            self.pos += 1
            if tok == "?":
                raise PatternSyntaxError(
                    f"'?' in pattern {self.source!r} must follow a closing ')' "
                    "(write (word)? or [word] for something optional)"
                )
            if tok in ("(", "["):
                closing = ")" if tok == "(" else "]"
                inner = self.alternatives(closing)
                self.pos += 1
                optional = tok == "["
                if tok == "(" and self.pos < len(self.tokens) and self.tokens[self.pos] == "?":
                    self.pos += 1  # "(a|b)?" is another way to write "[a|b]"
                    optional = True
                items.append(_Choice(_options_of(inner), optional=optional))
            elif tok.startswith("..."):
                items.append(self.gap(tok))
            elif tok.startswith("<") and tok.endswith(">") and len(tok) > 1:
                name = tok[1:-1].strip().lower()
                if name == "end":
                    items.append(_End())
                elif name in ("number", "big_number"):
                    items.append(_Number(big=name == "big_number"))
                elif _LIST_NAME.fullmatch(name):
                    items.append(_Ref(name))
                else:
                    raise PatternSyntaxError(
                        f"bad list name {tok!r} in pattern {self.source!r} "
                        "(use lower-case letters, digits and _)"
                    )
            elif tok in ("<", ">"):
                raise PatternSyntaxError(
                    f"unmatched {tok!r} in pattern {self.source!r} (lists are written <name>)"
                )
            else:
                items.extend(_words(tok, self.source))
        return _Seq(tuple(items))

    def gap(self, tok: str) -> _Gap:
        across = tok.startswith("...+")
        count = tok[4:] if across else tok[3:]
        if not count:
            return _Gap(across_sentences=across)
        words = int(count)
        if not 1 <= words <= MAX_GAP_WORDS:
            raise PatternSyntaxError(
                f"{tok!r} in pattern {self.source!r}: a gap can skip 1 to {MAX_GAP_WORDS} words"
            )
        return _Gap(words, across)


def _options_of(node: _Seq) -> tuple[_Seq, ...]:
    if len(node.items) == 1 and isinstance(node.items[0], _Choice):
        choice = node.items[0]
        if not choice.optional:
            return choice.options
    return (node,)


def _words(chunk: str, source: str) -> list[_Node]:
    prefix = chunk.endswith("*")
    body = chunk.rstrip("*") if prefix else chunk
    if "*" in body:
        raise PatternSyntaxError(
            f"'*' can only end a word (kill*), found {chunk!r} in pattern {source!r}"
        )
    words = normalise_words(body)
    if not words:
        raise PatternSyntaxError(
            f"{chunk!r} in pattern {source!r} has no letters, digits or known emoji "
            "(punctuation is ignored when matching, so leave it out)"
        )
    nodes: list[_Node] = [_Word(word, prefix=False) for word in words]
    if prefix:
        nodes[-1] = _Word(words[-1], prefix=True)
    return nodes


def _can_be_nonempty(node: _Node) -> bool:
    if isinstance(node, _Word | _Ref | _Number):
        return True
    if isinstance(node, _Choice):
        return any(_can_be_nonempty(option) for option in node.options)
    if isinstance(node, _Seq):
        return any(_can_be_nonempty(item) for item in node.items)
    return False


# -------------------------------------------------------------------- compile


def compile_node(node: _Node, resolve: Callable[[str], Compiled]) -> Compiled:
    """Compile a parsed pattern; ``resolve`` compiles a word list by name."""
    if isinstance(node, _Word):
        if node.prefix:
            if len(node.text) < PREFIX_KEY:
                return Compiled(f" {re.escape(node.text)}{_WORD}*", None, 0.0)
            anchors = frozenset({("prefix", node.text)})
            return Compiled(
                f" {re.escape(node.text)}{_WORD}*", anchors, _cost(node.text) + 1, (anchors,)
            )
        anchors = frozenset({("word", node.text)})
        return Compiled(f" {re.escape(node.text)}", anchors, _cost(node.text), (anchors,))
    if isinstance(node, _Gap):
        barriers = "[,.]" if node.across_sentences else ","
        return Compiled(f"(?: {_WORD}+| {barriers}){{0,{node.words}}}", None, 0.0)
    if isinstance(node, _End):
        return Compiled(_END, None, 0.0)
    if isinstance(node, _Number):
        return Compiled(_BIG_NUMBER if node.big else _NUMBER, None, 0.0)
    if isinstance(node, _Ref):
        return resolve(node.name)
    if isinstance(node, _Choice):
        parts = [compile_node(option, resolve) for option in node.options]
        return _choice(parts, optional=node.optional)
    parts = [compile_node(item, resolve) for item in _merge_gaps(node.items)]
    regex = "".join(part.regex for part in parts)
    anchored = [part for part in parts if part.anchors is not None]
    if not anchored:
        return Compiled(regex, None, 0.0)
    best = min(anchored, key=lambda part: part.cost)
    required = tuple(dict.fromkeys(needed for part in parts for needed in part.required))
    return Compiled(regex, best.anchors, best.cost, required)


def _merge_gaps(items: tuple[_Node, ...]) -> list[_Node]:
    """Join gaps in a row ("...+10 ...+10" = up to 20 words): one regex repeat, not
    several in a row, which the regex engine would try in every split."""
    merged: list[_Node] = []
    for item in items:
        last = merged[-1] if merged else None
        if (
            isinstance(item, _Gap)
            and isinstance(last, _Gap)
            and last.across_sentences == item.across_sentences
        ):
            merged[-1] = _Gap(last.words + item.words, item.across_sentences)
        else:
            merged.append(item)
    return merged


def _choice(parts: list[Compiled], optional: bool) -> Compiled:
    body = "|".join(part.regex for part in parts)
    regex = f"(?:{body})?" if optional else f"(?:{body})"
    union: set[Anchor] = set()
    for part in parts:
        if optional or part.anchors is None:
            return Compiled(regex, None, 0.0)
        union |= part.anchors
    anchors = frozenset(union)
    cost = max(part.cost for part in parts) + 0.2 * len(union)
    return Compiled(regex, anchors, cost, (anchors,))


def compile_phrase(source: str) -> Compiled:
    """A phrase is literal words, matched whole, in order."""
    words = normalise_words(source)
    if not words:
        raise PatternSyntaxError(f"phrase {source!r} has no words to match")
    node = _Seq(tuple(_Word(word, prefix=False) for word in words))
    return compile_node(node, _no_lists)


def compile_regex(source: str) -> str:
    """Check an expert regex against the canonical text's alphabet; return it."""
    try:
        re.compile(source)
    except re.error as exc:
        raise PatternSyntaxError(f"invalid regex {source!r}: {exc}") from None
    letters = re.sub(r"\\.", "", source)
    letters = re.sub(r"\(\?P?<[^>]*>|\(\?[aiLmsux-]+\)", "", letters)
    if re.search(r"[A-Z]|[^\x00-\x7f]", letters):
        raise PatternSyntaxError(
            f"regex {source!r} has capital or non-ASCII letters; messages are matched "
            "in lower case without accents or emoji, so it could never match"
        )
    double = re.search(r"([a-z])\1", letters)
    if double:
        raise PatternSyntaxError(
            f"regex {source!r} contains {double.group()!r}; repeated letters are collapsed "
            f"in messages ('kill' becomes 'kil'), so write {double.group(1)!r}"
        )
    return source


# The plain start of an expert regex: literal spaces, words and groups of plain
# options ("(?:toca|toco)"), and optional groups whose options end in a space ("(?:i )?").
_PLAIN_WORD = re.compile(r"[a-z0-9]+")
_PLAIN_GROUP = re.compile(r"\(\?:([a-z0-9 ]+(?:\|[a-z0-9 ]+)*)\)(\?)?")
_QUANTIFIERS = "?*+{"


def regex_requirements(source: str) -> tuple[frozenset[Anchor], ...]:
    """Word groups an expert regex needs, read from its plain start.

    "^ me (?:toca|toco) (?:a mi|...)" needs "me" and one of "toca" or "toco", so
    the screener can skip it on messages without them instead of running it on
    every message. A word counts only when spaces surround it for certain (it is
    then a whole word of the tidied text). Anything not understood ends the
    reading; () means nothing is known.
    """
    if re.compile(source).flags & re.VERBOSE or _has_top_level_bar(source):
        return ()
    found: list[frozenset[Anchor]] = []
    pos = 1 if source.startswith("^") else 0
    after_space = False  # the text matched so far surely ends with a space

    def space_at(index: int) -> bool:  # a literal space that no quantifier makes optional
        after = source[index + 1 : index + 2]
        return source[index : index + 1] == " " and after not in _QUANTIFIERS

    while pos < len(source):
        if space_at(pos):
            after_space, pos = True, pos + 1
            continue
        word = _PLAIN_WORD.match(source, pos)
        if word is not None and after_space and space_at(word.end()):
            found.append(frozenset({("word", word.group())}))
            after_space, pos = False, word.end()
            continue
        group = _PLAIN_GROUP.match(source, pos)
        if group is None or not after_space:
            break
        options = group.group(1).split("|")
        if any(not option.strip() or option.startswith(" ") for option in options):
            break
        if group.group(2):  # optional: it needs nothing, and a space still ends the text
            if not all(option.endswith(" ") for option in options):
                break
            pos = group.end()
            continue
        spaced = space_at(group.end())
        if not all(" " in option or spaced for option in options):
            break  # a one-word option must be followed by a space to be a whole word
        found.append(frozenset(("word", option.split()[0]) for option in options))
        after_space, pos = all(option.endswith(" ") for option in options), group.end()
    return tuple(found)


def _has_top_level_bar(source: str) -> bool:
    """True when the regex is an alternation at its top level ("a b|c d")."""
    depth, pos, in_class = 0, 0, False
    while pos < len(source):
        char = source[pos]
        if char == "\\":
            pos += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            return True
        pos += 1
    return False


def _no_lists(name: str) -> Compiled:
    raise PatternSyntaxError(f"phrases cannot use word lists (<{name}>); use a pattern")


def _cost(word: str) -> float:
    if word in _COMMON:
        return 50.0
    return 1.0 + max(0, 5 - len(word))


def anchor_set_cost(anchors: frozenset[Anchor]) -> float:
    """How likely a message is to contain one of ``anchors``: lower is rarer."""
    return sum(_cost(key) + (kind == "prefix") for kind, key in anchors)


def list_resolver(
    lists: Mapping[str, list[str]], on_error: Callable[[str, str, PatternSyntaxError], None]
) -> Callable[[str], Compiled]:
    """Return a resolver that compiles (and caches) the pack's word lists on demand.

    ``on_error(list_name, entry, error)`` is called for a broken entry and must raise,
    so errors name the entry rather than the pattern that used the list.
    """
    done: dict[str, Compiled] = {}
    active: list[str] = []

    def resolve(name: str) -> Compiled:
        if name in done:
            return done[name]
        if name not in lists:
            known = ", ".join(sorted(lists)) or "none"
            raise PatternSyntaxError(f"unknown word list <{name}> (lists in this pack: {known})")
        if name in active:
            raise PatternSyntaxError(f"word list <{name}> refers to itself")
        active.append(name)
        parts: list[Compiled] = []
        for entry in lists[name]:
            try:
                parts.append(compile_node(parse_pattern(entry), resolve))
            except PatternSyntaxError as exc:
                on_error(name, entry, exc)
        active.pop()
        if not parts:
            raise PatternSyntaxError(f"word list <{name}> is empty")
        compiled = _choice(parts, optional=False)
        done[name] = compiled
        return compiled

    return resolve
