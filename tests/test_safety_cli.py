"""``safety`` sub-commands, driven through typer's CliRunner on ``safety_app``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bot.safety_cli import safety_app

runner = CliRunner()

MESSAGES = [
    "I want to die",
    "my feet are killing me",
    "me quiero morir",
    "",
    "my stepdad hits me",
]


def results(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines()]


def test_screen_file_prints_one_json_result_per_line(tmp_path: Path) -> None:
    path = tmp_path / "messages.txt"
    path.write_text("\n".join(MESSAGES) + "\n", encoding="utf-8")
    result = runner.invoke(safety_app, ["screen", str(path)])
    assert result.exit_code == 0, result.output
    rows = results(result.stdout)
    assert [row["crisis"] for row in rows] == [True, False, True, False, True]
    assert rows[0] == {"crisis": True, "category": "suicidal_ideation", "rule": "en.si.want_to_die"}
    assert rows[1] == {"crisis": False, "category": None, "rule": None}
    assert rows[4]["category"] == "abuse"


def test_screen_never_echoes_the_message() -> None:
    secret = "I want to die, my name is Zebedee Quirk"
    result = runner.invoke(safety_app, ["screen", "-"], input=secret + "\n")
    assert result.exit_code == 0
    assert "Zebedee" not in result.output
    assert set(results(result.stdout)[0]) == {"crisis", "category", "rule"}


def test_screen_reads_stdin_and_handles_crlf() -> None:
    result = runner.invoke(safety_app, ["screen", "-"], input="I want to die\r\nhello\r\n")
    assert result.exit_code == 0
    assert [row["crisis"] for row in results(result.stdout)] == [True, False]


def test_lang_option_restricts_packs() -> None:
    english = "I want to die\n"
    assert results(
        runner.invoke(safety_app, ["screen", "-", "--lang", "en"], input=english).stdout
    )[0]["crisis"]
    assert not results(
        runner.invoke(safety_app, ["screen", "-", "--lang", "es"], input=english).stdout
    )[0]["crisis"]
    bad = runner.invoke(safety_app, ["screen", "-", "--lang", "fr"], input=english)
    assert bad.exit_code != 0


def test_screen_with_a_staff_pack(tmp_path: Path) -> None:
    pack = tmp_path / "staff.yaml"
    pack.write_text(
        "language: en\nrules:\n  - id: s.si.x\n    category: suicidal_ideation\n"
        "    phrases: [purple elephant]\n",
        encoding="utf-8",
    )
    result = runner.invoke(
        safety_app, ["screen", "-", "--pack", str(pack)], input="a purple elephant\n"
    )
    assert result.exit_code == 0
    assert results(result.stdout) == [
        {"crisis": True, "category": "suicidal_ideation", "rule": "s.si.x"}
    ]


def test_broken_pack_exits_with_file_and_line(tmp_path: Path) -> None:
    pack = tmp_path / "broken.yaml"
    pack.write_text(
        "language: en\nrules:\n  - id: s.x\n    category: sucide\n    phrases: [x]\n",
        encoding="utf-8",
    )
    result = runner.invoke(safety_app, ["screen", "-", "--pack", str(pack)], input="x\n")
    assert result.exit_code == 2
    assert f"{pack}:4: unknown category 'sucide'" in result.stderr
    assert result.stdout == ""


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(safety_app, ["screen", str(tmp_path / "nope.txt")])
    assert result.exit_code == 2
    assert "file not found" in result.stderr


def test_check_reports_ok_and_problems(tmp_path: Path) -> None:
    good = Path(__file__).resolve().parent.parent / "flows" / "crisis" / "packs" / "en.yaml"
    ok = runner.invoke(safety_app, ["check", str(good)])
    assert ok.exit_code == 0
    assert "ok (" in ok.stdout
    broken = tmp_path / "broken.yaml"
    broken.write_text("language: en\nrules:\n  - category: self_harm\n", encoding="utf-8")
    bad = runner.invoke(safety_app, ["check", str(good), str(broken)])
    assert bad.exit_code == 1
    assert f"{broken}:3: entry has no 'id'" in bad.stderr
