"""Broken flow files are refused with the file, the line and a plain explanation."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.definition import FlowError
from flows.registry import FlowRegistry
from flows.yaml_source import SourceError
from tests.flowkit import flow_from_text

VALID = """\
id: sample
version: 1
start: first
steps:
  first:
    kind: text
    prompt: "First?"
    save: first
    next: done
  done:
    kind: end
    prompt: "Thanks, {first}"
"""


def error_for(tmp_path: Path, text: str) -> SourceError:
    with pytest.raises(SourceError) as caught:
        flow_from_text(tmp_path, text)
    return caught.value


def test_valid_flow_loads(tmp_path: Path) -> None:
    flow = flow_from_text(tmp_path, VALID)
    assert flow.id == "sample" and flow.saved_fields() == ["first"]


@pytest.mark.parametrize(
    ("broken", "line", "words"),
    [
        (VALID.replace("next: done", "next: nowhere"), 9, "unknown step 'nowhere'"),
        (VALID.replace("kind: text", "kind: essay"), 6, "kind must be one of"),
        (VALID.replace("    next: done\n", ""), 6, "no 'next'"),
        (VALID.replace("start: first", "start: zero"), 3, "unknown step 'zero'"),
        (VALID.replace("version: 1", "version: one"), 2, "whole number"),
        (VALID.replace("Thanks, {first}", "Thanks, {name}"), 12, "'{name}', which no step"),
        (VALID.replace("    save: first\n", "    save: first\n    colour: red\n"), 9,
         "unknown key 'colour'"),
        (VALID + "  orphan:\n    kind: text\n    prompt: x\n    next: done\n", 13,
         "can never be reached"),
        (VALID.replace('prompt: "First?"', "prompt: [First]"), 7, "must be text"),
        (VALID.replace('prompt: "First?"', 'prompt: {es: "¿Primero?"}'), 7,
         "no English ('en') text"),
        ("id: x\nversion: 1\nstart: a\nsteps: {a: {kind: text, prompt: p, next: a}}\n", None,
         "no 'end' step"),
        ("id: [unclosed\n", 2, "not valid YAML"),
        (VALID + "  first:\n    kind: text\n    prompt: again\n    next: done\n", 13,
         "'first' appears twice (first on line 5)"),
    ],
)
def test_each_problem_names_file_line_and_cause(
    tmp_path: Path, broken: str, line: int | None, words: str
) -> None:
    error = error_for(tmp_path, broken)
    assert error.file.endswith("flow.yaml")
    assert error.line == line
    assert words in str(error)
    assert str(error).startswith(f"{error.file}:{line}:" if line else f"{error.file}:")


def test_staff_directory_overrides_a_packaged_flow(tmp_path: Path) -> None:
    (tmp_path / "thought.yaml").write_text(
        VALID.replace("id: sample", "id: thought_record").replace("version: 1", "version: 7"),
        encoding="utf-8")
    registry = FlowRegistry.load(tmp_path)
    flow = registry.get("thought_record")
    assert flow is not None and flow.version == 7


def test_two_flows_claiming_one_command_are_refused(tmp_path: Path) -> None:
    (tmp_path / "other.yaml").write_text(
        VALID.replace("id: sample", "id: other\ncommand: thought"), encoding="utf-8")
    with pytest.raises(FlowError, match="already used"):
        FlowRegistry.load(tmp_path)


def test_packaged_flows_are_valid() -> None:
    registry = FlowRegistry.load()
    assert registry.for_command("thought") is not None
