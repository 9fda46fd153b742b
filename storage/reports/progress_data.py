"""Turn a client's stored entries into the points the progress picture draws."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from statistics import fmean
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Entry
from storage.reports.progress import (
    Instrument,
    MoodPoint,
    ProgressData,
    QuestionnairePoint,
    ThoughtRecordChange,
)

PROGRESS_TYPES = ("mood_checkin", "phq9", "gad7", "thought_record")
MOOD_SCALES = {"mood_0_10": 10}


async def load_progress(session: AsyncSession, client_id: int, since: datetime) -> ProgressData:
    query = (select(Entry)
             .where(Entry.client_id == client_id, Entry.status == "completed",
                    Entry.entry_type.in_(PROGRESS_TYPES), Entry.completed_at >= since)
             .order_by(Entry.completed_at))
    return progress_from_entries((await session.execute(query)).scalars())


def progress_from_entries(entries: Iterable[Entry]) -> ProgressData:
    moods: list[MoodPoint] = []
    questionnaires: list[QuestionnairePoint] = []
    records: list[ThoughtRecordChange] = []
    for entry in entries:
        at, data = entry.completed_at, entry.data
        if at is None:
            continue
        if entry.entry_type == "mood_checkin" and isinstance(data.get("mood"), int):
            scale_max = MOOD_SCALES.get(str(data.get("scale")), 10)
            moods.append(MoodPoint(at=at, mood=data["mood"], scale_max=scale_max))
        elif entry.entry_type in ("phq9", "gad7") and isinstance(data.get("total"), int):
            instrument: Instrument = "phq9" if entry.entry_type == "phq9" else "gad7"
            questionnaires.append(QuestionnairePoint(at=at, instrument=instrument,
                                                     total=data["total"]))
        elif entry.entry_type == "thought_record":
            change = mood_means(data)
            if change is not None:
                records.append(ThoughtRecordChange(at=at, before=change[0], after=change[1]))
    return ProgressData(moods=moods, questionnaires=questionnaires, thought_records=records)


def mood_means(data: dict[str, Any]) -> tuple[float, float] | None:
    """Mean intensity of the moods that were rated both before and after."""
    after = {row.get("mood"): row.get("intensity") for row in data.get("moods_after") or []
             if isinstance(row, dict)}
    pairs: list[tuple[int, int]] = []
    for row in data.get("moods") or []:
        if not isinstance(row, dict):
            continue
        before, now = row.get("intensity"), after.get(row.get("mood"))
        if isinstance(before, int) and isinstance(now, int):
            pairs.append((before, now))
    if not pairs:
        return None
    return fmean(before for before, _ in pairs), fmean(now for _, now in pairs)
