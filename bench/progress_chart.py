"""Render time and size of the /progress picture for a busy client.

90 days of daily mood check-ins, 7 questionnaires (PHQ-9 and GAD-7) and 60 thought records,
rendered over a 90-day window. Prints the first render (matplotlib import and font cache
included), then the median, min and max of N more, and the PNG's size and dimensions.

    python bench/progress_chart.py [--runs 20] [--days 90] [--language en] [--out FILE]
"""

from __future__ import annotations

import argparse
import random
import statistics
import struct
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storage.reports.progress import (  # noqa: E402
    MoodPoint,
    ProgressData,
    QuestionnairePoint,
    ThoughtRecordChange,
    render_progress_png,
)

NOW = datetime(2025, 5, 14, 18, 0, tzinfo=UTC)


def busy_client(seed: int = 7) -> ProgressData:
    rng = random.Random(seed)
    moods = [MoodPoint(NOW - timedelta(days=d, hours=rng.uniform(0, 6)),
                       max(0, min(10, round(4 + (89 - d) * 0.03 + rng.gauss(0, 1.3)))))
             for d in range(90)]
    questionnaires = [
        *(QuestionnairePoint(NOW - timedelta(days=d), "phq9", total)
          for d, total in ((84, 17), (56, 14), (28, 11), (2, 8))),
        *(QuestionnairePoint(NOW - timedelta(days=d), "gad7", total)
          for d, total in ((70, 13), (42, 10), (14, 6))),
    ]
    records = []
    for _ in range(60):
        before = rng.uniform(45, 90)
        records.append(ThoughtRecordChange(NOW - timedelta(days=rng.uniform(0, 89.9)),
                                           round(before, 1),
                                           round(max(0.0, before - rng.uniform(0, 40)), 1)))
    return ProgressData(moods, questionnaires, records)


def png_size(png: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--language", default="en")
    parser.add_argument("--out", type=Path, help="also write the PNG here")
    args = parser.parse_args()

    data = busy_client()
    tz = ZoneInfo("Europe/Madrid")

    def render() -> bytes:
        return render_progress_png(data, now=NOW, days=args.days, tz=tz,
                                   language=args.language)

    started = time.perf_counter()
    png = render()
    first = time.perf_counter() - started
    timings = []
    for _ in range(args.runs):
        started = time.perf_counter()
        png = render()
        timings.append(time.perf_counter() - started)
    if args.out:
        args.out.write_bytes(png)
    width, height = png_size(png)
    print(f"data: {len(data.moods)} moods, {len(data.questionnaires)} questionnaires, "
          f"{len(data.thought_records)} thought records; window {args.days} days")
    print(f"first render (incl. matplotlib import): {first * 1000:.0f} ms")
    print(f"render over {args.runs} runs: median {statistics.median(timings) * 1000:.0f} ms, "
          f"min {min(timings) * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms")
    print(f"png: {len(png) / 1024:.1f} KiB, {width}x{height} px")


if __name__ == "__main__":
    main()
