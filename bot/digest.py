"""/digest CLIENT: what changed in the last week, on one screen, before a session."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from statistics import fmean
from zoneinfo import ZoneInfo

from flows.catalog import Catalog
from storage.models import Client, CrisisEvent, Entry, Reminder
from storage.reports.progress_data import mood_means

WEEK = timedelta(days=7)


def digest_text(catalog: Catalog, lang: str, *, client: Client, entries: Sequence[Entry],
                events: Sequence[CrisisEvent], reminders: Sequence[Reminder], now: datetime,
                zone: ZoneInfo) -> str:
    get = catalog.get
    this_week = [e for e in entries if e.completed_at and e.completed_at >= now - WEEK]
    last_week = [e for e in entries if e.completed_at and now - 2 * WEEK <= e.completed_at
                 < now - WEEK]
    kinds = Counter(e.entry_type for e in this_week)
    lines = [get("digest_title", lang, client=client.pseudonym),
             get("digest_homework", lang, done=len(this_week), planned=_planned(reminders),
                 thought=kinds["thought_record"], mood=kinds["mood_checkin"],
                 exercise=kinds["exercise"], questionnaires=kinds["phq9"] + kinds["gad7"])]
    mood_now, mood_before = _mean_mood(this_week), _mean_mood(last_week)
    if mood_now is not None:
        before = f"{mood_before:.1f}" if mood_before is not None else "-"
        lines.append(get("digest_mood", lang, now=f"{mood_now:.1f}", before=before))
    records = [e for e in this_week if e.entry_type == "thought_record"]
    if records:
        means = [mood_means(e.data) for e in records]
        changes = [after - before for before, after in (m for m in means if m is not None)]
        beliefs = [e.data["belief"] for e in records if isinstance(e.data.get("belief"), int)]
        lines.append(get("digest_thought_records", lang,
                         change=f"{fmean(changes):+.0f}" if changes else "-",
                         belief=f"{fmean(beliefs):.0f}" if beliefs else "-"))
        traps = Counter(t for e in records for t in e.data.get("distortions") or [])
        if traps:
            lines.append(get("digest_traps", lang, traps=_top(traps)))
    emotions = Counter(str(m.get("mood", "")).casefold() for e in records
                       for m in e.data.get("moods") or [] if isinstance(m, dict))
    emotions.update(str(x) for e in this_week if e.entry_type == "mood_checkin"
                    for x in e.data.get("emotions") or [])
    if emotions:
        lines.append(get("digest_emotions", lang, emotions=_top(emotions)))
    for instrument, name in (("phq9", "PHQ-9"), ("gad7", "GAD-7")):
        scored = [e for e in entries if e.entry_type == instrument]
        if scored:
            latest = scored[-1]
            previous = scored[-2].data.get("total") if len(scored) > 1 else None
            change = f" ({latest.data['total'] - previous:+d})" if isinstance(previous, int) \
                else ""
            day = latest.completed_at.astimezone(zone).date().isoformat() \
                if latest.completed_at else ""
            lines.append(get("digest_questionnaire", lang, name=name,
                             total=latest.data.get("total"), band=latest.data.get("band"),
                             change=change, date=day))
    active = [r for r in reminders if r.enabled]
    lines.append(get("digest_reminders", lang, reminders="; ".join(
        f"{r.flow_id.replace('_', ' ')} {', '.join(r.times)}"
        + (f" /{r.every_days}d" if r.every_days > 1 else "") for r in active) or "-"))
    recent = [e for e in events if e.occurred_at >= now - 4 * WEEK]
    lines.append(get("digest_crisis", lang, count=len(recent)) if recent else
                 get("digest_no_crisis", lang))
    for event in recent[-3:]:
        answers = [word for word, at in (("safe for now", event.safe_confirmed_at),
                                         ("not what I meant", event.not_meant_at)) if at]
        lines.append(f"  • {event.occurred_at.astimezone(zone).strftime('%Y-%m-%d %H:%M')} "
                     f"{event.category.replace('_', ' ')} ({event.source})"
                     + (f"; {', '.join(answers)}" if answers else ""))
    return "\n".join(lines)


def _planned(reminders: Sequence[Reminder]) -> int:
    """How many reminders the last seven days held: the homework the client planned."""
    total = 0
    for reminder in reminders:
        if reminder.enabled:
            per_week = len(reminder.weekdays) * len(reminder.times)
            total += per_week if reminder.every_days == 1 else max(1, 7 // reminder.every_days)
    return total


def _mean_mood(entries: Sequence[Entry]) -> float | None:
    moods = [e.data["mood"] for e in entries if e.entry_type == "mood_checkin"
             and isinstance(e.data.get("mood"), int)]
    return fmean(moods) if moods else None


def _top(counter: Counter[str], n: int = 3) -> str:
    return ", ".join(f"{name.replace('_', ' ')} ({count})"
                     for name, count in counter.most_common(n))
