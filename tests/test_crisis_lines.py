"""Tests for the crisis-line directory (flows/crisis_lines)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from flows.crisis_lines import (
    CountryLines,
    CrisisLineDirectory,
    CrisisService,
    DirectoryError,
    default_directory,
    format_crisis_lines,
    load_directory,
)
from flows.crisis_lines.directory import main

PACKAGED = Path(__file__).resolve().parents[1] / "flows" / "crisis_lines" / "crisis_lines.yaml"


@pytest.fixture(scope="module")
def directory() -> CrisisLineDirectory:
    return default_directory()


def all_services(directory: CrisisLineDirectory) -> list[tuple[CountryLines, CrisisService]]:
    return [(lines, service) for lines in directory.all_lines() for service in lines.services]


# --------------------------------------------------------------------------
# The packaged data
# --------------------------------------------------------------------------


def test_packaged_file_has_at_least_25_countries_and_a_fallback(
    directory: CrisisLineDirectory,
) -> None:
    codes = [code for code, _ in directory.countries()]
    assert len(codes) >= 25
    assert all(re.fullmatch(r"[A-Z]{2}", code) for code in codes)
    fallback = directory.fallback
    assert fallback.is_fallback
    assert fallback.emergency_number is None
    assert any("findahelpline.com" in (s.website or "") for s in fallback.services)


def test_reference_table_countries_are_all_present(directory: CrisisLineDirectory) -> None:
    reference = "US CA MX GB IE FR DE ES NL AT CH SE AU NZ BR AR CL CO IN ZA JP KR PH SG"
    for code in reference.split():
        assert code in directory, code


def test_every_service_has_last_verified_and_source(directory: CrisisLineDirectory) -> None:
    for lines, service in all_services(directory):
        where = f"{lines.code} {service.name}"
        assert isinstance(service.last_verified, date), where
        assert service.last_verified <= date(2026, 11, 28) or service.needs_review, where
        assert service.source.strip(), where
        assert service.verification in ("confirmed", "reference-only"), where
        if service.verification == "confirmed":
            assert service.source.startswith(("https://", "http://")), where
        assert service.phone or service.text or service.website, where


def test_every_country_has_both_names_and_an_emergency_number(
    directory: CrisisLineDirectory,
) -> None:
    for lines in directory.all_lines():
        assert set(lines.name) == {"en", "es"}, lines.code
        if not lines.is_fallback:
            assert lines.emergency_number, lines.code
            assert any(ch.isdigit() for ch in lines.emergency_number), lines.code


def test_yaml_traps_do_not_mangle_data(directory: CrisisLineDirectory) -> None:
    # "024" would be read as the octal number 20 by a plain YAML loader.
    assert directory.for_country("ES").services[0].phone == "024"
    # "NO" would be read as False by a plain YAML loader.
    assert directory.for_country("NO").code == "NO"
    assert directory.for_country("CL").services[0].phone == "*4141"
    assert directory.for_country("JP").services[0].name.startswith("#")


def test_korea_lists_109_and_not_the_retired_1393(directory: CrisisLineDirectory) -> None:
    korea = directory.for_country("KR")
    numbers = [s.phone or "" for s in korea.services] + [
        s.text.number for s in korea.services if s.text is not None
    ]
    assert any(re.fullmatch(r"109", n) for n in numbers)
    assert not any("1393" in n for n in numbers)
    assert "1393" not in format_crisis_lines(korea)


def test_samaritans_has_no_text_line(directory: CrisisLineDirectory) -> None:
    for code in ("GB", "IE"):
        samaritans = [s for s in directory.for_country(code).services if s.name == "Samaritans"]
        assert samaritans and all(s.text is None for s in samaritans), code
        assert samaritans[0].phone == "116 123"


def test_netherlands_lists_113_and_0800_0113(directory: CrisisLineDirectory) -> None:
    phone = directory.for_country("NL").services[0].phone or ""
    assert "113" in phone.split(" / ")
    assert "0800-0113" in phone


# --------------------------------------------------------------------------
# Look-ups
# --------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["GB", "gb", "Gb", " gb "])
def test_for_country_is_case_insensitive(directory: CrisisLineDirectory, code: str) -> None:
    lines = directory.for_country(code)
    assert lines.code == "GB"
    assert not lines.is_fallback


@pytest.mark.parametrize("code", [None, "", "XX", "zz", "UK", "international", "Narnia"])
def test_unknown_country_gives_the_fallback(
    directory: CrisisLineDirectory, code: str | None
) -> None:
    lines = directory.for_country(code)
    assert lines.is_fallback
    assert lines is directory.fallback


def test_countries_are_sorted_by_english_name(directory: CrisisLineDirectory) -> None:
    names = [name for _, name in directory.countries()]
    assert names == sorted(names, key=str.casefold)
    assert ("GB", "United Kingdom") in directory.countries()
    assert all(code != "international" for code, _ in directory.countries())


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("spain", "ES"),
        ("Spain", "ES"),
        ("España", "ES"),
        ("espana", "ES"),
        ("es", "ES"),
        ("ES", "ES"),
        ("Germany", "DE"),
        ("Alemania", "DE"),
        ("United Kingdom", "GB"),
        ("Reino Unido", "GB"),
        ("UK", "GB"),
        ("Estados Unidos", "US"),
        ("EE.UU.", "US"),
        ("usa", "US"),
        ("the Netherlands", "NL"),
        ("Países Bajos", "NL"),
        ("México", "MX"),
        ("Japón", "JP"),
        ("Corea del Sur", "KR"),
        ("  south korea ", "KR"),
        ("Perú", "PE"),
    ],
)
def test_find_country_by_code_or_name(
    directory: CrisisLineDirectory, typed: str, code: str
) -> None:
    assert directory.find_country(typed) == code


@pytest.mark.parametrize("typed", [None, "", "   ", "Narnia", "xx", "international"])
def test_find_country_unknown_returns_none(
    directory: CrisisLineDirectory, typed: str | None
) -> None:
    assert directory.find_country(typed) is None


def test_default_directory_is_cached() -> None:
    assert default_directory() is default_directory()


def test_loading_the_packaged_path_matches_the_default(directory: CrisisLineDirectory) -> None:
    loaded = load_directory(PACKAGED)
    assert loaded.countries() == directory.countries()
    assert loaded.for_country("GB") == directory.for_country("GB")


# --------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------


def test_format_english(directory: CrisisLineDirectory) -> None:
    text = format_crisis_lines(directory.for_country("GB"))
    assert "Samaritans: call 116 123 (free, 24/7) · samaritans.org" in text
    assert "text SHOUT to 85258" in text
    assert text.splitlines()[-1] == "Emergency: 999"


def test_format_spanish(directory: CrisisLineDirectory) -> None:
    text = format_crisis_lines(directory.for_country("GB"), lang="es")
    assert "llama al 116 123" in text
    assert "gratis" in text
    assert "envía un SMS con la palabra SHOUT al 85258" in text
    assert text.splitlines()[-1] == "Emergencias: 999"


def test_format_phone_and_text_on_one_number(directory: CrisisLineDirectory) -> None:
    lines = directory.for_country("US")
    english = format_crisis_lines(lines, "en")
    spanish = format_crisis_lines(lines, "es")
    assert "call or text 988" in english
    assert "text HOME to 741741" in english
    assert "Emergency: 911" in english
    assert "llama o envía un SMS al 988" in spanish
    assert "para español, marca 2" in spanish
    assert "Emergencias: 911" in spanish


def test_format_whatsapp(directory: CrisisLineDirectory) -> None:
    lines = directory.for_country("CO")
    assert "message 300 754 8933 on WhatsApp" in format_crisis_lines(lines, "en")
    spanish = format_crisis_lines(lines, "es")
    assert "llama al 106" in spanish
    assert "escribe por WhatsApp al 300 754 8933" in spanish
    assert "Emergencias: 123" in spanish


def test_format_fallback(directory: CrisisLineDirectory) -> None:
    english = format_crisis_lines(directory.for_country(None), "en")
    spanish = format_crisis_lines(directory.for_country("XX"), "es")
    assert "findahelpline.com" in english
    assert english.endswith("Emergency: call your local emergency number")
    assert "findahelpline.com" in spanish
    assert spanish.endswith("Emergencias: llama a tu número local de emergencias")


@pytest.mark.parametrize(("lang", "label"), [("es-MX", "Emergencias"), ("fr", "Emergency")])
def test_format_language_fallbacks(directory: CrisisLineDirectory, lang: str, label: str) -> None:
    text = format_crisis_lines(directory.for_country("ES"), lang)
    assert text.splitlines()[-1].startswith(label)


def test_every_country_formats_in_both_languages(directory: CrisisLineDirectory) -> None:
    for lines in directory.all_lines():
        for lang in ("en", "es"):
            text = format_crisis_lines(lines, lang)
            assert len(text.splitlines()) == len(lines.services) + 1
            if lines.emergency_number:
                assert lines.emergency_number in text
            for service in lines.services:
                if service.phone:
                    assert service.phone in text
                if service.text:
                    assert service.text.number in text


# --------------------------------------------------------------------------
# Broken files: every rule names the file and the line
# --------------------------------------------------------------------------

VALID = """\
# test directory
international:
  name: {en: "International", es: "Internacional"}
  emergency_number: null
  services:
    - name: "Find A Helpline"
      phone: null
      text: null
      website: "https://findahelpline.com"
      last_verified: 2026-11-28
      source: "https://findahelpline.com"
      verification: confirmed
