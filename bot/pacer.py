"""Paces an exercise in real time by editing one Telegram message per phase.

Phases are scheduled on PTB's JobQueue (never by sleeping in a handler) at absolute times
from the start, so timing errors do not add up over a long exercise. A run lives in memory:
after a restart the flow still waits at the exercise step, and the client's next message
starts the exercise again.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

from apscheduler.jobstores.base import JobLookupError
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, TelegramError
from telegram.ext import CallbackContext, Job, JobQueue

from flows.catalog import Catalog
from flows.exercise import Exercise

log = logging.getLogger(__name__)

PAUSE, RESUME, STOP = "e:pause", "e:resume", "e:stop"
# Called when a run ends: (chat id, turn, stopped, rounds completed, active seconds).
Finished = Callable[[int, int, bool, int, int], Awaitable[None]]


@dataclass
class _Run:
    chat_id: int
    turn: int
    exercise: Exercise
    language: str
    message_id: int
    # Position: the phase now showing, counted over all rounds.
    step: int = 0
    # Monotonic time the current phase started, and seconds of it already used before a
    # pause; together they give each next phase an absolute target time.
    phase_started: float = 0.0
    used_before_pause: float = 0.0
    # Paced seconds of the phases completed so far (pauses excluded).
    completed_seconds: float = 0.0
    paused: bool = False
    job: Job[Any] | None = None
    # Scheduled vs actual edit times, for the drift benchmark.
    drift: list[float] = field(default_factory=list)

    @property
    def phase_count(self) -> int:
        return len(self.exercise.phases) * self.exercise.rounds

    @property
    def rounds_completed(self) -> int:
        return self.step // len(self.exercise.phases)


class ExercisePacer:
    def __init__(self, exercises: dict[str, Exercise], catalog: Catalog, *,
                 speed: float = 1.0) -> None:
        self.exercises = exercises
        self.catalog = catalog
        # Below 1 only for tests and demos: 0.01 runs a 4-second phase in 40 ms.
        self.speed = speed
        self.runs: dict[int, _Run] = {}
        self.on_finished: Finished | None = None

    def is_running(self, chat_id: int, turn: int) -> bool:
        run = self.runs.get(chat_id)
        return run is not None and run.turn == turn

    async def start(self, bot: Bot, job_queue: JobQueue[Any], chat_id: int, turn: int,
                    exercise_id: str, language: str) -> None:
        if self.is_running(chat_id, turn):
            return  # already pacing this very step (the client typed meanwhile)
        exercise = self.exercises.get(exercise_id)
        if exercise is None:
            log.error("unknown exercise %s for chat %s", exercise_id, chat_id)
            return
        await self._cancel(chat_id)
        message = await bot.send_message(chat_id, self._text(exercise, 0, language),
                                         reply_markup=self._controls(language, paused=False))
        run = _Run(chat_id=chat_id, turn=turn, exercise=exercise, language=language,
                   message_id=message.message_id, phase_started=time.monotonic())
        self.runs[chat_id] = run
        self._schedule(job_queue, run, self._seconds(run))

    async def control(self, bot: Bot, job_queue: JobQueue[Any], chat_id: int,
                      action: str) -> bool:
        """Pause, resume or stop; False when no exercise is running in that chat."""
        run = self.runs.get(chat_id)
        if run is None:
            return False
        if action == PAUSE and not run.paused:
            run.paused = True
            run.used_before_pause += time.monotonic() - run.phase_started
            self._unschedule(run)
            await self._edit(bot, run, self.catalog.get("exercise_paused", run.language),
                             paused=True)
        elif action == RESUME and run.paused:
            run.paused = False
            run.phase_started = time.monotonic()
            await self._edit(bot, run, self._text(run.exercise, run.step, run.language))
            self._schedule(job_queue, run, max(0.0, self._seconds(run) - run.used_before_pause))
        elif action == STOP:
            run.completed_seconds += run.used_before_pause + (
                0.0 if run.paused else time.monotonic() - run.phase_started)
            await self._finish(bot, run, stopped=True)
        return True

    def _schedule(self, job_queue: JobQueue[Any], run: _Run, delay: float) -> None:
        target = time.monotonic() + delay
        run.job = job_queue.run_once(self._next_phase, when=delay, chat_id=run.chat_id,
                                     data=(run, target), name=f"exercise-{run.chat_id}")

    def _unschedule(self, run: _Run) -> None:
        if run.job is not None:
            with contextlib.suppress(JobLookupError):  # it may have just run
                run.job.schedule_removal()
            run.job = None

    async def _next_phase(self, context: CallbackContext[Any, Any, Any, Any]) -> None:
        assert context.job is not None
        run, target = cast(tuple[_Run, float], context.job.data)
        if self.runs.get(run.chat_id) is not run or run.paused:
            return
        run.job = None  # this one-off job is done; nothing to remove any more
        run.drift.append(time.monotonic() - target)
        run.completed_seconds += self._seconds(run)
        run.used_before_pause = 0.0
        run.step += 1
        run.phase_started = target  # the next phase is timed from when this one should end
        if run.step >= run.phase_count:
            await self._finish(context.bot, run, stopped=False)
            return
        await self._edit(context.bot, run, self._text(run.exercise, run.step, run.language))
        assert context.job_queue is not None
        self._schedule(context.job_queue, run,
                       max(0.0, target + self._seconds(run) - time.monotonic()))

    async def _finish(self, bot: Bot, run: _Run, *, stopped: bool) -> None:
        self._unschedule(run)
        self.runs.pop(run.chat_id, None)
        key = "exercise_stopped" if stopped else "exercise_finished"
        ending = self.catalog.get(key, run.language, finish=run.exercise.finish.get(
            run.language))
        await self._edit(bot, run, ending, controls=False)
        if self.on_finished is not None:
            await self.on_finished(run.chat_id, run.turn, stopped, run.rounds_completed,
                                   round(run.completed_seconds / self.speed))

    async def _cancel(self, chat_id: int) -> None:
        run = self.runs.pop(chat_id, None)
        if run is not None:
            self._unschedule(run)

    def _seconds(self, run: _Run) -> float:
        phases = run.exercise.phases
        return phases[run.step % len(phases)].seconds * self.speed

    def _text(self, exercise: Exercise, step: int, language: str) -> str:
        phases = exercise.phases
        phase = phases[step % len(phases)]
        lines = [f"{exercise.title.get(language)}", exercise.intro.get(language), "",
                 f"▶ {phase.text.get(language)}"]
        if exercise.rounds > 1:
            lines.append(self.catalog.get("exercise_round", language,
                                          round=step // len(phases) + 1, rounds=exercise.rounds))
        return "\n".join(line for line in lines if line is not None)

    def _controls(self, language: str, *, paused: bool) -> InlineKeyboardMarkup:
        first = (InlineKeyboardButton(self.catalog.get("button_resume", language),
                                      callback_data=RESUME) if paused else
                 InlineKeyboardButton(self.catalog.get("button_pause", language),
                                      callback_data=PAUSE))
        stop = InlineKeyboardButton(self.catalog.get("button_stop", language),
                                    callback_data=STOP)
        return InlineKeyboardMarkup([[first, stop]])

    async def _edit(self, bot: Bot, run: _Run, text: str, *, paused: bool = False,
                    controls: bool = True) -> None:
        markup = self._controls(run.language, paused=paused) if controls else None
        try:
            await bot.edit_message_text(text, chat_id=run.chat_id, message_id=run.message_id,
                                        reply_markup=markup)
        except BadRequest as exc:
            log.info("exercise edit skipped in chat %s: %s", run.chat_id, type(exc).__name__)
        except TelegramError as exc:
            # A missed edit only costs one phase's text; the timing carries on.
            log.warning("exercise edit failed in chat %s: %s", run.chat_id, type(exc).__name__)
