"""The client's progress picture (/progress): mood, PHQ-9/GAD-7 and thought-record charts.

Pure functions: the caller loads the entries and passes the clock, the client's time zone
and language in. matplotlib is imported on first render only, through its object API
(`Figure` + `FigureCanvasAgg`): no pyplot, no global figures, no rcParams changes, so
renders may run in worker threads (`asyncio.to_thread`) side by side.

The words here are chart labels and summary lines for both supported languages; storage
cannot import the flow texts (layers import downwards only), so they live in one table.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Instrument = Literal["phq9", "gad7"]
Panel = Literal["mood", "phq9", "gad7", "thought_records"]
Language = Literal["en", "es"]

# Published cut-offs: (lowest total of the band, band), highest total last.
_BANDS: dict[str, tuple[tuple[int, str], ...]] = {
    "phq9": ((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "moderately severe"),
             (20, "severe")),
    "gad7": ((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "severe")),
}
_MAX_TOTAL: dict[str, int] = {"phq9": 27, "gad7": 21}
_INSTRUMENT_NAME: dict[str, str] = {"phq9": "PHQ-9", "gad7": "GAD-7"}
# Scores at or above this line call for a closer look (both instruments).
_CLINICAL_CUTOFF = 10


@dataclass(frozen=True)
class MoodPoint:
    """One mood check-in, 0..scale_max."""

    at: datetime
    mood: int
    scale_max: int = 10

    def __post_init__(self) -> None:
        _require_aware(self.at)
        if self.scale_max < 1 or not 0 <= self.mood <= self.scale_max:
            raise ValueError(f"mood {self.mood} is outside 0..{self.scale_max}")


@dataclass(frozen=True)
class QuestionnairePoint:
    """The total of one completed PHQ-9 or GAD-7."""

    at: datetime
    instrument: Instrument
    total: int

    def __post_init__(self) -> None:
        _require_aware(self.at)
        severity_band(self.instrument, self.total)


@dataclass(frozen=True)
class ThoughtRecordChange:
    """Mean intensity (0-100) of a thought record's moods before and after re-rating."""

    at: datetime
    before: float
    after: float

    def __post_init__(self) -> None:
        _require_aware(self.at)
        if not (0 <= self.before <= 100 and 0 <= self.after <= 100):
            raise ValueError("thought-record intensities must be within 0..100")


@dataclass(frozen=True)
class ProgressData:
    """Everything the progress picture and summary draw on."""

    moods: Sequence[MoodPoint] = ()
    questionnaires: Sequence[QuestionnairePoint] = ()
    thought_records: Sequence[ThoughtRecordChange] = ()

    def is_empty(self) -> bool:
        return not (self.moods or self.questionnaires or self.thought_records)


def severity_band(instrument: str, total: int) -> str:
    """The published severity band of a PHQ-9 (0-27) or GAD-7 (0-21) total."""
    if instrument not in _BANDS:
        raise ValueError(f"unknown instrument {instrument!r}; expected 'phq9' or 'gad7'")
    if isinstance(total, bool) or not 0 <= total <= _MAX_TOTAL[instrument]:
        raise ValueError(f"{instrument} total {total!r} is outside 0..{_MAX_TOTAL[instrument]}")
    return next(band for lowest, band in reversed(_BANDS[instrument]) if total >= lowest)


# ---------------------------------------------------------------------------- words