GB:
  name: {en: "United Kingdom", es: "Reino Unido"}
  emergency_number: "999"
  services:
    - name: "Samaritans"
      phone: "116 123"
      text: null
      website: null
      last_verified: 2026-11-28
      source: "https://www.samaritans.org"
      verification: confirmed
    - name: "Shout"
      phone: null
      text: {number: "85258", keyword: "SHOUT", channel: sms}
      website: null
      last_verified: 2026-11-28
      source: "https://giveusashout.org"
      verification: confirmed
"""

# Each case: (change to VALID, words expected in the message). The changed
# text marks the line the error must point at with "#!".
BROKEN: dict[str, tuple[Callable[[str], str], str]] = {
    "unknown service field": (
        lambda t: t.replace(
            '      phone: "116 123"', '      phone: "116 123"\n      phones: "1" #!'
        ),
        "country 'GB' service 1 has unknown field 'phones' (did you mean 'phone'?)",
    ),
    "unknown country field": (
        lambda t: t.replace('  emergency_number: "999"', '  emergency_number: "999"\n  flag: x #!'),
        "country 'GB' has unknown field 'flag'",
    ),
    "missing service field": (
        lambda t: t.replace(
            '    - name: "Samaritans"\n      phone: "116 123"\n',
            '    - name: "Samaritans" #!\n',
        ),
        "country 'GB' service 1 is missing required field 'phone'",
    ),
    "missing country field": (
        lambda t: t.replace(
            '  name: {en: "United Kingdom", es: "Reino Unido"}\n  emergency_number: "999"\n',
            '  name: {en: "United Kingdom", es: "Reino Unido"} #!\n',
        ),
        "country 'GB' is missing required field 'emergency_number'",
    ),
    "missing translation": (
        lambda t: t.replace(
            '  name: {en: "United Kingdom", es: "Reino Unido"}',
            '  name: {en: "United Kingdom"} #!',
        ),
        "country 'GB' field 'name' is missing language 'es'",
    ),
    "made-up country code": (
        lambda t: t.replace("GB:\n", "XX: #!\n"),
        "'XX' is not an ISO 3166-1 alpha-2 country code",
    ),
    "lower-case country code": (
        lambda t: t.replace("GB:\n", "gb: #!\n"),
        "country code 'gb' must be in capitals: 'GB'",
    ),
    "UK instead of GB": (
        lambda t: t.replace("GB:\n", "UK: #!\n"),
        "the United Kingdom is 'GB'",
    ),
    "impossible date": (
        lambda t: t.replace(
            '      last_verified: 2026-11-28\n      source: "https://www.samaritans.org"',
            '      last_verified: 2026-13-01 #!\n      source: "https://www.samaritans.org"',
        ),
        "country 'GB' service 1 field 'last_verified' '2026-13-01' is not a valid date",
    ),
    "date in the wrong format": (
        lambda t: t.replace(
            '      last_verified: 2026-11-28\n      source: "https://giveusashout.org"',
            '      last_verified: 28/11/2026 #!\n      source: "https://giveusashout.org"',
        ),
        "country 'GB' service 2 field 'last_verified' '28/11/2026' is not a valid date",
    ),
    "bad source date": (
        lambda t: t.replace(
            '      source: "https://www.samaritans.org"',
            '      source: "https://www.samaritans.org"\n      source_date: "March 2024" #!',
        ),
        "country 'GB' service 1 field 'source_date' 'March 2024' must be YYYY, YYYY-MM",
    ),
    "no contact means": (
        lambda t: t.replace('    - name: "Shout"', '    - name: "Shout" #!').replace(
            '      text: {number: "85258", keyword: "SHOUT", channel: sms}', "      text: null"
        ),
        "country 'GB' service 2 has neither phone nor text nor website",
    ),
    "duplicate country": (
        lambda t: t + 'GB: #!\n  name: {en: "Again", es: "Otra vez"}\n',
        "duplicate country 'GB' (already defined at line 13)",
    ),
    "missing fallback": (
        lambda t: "GB: #!\n" + t.split("\nGB:\n", 1)[1],
        "missing the 'international' fallback entry",
    ),
    "fallback with an emergency number": (
        lambda t: t.replace("  emergency_number: null", '  emergency_number: "112" #!'),
        "country 'international' field 'emergency_number' must be null",
    ),
    "unknown verification": (
        lambda t: t.replace(
            '      source: "https://giveusashout.org"\n      verification: confirmed',
            '      source: "https://giveusashout.org"\n      verification: checked #!',
        ),
        "field 'verification' is 'checked'; must be one of: confirmed, reference-only",
    ),
    "confirmed without a web source": (
        lambda t: t.replace(
            '      source: "https://www.samaritans.org"', '      source: "asked a friend" #!'
        ),
        "country 'GB' service 1 is 'confirmed' so its 'source' must be the web address",
    ),
    "phone with letters": (
        lambda t: t.replace('      phone: "116 123"', '      phone: "0800 HELP" #!'),
        "country 'GB' service 1 field 'phone' '0800 HELP' is not a phone number",
    ),
    "bad text channel": (
        lambda t: t.replace("channel: sms}", "channel: pager} #!"),
        "country 'GB' service 2 text line field 'channel' is 'pager'",
    ),
    "empty services": (
        lambda t: t.split('  services:\n    - name: "Samaritans"')[0] + "  services: [] #!\n",
        "country 'GB' field 'services' must be a list with at least one service",
    ),
    "alias shared by two countries": (
        lambda t: (
            t
            + 'IE: #!\n  name: {en: "Ireland", es: "Irlanda"}\n  aliases: ["United Kingdom"]\n'
            + '  emergency_number: "112"\n'
            + "  services:\n"
            + '    - {name: "S", phone: "116 123", text: null, website: null,\n'
            + '       last_verified: 2026-11-28, source: "https://x.ie", verification: confirmed}\n'
        ),
        "name or alias 'United Kingdom' already names 'GB'",
    ),
    "invalid YAML": (
        lambda t: t.replace('  emergency_number: "999"', "  emergency_number: 999: 1 #!"),
        "not valid YAML",
    ),
}


def marked_line(text: str) -> int:
    lines = [number for number, line in enumerate(text.splitlines(), 1) if "#!" in line]
    assert len(lines) == 1, "test case must mark exactly one line"
    return lines[0]


def test_valid_test_document_loads(tmp_path: Path) -> None:
    path = tmp_path / "crisis_lines.yaml"
    path.write_text(VALID, encoding="utf-8")
    directory = load_directory(path)
    assert [code for code, _ in directory.countries()] == ["GB"]


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_file_error_names_file_and_line(tmp_path: Path, case: str) -> None:
    change, expected = BROKEN[case]
    text = change(VALID)
    assert text != VALID
    path = tmp_path / "broken_lines.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DirectoryError) as caught:
        load_directory(path)
    error = caught.value
    line = marked_line(text)
    message = str(error)
    assert message.startswith(f"broken_lines.yaml:{line}: "), message
    assert expected in message, message
    assert error.filename == "broken_lines.yaml"
    assert error.line == line


def test_all_problems_are_collected(tmp_path: Path) -> None:
    text = VALID.replace('      phone: "116 123"', '      phone: "0800 HELP"').replace(
        "channel: sms}", "channel: pager}"
    )
    path = tmp_path / "crisis_lines.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DirectoryError) as caught:
        load_directory(path)
    assert len(caught.value.problems) == 2
    assert all(p.startswith("crisis_lines.yaml:") for p in caught.value.describe_all())


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing here\n", encoding="utf-8")
    with pytest.raises(DirectoryError, match=r"^empty\.yaml: the file is empty"):
        load_directory(empty)
    with pytest.raises(DirectoryError, match=r"^absent\.yaml: cannot read the file"):
        load_directory(tmp_path / "absent.yaml")


def test_reference_only_entries_load_and_are_flagged_for_review(tmp_path: Path) -> None:
    text = VALID.replace(
        '      source: "https://giveusashout.org"\n      verification: confirmed',
        '      source: "Reference notes, crisis.md table"\n      verification: reference-only',
    )
    path = tmp_path / "crisis_lines.yaml"
    path.write_text(text, encoding="utf-8")
    directory = load_directory(path)
    shout = directory.for_country("GB").services[1]
    assert shout.needs_review
    items = directory.review_items(today=date(2026, 11, 28))
    assert [(i.code, i.service.name) for i in items] == [("GB", "Shout")]
    old = directory.review_items(today=date(2028, 1, 1), max_age_days=365)
    # Shout (reference-only) plus the two confirmed services now over a year old.
    assert len(old) == 3


def test_old_sources_are_flagged_for_review(tmp_path: Path) -> None:
    text = VALID.replace(
        '      source: "https://www.samaritans.org"',
        '      source: "https://www.samaritans.org"\n      source_date: "2015-10"',
    )
    path = tmp_path / "crisis_lines.yaml"
    path.write_text(text, encoding="utf-8")
    directory = load_directory(path)
    samaritans = directory.for_country("GB").services[0]
    assert samaritans.source_published == date(2015, 10, 1)
    items = directory.review_items(today=date(2026, 11, 28))
    assert [(i.code, i.service.name) for i in items] == [("GB", "Samaritans")]
    assert "2015-10" in items[0].reason


def test_command_line_check(tmp_path: Path) -> None:
    output: list[str] = []
    assert main([str(PACKAGED), "--today", "2026-11-28"], out=output.append) == 0
    assert output[0].startswith("OK: ")
    broken = tmp_path / "crisis_lines.yaml"
    broken.write_text(VALID.replace("GB:\n", "XX:\n"), encoding="utf-8")
    output.clear()
    assert main([str(broken)], out=output.append) == 1
    assert output[0].startswith("crisis_lines.yaml:13: 'XX' is not an ISO")
