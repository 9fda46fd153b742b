"""Crisis-language screening: normalisation, idioms, negation, categories, packs, quality gates."""

from __future__ import annotations

import importlib
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from flows.crisis import (
    CATEGORIES,
    PackError,
    Screener,
    ScreeningResult,
    load_pack,
    screen_for_crisis,
    shipped_pack_path,
)
from flows.crisis.normalise import normalise

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "crisis"

RECALL_GATE = 0.98
FPR_GATE = 0.02
# Known gaps against the targets, tracked in the crisis safety-net issue; each value is the
# measured figure rounded against us, so it cannot get worse. Raise a floor (lower a ceiling)
# to the gate once new tune examples (never the holdout lines) close the gap.
# - es_holdout: the first Spanish holdout, 0.963 recall (4 of 107 missed).
# - *_holdout2: blind sets written by people who never saw the packs, measured, never
#   tuned on: an estimate of how the packs do on messages nobody wrote them for, now worn
#   (measured several times while the packs changed). English 0.794 recall (28 of 136
#   missed), false-positive rate 0.030 (4 of 132); Spanish 0.869 (0.877 with all packs),
#   0.015 (2 of 137).
# - *_holdout3: fresh blind sets (an inbox; a clinical evaluator's stress test), written at
#   the end of the third session, measured twice, never tuned on. English 0.703 (78 of 263
#   missed), 0.055 (15 of 272); Spanish 0.718 (73 of 259), 0.060 (0.064 with all packs,
#   17 of 266).
RECALL_FLOOR = {
    "es_holdout": 0.96,
    "en_holdout2": 0.79,
    "es_holdout2": 0.865,
    "en_holdout3": 0.70,
    "es_holdout3": 0.715,
}
FPR_CEILING = {
    "en_holdout2": 0.031,
    "es_holdout2": 0.015,
    "en_holdout3": 0.056,
    "es_holdout3": 0.064,
}
SETS = ("tune", "holdout", "holdout2", "holdout3")


def flags(text: str, languages: list[str] | None = None) -> bool:
    return screen_for_crisis(text, languages).crisis


# --------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("I WANT TO DIE", " i want to die "),
        ("Ya no quiero vivir, ¿sabés?", " ya no quiero vivir , , sabes . "),
        ("mañana", " manana "),
        ("i wanna diieee", " i wana die "),
        ("me quiero moriiiiir", " me quiero morir "),
        ("k i l l myself", " kil myself "),
        ("k.i.l.l myself", " kil myself "),
        ("m a t a r m e", " matarme "),
        ("k!ll mys3lf", " kil myself "),
        ("k1ll", " kil "),
        ("su1c1de", " suicide "),
        ("m4t4r", " matar "),
        ("I don't", " i dont "),
        ("I\u2019m fine", " im fine "),
        ("self-harm", " self harm "),
        ("💊💊", " emojipils emojipils "),
    ],
)
def test_normalisation(raw: str, canonical: str) -> None:
    assert normalise(raw) == canonical


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("k·i·l·l mysélf", " kil myself "),
        ("k…i…l…l", " kil "),  # typographic punctuation separates like its ASCII form
        ("\uff4b\uff11\uff4c\uff4c me", " kil me "),  # full-width "k1ll", then leetspeak
        ("m€ mato", " me mato "),
        ("I\u2019m sooo done 😭", " im so done emojisob "),
        ("ok\x01fine\x02now.", " ok fine now . "),  # control bytes the tidying uses inside
        ("我想死 die", " die "),  # scripts the packs do not cover are dropped
    ],
)
def test_non_ascii_text_is_folded_to_ascii_first(raw: str, canonical: str) -> None:
    assert normalise(raw) == canonical


def test_tidying_keeps_no_long_run_of_a_clients_words_in_memory() -> None:
    module = importlib.import_module("flows.crisis.normalise")

    normalise("我想一个人待着 é")
    assert "é" in module._FOLDED
    assert not any(len(run) > module._FOLDED_LENGTH for run in module._FOLDED)


def test_normalisation_keeps_numbers_and_sentence_breaks() -> None:
    assert normalise("took 20mg at 3am. Then 30 more!") == " tok 20mg at 3am . then 30 more . "
    # Initials with different separators are not joined into a word.
    assert normalise("P.S. I love you") == " p . s . i love you "