_TEXTS: dict[Language, dict[str, str]] = {
    "en": {
        "title": "Your progress",
        "last_days": "last {days} days",
        "mood": "Mood check-ins (0\u2013{scale_max})",
        "average": "average\n{value}",
        "questionnaire": "{name} score",
        "thought_records": "Thought records: moods before and after (0\u2013100)",
        "before": "Before",
        "after": "After",
        "week_none": "No entries yet this week (since Monday).",
        "week": "This week (since Monday) you made {total}: {parts}.",
        "week_one_kind": "This week (since Monday) you made {parts}.",
        "and": "and",
        "change_none": "No thought records with re-rated moods yet.",
        "change_eased": "After thought records your moods eased by {points} on average (0-100).",
        "change_rose": ("After thought records your moods were {points} stronger on average "
                        "(0-100)."),
        "change_same": "After thought records your moods stayed about the same on average "
                       "(0-100).",
        "latest_none": "No PHQ-9 or GAD-7 questionnaires yet.",
        "latest_first": "Your latest {name} ({day}): {total}, in the {band} range",
        "latest_more": "{name} ({day}): {total}, in the {band} range",
    },
    "es": {
        "title": "Tu progreso",
        "last_days": "últimos {days} días",
        "mood": "Estado de ánimo (0\u2013{scale_max})",
        "average": "media\n{value}",
        "questionnaire": "Puntuación {name}",
        "thought_records": "Registros de pensamientos: emociones (0\u2013100)",
        "before": "Antes",
        "after": "Después",
        "week_none": "Esta semana (desde el lunes) aún no hay entradas.",
        "week": "Esta semana (desde el lunes) has hecho {total}: {parts}.",
        "week_one_kind": "Esta semana (desde el lunes) has hecho {parts}.",
        "and": "y",
        "change_none": "Aún no hay registros de pensamientos con las emociones puntuadas de nuevo.",
        "change_eased": ("Después de los registros de pensamientos, tus emociones bajaron "
                         "{points} de media (0-100)."),
        "change_rose": ("Después de los registros de pensamientos, tus emociones subieron "
                        "{points} de media (0-100)."),
        "change_same": ("Después de los registros de pensamientos, tus emociones se mantuvieron "
                        "más o menos igual de media (0-100)."),
        "latest_none": "Aún no hay cuestionarios PHQ-9 ni GAD-7.",
        "latest_first": "Tu último {name} ({day}): {total}, en el rango {band}",
        "latest_more": "{name} ({day}): {total}, en el rango {band}",
    },
}

# (singular, plural) per language.
_NOUNS: dict[Language, dict[str, tuple[str, str]]] = {
    "en": {
        "entry": ("entry", "entries"),
        "mood": ("mood check-in", "mood check-ins"),
        "thought": ("thought record", "thought records"),
        "questionnaire": ("questionnaire", "questionnaires"),
        "point": ("point", "points"),
    },
    "es": {
        "entry": ("entrada", "entradas"),
        "mood": ("registro de ánimo", "registros de ánimo"),
        "thought": ("registro de pensamientos", "registros de pensamientos"),
        "questionnaire": ("cuestionario", "cuestionarios"),
        "point": ("punto", "puntos"),
    },
}

# Shared with the clinician PDF (storage/reports/pdf.py).
BAND_WORDS: dict[Language, dict[str, str]] = {
    "en": {band: band for band in
           ("minimal", "mild", "moderate", "moderately severe", "severe")},
    "es": {"minimal": "mínimo", "mild": "leve", "moderate": "moderado",
           "moderately severe": "moderadamente grave", "severe": "grave"},
}

MONTHS: dict[Language, tuple[str, ...]] = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "es": ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"),
}


def _language(language: str) -> Language:
    """"es", "es-MX" and "es_AR" are Spanish; anything else falls back to English."""
    return "es" if language.replace("_", "-").split("-")[0].lower() == "es" else "en"


def _count(lang: Language, noun: str, n: int) -> str:
    singular, plural = _NOUNS[lang][noun]
    return f"{n} {singular if n == 1 else plural}"


def _day_label(day: date, lang: Language, *, year: bool = False) -> str:
    label = f"{day.day} {MONTHS[lang][day.month - 1]}"
    return f"{label} {day.year}" if year else label


def _decimal(value: float, lang: Language) -> str:
    text = f"{value:.1f}"
    return text.replace(".", ",") if lang == "es" else text


def _join(parts: list[str], lang: Language) -> str:
    if len(parts) == 1:
        return parts[0]
    return f"{', '.join(parts[:-1])} {_TEXTS[lang]['and']} {parts[-1]}"


def _round_half_up(value: float) -> int:
    return math.floor(value + 0.5)


# ---------------------------------------------------------------------------- summary

def summary_lines(data: ProgressData, *, now: datetime, tz: tzinfo = UTC,
                  language: str = "en") -> list[str]:
    """Three plain-language lines: entries this week, mood change after thought records,
    latest questionnaire score and band (never a diagnosis).

    "This week" starts on Monday 00:00 in `tz`; entries after `now` are ignored.
    """
    _require_aware(now)
    lang = _language(language)
    past = _between(data, None, now)
    return [_week_line(past, now, tz, lang), _change_line(past, lang),
            _latest_line(past, now, tz, lang)]


