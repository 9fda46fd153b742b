"""Helpers to drive the engine from a test as a client would."""

from __future__ import annotations

from pathlib import Path

from flows.catalog import default_catalog
from flows.definition import FlowDefinition, load_flow
from flows.engine import Answer, FlowEngine, FlowState, Outcome
from flows.registry import DEFINITIONS_DIR


def packaged_flow(flow_id: str) -> FlowDefinition:
    return load_flow(DEFINITIONS_DIR / f"{flow_id}.yaml")


def flow_from_text(tmp_path: Path, text: str, name: str = "flow.yaml") -> FlowDefinition:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_flow(path)


class EngineClient:
    """Sends answers to the engine one at a time and keeps the state, like the database would."""

    def __init__(self, flow: FlowDefinition, language: str = "en") -> None:
        self.flow = flow
        self.language = language
        self.engine = FlowEngine(default_catalog())
        self.outcome: Outcome = self.engine.start(flow, language)
        self.state: FlowState = self.outcome.state

    def send(self, text: str) -> Outcome:
        return self._apply(Answer(text=text))

    def press(self, label: str) -> Outcome:
        buttons = self.outcome.replies[-1].buttons
        matches = [b for b in buttons if b.label == label]
        assert matches, f"no button {label!r}; have {[b.label for b in buttons]}"
        return self._apply(Answer(button=matches[0].id))

    def sticker(self) -> Outcome:
        return self._apply(Answer())

    def _apply(self, answer: Answer) -> Outcome:
        self.outcome = self.engine.handle(self.flow, self.state, answer, self.language)
        self.state = self.outcome.state
        return self.outcome

    @property
    def question(self) -> str:
        return self.outcome.replies[-1].text

    @property
    def labels(self) -> list[str]:
        return [b.label for b in self.outcome.replies[-1].buttons]