@pytest.mark.parametrize(
    "message",
    [
        "I want to KILL MYSELF",
        "i want to k i l l myself",
        "i want to k!ll mys3lf",
        "i wanna k1ll myself",
        "thinking about su1c1de again",
        "i wanna diieeee",
        "im suicidee",
        "I want to k\u0456ll myself",  # Cyrillic i
        "\uff49 \uff57\uff41\uff4e\uff54 \uff54\uff4f \uff44\uff49\uff45",  # full-width letters
        "me quiero m4t4r",
        "quiero m a t a r m e",
        "me kiero morir",
        "ya no kiero bibir",
    ],
)
def test_obfuscated_risk_is_flagged(message: str) -> None:
    assert flags(message)


# --------------------------------------------------------------------------- idioms


@pytest.mark.parametrize(
    "message",
    [
        "my feet are killing me",
        "dead tired after the night shift",
        "I killed it at the interview",
        "this traffic is killing me",
        "I could murder a pizza",
        "I'm dying to see it",
        "💀💀💀 that meme",
        "LMAO i'm dead 💀",
        "I died 5 times in that level",
        "that cake is to die for",
        "it's a killer app",
        "we did suicide prevention training at work",
        "my mom will kill me when she sees my grades",
        "I cut myself shaving",
        "Bought a rope for the climbing trip",
        "the bridge was closed so I was late",
        "During the panic attack I thought I was going to die",
        "I'm so proud of myself",
        "I keep beating myself up about it",
        "I'm on the bridge of my nose",
    ],
)
def test_english_idioms_do_not_flag(message: str) -> None:
    assert not flags(message)


@pytest.mark.parametrize(
    "message",
    [
        "me muero de risa",
        "me muero de hambre",
        "me muero de ganas de verte",
        "me muero por ver la peli",
        "estoy muerta de cansancio",
        "este calor me mata",
        "mataría por un café",
        "matando el tiempo",
        "ese chiste me mató 😂",
        "mi jefe me va a matar si llego tarde",
        "me corté el pelo",
        "me toca trabajar el sábado",
        "qué oso, me quiero morir jaja",
        "hoy tuve una capacitación de prevención del suicidio",
        "me voy a tirar en el sofá",
    ],
)
def test_spanish_idioms_do_not_flag(message: str) -> None:
    assert not flags(message)


# ------------------------------------------------------------------------- negation


@pytest.mark.parametrize(
    "message",
    [
        "I don't want to live anymore",
        "I dont want to be alive",
        "I can't go on",
        "I don't see the point of living",
        "there's no reason to keep living",
        "I'm not sure I want to live anymore",
        "I can't promise I won't kill myself",
        "why don't I just end it",
        "nobody would miss me if I died",
        "no quiero seguir viviendo",
        "no le veo sentido a la vida",
        "ya no quiero vivir",
        "no tengo nada por lo que vivir",
        "no sé si quiero seguir viviendo",
        "no puedo prometer que no me voy a matar",
        "¿por qué no me mato de una vez?",
    ],
)
def test_negations_that_keep_the_risk_flag(message: str) -> None:
    assert flags(message)


@pytest.mark.parametrize(
    "message",
    [
        "I'm not going to kill myself, don't worry",
        "I would never hurt myself",
        "I'm not suicidal, just tired",
        "no suicidal thoughts this week",
        "I have no intention of harming myself",
        "I don't want to die, I just want the anxiety to stop",
        "Never had thoughts of hurting myself",
        "I don't want to hurt anyone",
        "no me voy a matar, tranquila",
        "nunca me haría daño",
        "no soy suicida",
        "no quiero morir, solo tengo miedo",
        "jamás me quitaría la vida",
        "llevo meses sin lastimarme",
    ],
)
def test_negations_that_remove_the_risk_do_not_flag(message: str) -> None:
    assert not flags(message)


def test_a_negated_clause_does_not_hide_a_later_risk() -> None:
    assert flags("I'm not going to kill myself tonight, but I wish I was dead")
    assert flags("my feet are killing me and I want to die")


# ------------------------------------------------------------------------ categories