def _week_line(past: ProgressData, now: datetime, tz: tzinfo, lang: Language) -> str:
    today = now.astimezone(tz).date()
    monday = datetime.combine(today - timedelta(days=today.weekday()), time(0), tzinfo=tz)
    week = _between(past, monday, now)
    counts = (("mood", len(week.moods)), ("thought", len(week.thought_records)),
              ("questionnaire", len(week.questionnaires)))
    total = sum(n for _, n in counts)
    if total == 0:
        return _TEXTS[lang]["week_none"]
    parts = [_count(lang, noun, n) for noun, n in counts if n]
    if len(parts) == 1:
        return _TEXTS[lang]["week_one_kind"].format(parts=parts[0])
    return _TEXTS[lang]["week"].format(total=_count(lang, "entry", total),
                                       parts=_join(parts, lang))


def _change_line(past: ProgressData, lang: Language) -> str:
    records = past.thought_records
    if not records:
        return _TEXTS[lang]["change_none"]
    eased = sum(r.before - r.after for r in records) / len(records)
    points = _round_half_up(abs(eased))
    if points == 0:
        return _TEXTS[lang]["change_same"]
    key = "change_eased" if eased > 0 else "change_rose"
    return _TEXTS[lang][key].format(points=_count(lang, "point", points))


def _latest_line(past: ProgressData, now: datetime, tz: tzinfo, lang: Language) -> str:
    latest: dict[str, QuestionnairePoint] = {}
    for point in sorted(past.questionnaires, key=lambda p: p.at):
        latest[point.instrument] = point
    if not latest:
        return _TEXTS[lang]["latest_none"]
    this_year = now.astimezone(tz).year
    parts = []
    for i, point in enumerate(sorted(latest.values(), key=lambda p: p.at, reverse=True)):
        day = point.at.astimezone(tz).date()
        parts.append(_TEXTS[lang]["latest_first" if i == 0 else "latest_more"].format(
            name=_INSTRUMENT_NAME[point.instrument],
            day=_day_label(day, lang, year=day.year != this_year),
            total=point.total,
            band=BAND_WORDS[lang][severity_band(point.instrument, point.total)]))
    return "; ".join(parts) + "."


# ---------------------------------------------------------------------------- picture

def panels_to_draw(data: ProgressData, *, now: datetime, days: int = 30) -> list[Panel]:
    """The panels `render_progress_png` draws, top to bottom.

    The questionnaire panel is one row per instrument present ("phq9", "gad7"), since the
    two have different ranges and bands.
    """
    window = _window(data, now, days)
    panels: list[Panel] = []
    if window.moods:
        panels.append("mood")
    for instrument in ("phq9", "gad7"):
        if any(q.instrument == instrument for q in window.questionnaires):
            panels.append(instrument)
    if window.thought_records:
        panels.append("thought_records")
    return panels


def render_progress_png(data: ProgressData, *, now: datetime, days: int = 30,
                        tz: tzinfo = UTC, language: str = "en") -> bytes:
    """A PNG, 1080 px wide, with a panel for each kind of data present in the last `days`.

    The window is `now - days` .. `now`; dates on the axes are in `tz`. Raises ValueError
    if nothing falls in the window.
    """
    figure = progress_figure(data, now=now, days=days, tz=tz, language=language)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return buffer.getvalue()


def progress_figure(data: ProgressData, *, now: datetime, days: int = 30, tz: tzinfo = UTC,
                    language: str = "en") -> Figure:
    """The matplotlib Figure behind `render_progress_png` (for PDF exports and tests)."""
    panels = panels_to_draw(data, now=now, days=days)
    if not panels:
        raise ValueError(f"nothing to draw in the last {days} days")
    return _draw(_window(data, now, days), panels, now=now, days=days, tz=tz,
                 lang=_language(language))


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetimes must be timezone-aware")


def _between(data: ProgressData, start: datetime | None, end: datetime) -> ProgressData:
    def inside(at: datetime) -> bool:
        return (start is None or start <= at) and at <= end

    return ProgressData(
        moods=[p for p in data.moods if inside(p.at)],
        questionnaires=[p for p in data.questionnaires if inside(p.at)],
        thought_records=[p for p in data.thought_records if inside(p.at)],
    )


def _window(data: ProgressData, now: datetime, days: int) -> ProgressData:
    _require_aware(now)
    if days < 1:
        raise ValueError("days must be at least 1")
    return _between(data, now - timedelta(days=days), now)


# Layout in pixels at DPI; fixed so the picture has the same shape on every render.
_DPI = 120
_WIDTH = 1080
_HEADER = 130
_ROW_TITLE = 62
_ROW_AXES = 300
_ROW_TICKS = 48
_ROW_GAP = 34
_LEFT = 78
_RIGHT = 225

