"""The conversation engine: (flow, saved state, input) -> (new state, what to show, entry to save).

Pure: no I/O, no clock, no Telegram. Step moves go through one ``transitions`` machine
per flow definition; a model is attached for one event and removed again, so the machine
holds no per-client memory (see reference/stack.md, section 3).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, cast

from transitions import EventData, Machine

from flows.catalog import Catalog
from flows.definition import CrisisIf, FlowDefinition, Step
from flows.questionnaires import ANSWER_CODES, DIFFICULTY_CODES, INSTRUMENTS, score


@dataclass(frozen=True)
class Button:
    id: str
    label: str


@dataclass(frozen=True)
class Reply:
    """One message to show: text plus optional buttons (rows are the adapter's choice)."""

    text: str
    buttons: tuple[Button, ...] = ()
    # The paced exercise to run now (its id); the front end paces it and answers the step
    # with a finished or stopped button when it ends.
    timer: str | None = None


@dataclass(frozen=True)
class Answer:
    """What the client sent: typed text, a pressed button id, or neither (a sticker, a photo)."""

    text: str | None = None
    button: str | None = None


@dataclass(frozen=True)
class FlowState:
    """Everything needed to resume a flow; stored as-is in the database."""

    step: str
    answers: Mapping[str, Any] = field(default_factory=dict)
    cursor: int = 0
    turn: int = 0


@dataclass(frozen=True)
class Outcome:
    state: FlowState
    replies: tuple[Reply, ...]
    accepted: bool
    finished: bool = False
    entry: Mapping[str, Any] | None = None
    # Answers that call for the crisis response (a questionnaire's self-harm item).
    alerts: tuple[CrisisIf, ...] = ()


class _Cursor:
    """The model ``transitions`` moves; lives only for one event."""

    state: str

    def __init__(self) -> None:
        self.answer: Any = None


class _Rejected(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


SKIP = "_skip"
DONE = "_done"


class FlowEngine:
    """Runs any flow definition; one instance serves every client."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._machines: dict[tuple[str, int], Machine] = {}

    def start(self, flow: FlowDefinition, language: str) -> Outcome:
        state = self._settle(flow, FlowState(step=flow.start))
        return Outcome(state=state, replies=(self.prompt(flow, state, language),), accepted=True)

    def prompt(self, flow: FlowDefinition, state: FlowState, language: str) -> Reply:
        """The question the client is on (used after a restart or a pause)."""
        step = flow.step(state.step)
        text = _fill(step.prompt.get(language), state.answers, self._item(step, state))
        timer = str(state.answers.get(step.exercise_from)) if step.exercise_from else None
        return Reply(text=text, buttons=self._buttons(step, state, language), timer=timer)

    def handle(
        self, flow: FlowDefinition, state: FlowState, answer: Answer, language: str
    ) -> Outcome:
        step = flow.step(state.step)
        try:
            value, complete = self._read(step, state, answer, language)
        except _Rejected as rejected:
            again = self.prompt(flow, state, language)
            return Outcome(state=state, replies=(Reply(rejected.text), again), accepted=False)
        answers = dict(state.answers)
        cursor = state.cursor
        if step.kind == "multi_choice":
            answers.pop(_selection_key(step), None)
            if complete:
                _store(step, answers, value)
            else:
                answers[_selection_key(step)] = value
        elif step.kind == "rate_each":
            ratings = list(answers.get(_rating_key(step), []))
            if value is not None:
                item = self._item(step, state)
                ratings.append({step.item_key or "item": item, step.value_key: value})
            answers[_rating_key(step)] = ratings
            cursor += 1
            complete = cursor >= len(self._items(step, state.answers))
            if complete:
                _store(step, answers, answers.pop(_rating_key(step)))
        else:
            _store(step, answers, self._shape(step, answers, value))
        alerts = _alerts(step, value)
        turned = replace(state, answers=answers, cursor=cursor, turn=state.turn + 1)
        if not complete:
            return Outcome(turned, (self.prompt(flow, turned, language),), accepted=True,
                           alerts=alerts)
        moved = self._advance(flow, turned, value)
        moved = self._settle(flow, moved)
        end = flow.step(moved.step)
        if end.kind == "end":
            entry = {**flow.fields,
                     **{k: v for k, v in moved.answers.items() if not k.startswith("_")},
                     **_scored(flow, moved.answers)}
            text = self.summary(flow, entry, language, step_id=end.id)
            return Outcome(moved, (Reply(text),), accepted=True, finished=True, entry=entry,
                           alerts=alerts)
        return Outcome(moved, (self.prompt(flow, moved, language),), accepted=True,
                       alerts=alerts)

    def summary(self, flow: FlowDefinition, answers: Mapping[str, Any], language: str,
                step_id: str | None = None) -> str:
        """An end step's message for these answers (also used to show a saved entry again)."""
        end = flow.step(step_id) if step_id else next(
            step for step in flow.steps.values() if step.kind == "end")
        values = dict(answers)
        if end.compare:
            values[end.compare.into] = _compare(end, values)
        if isinstance(values.get("band"), str):
            values["band_text"] = self._catalog.get(
                "band_" + values["band"].replace(" ", "_"), language)
        return _fill(end.prompt.get(language), values, None)

    # -- moving between steps -------------------------------------------------------------

    def _machine(self, flow: FlowDefinition) -> Machine:
        key = (flow.id, flow.version)
        machine = self._machines.get(key)
        if machine is None:
            machine = Machine(
                model=None,
                states=list(flow.steps),
                initial=flow.start,
                auto_transitions=False,
                send_event=True,
                queued=True,
            )
            for step in flow.steps.values():
                for branch in step.branches:
                    machine.add_transition(
                        "advance", step.id, branch.to, conditions=[_matcher(branch.matches)]
                    )
            self._machines[key] = machine
        return machine

    def _advance(self, flow: FlowDefinition, state: FlowState, value: Any) -> FlowState:
        machine = self._machine(flow)
        cursor = _Cursor()
        cursor.answer = value
        machine.add_model(cursor, initial=state.step)
        try:
            cursor.trigger("advance")  # type: ignore[attr-defined]
        finally:
            machine.remove_model(cursor)
        return replace(state, step=cursor.state, cursor=0)

    def _settle(self, flow: FlowDefinition, state: FlowState) -> FlowState:
        """Skip steps that need no question: a pick among one item, a rating of nothing."""
        for _ in range(len(flow.steps)):
            step = flow.step(state.step)
            if step.kind == "pick" and step.skip_if_single:
                items = self._items(step, state.answers)
                if len(items) == 1:
                    answers = dict(state.answers)
                    _store(step, answers, items[0])
                    state = self._advance(flow, replace(state, answers=answers), items[0])
                    continue
            if step.kind == "rate_each" and not self._items(step, state.answers):
                answers = dict(state.answers)
                _store(step, answers, [])
                state = self._advance(flow, replace(state, answers=answers), None)
                continue
            break
        return state

    # -- reading an answer ----------------------------------------------------------------

    def _read(self, step: Step, state: FlowState, answer: Answer, lang: str) -> tuple[Any, bool]:
        text = answer.text.strip() if answer.text is not None else None
        if answer.button == SKIP and step.optional:
            return None, True
        if step.kind == "text":
            if text is None:
                raise _Rejected(self._catalog.get("please_type", lang))
            if not text:
                raise _Rejected(self._catalog.get("empty_answer", lang))
            if len(text) > step.max_length:
                raise _Rejected(self._catalog.get("too_long", lang, limit=step.max_length,
                                                  length=len(text)))
            return text, True
        if step.kind in ("number", "rate_each"):
            raw = answer.button if answer.button is not None else text
            if raw is None:
                raise _Rejected(self._catalog.get("please_type_number", lang,
                                                  min=step.minimum, max=step.maximum))
            number = _parse_int(raw)
            if number is None or not step.minimum <= number <= step.maximum:
                raise _Rejected(self._catalog.get("number_out_of_range", lang,
                                                  min=step.minimum, max=step.maximum))
            return number, True
        if step.kind == "choice":
            if answer.button is not None:
                option = next((o for o in step.options if o.id == answer.button), None)
                if option is None:
                    raise _Rejected(self._catalog.get("stale_button", lang))
                return (option.label.get(lang) if step.allow_text else option.id), True
            if text:
                typed = _match_option(step, text, lang)
                if typed is not None:
                    return (typed if not step.allow_text else
                            next(o.label.get(lang) for o in step.options if o.id == typed)), True
                if step.allow_text:
                    if len(text) > step.max_length:
                        raise _Rejected(self._catalog.get("too_long", lang,
                                                          limit=step.max_length,
                                                          length=len(text)))
                    return text, True
            raise _Rejected(self._catalog.get("choose_button", lang))
        if step.kind == "multi_choice":
            selected = list(state.answers.get(_selection_key(step), []))
            if answer.button == DONE:
                return selected, True
            option_id = answer.button if answer.button is not None else (
                _match_option(step, text, lang) if text else None)
            if option_id is None or all(o.id != option_id for o in step.options):
                raise _Rejected(self._catalog.get("choose_button", lang))
            if option_id in selected:
                selected.remove(option_id)
            else:
                selected.append(option_id)
            return selected, False
        if step.kind == "timed":
            run = parse_exercise_result(answer.button)
            if run is None:
                raise _Rejected(self._catalog.get("exercise_running", lang))
            return run, True
        if step.kind == "pick":
            items = self._items(step, state.answers)
            index = _parse_int(answer.button if answer.button is not None else (text or ""))
            if index is None or not 1 <= index <= len(items):
                raise _Rejected(self._catalog.get("pick_number", lang, count=len(items)))
            return items[index - 1], True
        raise _Rejected(self._catalog.get("flow_finished", lang))

    def _shape(self, step: Step, answers: Mapping[str, Any], value: Any) -> Any:
        if not step.record:
            return value
        shaped = {name: answers.get(source) for name, source in step.record.items()}
        shaped[step.value_key] = value
        return shaped

    # -- showing a step -------------------------------------------------------------------

    def _buttons(self, step: Step, state: FlowState, lang: str) -> tuple[Button, ...]:
        buttons: list[Button] = []
        if step.kind == "choice":
            buttons = [Button(o.id, o.label.get(lang)) for o in step.options]
        elif step.kind == "multi_choice":
            chosen = set(state.answers.get(_selection_key(step), []))
            buttons = [Button(o.id, ("✓ " if o.id in chosen else "") + o.label.get(lang))
                       for o in step.options]
            buttons.append(Button(DONE, self._catalog.get("button_done", lang)))
        elif step.kind in ("number", "rate_each"):
            buttons = [Button(str(n), str(n)) for n in step.number_buttons]
        elif step.kind == "pick":
            buttons = [Button(str(i), _shorten(str(item)))
                       for i, item in enumerate(self._items(step, state.answers), start=1)]
        if step.optional:
            buttons.append(Button(SKIP, self._catalog.get("button_skip", lang)))
        return tuple(buttons)

    def _items(self, step: Step, answers: Mapping[str, Any]) -> list[Any]:
        items = answers.get(step.options_from or "", [])
        return list(items) if isinstance(items, list) else []

    def _item(self, step: Step, state: FlowState) -> Any:
        if step.kind != "rate_each":
            return None
        items = self._items(step, state.answers)
        if state.cursor >= len(items):
            return None
        item = items[state.cursor]
        if isinstance(item, Mapping) and step.item_key:
            return item.get(step.item_key)
        return item


EXERCISE_DONE = "_done"
EXERCISE_STOPPED = "_stopped"


def exercise_result_button(stopped: bool, rounds: int, seconds: int) -> str:
    """The button id a front end answers a timed step with when the exercise ends."""
    return f"{EXERCISE_STOPPED if stopped else EXERCISE_DONE}:{rounds}:{seconds}"


def parse_exercise_result(button: str | None) -> dict[str, Any] | None:
    kind, _, rest = (button or "").partition(":")
    rounds, _, seconds = rest.partition(":")
    if kind not in (EXERCISE_DONE, EXERCISE_STOPPED) or not (
            rounds.isdigit() and seconds.isdigit()):
        return None
    return {"rounds_completed": int(rounds), "duration_s": int(seconds),
            "stopped": kind == EXERCISE_STOPPED}


def _alerts(step: Step, value: Any) -> tuple[CrisisIf, ...]:
    if step.crisis_if is None:
        return ()
    number = _parse_int(str(value)) if value is not None else None
    return (step.crisis_if,) if number is not None and number >= step.crisis_if.at_least else ()


def _scored(flow: FlowDefinition, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Total, band and coded item answers of a standard questionnaire."""
    if flow.scoring is None:
        return {}
    instrument = INSTRUMENTS[flow.scoring]
    by_code = {step.code: int(answers[step.target]) for step in flow.steps.values()
               if step.code and step.target and step.target in answers}
    result = score(instrument, by_code)
    scored: dict[str, Any] = {
        "instrument": instrument.id,
        "total": result.total,
        "max_total": instrument.max_total,
        "band": result.band,
        "items": [{"code": code, "value": value, "answer_code": ANSWER_CODES[value]}
                  for code, value in result.items],
    }
    difficulty = instrument.difficulty_code
    if difficulty is not None and difficulty in by_code:
        scored["difficulty"] = {"code": difficulty, "value": by_code[difficulty],
                                "answer_code": DIFFICULTY_CODES[by_code[difficulty]]}
    return scored


def _matcher(matches: Any) -> Any:
    def condition(event: EventData) -> bool:
        return bool(matches(cast(_Cursor, event.model).answer))

    return condition


def _store(step: Step, answers: dict[str, Any], value: Any) -> None:
    if step.append:
        answers[step.append] = [*answers.get(step.append, []), value]
    elif step.save:
        answers[step.save] = value


def _selection_key(step: Step) -> str:
    return f"_selected_{step.id}"


def _rating_key(step: Step) -> str:
    return f"_ratings_{step.id}"


def _compare(step: Step, answers: Mapping[str, Any]) -> str:
    assert step.compare is not None
    spec = step.compare
    after = {row.get(spec.key): row.get(spec.value) for row in answers.get(spec.after, [])
             if isinstance(row, Mapping)}
    lines = []
    for row in answers.get(spec.before, []):
        if not isinstance(row, Mapping):
            continue
        name, before = row.get(spec.key), row.get(spec.value)
        now = after.get(name)
        if isinstance(before, int) and isinstance(now, int):
            lines.append(f"• {name}: {before} → {now} ({now - before:+d})")
        else:
            lines.append(f"• {name}: {before}")
    return "\n".join(lines)


class _Answers(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def _fill(template: str, answers: Mapping[str, Any], item: Any) -> str:
    values = _Answers({k: _display(v) for k, v in answers.items()})
    if item is not None:
        values["item"] = _display(item)
    return string.Formatter().vformat(template, (), values)


def _display(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(f"• {_display(v)}" for v in value)
    if isinstance(value, Mapping):
        return ": ".join(_display(v) for v in value.values())
    return "" if value is None else str(value)


def _parse_int(raw: str) -> int | None:
    raw = raw.strip().rstrip("%").strip()
    if raw.lstrip("-").isdigit() and len(raw) <= 6:
        return int(raw)
    return None


def _match_option(step: Step, text: str | None, lang: str) -> str | None:
    """A typed answer that names a button counts as pressing it."""
    if not text:
        return None
    folded = text.casefold()
    for option in step.options:
        if folded in (option.id.casefold(), option.label.get(lang).casefold()):
            return option.id
    return None


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