@pytest.mark.parametrize(
    ("message", "category", "rule_prefix"),
    [
        ("I want to die", "suicidal_ideation", "en.si."),
        ("everyone would be better off without me", "suicidal_ideation", "en.si."),
        ("i want to unalive myself", "suicidal_ideation", "en.si."),
        ("I've been cutting again", "self_harm", "en.sh."),
        ("I'm going to hurt him", "harm_to_others", "en.ho."),
        ("I've been saving up my pills", "immediate_danger", "en.id."),
        ("I bought a rope", "immediate_danger", "en.id."),
        ("thank you for everything, this is goodbye", "immediate_danger", "en.id."),
        ("my stepdad hits me and says he'll do worse if I tell", "abuse", "en.ab."),
        ("he forces me to do things i don't want to do", "abuse", "en.ab."),
        ("me quiero morir", "suicidal_ideation", "es.si."),
        ("me corté otra vez", "self_harm", "es.sh."),
        ("lo voy a apuñalar", "harm_to_others", "es.ho."),
        ("he estado juntando pastillas", "immediate_danger", "es.id."),
        ("mi padrastro me pega", "abuse", "es.ab."),
        ("🔪🩸 again tonight", "self_harm", "en.sh."),
    ],
)
def test_each_category_names_its_rule(message: str, category: str, rule_prefix: str) -> None:
    result = screen_for_crisis(message)
    assert result.crisis
    assert result.category == category
    assert result.rule is not None and result.rule.startswith(rule_prefix)


def test_result_shape() -> None:
    result = screen_for_crisis("I don't want to live anymore")
    assert isinstance(result, ScreeningResult)
    assert result.as_dict() == {
        "crisis": True,
        "category": "suicidal_ideation",
        "rule": "en.si.not_want_to_live",
    }
    assert screen_for_crisis("I had a good day").as_dict() == {
        "crisis": False,
        "category": None,
        "rule": None,
    }


def test_most_urgent_category_wins() -> None:
    result = screen_for_crisis("I want to die and I took all my pills")
    assert result.category == "immediate_danger"


def test_every_shipped_rule_has_a_known_category_and_a_language_prefix() -> None:
    for language in ("en", "es"):
        pack = load_pack(shipped_pack_path(language))
        assert pack.language == language
        for rule in pack.rules:
            assert rule.category in CATEGORIES
            assert rule.id.startswith(f"{language}.")


# ------------------------------------------------------------------------- languages


def test_languages_select_packs() -> None:
    assert not flags("I want to die", ["es"])
    assert flags("I want to die", ["en"])
    assert flags("me quiero morir", ["es-MX"])
    assert flags("me quiero morir")  # all shipped packs by default
    assert flags("I want to die", ["fr"])  # unknown code: never screen with no pack


