"""Time and peak memory of the clinician exports (CSV zip, PDF, FHIR) for a busy client.

One client with a year of daily homework: 365 thought records, 365 mood check-ins,
26 PHQ-9 and 26 GAD-7 (every two weeks), 104 relaxation exercises and 6 crisis events,
as in-memory Entry objects (no database). Each export runs once cold (imports, font and
matplotlib caches included), then N more times; peak memory is tracemalloc's over one
warm run. Targets: CSV < 0.5 s, PDF < 2 s, FHIR < 2 s.

    python bench/clinician_exports.py [--runs 5] [--language en] [--out-dir DIR]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storage.export import csv_zip  # noqa: E402
from storage.models import Client, CrisisEvent, Entry  # noqa: E402
from storage.reports.fhir import fhir_json  # noqa: E402
from storage.reports.pdf import ReportPeriod, clinician_pdf  # noqa: E402

START = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)
EXPORTED_AT = datetime(2026, 1, 2, 9, 0, tzinfo=UTC)
ZONE = ZoneInfo("Europe/Madrid")
PHQ9_ITEMS = ("44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5",
              "44253-3", "44260-8")
GAD7_ITEMS = ("69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7")
ANSWERS = {0: "LA6568-5", 1: "LA6569-3", 2: "LA6570-1", 3: "LA6571-9"}
DIFFICULTY = {0: "LA6572-7", 1: "LA6573-5", 2: "LA6575-0", 3: "LA6574-3"}
MOODS = ("anxious", "sad", "angry", "guilty", "nervous", "frustrated")
EXERCISES = ("box_breathing", "breathing_478", "paced_breathing", "pmr_7", "safe_place")


def _band(instrument: str, total: int) -> str:
    cuts: tuple[tuple[int, str], ...] = (
        (20, "severe"), (15, "moderately severe"), (10, "moderate"), (5, "mild"), (0, "minimal"))
    if instrument == "gad7":
        cuts = ((15, "severe"), (10, "moderate"), (5, "mild"), (0, "minimal"))
    return next(band for lowest, band in cuts if total >= lowest)


def busy_year(seed: int = 11) -> tuple[Client, list[Entry], list[CrisisEvent]]:
    rng = random.Random(seed)
    client = Client(id=1, pseudonym="C-BENCH1", language="en", telegram_user_id=987654321,
                    chat_id=987654321, created_at=START, last_active_at=EXPORTED_AT)
    entries: list[Entry] = []

    def add(kind: str, flow: str, at: datetime, data: dict[str, object],
            minutes: int = 5) -> None:
        entries.append(Entry(id=len(entries) + 1, client_id=1, entry_type=kind, flow_id=flow,
                             flow_version=1, status="completed", data=data,
                             started_at=at - timedelta(minutes=minutes), completed_at=at,
                             created_at=at))

    for day in range(365):
        morning = START + timedelta(days=day, minutes=rng.randint(0, 120))
        trend = day / 365
        add("mood_checkin", "mood", morning, {
            "scale": "mood_0_10",
            "mood": max(0, min(10, round(4 + 3 * trend + rng.gauss(0, 1.4)))),
            "emotions": rng.sample(MOODS, 2), "other_emotion": None,
            "note": "Slept badly, long day at work." if day % 5 == 0 else None})
        intensities = {m: rng.randrange(40, 100, 5) for m in rng.sample(MOODS, 2)}
        moods = [{"mood": m, "intensity": v} for m, v in intensities.items()]
        thoughts = [f"I will mess up the meeting on day {day}.", "Everyone will notice."]
        add("thought_record", "thought_record", morning + timedelta(hours=10), {
            "situation": f"Day {day}: my manager asked for the report in front of the team; "
                         "I felt my face go hot and could not think of an answer.",
            "moods": moods,
            "automatic_thoughts": thoughts,
            "hot_thought": thoughts[0],
            "evidence_for": "I forgot a figure last month and had to correct it.",
            "evidence_against": "Most reports went fine; my manager thanked me twice; "
                                "one slip does not make me incompetent.",
            "balanced_thought": "I made one mistake and I have done many reports well.",
            "belief": rng.randrange(40, 95, 5),
            "moods_after": [{"mood": m, "intensity": max(0, v - rng.randrange(0, 45, 5))}
                            for m, v in intensities.items()],
        }, minutes=15)
        if day % 14 == 7:
            severity = 1 - trend * 0.7
            phq = [min(3, max(0, round(rng.gauss(2 * severity, 0.6)))) for _ in PHQ9_ITEMS]
            phq[-1] = 1 if rng.random() < 0.15 else 0  # item 9: now and then
            total = sum(phq)
            difficulty = min(3, total // 7)
            add("phq9", "phq9", morning + timedelta(hours=2), {
                "instrument": "phq9", "total": total, "max_total": 27,
                "band": _band("phq9", total),
                "items": [{"code": c, "value": v, "answer_code": ANSWERS[v]}
                          for c, v in zip(PHQ9_ITEMS, phq, strict=True)],
                "difficulty": {"code": "69722-7", "value": difficulty,
                               "answer_code": DIFFICULTY[difficulty]}})
            gad = [min(3, max(0, round(rng.gauss(1.8 * severity, 0.6)))) for _ in GAD7_ITEMS]
            add("gad7", "gad7", morning + timedelta(hours=2, minutes=5), {
                "instrument": "gad7", "total": sum(gad), "max_total": 21,
                "band": _band("gad7", sum(gad)),
                "items": [{"code": c, "value": v, "answer_code": ANSWERS[v]}
                          for c, v in zip(GAD7_ITEMS, gad, strict=True)]})
        if day % 7 in (1, 4):
            before = rng.randint(4, 9)
            add("exercise", "relax", morning + timedelta(hours=6), {
                "exercise": rng.choice(EXERCISES), "suds_scale": "suds_0_10",
                "suds_before": before, "suds_after": max(0, before - rng.randint(0, 4)),
                "run": {"rounds_completed": rng.randint(3, 10),
                        "duration_s": rng.randint(60, 600), "stopped": rng.random() < 0.1}},
                minutes=8)
    add("safety_plan", "safety_plan", START + timedelta(days=40), {
        "warning_signs": "Not sleeping, staying in bed, skipping meals.",
        "coping_strategies": "Walk the dog; cold water on my face; music.",
        "people_and_places": "The library; my cousin's house.",
        "people_to_ask": "My sister Ana; my friend Tom.",
        "professionals": "My therapist on weekdays; the crisis line at night.",
        "safer_environment": "Give my medication to my sister to keep.",
        "reasons_for_living": "My dog, my sister, finishing my course."})
    events = [CrisisEvent(id=i + 1, client_id=1, occurred_at=START + timedelta(days=day),
                          source="message", category="suicidal_ideation",
                          rule="en.passive_wish", interrupted_flow_id=None,
                          safe_confirmed_at=START + timedelta(days=day, minutes=3)
                          if i % 2 == 0 else None,
                          not_meant_at=None if i % 2 == 0
                          else START + timedelta(days=day, minutes=1))
              for i, day in enumerate((20, 35, 80, 150, 200, 300))]
    return client, entries, events


def measure(run: Callable[[], bytes | str], runs: int) -> tuple[float, float, int, int]:
    """Cold time, median warm time, peak bytes of one warm run, output size."""
    started = time.perf_counter()
    output = run()
    cold = time.perf_counter() - started
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        output = run()
        timings.append(time.perf_counter() - started)
    tracemalloc.start()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    size = len(output.encode() if isinstance(output, str) else output)
    return cold, statistics.median(timings), peak, size


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--language", default="en")
    parser.add_argument("--out-dir", type=Path, help="also write the three files here")
    args = parser.parse_args()

    client, entries, events = busy_year()
    period = ReportPeriod(date(2025, 1, 1), date(2025, 12, 31))
    exports: dict[str, tuple[Callable[[], bytes | str], float, str]] = {
        "csv": (lambda: csv_zip(entries, client, ZONE), 0.5, "zip"),
        "pdf": (lambda: clinician_pdf(entries, events, client, period=period, zone=ZONE,
                                      exported_at=EXPORTED_AT, language=args.language),
                2.0, "pdf"),
        "fhir": (lambda: fhir_json(entries, client, exported_at=EXPORTED_AT), 2.0, "json"),
    }
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.entry_type] = counts.get(entry.entry_type, 0) + 1
    print("data: " + ", ".join(f"{n} {kind}" for kind, n in counts.items())
          + f", {len(events)} crisis events")
    print(f"{'export':<6} {'cold':>8} {'warm':>8} {'target':>7} {'peak mem':>10} {'size':>10}")
    for name, (run, target, extension) in exports.items():
        cold, warm, peak, size = measure(run, args.runs)
        verdict = "ok" if warm < target else "SLOW"
        print(f"{name:<6} {cold:>7.2f}s {warm:>7.2f}s {target:>6.1f}s "
              f"{peak / 2**20:>7.1f} MiB {size / 1024:>7.0f} KiB  {verdict}")
        if args.out_dir:
            args.out_dir.mkdir(parents=True, exist_ok=True)
            output = run()
            path = args.out_dir / f"clinician_export.{extension}"
            if isinstance(output, str):
                path.write_text(output, encoding="utf-8")
            else:
                path.write_bytes(output)
    print(f"warm = median of {args.runs} runs; peak mem = tracemalloc over one warm run")


if __name__ == "__main__":
    main()
