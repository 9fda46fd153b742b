"""Paced exercises (breathing, muscle relaxation, imagery) as data files staff can add to.

An exercise is a list of timed phases repeated for some rounds. The bot paces it in real
time; this module only describes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flows.definition import DEFAULT_LANGUAGE, FlowError, Text
from flows.yaml_source import line_of, load_yaml

EXERCISES_DIR = Path(__file__).parent / "exercises"
# Telegram copes with about one edit a second per chat; shorter phases are refused.
MIN_PHASE_SECONDS = 2
_KEYS = {"id", "title", "intro", "rounds", "phases", "finish"}


@dataclass(frozen=True)
class Phase:
    text: Text
    seconds: int


@dataclass(frozen=True)
class Exercise:
    id: str
    title: Text
    intro: Text
    rounds: int
    phases: tuple[Phase, ...]
    finish: Text
    source: str = "<memory>"

    @property
    def round_seconds(self) -> int:
        return sum(phase.seconds for phase in self.phases)

    @property
    def total_seconds(self) -> int:
        return self.rounds * self.round_seconds


def _text(value: Any, node: Any, key: str, path: Path) -> Text:
    if isinstance(value, str):
        return Text({DEFAULT_LANGUAGE: value}, line=line_of(node, key))
    if isinstance(value, Mapping) and DEFAULT_LANGUAGE in value and all(
            isinstance(v, str) for v in value.values()):
        return Text({str(k): v for k, v in value.items()}, line=line_of(node, key))
    raise FlowError(path, line_of(node, key), f"'{key}' must be text or a mapping of language "
                    "to text, with English ('en')")


def load_exercise(path: Path) -> Exercise:
    root = load_yaml(path).root
    if not isinstance(root, Mapping):
        raise FlowError(path, 1, "an exercise file must be a mapping")
    unknown = sorted(set(root) - _KEYS)
    if unknown:
        raise FlowError(path, line_of(root, unknown[0]), f"unknown key '{unknown[0]}'")
    for key in ("id", "title", "rounds", "phases"):
        if key not in root:
            raise FlowError(path, line_of(root), f"missing '{key}'")
    rounds = root["rounds"]
    if not isinstance(rounds, int) or isinstance(rounds, bool) or not 1 <= rounds <= 50:
        raise FlowError(path, line_of(root, "rounds"), "'rounds' must be a number from 1 to 50")
    raw_phases = root["phases"]
    if not isinstance(raw_phases, list) or not raw_phases:
        raise FlowError(path, line_of(root, "phases"), "'phases' must be a non-empty list")
    phases = []
    for raw in raw_phases:
        if not isinstance(raw, Mapping) or set(raw) != {"text", "seconds"}:
            raise FlowError(path, line_of(raw) or line_of(root, "phases"),
                            "each phase needs exactly 'text' and 'seconds'")
        seconds = raw["seconds"]
        if not isinstance(seconds, int) or not MIN_PHASE_SECONDS <= seconds <= 600:
            raise FlowError(path, line_of(raw, "seconds"), f"'seconds' must be a whole number "
                            f"from {MIN_PHASE_SECONDS} to 600 (Telegram limits message edits)")
        phases.append(Phase(text=_text(raw["text"], raw, "text", path), seconds=seconds))
    return Exercise(
        id=str(root["id"]),
        title=_text(root["title"], root, "title", path),
        intro=_text(root.get("intro", ""), root, "intro", path),
        rounds=rounds,
        phases=tuple(phases),
        finish=_text(root.get("finish", "Well done."), root, "finish", path),
        source=str(path),
    )


def load_exercises(directories: Iterable[Path]) -> dict[str, Exercise]:
    """Packaged exercises, then staff ones (same id replaces)."""
    exercises: dict[str, Exercise] = {}
    for directory in directories:
        for path in sorted(directory.glob("*.yaml")):
            exercise = load_exercise(path)
            exercises[exercise.id] = exercise
    return exercises


def exercise_dirs(staff_flows_dir: Path | None) -> list[Path]:
    extra = staff_flows_dir / "exercises" if staff_flows_dir is not None else None
    return [EXERCISES_DIR] + ([extra] if extra is not None and extra.is_dir() else [])