def test_default_screeners_are_built_lazily() -> None:
    code = (
        "import flows.crisis, flows.crisis.screener as s; "
        "print(s._shipped_screener.cache_info().currsize)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "0"


def test_default_screener_is_shared() -> None:
    from flows.crisis.screener import default_screener

    assert default_screener() is default_screener(["es", "en"]) is default_screener(["EN", "es-MX"])
    assert default_screener(["en"]) is default_screener(["en-GB"])


def test_screening_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        screen_for_crisis("I want to die, my secret is 1234")
    assert caplog.records == []


# ---------------------------------------------------------------------------- packs


GOOD_PACK = """\
language: en
lists:
  self: [myself, my self]
negation:
  cues: [not, never]
  fillers: [going, to]
rules:
  - id: t.si.one
    category: suicidal_ideation
    patterns:
      - (kill|hurt) <self>
exclusions:
  - id: t.ex.one
    phrases: [hurt myself at the gym]
"""


def write(tmp_path: Path, text: str, name: str = "pack.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_staff_pack_from_another_directory(tmp_path: Path) -> None:
    screener = Screener([load_pack(write(tmp_path, GOOD_PACK))])
    assert screener.screen("I want to kill myself") == ScreeningResult(
        True, "suicidal_ideation", "t.si.one"
    )
    assert not screener.screen("I'm not going to kill myself").crisis
    assert not screener.screen("I hurt myself at the gym").crisis


@pytest.mark.parametrize(
    ("change", "line", "explanation"),
    [
        (
            ("suicidal_ideation", "sucide"),
            9,
            "unknown category 'sucide' (known: immediate_danger, suicidal_ideation,",
        ),
        (("    patterns:", "    pattern:"), 10, "unknown key 'pattern' in a rule"),
        (("  - id: t.si.one\n", "  - note: no id here\n"), 8, "entry has no 'id'"),
        (("      - (kill|hurt) <self>", "      - (kill|hurt <self>"), 11, "missing ')'"),
        (("      - (kill|hurt) <self>", "      - (kill|hurt) <selves>"), 11, "unknown word list"),
        (("      - (kill|hurt) <self>", "      - kill (|me)"), 11, "empty choice"),
        (("  - id: t.ex.one", "  - id: t.si.one"), 13, "duplicate id 't.si.one'"),
        (("    phrases: [hurt", "    phrases: hurt"), 14, "'phrases' must be a list"),
        (("language: en", "language: english"), 1, "language must be a two- or three-letter"),
        (("  cues: [not, never]", "  cues: [not, never"), 6, "YAML syntax"),
        (("  fillers: [going, to]", "  fillers: [going, to]\n  cues: [no]"), 7, "duplicate key"),
    ],
)
def test_broken_pack_names_file_line_and_problem(
    tmp_path: Path, change: tuple[str, str], line: int, explanation: str
) -> None:
    old, new = change
    assert old in GOOD_PACK
    path = write(tmp_path, GOOD_PACK.replace(old, new, 1))
    with pytest.raises(PackError) as caught:
        load_pack(path)
    error = caught.value
    assert error.file == str(path)
    assert error.line == line
    assert explanation in error.message
    assert str(error).startswith(f"{path}:{line}: ")


def test_invalid_regex_names_the_rule(tmp_path: Path) -> None:
    text = GOOD_PACK.replace("    patterns:\n", "    regex:\n      - ' kil(?= '\n    patterns:\n")
    with pytest.raises(PackError) as caught:
        load_pack(write(tmp_path, text))
    assert caught.value.line == 11
    assert "'t.si.one'" in caught.value.message
    assert "invalid regex" in caught.value.message


def test_regex_with_letters_that_can_never_match_is_refused(tmp_path: Path) -> None:
    text = GOOD_PACK.replace(
        "    patterns:\n", "    regex:\n      - ' kill myself'\n    patterns:\n"
    )
    with pytest.raises(PackError, match="repeated letters are collapsed"):
        load_pack(write(tmp_path, text))


def test_wrong_types_are_explained(tmp_path: Path) -> None:
    text = GOOD_PACK.replace(
        "    category: suicidal_ideation\n",
        "    category: suicidal_ideation\n    negatable: maybe\n",
    )
    with pytest.raises(PackError, match="'negatable' must be true or false"):
        load_pack(write(tmp_path, text))
    with pytest.raises(PackError, match="a pack must be a mapping"):
        load_pack(write(tmp_path, "- just a list\n"))
    with pytest.raises(PackError, match="file not found"):
        load_pack(tmp_path / "missing.yaml")


def test_no_and_yes_stay_words_in_packs(tmp_path: Path) -> None:
    text = GOOD_PACK.replace("cues: [not, never]", "cues: [no, not, never]")
    screener = Screener([load_pack(write(tmp_path, text))])
    assert not screener.screen("no kill myself").crisis


def test_duplicate_ids_across_packs(tmp_path: Path) -> None:
    first = load_pack(write(tmp_path, GOOD_PACK, "a.yaml"))
    second = load_pack(write(tmp_path, GOOD_PACK.replace("t.ex.one", "t.ex.two"), "b.yaml"))
    with pytest.raises(PackError, match=r"id 't\.si\.one' is also used in"):
        Screener([first, second])


SCORING_PACK = GOOD_PACK + """\
scoring:
  threshold: 4
  signals:
    - id: t.sig.means
      category: immediate_danger
      weight: 2.5
      patterns: [(pills|rope|bridge)]
    - id: t.sig.when
      weight: 1.5
      phrases: [tonight, tomorrow]
    - id: t.sig.goodbye
      weight: 1.5
      phrases: [goodbye, sorry]
    - id: t.sig.film
      weight: -2
      negatable: false
      phrases: [movie]
"""


def test_scoring_flags_signals_that_add_up_and_names_them(tmp_path: Path) -> None:
    screener = Screener([load_pack(write(tmp_path, SCORING_PACK))])
    assert screener.screen("the bridge tonight") == ScreeningResult(
        True, "immediate_danger", "en.score:t.sig.means+t.sig.when"
    )
    assert not screener.screen("the bridge").crisis  # 2.5: below the threshold
    # Only signals without a category never flag, however many there are.
    assert not screener.screen("goodbye tonight, sorry").crisis
    # A negative signal takes away; negation cancels a signal it governs.
    assert not screener.screen("the movie about the bridge tonight").crisis
    assert not screener.screen("not pills tonight, just tea").crisis
    # A rule still wins and is named on its own.
    assert screener.screen("kill myself tonight").rule == "t.si.one"
    # Exclusions are blanked before signals are looked for.
    assert not screener.screen("hurt myself at the gym tonight").crisis


@pytest.mark.parametrize(
    ("change", "explanation"),
    [
        (("  threshold: 4", "  threshold: 0"), "'threshold' must be above 0"),
        (("  threshold: 4", "  threshold: high"), "'threshold' must be a number"),
        (("      weight: 2.5", "      weight: -1"), "needs a weight above 0"),
        (("      category: immediate_danger\n", ""), "at least one signal with a category"),
        (
            ("      weight: 1.5\n      phrases: [tonight", "      phrases: [tonight"),
            "missing 'weight'",
        ),
        (("  threshold: 4", "  threshold: 4\n  limit: 3"), "unknown key 'limit' in 'scoring'"),
        (("    - id: t.sig.film", "    - id: t.sig.when"), "duplicate id 't.sig.when'"),
    ],
)
def test_broken_scoring_is_explained(
    tmp_path: Path, change: tuple[str, str], explanation: str
) -> None:
    old, new = change
    assert old in SCORING_PACK
    with pytest.raises(PackError, match=re.escape(explanation)):
        load_pack(write(tmp_path, SCORING_PACK.replace(old, new, 1)))


def test_a_long_list_of_signals_is_cut_to_fit_the_crisis_event_column(tmp_path: Path) -> None:
    signals = "".join(
        f"    - id: t.sig.a_rather_long_signal_name_{n}\n      weight: 1\n      phrases: [w{n}]\n"
        for n in range(12)
    )
    text = GOOD_PACK + (
        "scoring:\n  threshold: 3\n  signals:\n"
        "    - id: t.sig.core\n      category: self_harm\n      weight: 1\n      phrases: [blade]\n"
        + signals
    )
    screener = Screener([load_pack(write(tmp_path, text))])
    result = screener.screen("blade " + " ".join(f"w{n}" for n in range(12)))
    assert result.crisis and result.category == "self_harm"
    assert result.rule is not None and len(result.rule) <= 128 and result.rule.endswith("...")


# -------------------------------------------------------------- labelled data, gates


def read_set(name: str) -> list[tuple[int, bool, str, str]]:
    rows = []
    lines = (DATA / f"{name}.tsv").read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        label, category, message = line.split("\t", 2)
        rows.append((number, label == "1", category, message))
    return rows


@pytest.mark.parametrize("language", ["en", "es"])
def test_labelled_sets_are_well_formed(language: str) -> None:
    total = 0
    positives = 0
    for name in SETS:
        lines = (DATA / f"{language}_{name}.tsv").read_text(encoding="utf-8").splitlines()
        for line in lines:
            if not line.strip() or line.startswith("#"):
                continue
            label, category, message = line.split("\t")
            assert label in ("0", "1")
            assert (category in CATEGORIES) if label == "1" else category == ""
            assert message.strip()
            total += 1
            positives += label == "1"
    assert total >= 400
    assert 0.4 <= positives / total <= 0.6


def screener_for(which: str) -> Screener:
    languages = ["en", "es"] if which == "all" else [which]
    return Screener([load_pack(shipped_pack_path(language)) for language in languages])


@pytest.mark.parametrize("which", ["single", "all"])
@pytest.mark.parametrize("name", [f"{lang}_{name}" for lang in ("en", "es") for name in SETS])
def test_quality_gates(name: str, which: str) -> None:
    screener = screener_for(name[:2] if which == "single" else "all")
    rows = read_set(name)
    missed = [n for n, crisis, _, text in rows if crisis and not screener.screen(text).crisis]
    false_alarms = [n for n, crisis, _, text in rows if not crisis and screener.screen(text).crisis]
    positives = sum(crisis for _, crisis, _, _ in rows)
    negatives = len(rows) - positives
    recall = 1 - len(missed) / positives
    fpr = len(false_alarms) / negatives
    # Line numbers help staff tuning on the tune sets; the holdout sets stay unseen.
    where = f" (missed lines {missed}, false alarms {false_alarms})" if "tune" in name else ""
    gate = RECALL_FLOOR.get(name, RECALL_GATE)
    ceiling = FPR_CEILING.get(name, FPR_GATE)
    assert recall >= gate and fpr <= ceiling, (
        f"{name}: recall {recall:.3f} (gate {gate}), "
        f"false-positive rate {fpr:.3f} (gate {ceiling}){where}"
    )


def test_optional_group_with_a_space_before_its_bracket() -> None:
    from flows.crisis.patterns import PatternSyntaxError, _Choice, parse_pattern

    for source in ("my (own )?life", "my (own)? life", "my [own] life"):
        items = parse_pattern(source).items
        assert len(items) == 3 and isinstance(items[1], _Choice) and items[1].optional, source
    with pytest.raises(PatternSyntaxError, match="must follow a closing"):
        parse_pattern("my ?life")


@pytest.mark.parametrize(("text", "crisis"), [
    ("I can't go on 😭", True),
    ("i cant go on anymore 😭😭", True),
    ("ya no puedo más 🥀", True),
    ("my feet are killing me 😭", False),
    ("me muero de risa 😭", False),
])
def test_sad_emoji_do_not_hide_the_end_of_a_sentence(text: str, crisis: bool) -> None:
    assert flags(text) is crisis


def test_pattern_names_every_word_group_it_needs() -> None:
    from flows.crisis.patterns import Compiled, compile_node, parse_pattern

    def resolve(name: str) -> Compiled:
        raise AssertionError(name)

    compiled = compile_node(parse_pattern("i (want|wish) ... to die* [now]"), resolve)
    assert set(compiled.required) == {
        frozenset({("word", "i")}),
        frozenset({("word", "want"), ("word", "wish")}),
        frozenset({("word", "to")}),
        frozenset({("prefix", "die")}),
    }


def test_skipping_patterns_that_miss_a_needed_word_changes_no_result() -> None:
    """The index's word-group filter is only a shortcut: messages screen the same without it."""
    screener = screener_for("all")
    unfiltered = Screener(screener.packs, need_slots=0)  # anchor words only
    for path in sorted(DATA.glob("*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                text = line.split("\t", 2)[2]
                same = screener.screen(text) == unfiltered.screen(text)
                assert same, f"{path.name}: a line screens differently"


@pytest.mark.parametrize(
    ("regex", "needed"),
    [
        (" me (?:toca|toco) (?:a mi|[a-z]+ar)(?= )", [{"me"}, {"toca", "toco"}]),
        (" me (?:queme|he quemado) (?:con|en) x", [{"me"}, {"queme", "he"}, {"con", "en"}]),
        (" me ?queme", []),  # the space may be missing: "me" need not be a word of its own
        (" me x| y z", []),  # either side may match
        ("(?x) me foo", []),  # spaces mean nothing in verbose mode
        (" a (?:b|c d)s z", [{"a"}]),  # "bs", "c ds": not whole words
        (" a [|] b", [{"a"}]),
        ("^ (?:i )?(?:cant|can not) (?:go on|stop) x", [{"cant", "can"}, {"go", "stop"}]),
        ("^ (?:i)?(?:cant|can not) x", []),  # "icant": the option does not end in a space
        ("(?:want|wish) to die ", []),  # no space before "want": it may end a longer word
    ],
)
def test_an_expert_regex_is_indexed_by_the_words_its_plain_start_needs(
    regex: str, needed: list[set[str]]
) -> None:
    from flows.crisis.patterns import regex_requirements

    found = [{word for _, word in anchors} for anchors in regex_requirements(regex)]
    assert found == needed


def test_a_gap_with_a_plus_runs_past_the_end_of_a_sentence() -> None:
    from flows.crisis.patterns import PatternSyntaxError, compile_node, list_resolver, parse_pattern

    def matches(pattern: str, text: str) -> bool:
        compiled = compile_node(parse_pattern(pattern), list_resolver({}, lambda *_: None))
        return re.search(compiled.regex, normalise(text)) is not None

    two_sentences = "im on the roof. its cold up here. sorry"
    assert matches("roof ...+8 sorry", two_sentences)
    assert not matches("roof ...8 sorry", two_sentences)
    assert not matches("roof ...+3 sorry", two_sentences)
    assert matches("roof ...+ sorry", "on the roof. sorry")
    with pytest.raises(PatternSyntaxError, match="1 to 10 words"):
        parse_pattern("roof ...+11 sorry")


def test_a_list_with_an_ending_glued_on_is_refused() -> None:
    from flows.crisis.patterns import PatternSyntaxError, parse_pattern

    # "<person>s" would silently mean "<person>" then the word "s", and never match.
    with pytest.raises(PatternSyntaxError, match="a list cannot take an ending"):
        parse_pattern("burn my <person>s house")
    parse_pattern("burn my <person> house")


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_word_list_of_a_shipped_pack_is_used(language: str) -> None:
    text = shipped_pack_path(language).read_text(encoding="utf-8")
    names = re.findall(r"^  ([a-z][a-z0-9_]*): \[", text.split("\nnegation:")[0], re.MULTILINE)
    assert names
    unused = [name for name in names if f"<{name}>" not in text]
    assert not unused, f"{language}: lists nothing refers to: {unused}"