_INK = "#222222"
_MUTED = "#666666"
_GRID = "#e4e4e4"
_BLUE = "#0072B2"       # Okabe-Ito palette: readable with colour-blindness
_VERMILLION = "#D55E00"
_GREEN = "#009E73"
_BAND_COLOURS = {"minimal": "#e3f2e6", "mild": "#fbf5d8", "moderate": "#fde6c8",
                 "moderately severe": "#fbd5c4", "severe": "#f7c5c5"}

_TITLE_SIZE = 28
_SUBTITLE_SIZE = 18
_PANEL_TITLE_SIZE = 20
_TICK_SIZE = 17
_NOTE_SIZE = 15


def _draw(window: ProgressData, panels: list[Panel], *, now: datetime, days: int,
          tz: tzinfo, lang: Language) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    row = _ROW_TITLE + _ROW_AXES + _ROW_TICKS + _ROW_GAP
    height = _HEADER + row * len(panels)
    figure = Figure(figsize=(_WIDTH / _DPI, height / _DPI), dpi=_DPI, facecolor="white")
    FigureCanvasAgg(figure)
    start = now - timedelta(days=days)
    texts = _TEXTS[lang]

    first_day, last_day = start.astimezone(tz).date(), now.astimezone(tz).date()
    figure.text(_LEFT / _WIDTH, 1 - 58 / height, texts["title"], fontsize=_TITLE_SIZE,
                fontweight="bold", color=_INK)
    figure.text(_LEFT / _WIDTH, 1 - 100 / height,
                f"{texts['last_days'].format(days=days)} · "
                f"{_day_label(first_day, lang)} \u2013 {_day_label(last_day, lang)}",
                fontsize=_SUBTITLE_SIZE, color=_MUTED)

    ticks = _date_ticks(start, now, days, tz, lang)
    for i, panel in enumerate(panels):
        top = _HEADER + i * row + _ROW_TITLE
        axes = figure.add_axes((_LEFT / _WIDTH, 1 - (top + _ROW_AXES) / height,
                                1 - (_LEFT + _RIGHT) / _WIDTH, _ROW_AXES / height))
        _style_axes(axes, days, ticks)
        if panel == "mood":
            _draw_moods(axes, window.moods, start, lang)
        elif panel == "thought_records":
            _draw_thought_records(axes, window.thought_records, start, lang)
        else:
            _draw_questionnaire(axes, panel, window.questionnaires, start, lang)
    return figure


def _x(at: datetime, start: datetime) -> float:
    """Days since the start of the window: plain floats, so no time-zone conversion is
    left to matplotlib's date machinery (which would use its global default zone)."""
    return (at - start).total_seconds() / 86400


def _date_ticks(start: datetime, now: datetime, days: int, tz: tzinfo,
                lang: Language) -> list[tuple[float, str]]:
    """Local midnights, at most about seven: daily, every other day, or on Mondays."""
    today = now.astimezone(tz).date()
    if days <= 7:
        step, anchor = 1, today
    elif days <= 14:
        step, anchor = 2, today
    else:
        step, anchor = 7 * math.ceil(days / 49), today - timedelta(days=today.weekday())
    ticks = []
    day = anchor
    while True:
        x = _x(datetime.combine(day, time(0), tzinfo=tz), start)
        if x < 0:
            break
        if x <= days:
            ticks.append((x, _day_label(day, lang)))
        day -= timedelta(days=step)
    return ticks[::-1]


def _style_axes(axes: Axes, days: int, ticks: list[tuple[float, str]]) -> None:
    pad = days * 0.02
    axes.set_xlim(-pad, days + pad)
    axes.set_xticks([x for x, _ in ticks], [label for _, label in ticks])
    axes.tick_params(labelsize=_TICK_SIZE, colors=_INK, length=5)
    axes.grid(axis="y", color=_GRID, linewidth=1)
    axes.grid(axis="x", color=_GRID, linewidth=1, linestyle=":")
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color("#999999")


def _panel_title(axes: Axes, title: str) -> None:
    axes.set_title(title, loc="left", fontsize=_PANEL_TITLE_SIZE, fontweight="bold",
                   color=_INK, pad=14)


def _margin_note(axes: Axes, y: float, text: str, colour: str = _MUTED,
                 size: float = _NOTE_SIZE) -> None:
    """A label just right of the plot, at data height y."""
    axes.text(1.02, y, text, transform=axes.get_yaxis_transform(), fontsize=size,
              color=colour, va="center", ha="left", clip_on=False, linespacing=1.1)


