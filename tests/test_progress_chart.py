"""The /progress picture and summary: pure functions over entries, no database, no Telegram."""

from __future__ import annotations

import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from storage.reports.progress import (
    MoodPoint,
    ProgressData,
    QuestionnairePoint,
    ThoughtRecordChange,
    panels_to_draw,
    progress_figure,
    render_progress_png,
    severity_band,
    summary_lines,
)

ROOT = Path(__file__).resolve().parent.parent
MADRID = ZoneInfo("Europe/Madrid")
NEW_YORK = ZoneInfo("America/New_York")
# A Wednesday.
NOW = datetime(2025, 5, 14, 12, 0, tzinfo=UTC)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def days_ago(days: float, hours: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which always comes first."""
    assert png[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", png[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def full_month() -> ProgressData:
    return ProgressData(
        moods=[MoodPoint(days_ago(d, hours=3), 3 + d % 5) for d in range(30)],
        questionnaires=[
            QuestionnairePoint(days_ago(25), "phq9", 16),
            QuestionnairePoint(days_ago(11), "phq9", 12),
            QuestionnairePoint(days_ago(20), "gad7", 11),
            QuestionnairePoint(days_ago(6), "gad7", 8),
        ],
        thought_records=[ThoughtRecordChange(days_ago(d), 70, 40 + d) for d in range(0, 28, 3)],
    )


# ---------------------------------------------------------------------------- picture

def test_render_is_a_phone_sized_png() -> None:
    png = render_progress_png(full_month(), now=NOW, tz=MADRID)

    width, height = png_size(png)
    assert width == 1080
    assert 1200 <= height <= 2500
    assert png.endswith(b"IEND\xaeB`\x82")


def test_all_kinds_of_data_draw_every_panel_in_order() -> None:
    assert panels_to_draw(full_month(), now=NOW) == ["mood", "phq9", "gad7", "thought_records"]


def test_only_moods_draw_one_panel() -> None:
    moods_only = ProgressData(moods=full_month().moods)

    assert panels_to_draw(moods_only, now=NOW) == ["mood"]
    _, one_panel = png_size(render_progress_png(moods_only, now=NOW))
    _, four_panels = png_size(render_progress_png(full_month(), now=NOW))
    assert one_panel < four_panels / 2


@pytest.mark.parametrize(("data", "panels"), [
    (ProgressData(questionnaires=[QuestionnairePoint(days_ago(1), "gad7", 3)]), ["gad7"]),
    (ProgressData(thought_records=[ThoughtRecordChange(days_ago(1), 50, 20)]),
     ["thought_records"]),
    (ProgressData(moods=[MoodPoint(days_ago(1), 4, scale_max=5)],
                  questionnaires=[QuestionnairePoint(days_ago(2), "phq9", 27)]),
     ["mood", "phq9"]),
])
def test_each_kind_draws_only_its_own_panel(data: ProgressData, panels: list[str]) -> None:
    assert panels_to_draw(data, now=NOW) == panels
    assert png_size(render_progress_png(data, now=NOW))[0] == 1080


def test_window_keeps_only_the_last_days() -> None:
    data = ProgressData(
        moods=[MoodPoint(days_ago(40), 5)],
        questionnaires=[QuestionnairePoint(days_ago(-1), "phq9", 9)],  # tomorrow: ignored
        thought_records=[ThoughtRecordChange(days_ago(5), 60, 30)],
    )

    assert panels_to_draw(data, now=NOW, days=30) == ["thought_records"]
    assert panels_to_draw(data, now=NOW, days=60) == ["mood", "thought_records"]
    assert panels_to_draw(data, now=NOW, days=3) == []


def test_window_includes_its_first_instant_and_now() -> None:
    data = ProgressData(moods=[MoodPoint(days_ago(7), 5)],
                        thought_records=[ThoughtRecordChange(NOW, 60, 30)])

    assert panels_to_draw(data, now=NOW, days=7) == ["mood", "thought_records"]
    assert panels_to_draw(data, now=NOW - timedelta(seconds=1), days=7) == ["mood"]


@pytest.mark.parametrize("data", [
    ProgressData(),
    ProgressData(moods=[MoodPoint(days_ago(31), 5)],
                 thought_records=[ThoughtRecordChange(days_ago(45), 60, 30)]),
    ProgressData(questionnaires=[QuestionnairePoint(days_ago(-2), "gad7", 5)]),
])
def test_nothing_in_the_window_raises(data: ProgressData) -> None:
    with pytest.raises(ValueError, match="nothing to draw"):
        render_progress_png(data, now=NOW, days=30)


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="days"):
        render_progress_png(full_month(), now=NOW, days=0)
    with pytest.raises(ValueError, match="timezone-aware"):
        render_progress_png(full_month(), now=NOW.replace(tzinfo=None))


def test_points_reject_naive_times_and_out_of_range_values() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        MoodPoint(datetime(2025, 5, 1, 12, 0), 5)
    with pytest.raises(ValueError, match="outside"):
        MoodPoint(NOW, 11)
    with pytest.raises(ValueError, match="outside"):
        QuestionnairePoint(NOW, "gad7", 22)
    with pytest.raises(ValueError, match=r"0\.\.100"):
        ThoughtRecordChange(NOW, 101, 20)


def test_date_ticks_are_local_midnights_in_the_clients_zone() -> None:
    late_evening = datetime(2025, 5, 14, 23, 30, tzinfo=UTC)  # 01:30 on 15 May in Madrid
    data = ProgressData(moods=[MoodPoint(late_evening - timedelta(days=d), 5) for d in range(7)])

    def tick_labels(tz: ZoneInfo) -> list[str]:
        axes = progress_figure(data, now=late_evening, days=7, tz=tz).axes[0]
        return [label.get_text() for label in axes.get_xticklabels()]

    assert tick_labels(ZoneInfo("UTC")) == [f"{day} May" for day in range(8, 15)]
    assert tick_labels(MADRID) == [f"{day} May" for day in range(9, 16)]


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_label_fits_inside_the_picture(language: str) -> None:
    from matplotlib.text import Text

    figure = progress_figure(full_month(), now=NOW, tz=MADRID, language=language)
    figure.draw_without_rendering()  # lays out the legend
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    width, height = figure.bbox.width, figure.bbox.height
    for text in figure.findobj(Text):
        if text.get_visible() and text.get_text():
            box = text.get_window_extent(renderer)
            assert box.x0 >= 0 and box.x1 <= width, text.get_text()
            assert box.y0 >= 0 and box.y1 <= height, text.get_text()


def test_spanish_picture_uses_spanish_words() -> None:
    figure = progress_figure(full_month(), now=NOW, tz=MADRID, language="es")
    words = {text.get_text() for text in figure.texts}
    words |= {axes.get_title(loc="left") for axes in figure.axes}
    words |= {label.get_text() for label in figure.axes[0].get_xticklabels()}

    assert "Tu progreso" in words
    assert "Estado de ánimo (0\u201310)" in words
    assert "Puntuación PHQ-9" in words
    assert "12 may" in words


def test_concurrent_renders_match_a_single_render() -> None:
    expected = render_progress_png(full_month(), now=NOW, tz=MADRID)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(
            lambda _: render_progress_png(full_month(), now=NOW, tz=MADRID), range(8)))

    assert all(png == expected for png in results)


def test_importing_and_rendering_leave_no_global_matplotlib_state() -> None:
    script = (
        "import sys\n"
        "from datetime import UTC, datetime\n"
        "from storage.reports import progress\n"
        "assert 'matplotlib' not in sys.modules\n"
        "now = datetime(2025, 5, 14, tzinfo=UTC)\n"
        "data = progress.ProgressData(moods=[progress.MoodPoint(now, 5)])\n"
        "assert progress.render_progress_png(data, now=now).startswith(b'\\x89PNG')\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-W", "error", "-c", script], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------------------- bands

@pytest.mark.parametrize(("total", "band"), [
    (0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"),
    (14, "moderate"), (15, "moderately severe"), (19, "moderately severe"), (20, "severe"),
    (27, "severe"),
])
def test_phq9_bands(total: int, band: str) -> None:
    assert severity_band("phq9", total) == band


@pytest.mark.parametrize(("total", "band"), [
    (0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"),
    (14, "moderate"), (15, "severe"), (21, "severe"),
])
def test_gad7_bands(total: int, band: str) -> None:
    assert severity_band("gad7", total) == band


@pytest.mark.parametrize(("instrument", "total"), [
    ("phq9", -1), ("phq9", 28), ("gad7", -1), ("gad7", 22), ("phq2", 3), ("PHQ-9", 3),
])
def test_band_outside_the_range_raises(instrument: str, total: int) -> None:
    with pytest.raises(ValueError):
        severity_band(instrument, total)


# ---------------------------------------------------------------------------- summary

def typical_week() -> ProgressData:
    return ProgressData(
        moods=[MoodPoint(days_ago(d), 6) for d in (0, 1, 2, 4)],  # Wed, Tue, Mon; Sat before
        questionnaires=[
            QuestionnairePoint(datetime(2025, 4, 30, 9, 0, tzinfo=UTC), "gad7", 6),
            QuestionnairePoint(datetime(2025, 5, 12, 9, 0, tzinfo=UTC), "phq9", 11),
        ],
        thought_records=[ThoughtRecordChange(days_ago(1), 80, 50),
                         ThoughtRecordChange(days_ago(9), 60, 44)],
    )


def test_summary_in_english() -> None:
    assert summary_lines(typical_week(), now=NOW) == [
        "This week (since Monday) you made 5 entries: 3 mood check-ins, 1 thought record "
        "and 1 questionnaire.",
        "After thought records your moods eased by 23 points on average (0-100).",
        "Your latest PHQ-9 (12 May): 11, in the moderate range; "
        "GAD-7 (30 Apr): 6, in the mild range.",
    ]


def test_summary_in_spanish() -> None:
    assert summary_lines(typical_week(), now=NOW, tz=MADRID, language="es") == [
        "Esta semana (desde el lunes) has hecho 5 entradas: 3 registros de ánimo, "
        "1 registro de pensamientos y 1 cuestionario.",
        "Después de los registros de pensamientos, tus emociones bajaron 23 puntos de media "
        "(0-100).",
        "Tu último PHQ-9 (12 may): 11, en el rango moderado; "
        "GAD-7 (30 abr): 6, en el rango leve.",
    ]


@pytest.mark.parametrize(("language", "lines"), [
    ("en", ["No entries yet this week (since Monday).",
            "No thought records with re-rated moods yet.",
            "No PHQ-9 or GAD-7 questionnaires yet."]),
    ("es", ["Esta semana (desde el lunes) aún no hay entradas.",
            "Aún no hay registros de pensamientos con las emociones puntuadas de nuevo.",
            "Aún no hay cuestionarios PHQ-9 ni GAD-7."]),
])
def test_summary_with_nothing_yet(language: str, lines: list[str]) -> None:
    assert summary_lines(ProgressData(), now=NOW, language=language) == lines


def test_summary_of_a_single_kind_and_single_items() -> None:
    data = ProgressData(
        moods=[MoodPoint(days_ago(0), 4)],
        thought_records=[ThoughtRecordChange(days_ago(20), 40, 41)],
        questionnaires=[QuestionnairePoint(datetime(2024, 12, 30, tzinfo=UTC), "phq9", 3)],
    )

    assert summary_lines(data, now=NOW) == [
        "This week (since Monday) you made 1 mood check-in.",
        "After thought records your moods were 1 point stronger on average (0-100).",
        "Your latest PHQ-9 (30 Dec 2024): 3, in the minimal range.",
    ]


def test_summary_says_when_moods_stayed_the_same() -> None:
    data = ProgressData(thought_records=[ThoughtRecordChange(days_ago(1), 50, 50.4)])

    assert summary_lines(data, now=NOW)[1] == (
        "After thought records your moods stayed about the same on average (0-100).")


def test_summary_ignores_entries_after_now() -> None:
    data = ProgressData(moods=[MoodPoint(days_ago(-1), 4)],
                        questionnaires=[QuestionnairePoint(days_ago(-1), "gad7", 20)])

    assert summary_lines(data, now=NOW)[0] == "No entries yet this week (since Monday)."
    assert summary_lines(data, now=NOW)[2] == "No PHQ-9 or GAD-7 questionnaires yet."


def test_this_week_starts_on_monday_midnight_in_the_clients_zone() -> None:
    # Sunday 11 May 23:30 UTC is already Monday 01:30 in Madrid.
    late_sunday = ProgressData(moods=[MoodPoint(datetime(2025, 5, 11, 23, 30, tzinfo=UTC), 5)])
    # Monday 12 May 01:00 UTC is still Sunday evening in New York.
    early_monday = ProgressData(moods=[MoodPoint(datetime(2025, 5, 12, 1, 0, tzinfo=UTC), 5)])
    this_week = "This week (since Monday) you made 1 mood check-in."
    none_yet = "No entries yet this week (since Monday)."

    assert summary_lines(late_sunday, now=NOW, tz=MADRID)[0] == this_week
    assert summary_lines(late_sunday, now=NOW, tz=UTC)[0] == none_yet
    assert summary_lines(early_monday, now=NOW, tz=UTC)[0] == this_week
    assert summary_lines(early_monday, now=NOW, tz=NEW_YORK)[0] == none_yet


def test_questionnaire_date_is_shown_in_the_clients_zone() -> None:
    data = ProgressData(
        questionnaires=[QuestionnairePoint(datetime(2025, 5, 11, 23, 30, tzinfo=UTC), "phq9", 5)])

    assert summary_lines(data, now=NOW, tz=UTC)[2] == (
        "Your latest PHQ-9 (11 May): 5, in the mild range.")
    assert summary_lines(data, now=NOW, tz=MADRID)[2] == (
        "Your latest PHQ-9 (12 May): 5, in the mild range.")


@pytest.mark.parametrize(("language", "first_word"), [
    ("es-MX", "Esta"), ("es_AR", "Esta"), ("ES", "Esta"), ("fr", "No"), ("", "No"),
])
def test_language_tags_fall_back_to_english(language: str, first_word: str) -> None:
    assert summary_lines(ProgressData(), now=NOW, language=language)[0].split()[0] == first_word
