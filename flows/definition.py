"""Flow definitions: the data a staff-edited YAML file describes, validated on load."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from flows.questionnaires import INSTRUMENTS
from flows.yaml_source import SourceError, line_of, load_yaml

StepKind = Literal["text", "number", "choice", "multi_choice", "pick", "rate_each", "timed",
                   "end"]
STEP_KINDS: tuple[str, ...] = (
    "text", "number", "choice", "multi_choice", "pick", "rate_each", "timed", "end",
)
DEFAULT_LANGUAGE = "en"
# Telegram refuses callback data over 64 bytes; the adapter adds a short prefix.
MAX_OPTION_ID_LENGTH = 32
# Long enough for anything a person types in one go; longer input is refused, never cut.
DEFAULT_MAX_TEXT_LENGTH = 20_000
_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Text:
    """User-facing text in one or more languages; falls back to English."""

    by_language: Mapping[str, str]
    line: int | None = field(default=None, compare=False)

    def get(self, language: str) -> str:
        return (
            self.by_language.get(language)
            or self.by_language.get(DEFAULT_LANGUAGE)
            or next(iter(self.by_language.values()), "")
        )


@dataclass(frozen=True)
class Option:
    id: str
    label: Text


@dataclass(frozen=True)
class Branch:
    """Go to ``to`` when the answer matches (``when_answer`` None means always)."""

    to: str
    when_answer: frozenset[str] | None = None

    def matches(self, answer: Any) -> bool:
        """A list answer (several choices) matches when any chosen item does."""
        if self.when_answer is None:
            return True
        if isinstance(answer, list):
            return any(str(item) in self.when_answer for item in answer)
        return str(answer) in self.when_answer


@dataclass(frozen=True)
class Compare:
    """How an end step shows the change between two rated lists (moods before/after)."""

    before: str
    after: str
    key: str
    value: str
    into: str


@dataclass(frozen=True)
class CrisisIf:
    """An answer at or above ``at_least`` goes through the crisis response at once."""

    at_least: int
    category: str
    rule: str


@dataclass(frozen=True)
class Step:
    id: str
    kind: StepKind
    prompt: Text
    line: int | None = None
    save: str | None = None
    append: str | None = None
    branches: tuple[Branch, ...] = ()
    options: tuple[Option, ...] = ()
    allow_text: bool = False
    optional: bool = False
    max_length: int = DEFAULT_MAX_TEXT_LENGTH
    minimum: int = 0
    maximum: int = 100
    number_buttons: tuple[int, ...] = ()
    value_key: str = "value"
    record: Mapping[str, str] = field(default_factory=dict)
    options_from: str | None = None
    item_key: str | None = None
    skip_if_single: bool = False
    compare: Compare | None = None
    # A questionnaire item's LOINC code; its answer (an option id "0".."3") is scored.
    code: str | None = None
    crisis_if: CrisisIf | None = None
    # A timed step runs the paced exercise named by this earlier answer.
    exercise_from: str | None = None

    @property
    def target(self) -> str | None:
        return self.save or self.append


@dataclass(frozen=True)
class FlowDefinition:
    id: str
    version: int
    entry_type: str
    title: Text
    start: str
    steps: Mapping[str, Step]
    source: str = "<memory>"
    command: str | None = None
    # False: answers are not kept once the flow ends (e.g. a grounding exercise).
    store: bool = True
    # False: open to clients who declined storage (nothing of theirs is kept either way).
    requires_consent: bool = True
    # True: the command first shows the latest saved entry (a safety plan) with a way to redo.
    show_saved: bool = False
    # One line for /help; the title when not given.
    description: Text | None = None
    # A standard questionnaire this flow administers ("phq9", "gad7"): scored at the end.
    scoring: str | None = None
    # Constant fields every entry of this flow carries (e.g. the mood scale used).
    fields: Mapping[str, Any] = field(default_factory=dict)

    def step(self, step_id: str) -> Step:
        return self.steps[step_id]

    def saved_fields(self) -> list[str]:
        """Answer keys that end up in the stored entry, in the order the flow asks them."""
        seen: list[str] = []
        for step in self.steps.values():
            for name in (step.target, step.compare.into if step.compare else None):
                if name and not name.startswith("_") and name not in seen:
                    seen.append(name)
        return seen


class FlowError(SourceError):
    """A flow file that cannot be used, with file and line."""


class FlowProblems(FlowError):
    """Several problems found in one flow file; reads as the first, lists them all."""

    def __init__(self, problems: list[FlowError]) -> None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first.file, first.line, first.message + more)
        self.problems = problems


_STEP_KEYS = {
    "kind", "prompt", "save", "append", "next", "options", "allow_text", "optional",
    "max_length", "min", "max", "buttons", "value_key", "record", "options_from",
    "item_key", "skip_if_single", "compare", "code", "crisis_if", "exercise_from",
}
_FLOW_KEYS = {"id", "version", "entry_type", "title", "start", "steps", "command", "store",
              "requires_consent", "show_saved", "description", "scoring", "fields"}


class _Parser:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[FlowError] = []

    def fail(self, node: Any, message: str, key: str | None = None) -> FlowError:
        return FlowError(self.path, line_of(node, key), message)

    def text(self, value: Any, node: Any, key: str) -> Text:
        if isinstance(value, str):
            return Text({DEFAULT_LANGUAGE: value}, line=line_of(node, key))
        if isinstance(value, Mapping) and value and all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            if DEFAULT_LANGUAGE not in value:
                raise self.fail(node, f"'{key}' has no English ('en') text to fall back on", key)
            return Text(dict(value), line=line_of(node, key))
        raise self.fail(node, f"'{key}' must be text, or a mapping of language to text", key)

    def flow(self, root: Any) -> FlowDefinition:
        if not isinstance(root, Mapping):
            raise FlowError(self.path, 1, "a flow file must be a mapping with id, version, steps")
        unknown = sorted(set(root) - _FLOW_KEYS)
        if unknown:
            raise self.fail(root, f"unknown key '{unknown[0]}' (known: {sorted(_FLOW_KEYS)})",
                            unknown[0])
        for key in ("id", "version", "start", "steps"):
            if key not in root:
                raise self.fail(root, f"missing '{key}'")
        flow_id = root["id"]
        if not isinstance(flow_id, str) or not _ID_PATTERN.match(flow_id):
            raise self.fail(root, "'id' must be lower-case letters, digits and _", "id")
        version = root["version"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise self.fail(root, "'version' must be a whole number from 1", "version")
        steps_node = root["steps"]
        if not isinstance(steps_node, Mapping) or not steps_node:
            raise self.fail(root, "'steps' must be a non-empty mapping of step id to step",
                            "steps")
        steps: dict[str, Step] = {}
        for step_id, body in steps_node.items():
            try:
                steps[str(step_id)] = self.step(str(step_id), body, steps_node)
            except FlowError as problem:  # keep going: staff fix every problem in one pass
                self.problems.append(problem)
        if self.problems:
            raise FlowProblems(self.problems)
        start = root["start"]
        if start not in steps:
            raise self.fail(root, f"'start' names unknown step '{start}'", "start")
        definition = FlowDefinition(
            id=flow_id,
            version=version,
            entry_type=str(root.get("entry_type", flow_id)),
            title=self.text(root["title"], root, "title") if "title" in root
            else Text({DEFAULT_LANGUAGE: flow_id.replace("_", " ")}),
            start=start,
            steps=steps,
            source=str(self.path),
            command=root.get("command"),
            store=self.flag(root, "store", True),
            requires_consent=self.flag(root, "requires_consent", True),
            show_saved=self.flag(root, "show_saved", False),
            description=self.text(root["description"], root, "description")
            if "description" in root else None,
            scoring=self.scoring(root, steps),
            fields=self.constant_fields(root),
        )
        if not definition.requires_consent and (definition.store or any(
                step.target for step in steps.values())):
            raise self.fail(root, "a flow open without consent must keep nothing: set "
                            "'store: false' and give no step 'save' or 'append'",
                            "requires_consent")
        self.check_graph(definition, steps_node)
        if self.problems:
            raise FlowProblems(self.problems)
        return definition

    def step(self, step_id: str, body: Any, parent: Any) -> Step:
        if not _ID_PATTERN.match(step_id):
            raise self.fail(parent, f"step id '{step_id}' must be lower-case letters, digits, _",
                            step_id)
        if not isinstance(body, Mapping):
            raise self.fail(parent, f"step '{step_id}' must be a mapping", step_id)
        unknown = sorted(set(body) - _STEP_KEYS)
        if unknown:
            raise self.fail(body, f"step '{step_id}': unknown key '{unknown[0]}'", unknown[0])
        kind = body.get("kind")
        if kind not in STEP_KINDS:
            raise self.fail(body, f"step '{step_id}': kind must be one of {list(STEP_KINDS)}",
                            "kind")
        if "prompt" not in body:
            raise self.fail(body, f"step '{step_id}' has no prompt")
        if "save" in body and "append" in body:
            raise self.fail(body, f"step '{step_id}': use either 'save' or 'append', not both")
        if kind != "end" and "next" not in body:
            raise self.fail(body, f"step '{step_id}' has no 'next' (no way out)")
        for key in ("save", "append", "options_from", "item_key", "value_key", "exercise_from"):
            if key in body and not (isinstance(body[key], str) and body[key]):
                raise self.fail(body, f"step '{step_id}': '{key}' must be a field name", key)
        options = self.options(step_id, body)
        if kind in ("choice", "multi_choice") and not options:
            raise self.fail(body, f"step '{step_id}': a {kind} step needs 'options'")
        if kind in ("pick",) and "options_from" not in body:
            raise self.fail(body, f"step '{step_id}': a pick step needs 'options_from'")
        if kind == "rate_each" and "options_from" not in body:
            raise self.fail(body, f"step '{step_id}': a rate_each step needs 'options_from'")
        if kind == "timed" and "exercise_from" not in body:
            raise self.fail(body, f"step '{step_id}': a timed step needs 'exercise_from'")
        minimum, maximum = self.integer(body, "min", 0), self.integer(body, "max", 100)
        if minimum > maximum:
            raise self.fail(body, f"step '{step_id}': 'min' is greater than 'max'", "min")
        buttons = body.get("buttons", [])
        if not isinstance(buttons, list) or not all(
            isinstance(b, int) and minimum <= b <= maximum for b in buttons
        ):
            raise self.fail(body, f"step '{step_id}': 'buttons' must be numbers within min..max",
                            "buttons")
        record = body.get("record", {})
        if not isinstance(record, Mapping):
            raise self.fail(body, f"step '{step_id}': 'record' must map names to fields",
                            "record")
        return Step(
            id=step_id,
            kind=kind,
            prompt=self.text(body["prompt"], body, "prompt"),
            line=line_of(body),
            save=body.get("save"),
            append=body.get("append"),
            branches=self.branches(step_id, body),
            options=options,
            allow_text=bool(body.get("allow_text", False)),
            optional=bool(body.get("optional", False)),
            max_length=self.integer(body, "max_length", DEFAULT_MAX_TEXT_LENGTH),
            minimum=minimum,
            maximum=maximum,
            number_buttons=tuple(buttons),
            value_key=body.get("value_key", "value"),
            record={str(k): str(v) for k, v in record.items()},
            options_from=body.get("options_from"),
            item_key=body.get("item_key"),
            skip_if_single=bool(body.get("skip_if_single", False)),
            compare=self.compare(step_id, body),
            code=str(body["code"]) if "code" in body else None,
            crisis_if=self.crisis_if(step_id, body),
            exercise_from=body.get("exercise_from"),
        )

    def crisis_if(self, step_id: str, body: Any) -> CrisisIf | None:
        raw = body.get("crisis_if")
        if raw is None:
            return None
        keys = {"at_least", "category", "rule"}
        if (not isinstance(raw, Mapping) or set(raw) != keys
                or not isinstance(raw["at_least"], int)):
            raise self.fail(body, f"step '{step_id}': 'crisis_if' needs at_least (a number), "
                            "category and rule", "crisis_if")
        return CrisisIf(at_least=raw["at_least"], category=str(raw["category"]),
                        rule=str(raw["rule"]))

    def scoring(self, root: Any, steps: Mapping[str, Step]) -> str | None:
        instrument_id = root.get("scoring")
        if instrument_id is None:
            return None
        instrument = INSTRUMENTS.get(str(instrument_id))
        if instrument is None:
            raise self.fail(root, f"'scoring' must be one of {sorted(INSTRUMENTS)}", "scoring")
        codes = {step.code for step in steps.values() if step.code}
        missing = [code for code in instrument.item_codes if code not in codes]
        if missing:
            raise self.fail(root, f"scoring {instrument.name}: no step has item code "
                            f"{missing[0]}", "scoring")
        for step in steps.values():
            if step.code in instrument.item_codes and (
                    step.kind != "choice" or [o.id for o in step.options] != ["0", "1", "2", "3"]):
                raise self.fail(root, f"step '{step.id}': a scored item needs a choice with "
                                "options 0, 1, 2, 3", "scoring")
        return instrument.id

    def constant_fields(self, root: Any) -> dict[str, Any]:
        raw = root.get("fields", {})
        if not isinstance(raw, Mapping) or not all(
                isinstance(v, str | int | float) for v in raw.values()):
            raise self.fail(root, "'fields' maps names to plain values", "fields")
        return {str(k): v for k, v in raw.items()}

    def flag(self, body: Any, key: str, default: bool) -> bool:
        value = body.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(body, f"'{key}' must be true or false", key)
        return value

    def integer(self, body: Any, key: str, default: int) -> int:
        value = body.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(body, f"'{key}' must be a whole number", key)
        return value

    def options(self, step_id: str, body: Any) -> tuple[Option, ...]:
        raw = body.get("options", [])
        if not isinstance(raw, list):
            raise self.fail(body, f"step '{step_id}': 'options' must be a list", "options")
        options: list[Option] = []
        for item in raw:
            if isinstance(item, str):
                option = Option(_slug(item), Text({DEFAULT_LANGUAGE: item}))
            elif isinstance(item, Mapping) and "id" in item and "label" in item:
                option = Option(str(item["id"]), self.text(item["label"], item, "label"))
            else:
                raise self.fail(body, f"step '{step_id}': each option is text or {{id, label}}",
                                "options")
            if not option.id or len(option.id.encode()) > MAX_OPTION_ID_LENGTH:
                raise self.fail(body, f"step '{step_id}': option id '{option.id}' must be 1-"
                                f"{MAX_OPTION_ID_LENGTH} bytes", "options")
            if any(o.id == option.id for o in options):
                raise self.fail(body, f"step '{step_id}': duplicate option id '{option.id}'",
                                "options")
            options.append(option)
        return tuple(options)

    def branches(self, step_id: str, body: Any) -> tuple[Branch, ...]:
        raw = body.get("next")
        if raw is None:
            return ()
        if isinstance(raw, str):
            return (Branch(to=raw),)
        if not isinstance(raw, list) or not raw:
            raise self.fail(body, f"step '{step_id}': 'next' is a step id or a list of "
                            "{when, to}", "next")
        branches: list[Branch] = []
        for item in raw:
            if not isinstance(item, Mapping) or "to" not in item:
                raise self.fail(body, f"step '{step_id}': each 'next' entry needs 'to'", "next")
            when = item.get("when")
            if when is None:
                branches.append(Branch(to=str(item["to"])))
                continue
            if not isinstance(when, Mapping) or set(when) != {"answer"}:
                raise self.fail(item, f"step '{step_id}': 'when' supports only 'answer'", "when")
            answers = when["answer"]
            values = answers if isinstance(answers, list) else [answers]
            branches.append(Branch(to=str(item["to"]),
                                   when_answer=frozenset(str(v) for v in values)))
        if branches[-1].when_answer is not None:
            raise self.fail(body, f"step '{step_id}': the last 'next' entry must have no "
                            "'when', so every answer has a way on", "next")
        return tuple(branches)

    def compare(self, step_id: str, body: Any) -> Compare | None:
        raw = body.get("compare")
        if raw is None:
            return None
        keys = {"before", "after", "key", "value", "as"}
        if not isinstance(raw, Mapping) or set(raw) != keys:
            raise self.fail(body, f"step '{step_id}': 'compare' needs exactly {sorted(keys)}",
                            "compare")
        return Compare(before=str(raw["before"]), after=str(raw["after"]), key=str(raw["key"]),
                       value=str(raw["value"]), into=str(raw["as"]))

    def check_graph(self, flow: FlowDefinition, steps_node: Any) -> None:
        """Problems of the flow as a whole, all collected: dead ends, orphans, bad fields."""
        for step in flow.steps.values():
            for branch in step.branches:
                if branch.to not in flow.steps:
                    self.problems.append(self.fail(
                        steps_node.get(step.id),
                        f"step '{step.id}' goes to unknown step '{branch.to}'", "next"))
        reachable = {flow.start}
        frontier = [flow.start]
        while frontier:
            for branch in flow.steps[frontier.pop()].branches:
                if branch.to in flow.steps and branch.to not in reachable:
                    reachable.add(branch.to)
                    frontier.append(branch.to)
        for step_id in flow.steps:
            if step_id not in reachable:
                self.problems.append(self.fail(
                    steps_node, f"step '{step_id}' can never be reached", step_id))
        if not any(step.kind == "end" for step in flow.steps.values()):
            self.problems.append(FlowError(
                self.path, None, "the flow has no 'end' step, so it never finishes"))
        known = _fields_written(flow)
        for step in flow.steps.values():
            for language, template in step.prompt.by_language.items():
                for name in _template_fields(template):
                    if name not in known:
                        self.problems.append(self.fail(
                            steps_node.get(step.id), f"step '{step.id}' prompt ({language}) "
                            f"uses '{{{name}}}', which no step saves", "prompt"))


SCORED_FIELDS = frozenset({"instrument", "total", "max_total", "band", "band_text", "items",
                           "difficulty"})


def _fields_written(flow: FlowDefinition) -> set[str]:
    names: set[str] = {"item", *flow.fields}
    if flow.scoring:
        names.update(SCORED_FIELDS)
    for step in flow.steps.values():
        names.update(n for n in (step.target, step.compare.into if step.compare else None) if n)
    return names


def _template_fields(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def _slug(label: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
    return slug or label


def load_flow(path: Path) -> FlowDefinition:
    """Load and validate one flow file."""
    return _Parser(path).flow(load_yaml(path).root)
