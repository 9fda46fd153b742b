"""The `cbt-companion` command as operators and staff run it: a real process each time."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.chatkit_lines import THOUGHT_RECORD_LINES

CLI = Path(sys.executable).parent / "cbt-companion"


def run_cli(*args: str, env: dict[str, str], stdin: str | None = None
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=120, check=False)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("TELEGRAM_BOT_TOKEN", "DATABASE_URL", "CBT_FLOWS_DIR")}
    clean["CBT_DATA_DIR"] = str(tmp_path / "data")
    return clean


def test_every_entry_point_answers_help(env: dict[str, str]) -> None:
    for args in ([], ["run"], ["chat"], ["export"], ["db", "upgrade"], ["safety", "screen"],
                 ["flows", "validate"], ["flows", "graph"], ["flows", "try"],
                 ["config", "check"]):
        result = run_cli(*args, "--help", env=env)
        assert result.returncode == 0, result.stderr
        assert "Usage" in result.stdout


def test_missing_token_is_one_line_not_a_traceback(env: dict[str, str]) -> None:
    result = run_cli("run", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "TELEGRAM_BOT_TOKEN is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_db_upgrade_creates_the_sqlite_file(env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli("db", "upgrade", env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "cbt-companion.sqlite3").exists()


def test_piped_chat_then_csv_export(env: dict[str, str], tmp_path: Path) -> None:
    script = "\n".join(THOUGHT_RECORD_LINES) + "\n"
    chat = run_cli("chat", "--client", "C-PIPE01", env=env, stdin=script)
    assert chat.returncode == 0, chat.stderr
    assert "How your moods changed:" in chat.stdout
    assert "Anxious: 75 → 35 (-40)" in chat.stdout
    out = tmp_path / "export.csv"
    result = run_cli("export", "--client", "C-PIPE01", "--type", "thought_record", "--out",
                     str(out), "--tz", "America/New_York", env=env)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 1
    assert rows[0]["situation"] == "My flatmate left dishes in the sink again."
    assert rows[0]["moods_before"] == "Anxious:75|Irritated:50"
    assert rows[0]["completed_at"].endswith(("-05:00", "-04:00"))
    as_json = run_cli("export", "--client", "C-PIPE01", "--format", "json", env=env)
    assert '"schema_version": 1' in as_json.stdout


def test_export_mistakes_are_explained(env: dict[str, str], tmp_path: Path) -> None:
    assert run_cli("db", "upgrade", env=env).returncode == 0
    cases = [
        (["--client", "nobody"], "no client 'nobody'"),
        (["--client", "x", "--format", "docx"], "unknown format 'docx'"),
        (["--client", "x", "--type", "diary"], "unknown type 'diary'"),
        (["--client", "x", "--from", "yesterday"], "--from must be a date"),
        (["--client", "x", "--tz", "Mars/Olympus"], "unknown time zone"),
        (["--client", "x", "--from", "2026-02-01", "--to", "2026-01-01"], "after --to"),
    ]
    for args, message in cases:
        result = run_cli("export", *args, "--out", str(tmp_path / "never.csv"), env=env)
        assert result.returncode == 2 and message in result.stderr, result.stderr
    assert not (tmp_path / "never.csv").exists()


def test_a_broken_staff_flow_names_file_and_line(env: dict[str, str], tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "bad.yaml").write_text("id: bad\nversion: 1\nstart: a\nsteps:\n  a:\n"
                                    "    kind: text\n    prompt: hi\n    next: b\n",
                                    encoding="utf-8")
    result = run_cli("chat", env={**env, "CBT_FLOWS_DIR": str(flows)}, stdin="/help\n")
    assert result.returncode == 2
    assert f"{flows / 'bad.yaml'}:8: step 'a' goes to unknown step 'b'" in result.stderr


def test_flows_validate_exit_codes(env: dict[str, str], tmp_path: Path) -> None:
    good = run_cli("flows", "validate", env=env)
    assert good.returncode == 0 and "0 errors, 0 warnings" in good.stdout
    staff = tmp_path / "staff"
    staff.mkdir()
    (staff / "x.yaml").write_text("id: x\nversion: 1\nstart: a\nsteps:\n  a: {kind: text, "
                                  "prompt: hi, next: b}\n", encoding="utf-8")
    bad = run_cli("flows", "validate", str(staff), env=env)
    assert bad.returncode == 1
    assert f"error: {staff / 'x.yaml'}:5: step 'a' goes to unknown step 'b'" in bad.stdout


def test_flows_graph_and_try(env: dict[str, str], tmp_path: Path) -> None:
    graph = run_cli("flows", "graph", "safety_plan", env=env)
    assert graph.returncode == 0 and graph.stdout.startswith("flowchart TD")
    unknown = run_cli("flows", "graph", "nope", env=env)
    assert unknown.returncode == 2 and "no valid flow 'nope'" in unknown.stderr
    played = run_cli("flows", "try", "grounding", env=env,
                     stdin="a lamp\nNext\nI want to kill myself\n")
    assert played.returncode == 0, played.stderr
    assert "5 things you can see" in played.stdout and "paused the exercise" in played.stdout
    assert not (tmp_path / "data").exists()  # the real database was never touched


def test_config_check_prints_the_effective_configuration(env: dict[str, str]) -> None:
    result = run_cli("config", "check", env={**env, "TELEGRAM_BOT_TOKEN": "123:SECRET"})
    assert result.returncode == 0, result.stderr
    assert "flows:\n  - thought_record" in result.stdout or "- thought_record" in result.stdout
    assert "telegram_bot_token: set" in result.stdout and "SECRET" not in result.stdout


def test_encryption_key_rotation_from_the_command_line(env: dict[str, str]) -> None:
    key = run_cli("db", "generate-key", "--key-id", "k7", env=env).stdout.strip()
    assert key.startswith("k7:") and len(key) > 40
    script = "\n".join(THOUGHT_RECORD_LINES) + "\n"
    assert run_cli("chat", "--client", "C-KEY001", env=env, stdin=script).returncode == 0
    keyed = {**env, "CBT_ENCRYPTION_KEY": key}
    rekeyed = run_cli("db", "rekey", env=keyed)
    assert rekeyed.returncode == 0, rekeyed.stderr
    assert "encrypted (were plain) 1" in rekeyed.stdout and "k7" in rekeyed.stdout
    readable = run_cli("export", "--client", "C-KEY001", "--format", "json", env=keyed)
    assert "My flatmate left dishes" in readable.stdout
    locked = run_cli("export", "--client", "C-KEY001", "--format", "json", env=env)
    assert locked.returncode == 2
    assert "value encrypted with key 'k7', which is not configured" in locked.stderr
    assert "Traceback" not in locked.stderr
