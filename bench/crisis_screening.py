"""Crisis screening: quality on the labelled sets and throughput of screening alone.

Run from the repository root:

    /work/venv/bin/python bench/crisis_screening.py [--messages 200000] [--sets tune,holdout]
    /work/venv/bin/python bench/crisis_screening.py --sets tune --misses

For each language and set (tune, holdout, holdout2, holdout3) it prints n, recall, false-positive
rate and messages per second, first with that language's pack alone and then
with all shipped packs (what ``screen_for_crisis`` uses by default). Speed is
measured by screening a list of --messages messages built by cycling the set;
normalisation is included, pack loading is not. Message text is never printed,
except with --misses, which lists the missed positives and false alarms of the
*tune* sets only, for whoever is extending a pack: holdout sets are for measuring,
and reading their misses would turn them into tune sets.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flows.crisis import Screener, load_pack, shipped_pack_path  # noqa: E402
from flows.crisis.screener import SHIPPED_LANGUAGES  # noqa: E402

DATA = ROOT / "tests" / "data" / "crisis"
SETS = ("tune", "holdout", "holdout2", "holdout3")


def read_set(path: Path) -> list[tuple[bool, str, str]]:
    """Rows of (is crisis, category, message) from a label<TAB>category<TAB>message file."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, category, message = line.split("\t", 2)
        rows.append((label == "1", category, message))
    return rows


def quality(screener: Screener, rows: list[tuple[bool, str, str]]) -> tuple[float, float, float]:
    """Recall, false-positive rate, and share of caught positives with the labelled category."""
    positives = [(category, message) for crisis, category, message in rows if crisis]
    negatives = [message for crisis, _, message in rows if not crisis]
    results = [screener.screen(message) for _, message in positives]
    caught = sum(result.crisis for result in results)
    same_category = sum(
        result.category == category
        for result, (category, _) in zip(results, positives, strict=True)
    )
    false_alarms = sum(screener.screen(message).crisis for message in negatives)
    recall = caught / len(positives) if positives else 1.0
    fpr = false_alarms / len(negatives) if negatives else 0.0
    return recall, fpr, same_category / caught if caught else 0.0


def print_misses(screener: Screener, rows: list[tuple[bool, str, str]]) -> None:
    for crisis, category, message in rows:
        result = screener.screen(message)
        if crisis and not result.crisis:
            print(f"  MISSED  {category}\t{message}")
        elif not crisis and result.crisis:
            print(f"  FALSE   {result.rule}\t{message}")


def throughput(screener: Screener, messages: list[str], count: int) -> float:
    batch = list(itertools.islice(itertools.cycle(messages), count))
    screen = screener.screen
    start = time.perf_counter()
    for message in batch:
        screen(message)
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000, help="messages per speed run")
    parser.add_argument(
        "--sets", default=",".join(SETS), help=f"comma-separated subset of {', '.join(SETS)}"
    )
    parser.add_argument(
        "--misses", action="store_true", help="list missed positives and false alarms (tune only)"
    )
    args = parser.parse_args()
    sets = [name.strip() for name in args.sets.split(",") if name.strip()]
    if unknown := [name for name in sets if name not in SETS]:
        parser.error(f"unknown set(s): {', '.join(unknown)}")
    if args.misses and sets != ["tune"]:
        parser.error("--misses lists tune-set mistakes only: use it with --sets tune")

    packs = {language: load_pack(shipped_pack_path(language)) for language in SHIPPED_LANGUAGES}
    screeners = {language: Screener([pack]) for language, pack in packs.items()}
    screeners["all"] = Screener(list(packs.values()))

    print(f"{'packs':6} {'set':12} {'n':>5} {'recall':>7} {'FPR':>7} {'category':>9} {'msg/s':>9}")
    for language in SHIPPED_LANGUAGES:
        for name in sets:
            path = DATA / f"{language}_{name}.tsv"
            if not path.exists():
                continue
            rows = read_set(path)
            messages = [message for _, _, message in rows]
            for which in (language, "all"):
                screener = screeners[which]
                recall, fpr, category = quality(screener, rows)
                speed = throughput(screener, messages, args.messages)
                print(
                    f"{which:6} {language + '_' + name:12} {len(rows):5d} {recall:7.3f} "
                    f"{fpr:7.3f} {category:9.3f} {speed:9,.0f}"
                )
            if args.misses:
                print_misses(screeners[language], rows)
    print(
        "\nrecall = flagged positives / positives; FPR = flagged negatives / negatives;\n"
        "category = caught positives whose category matches the label; msg/s = screening\n"
        f"alone over {args.messages:,} messages cycled from the set, one process."
    )


if __name__ == "__main__":
    main()