def _draw_moods(axes: Axes, moods: Sequence[MoodPoint], start: datetime,
                lang: Language) -> None:
    # Check-ins on different scales are drawn on the largest one.
    scale_max = max(p.scale_max for p in moods)
    points = sorted(moods, key=lambda p: p.at)
    xs = [_x(p.at, start) for p in points]
    ys = [p.mood * scale_max / p.scale_max for p in points]
    axes.plot(xs, ys, color=_BLUE, linewidth=2.5, marker="o", markersize=7,
              markerfacecolor=_BLUE, markeredgecolor="white", markeredgewidth=1.2)
    average = sum(ys) / len(ys)
    axes.axhline(average, color=_BLUE, linewidth=1.3, linestyle=":", alpha=0.8)
    _margin_note(axes, average, _TEXTS[lang]["average"].format(value=_decimal(average, lang)),
                 _BLUE)
    step = max(1, _round_half_up(scale_max / 5))
    axes.set_yticks(range(0, scale_max + 1, step))
    axes.set_ylim(-scale_max * 0.05, scale_max * 1.07)
    _panel_title(axes, _TEXTS[lang]["mood"].format(scale_max=scale_max))


def _draw_questionnaire(axes: Axes, instrument: Instrument,
                        questionnaires: Sequence[QuestionnairePoint], start: datetime,
                        lang: Language) -> None:
    top = _MAX_TOTAL[instrument]
    bands = _BANDS[instrument]
    for (lowest, band), upper in zip(bands, [b[0] for b in bands[1:]] + [top], strict=True):
        axes.axhspan(lowest, upper, color=_BAND_COLOURS[band], linewidth=0, zorder=0)
        word = BAND_WORDS[lang][band].replace(" ", "\n", 1) if upper - lowest < 6 else \
            BAND_WORDS[lang][band]
        _margin_note(axes, (lowest + upper) / 2, word, size=_NOTE_SIZE - 1)
    axes.axhline(_CLINICAL_CUTOFF, color="#555555", linewidth=1.6, linestyle="--", zorder=1)

    points = sorted((q for q in questionnaires if q.instrument == instrument),
                    key=lambda q: q.at)
    xs = [_x(q.at, start) for q in points]
    ys = [q.total for q in points]
    axes.plot(xs, ys, color=_INK, linewidth=2.5, marker="o", markersize=10,
              markerfacecolor=_INK, markeredgecolor="white", markeredgewidth=1.5, zorder=3)
    labelled = points if len(points) <= 12 else points[-1:]
    for q in labelled:
        # Below the dot near the top, so the number never runs into the panel title.
        below = q.total > top - 3
        axes.annotate(str(q.total), (_x(q.at, start), q.total), textcoords="offset points",
                      xytext=(0, -11 if below else 9), ha="center",
                      va="top" if below else "bottom", fontsize=_NOTE_SIZE,
                      fontweight="bold", color=_INK, zorder=4)
    axes.set_yticks([lowest for lowest, _ in bands] + [top])
    axes.set_ylim(0, top + 0.5)
    axes.grid(axis="y", visible=False)
    _panel_title(axes, _TEXTS[lang]["questionnaire"].format(name=_INSTRUMENT_NAME[instrument]))


def _draw_thought_records(axes: Axes, records: Sequence[ThoughtRecordChange],
                          start: datetime, lang: Language) -> None:
    xs = [_x(r.at, start) for r in records]
    befores = [r.before for r in records]
    afters = [r.after for r in records]
    axes.vlines(xs, afters, befores, color="#9a9a9a", linewidth=2, zorder=2)
    texts = _TEXTS[lang]
    axes.plot(xs, befores, linestyle="none", marker="o", markersize=8, color=_VERMILLION,
              markeredgecolor="white", markeredgewidth=1, label=texts["before"], zorder=3)
    axes.plot(xs, afters, linestyle="none", marker="o", markersize=8, color=_GREEN,
              markeredgecolor="white", markeredgewidth=1, label=texts["after"], zorder=3)
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False,
                fontsize=_NOTE_SIZE, handletextpad=0.3, borderaxespad=0.4, markerscale=1.2)
    axes.set_yticks(range(0, 101, 25))
    axes.set_ylim(-4, 104)
    _panel_title(axes, texts["thought_records"])
