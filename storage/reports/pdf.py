"""The clinician's PDF: a client's homework over a period, readable in two minutes.

At a glance (crisis events, PHQ-9 item 9, latest scores), homework counts, a mood chart,
PHQ-9/GAD-7 chart and table with bands, crisis events (what matched and how the client
answered, never their text), the latest safety plan, the latest thought records in full
and SUDS before and after exercises. Dates and times are in the zone the caller passes.

Pure: the caller loads the period's entries and events and passes the clock. Charts are
drawn with matplotlib's object API (no pyplot, no global state) and embedded as PNG; text
is set in DejaVu Sans (shipped inside matplotlib) with HarfBuzz shaping, so accents,
Hebrew and Arabic render; a character the font lacks becomes a visible placeholder.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storage.models import Client, CrisisEvent, Entry
from storage.reports.progress import BAND_WORDS, MONTHS, Language, severity_band

if TYPE_CHECKING:
    from fpdf import FPDF
    from matplotlib.axes import Axes



@dataclass(frozen=True)
class ReportPeriod:
    """The days the report covers, inclusive; None: open-ended (as the caller filtered)."""

    start: date | None
    end: date | None


class ReportFontMissing(RuntimeError):
    """No DejaVu Sans to set the report in."""


PHQ9_ITEM9 = "44260-8"
HOMEWORK_TYPES = ("thought_record", "mood_checkin", "phq9", "gad7", "exercise", "safety_plan")
LATEST_THOUGHT_RECORDS = 5
# A longer answer is cut in the PDF (the CSV and JSON exports keep all of it).
_MAX_TEXT = 3000

# ---------------------------------------------------------------------------- words

_WORDS: dict[Language, dict[str, str]] = {
    "en": {
        "title": "CBT homework report",
        "client": "Client",
        "period": "Period",
        "all_up_to": "all entries up to {day}",
        "up_to": "up to {day}",
        "generated": "Generated",
        "times_in": "Times in",
        "sensitive": "Contains sensitive health information. Keep confidential; share only "
                     "with the client's care team.",
        "no_entries": "No entries in this period.",
        "glance": "At a glance",
        "crisis_none": "Crisis responses: none in this period.",
        "crisis_some": "Crisis responses: {n} (latest {when}). See 'Crisis events'.",
        "item9_none": "PHQ-9 item 9 (thoughts of death or self-harm): never above 0.",
        "item9_some": "PHQ-9 item 9 > 0 on {n} of {total} PHQ-9s (latest {when}).",
        "latest_score": "Latest {name}: {total} ({band}) on {when}; first in period {first}.",
        "homework": "Homework completion",
        "type": "Type",
        "entries": "Entries",
        "last_entry": "Last entry",
        "days_with": "Days with any homework: {n} of {days}.",
        "mood": "Mood check-ins",
        "mood_summary": "Check-ins: {n} (0 = very low, 10 = very good); average {mean}, "
                        "lowest {low}, highest {high}, latest {latest} ({when}).",
        "mood_axis": "Mood (0\u201310)",
        "weekly_mean": "7-day average",
        "questionnaires": "PHQ-9 and GAD-7",
        "score": "Score",
        "band": "Band",
        "change": "Change since first",
        "item9": "Item 9",
        "item9_flag": "item 9 > 0",
        "cutoff": "10: further evaluation",
        "date": "Date",
        "instrument": "Measure",
        "exercises": "Relaxation exercises: distress (SUDS) before and after",
        "suds_summary": "Exercises: {n}; average distress {before} before and {after} after "
                        "(0\u201310); stopped early: {stopped}.",
        "exercise": "Exercise",
        "before": "Before",
        "after": "After",
        "stopped": "Stopped",
        "yes": "yes",
        "no": "no",
        "thought_records": "Latest thought records",
        "thought_records_note": "Newest first: {shown} of {n}.",
        "situation": "Situation",
        "moods_before": "Moods",
        "automatic_thoughts": "Automatic thoughts",
        "hot_thought": "Hot thought",
        "evidence_for": "Evidence for",
        "evidence_against": "Evidence against",
        "balanced_thought": "Balanced thought",
        "belief": "Belief in it",
        "moods_after": "Moods re-rated",
        "crisis": "Crisis events",
        "crisis_note": "When the bot answered crisis language with crisis lines. The "
                       "client's words are never stored.",
        "time": "Time",
        "source": "Source",
        "category": "Category",
        "rule": "Rule",
        "answer": "Client's answer",
        "safe": "safe for now ({when})",
        "not_meant": "not what I meant ({when})",
        "no_answer": "no answer",
        "source_message": "message",
        "source_questionnaire": "questionnaire",
        "safety_plan": "Safety plan",
        "safety_plan_updated": "Last updated {when}.",
        "no_safety_plan": "No safety plan saved in this period.",
        "warning_signs": "Warning signs",
        "coping_strategies": "Things I can do on my own",
        "people_and_places": "People and places that distract me",
        "people_to_ask": "People I can ask for help",
        "professionals": "Professionals and services",
        "safer_environment": "Making my surroundings safer",
        "reasons_for_living": "Reasons for living",
        "none": "None in this period.",
        "cut": " [\u2026 cut; the full text is in the CSV or JSON export]",
        "replaced": "Some characters the report font cannot show (such as emoji) are given "
                    "by name in [brackets] or as \ufffd.",
        "footer": "{client} \u00b7 confidential \u00b7 page {page}/{{nb}}",
        "thought_record": "Thought records",
        "mood_checkin": "Mood check-ins",
        "phq9": "PHQ-9",
        "gad7": "GAD-7",
        "exercise_type": "Relaxation exercises",
        "safety_plan_type": "Safety plan",
    },
    "es": {
        "title": "Informe de tareas de TCC",
        "client": "Cliente",
        "period": "Periodo",
        "all_up_to": "todas las entradas hasta el {day}",
        "up_to": "hasta el {day}",
        "generated": "Generado",
        "times_in": "Horas en",
        "sensitive": "Contiene información de salud sensible. Confidencial: compártase solo "
                     "con el equipo que atiende a la persona.",
        "no_entries": "No hay entradas en este periodo.",
        "glance": "Resumen",
        "crisis_none": "Respuestas de crisis: ninguna en este periodo.",
        "crisis_some": "Respuestas de crisis: {n} (la última {when}). Ver 'Eventos de crisis'.",
        "item9_none": "PHQ-9 ítem 9 (pensamientos de muerte o autolesión): nunca por "
                      "encima de 0.",
        "item9_some": "PHQ-9 ítem 9 > 0 en {n} de {total} PHQ-9 (el último {when}).",
        "latest_score": "Último {name}: {total} ({band}) el {when}; primero del periodo "
                        "{first}.",
        "homework": "Tareas completadas",
        "type": "Tipo",
        "entries": "Entradas",
        "last_entry": "Última entrada",
        "days_with": "Días con alguna tarea: {n} de {days}.",
        "mood": "Registros de ánimo",
        "mood_summary": "Registros: {n} (0 = muy bajo, 10 = muy bien); media {mean}, "
                        "mínimo {low}, máximo {high}, último {latest} ({when}).",
        "mood_axis": "Ánimo (0\u201310)",
        "weekly_mean": "media de 7 días",
        "questionnaires": "PHQ-9 y GAD-7",
        "score": "Puntuación",
        "band": "Rango",
        "change": "Cambio desde el primero",
        "item9": "Ítem 9",
        "item9_flag": "ítem 9 > 0",
        "cutoff": "10: evaluar más a fondo",
        "date": "Fecha",
        "instrument": "Escala",
        "exercises": "Ejercicios de relajación: malestar (SUDS) antes y después",
        "suds_summary": "Ejercicios: {n}; malestar medio {before} antes y {after} después "
                        "(0\u201310); interrumpidos: {stopped}.",
        "exercise": "Ejercicio",
        "before": "Antes",
        "after": "Después",
        "stopped": "Interrumpido",
        "yes": "sí",
        "no": "no",
        "thought_records": "Últimos registros de pensamientos",
        "thought_records_note": "Primero el más reciente: {shown} de {n}.",
        "situation": "Situación",
        "moods_before": "Emociones",
        "automatic_thoughts": "Pensamientos automáticos",
        "hot_thought": "Pensamiento caliente",
        "evidence_for": "Evidencia a favor",
        "evidence_against": "Evidencia en contra",
        "balanced_thought": "Pensamiento equilibrado",
        "belief": "Grado de creencia",
        "moods_after": "Emociones de nuevo",
        "crisis": "Eventos de crisis",
        "crisis_note": "Cuándo el bot respondió a lenguaje de crisis con líneas de ayuda. "
                       "Las palabras de la persona nunca se guardan.",
        "time": "Hora",
        "source": "Origen",
        "category": "Categoría",
        "rule": "Regla",
        "answer": "Respuesta",
        "safe": "a salvo por ahora ({when})",
        "not_meant": "no quise decir eso ({when})",
        "no_answer": "sin respuesta",
        "source_message": "mensaje",
        "source_questionnaire": "cuestionario",
        "safety_plan": "Plan de seguridad",
        "safety_plan_updated": "Actualizado por última vez el {when}.",
        "no_safety_plan": "No se guardó ningún plan de seguridad en este periodo.",
        "warning_signs": "Señales de alerta",
        "coping_strategies": "Cosas que puedo hacer por mi cuenta",
        "people_and_places": "Personas y lugares que me distraen",
        "people_to_ask": "Personas a las que puedo pedir ayuda",
        "professionals": "Profesionales y servicios",
        "safer_environment": "Hacer mi entorno más seguro",
        "reasons_for_living": "Razones para vivir",
        "none": "Nada en este periodo.",
        "cut": " [\u2026 recortado; el texto completo está en la exportación CSV o JSON]",
        "replaced": "Algunos caracteres que la fuente del informe no puede mostrar (como "
                    "emojis) aparecen por su nombre entre [corchetes] o como \ufffd.",
        "footer": "{client} \u00b7 confidencial \u00b7 página {page}/{{nb}}",
        "thought_record": "Registros de pensamientos",
        "mood_checkin": "Registros de ánimo",
        "phq9": "PHQ-9",
        "gad7": "GAD-7",
        "exercise_type": "Ejercicios de relajación",
        "safety_plan_type": "Plan de seguridad",
    },
}

# Labels of the choices the flows offer (storage cannot import flows); unknown ids and
# words the client typed are shown as stored.
_EXERCISES: dict[Language, dict[str, str]] = {
    "en": {"box_breathing": "Box breathing", "breathing_478": "4-7-8 breathing",
           "paced_breathing": "Slow breathing", "pmr_7": "Muscle relaxation, short",
           "pmr_16": "Muscle relaxation, full", "grounding_54321": "5-4-3-2-1 grounding",
           "safe_place": "Safe-place imagery"},
    "es": {"box_breathing": "Respiración cuadrada", "breathing_478": "Respiración 4-7-8",
           "paced_breathing": "Respiración lenta", "pmr_7": "Relajación muscular, corta",
           "pmr_16": "Relajación muscular, completa", "grounding_54321": "Anclaje 5-4-3-2-1",
           "safe_place": "Lugar seguro"},
}
_MOODS: dict[Language, dict[str, str]] = {
    "en": {mood: mood.capitalize() for mood in (
        "anxious", "sad", "angry", "guilty", "ashamed", "frightened", "hurt", "frustrated",
        "embarrassed", "disappointed", "nervous", "irritated")},
    "es": {"anxious": "Ansiedad", "sad": "Tristeza", "angry": "Enfado", "guilty": "Culpa",
           "ashamed": "Vergüenza", "frightened": "Miedo", "hurt": "Dolor",
           "frustrated": "Frustración", "embarrassed": "Bochorno",
           "disappointed": "Decepción", "nervous": "Nerviosismo", "irritated": "Irritación"},
}
_SAFETY_PLAN_FIELDS = ("warning_signs", "coping_strategies", "people_and_places",
                       "people_to_ask", "professionals", "safer_environment",
                       "reasons_for_living")


def _language(language: str) -> Language:
    """"es", "es-MX" and "es_AR" are Spanish; anything else falls back to English."""
    return "es" if language.replace("_", "-").split("-")[0].lower() == "es" else "en"


# ---------------------------------------------------------------------------- fonts

_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)
_FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf"}
FONT = "DejaVuSans"


@lru_cache(maxsize=1)
def report_fonts() -> dict[str, Path]:
    """DejaVu Sans regular, bold and oblique: matplotlib's copy, else the system's."""
    candidates: list[Path] = []
    try:
        import matplotlib

        candidates.append(Path(matplotlib.get_data_path()) / "fonts" / "ttf")
    except ImportError:
        pass
    candidates.extend(_FONT_DIRS)
    for folder in candidates:
        paths = {style: folder / name for style, name in _FONT_FILES.items()}
        if all(path.is_file() for path in paths.values()):
            return paths
    raise ReportFontMissing(
        "DejaVu Sans not found: install matplotlib (it ships the font) or the Debian "
        "package fonts-dejavu-core")


class _Cleaner:
    """Text the font can set: missing symbols by name, other missing characters as U+FFFD."""

    def __init__(self, known: Iterable[int] = ()) -> None:
        self.known = frozenset(known)
        self.replaced = False

    def __call__(self, value: Any, limit: int = _MAX_TEXT, cut: str = "") -> str:
        text = "" if value is None else str(value).strip()
        if len(text) > limit:
            text = text[:limit].rstrip() + cut
        if all(ord(c) in self.known or c == "\n" for c in text):
            return text
        out = []
        for char in text:
            if ord(char) in self.known or char == "\n":
                out.append(char)
                continue
            category = unicodedata.category(char)
            if category in ("Cf", "Mn", "Me", "Sk", "Cc", "Cs") or 0xFE00 <= ord(char) <= 0xFE0F:
                continue  # joiners, variation selectors, skin tones, controls
            self.replaced = True
            if category == "So":
                out.append(f"[{unicodedata.name(char, 'symbol').lower()}]")
            else:
                out.append("\ufffd")
        return "".join(out)


def _right_to_left(text: str) -> bool:
    """True when the first letter with a direction is Hebrew, Arabic or another RTL script."""
    for char in text:
        direction = unicodedata.bidirectional(char)
        if direction in ("L", "R", "AL"):
            return direction != "L"
    return False


def _needs_shaping(texts: Iterable[str]) -> bool:
    """True when some text goes beyond precomposed Latin (combining marks, RTL, other scripts)."""
    return any(ord(char) >= 0x0300 for text in texts for char in text)


# ---------------------------------------------------------------------------- report

_INK = (34, 34, 34)
_MUTED = (100, 100, 100)
_ALERT = (176, 0, 32)
_ALERT_FILL = (253, 226, 228)
_HEAD_FILL = (236, 240, 244)
_BAND_COLOURS = {"minimal": "#e3f2e6", "mild": "#fbf5d8", "moderate": "#fde6c8",
                 "moderately severe": "#fbd5c4", "severe": "#f7c5c5"}
_MAX_TOTAL = {"phq9": 27, "gad7": 21}
_BANDS = {"phq9": ((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "moderately severe"),
                   (20, "severe")),
          "gad7": ((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "severe"))}
_NAMES = {"phq9": "PHQ-9", "gad7": "GAD-7"}


@dataclass(frozen=True)
class _Score:
    at: datetime
    instrument: str
    total: int
    band: str
    item9: int | None


class _Report:
    """One PDF being written: the page, the words, the zone and the text cleaner."""

    def __init__(self, pseudonym: str, lang: Language, zone: tzinfo,
                 exported_at: datetime) -> None:
        from fpdf import FPDF
        from fpdf.fonts import TTFFont

        words = _WORDS[lang]
        clean = _Cleaner()
        footer = words["footer"]

        class _Page(FPDF):
            def footer(self) -> None:
                self.set_y(-12)
                self.set_font(FONT, "", 8)
                self.set_text_color(*_MUTED)
                self.cell(0, 5, clean(footer.format(client=pseudonym, page=self.page_no())),
                          align="R")

        pdf = _Page(format="A4", unit="mm")
        pdf.set_margins(16, 14, 16)
        pdf.set_auto_page_break(True, margin=16)
        for style, path in report_fonts().items():
            pdf.add_font(FONT, style, str(path))
        regular = pdf.fonts[FONT.lower()]
        assert isinstance(regular, TTFFont)
        clean.known = frozenset(regular.cmap)
        pdf.set_text_shaping(True)
        pdf.set_creation_date(exported_at)
        pdf.set_title(words["title"])
        pdf.set_creator("CBT Companion")
        pdf.set_lang(lang)
        pdf.add_page()
        self.pdf: FPDF = pdf
        self.words, self.lang, self.zone, self.clean = words, lang, zone, clean

    # -- formatting

    def when(self, moment: datetime | None) -> str:
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M") if moment else ""

    def answer_time(self, moment: datetime, since: datetime) -> str:
        """Only the time when on the same local day as `since`, else date and time."""
        local = moment.astimezone(self.zone)
        same_day = local.date() == since.astimezone(self.zone).date()
        return local.strftime("%H:%M") if same_day else self.when(moment)

    def day(self, moment: datetime | date) -> str:
        day = moment.astimezone(self.zone).date() if isinstance(moment, datetime) else moment
        return f"{day.day} {MONTHS[self.lang][day.month - 1]} {day.year}"

    def band(self, band: str) -> str:
        return BAND_WORDS[self.lang].get(band, band)

    # -- writing

    def heading(self, text: str, *, keep: float = 30) -> None:
        """A section title, moved to a new page unless `keep` mm fit under it."""
        pdf = self.pdf
        if pdf.will_page_break(keep):
            pdf.add_page()
        pdf.ln(4)
        pdf.start_section(text)
        pdf.set_font(FONT, "B", 13)
        pdf.set_text_color(*_INK)
        pdf.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_draw_color(190, 190, 190)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
        pdf.ln(2)

    def paragraph(self, text: str, *, size: float = 9.5, style: str = "",
                  colour: tuple[int, int, int] = _INK) -> None:
        pdf = self.pdf
        pdf.set_font(FONT, style, size)
        pdf.set_text_color(*colour)
        pdf.multi_cell(0, size * 0.5, self.clean(text), new_x="LMARGIN", new_y="NEXT",
                       align="L")
        pdf.ln(1)

    def alert(self, text: str) -> None:
        pdf = self.pdf
        pdf.set_font(FONT, "B", 9.5)
        pdf.set_text_color(*_ALERT)
        pdf.set_fill_color(*_ALERT_FILL)
        pdf.multi_cell(0, 5.5, self.clean(text), fill=True, new_x="LMARGIN", new_y="NEXT",
                       align="L", padding=(1, 2))
        pdf.ln(1)

    def table(self, header: Sequence[str], rows: Iterable[Sequence[str]],
              widths: Sequence[float], *, alert_rows: Iterable[int] = ()) -> None:
        """Rows under a header repeated on each page; alert rows bold red on pink.

        Drawn cell by cell: fpdf2's table() measures every word of every cell twice and
        took most of a year-long report's time.
        """
        pdf = self.pdf
        alerts = set(alert_rows)
        cells = [[self.clean(text, limit=300) for text in row] for row in rows]
        scale = pdf.epw / sum(widths)
        columns = [w * scale for w in widths]
        # Shaping runs every word through HarfBuzz; tables hold dates, numbers, our labels
        # and flow ids, so shape only when a cell needs it (e.g. Hebrew).
        pdf.set_text_shaping(_needs_shaping(text for row in cells for text in row))
        if pdf.will_page_break(16):  # a header alone at the foot of a page
            pdf.add_page()
        self._table_row(header, columns, style="B", fill=_HEAD_FILL)
        for i, row in enumerate(cells):
            if self._table_row(row, columns, style="B" if i in alerts else "",
                               fill=_ALERT_FILL if i in alerts else None,
                               colour=_ALERT if i in alerts else _INK):
                self._table_row(header, columns, style="B", fill=_HEAD_FILL)
                self._table_row(row, columns, style="B" if i in alerts else "",
                                fill=_ALERT_FILL if i in alerts else None,
                                colour=_ALERT if i in alerts else _INK)
        pdf.set_text_shaping(True)
        pdf.ln(2)

    def _table_row(self, texts: Sequence[str], columns: Sequence[float], *, style: str = "",
                   fill: tuple[int, int, int] | None = None,
                   colour: tuple[int, int, int] = _INK) -> bool:
        """Draw one row; returns True (drawing nothing) when it has to go on a new page."""
        pdf = self.pdf
        pad, line = 1.2, 4.2
        pdf.set_font(FONT, style, 8.5)
        lines = [[text] if pdf.get_string_width(text) <= width - 2 * pad else
                 self.wrap(text, width - 2 * pad, line)
                 for text, width in zip(texts, columns, strict=True)]
        height = max(len(cell) for cell in lines) * line + 1.8
        if pdf.will_page_break(height):
            pdf.add_page()
            return True
        top, x = pdf.get_y(), pdf.l_margin
        if fill is not None:
            pdf.set_fill_color(*fill)
            pdf.rect(x, top, pdf.epw, height, style="F")
        pdf.set_text_color(*colour)
        for cell, width in zip(lines, columns, strict=True):
            for k, text in enumerate(cell):
                pdf.set_xy(x + pad, top + 0.9 + k * line)
                pdf.cell(width - 2 * pad, line, text)
            x += width
        pdf.set_draw_color(205, 205, 205)
        pdf.line(pdf.l_margin, top + height, pdf.l_margin + pdf.epw, top + height)
        pdf.set_xy(pdf.l_margin, top + height)
        return False

    def wrap(self, text: str, width: float, line: float) -> list[str]:
        """The lines multi_cell would break text into at the current font."""
        lines = self.pdf.multi_cell(width, line, text, dry_run=True, output="LINES")
        assert isinstance(lines, list)
        return [str(part) for part in lines]

    def labelled(self, label: str, text: str, *, indent: float = 42) -> None:
        """A bold label in the margin column, the client's text wrapped beside it."""
        pdf = self.pdf
        pdf.set_font(FONT, "", 9.5)
        body = self.clean(text, cut=self.words["cut"])
        pdf.set_font(FONT, "B", 9)
        label_lines = self.wrap(label, indent - 2, 4.8)
        # Keep the whole label with the first lines of its text (estimated, not measured).
        body_lines = min(3, 1 + len(body) // 80 + body.count("\n"))
        if pdf.will_page_break(4.8 * max(len(label_lines), body_lines)):
            pdf.add_page()
        top, page = pdf.get_y(), pdf.page_no()
        pdf.set_text_color(*_MUTED)
        pdf.multi_cell(indent - 2, 4.8, label, new_x="RIGHT", new_y="TOP", align="L")
        pdf.set_xy(pdf.l_margin + indent, top)
        pdf.set_font(FONT, "", 9.5)
        pdf.set_text_color(*_INK)
        # One call per line: fpdf2 takes one direction for all the text of a call, so a
        # Hebrew first thought would turn the English ones after it right-to-left.
        for paragraph in body.split("\n"):
            pdf.set_x(pdf.l_margin + indent)
            pdf.multi_cell(pdf.epw - indent, 4.8, paragraph, new_x="LMARGIN", new_y="NEXT",
                           align="R" if _right_to_left(paragraph) else "L")
        label_bottom = top + 4.8 * len(label_lines)
        if pdf.page_no() == page and pdf.get_y() < label_bottom:
            pdf.set_y(label_bottom)
        pdf.ln(0.8)

    def image(self, png: bytes, height: float) -> None:
        pdf = self.pdf
        if pdf.will_page_break(height + 2):
            pdf.add_page()
        pdf.image(io.BytesIO(png), x=pdf.l_margin, w=pdf.epw, h=height)
        pdf.ln(2)


def clinician_pdf(entries: Sequence[Entry], events: Sequence[CrisisEvent], client: Client, *,
                  period: ReportPeriod, zone: tzinfo, exported_at: datetime,
                  language: str = "en") -> bytes:
    """The clinician's PDF report of the period's completed entries and crisis events.

    The caller filters entries and events to the period; `period` is what the header says
    (an open end is filled from the data and `exported_at`). Entries without completion
    time or marked as drafts are left out.
    """
    if exported_at.tzinfo is None:
        raise ValueError("exported_at must be timezone-aware")
    lang = _language(language)
    chosen = sorted((e for e in entries if e.status != "draft" and e.completed_at is not None),
                    key=lambda e: (_completed(e), e.id or 0))
    by_type: dict[str, list[Entry]] = {}
    for entry in chosen:
        by_type.setdefault(entry.entry_type, []).append(entry)
    crisis = sorted(events, key=lambda e: e.occurred_at)
    first, last = _span(chosen, crisis, period, zone, exported_at)

    report = _Report(client.pseudonym, lang, zone, exported_at)
    _header(report, client, period, first, last, exported_at)
    if not chosen and not crisis:
        report.paragraph(report.words["no_entries"], size=11, style="B")
    else:
        scores = _scores(by_type)
        _at_a_glance(report, crisis, scores)
        _homework(report, chosen, by_type, first, last)
        _moods(report, by_type.get("mood_checkin", []), first, last)
        _questionnaires(report, scores, first, last)
        # Risk first, then the long lists: a year of exercises runs to several pages.
        _crisis_events(report, crisis)
        _safety_plan(report, by_type.get("safety_plan", []))
        _thought_records(report, by_type.get("thought_record", []))
        _exercises(report, by_type.get("exercise", []))
    if report.clean.replaced:
        report.paragraph(report.words["replaced"], size=8, style="I", colour=_MUTED)
    return bytes(report.pdf.output())


def _completed(entry: Entry) -> datetime:
    assert entry.completed_at is not None
    return entry.completed_at


def _span(entries: Sequence[Entry], events: Sequence[CrisisEvent], period: ReportPeriod,
          zone: tzinfo, exported_at: datetime) -> tuple[date, date]:
    """First and last day of the report: the period, open ends filled from the data."""
    moments = [_completed(e) for e in entries] + [e.occurred_at for e in events]
    days = sorted(m.astimezone(zone).date() for m in moments)
    end = period.end or max([exported_at.astimezone(zone).date(), *days[-1:]])
    start = period.start or (days[0] if days else end)
    return start, max(start, end)


def _header(report: _Report, client: Client, period: ReportPeriod, first: date, last: date,
            exported_at: datetime) -> None:
    pdf, words = report.pdf, report.words
    pdf.set_font(FONT, "B", 17)
    pdf.set_text_color(*_INK)
    pdf.cell(0, 9, words["title"], new_x="LMARGIN", new_y="NEXT")
    if period.start is None:
        key = "all_up_to" if period.end is None else "up_to"
        span = words[key].format(day=report.day(last))
    else:
        span = f"{report.day(first)} \u2013 {report.day(last)}"
    lines = ((words["client"], client.pseudonym), (words["period"], span),
             (words["generated"], f"{report.when(exported_at)} ({words['times_in']} "
                                  f"{report.zone})"))
    for label, value in lines:
        pdf.set_font(FONT, "B", 10)
        pdf.set_text_color(*_MUTED)
        pdf.cell(28, 5.5, label)
        pdf.set_font(FONT, "", 10)
        pdf.set_text_color(*_INK)
        pdf.cell(0, 5.5, report.clean(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1.5)
    report.alert(words["sensitive"])


def _scores(by_type: Mapping[str, Sequence[Entry]]) -> list[_Score]:
    scores = []
    for instrument in ("phq9", "gad7"):
        for entry in by_type.get(instrument, []):
            total = entry.data.get("total")
            if isinstance(total, bool) or not isinstance(total, int) \
                    or not 0 <= total <= _MAX_TOTAL[instrument]:
                continue
            item9 = None
            if instrument == "phq9":
                item9 = next((item.get("value") for item in entry.data.get("items") or []
                              if isinstance(item, Mapping) and item.get("code") == PHQ9_ITEM9
                              and isinstance(item.get("value"), int)), None)
            scores.append(_Score(_completed(entry), instrument, total,
                                 severity_band(instrument, total), item9))
    return sorted(scores, key=lambda s: s.at)


def _at_a_glance(report: _Report, crisis: Sequence[CrisisEvent],
                 scores: Sequence[_Score]) -> None:
    words = report.words
    report.heading(words["glance"])
    if crisis:
        report.alert(words["crisis_some"].format(n=len(crisis),
                                                 when=report.when(crisis[-1].occurred_at)))
    else:
        report.paragraph(words["crisis_none"])
    phq9 = [s for s in scores if s.instrument == "phq9"]
    flagged = [s for s in phq9 if s.item9]
    if flagged:
        report.alert(words["item9_some"].format(n=len(flagged), total=len(phq9),
                                                when=report.day(flagged[-1].at)))
    elif phq9:
        report.paragraph(words["item9_none"])
    for instrument in ("phq9", "gad7"):
        mine = [s for s in scores if s.instrument == instrument]
        if mine:
            latest = mine[-1]
            report.paragraph(words["latest_score"].format(
                name=_NAMES[instrument], total=latest.total, band=report.band(latest.band),
                when=report.day(latest.at), first=mine[0].total))


def _homework(report: _Report, chosen: Sequence[Entry],
              by_type: Mapping[str, Sequence[Entry]], first: date, last: date) -> None:
    words = report.words
    report.heading(words["homework"])
    labels = {"thought_record": words["thought_record"], "mood_checkin": words["mood_checkin"],
              "phq9": words["phq9"], "gad7": words["gad7"], "exercise": words["exercise_type"],
              "safety_plan": words["safety_plan_type"]}
    rows = [(labels[kind], str(len(by_type.get(kind, []))),
             report.when(_completed(by_type[kind][-1])) if by_type.get(kind) else "\u2013")
            for kind in HOMEWORK_TYPES]
    report.table((words["type"], words["entries"], words["last_entry"]), rows, (3, 1.2, 2))
    days = {_completed(e).astimezone(report.zone).date() for e in chosen
            if e.entry_type in HOMEWORK_TYPES}
    report.paragraph(words["days_with"].format(n=len(days), days=(last - first).days + 1))


# ---------------------------------------------------------------------------- charts

_CHART_DPI = 170


def _chart(height_mm: float, rows: int = 1) -> tuple[Any, list[Axes]]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(178 / 25.4, height_mm / 25.4), dpi=_CHART_DPI,
                    facecolor="white", layout="constrained")
    FigureCanvasAgg(figure)
    axes = [figure.add_subplot(rows, 1, i + 1) for i in range(rows)]
    return figure, axes


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_CHART_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _x(moment: datetime, first: date, zone: tzinfo) -> float:
    """Days since the first day's local midnight: plain floats, no matplotlib date zones."""
    local = moment.astimezone(zone)
    days = (local.date() - first).days
    return days + (local.hour * 3600 + local.minute * 60 + local.second) / 86400


def _style_time_axis(axes: Axes, report: _Report, first: date, last: date) -> None:
    span = (last - first).days + 1
    ticks: list[tuple[float, str]] = []
    if span > 62:
        day = first.replace(day=1)
        step_months = 1 if span <= 400 else 3
        while day <= last:
            if day >= first:
                ticks.append(((day - first).days, f"{MONTHS[report.lang][day.month - 1]}"
                              + (f" {day.year}" if day.month == 1 or not ticks else "")))
            month = day.month - 1 + step_months
            day = date(day.year + month // 12, month % 12 + 1, 1)
    else:
        step = 1 if span <= 10 else 7
        day = first if step == 1 else first + timedelta(days=(7 - first.weekday()) % 7)
        while day <= last:
            ticks.append(((day - first).days, f"{day.day} {MONTHS[report.lang][day.month - 1]}"))
            day += timedelta(days=step)
    axes.set_xlim(-0.5, span + 0.5)
    axes.set_xticks([x for x, _ in ticks], [label for _, label in ticks])
    axes.tick_params(labelsize=7.5, colors="#333333", length=3)
    axes.grid(axis="y", color="#e6e6e6", linewidth=0.6)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _moods(report: _Report, moods: Sequence[Entry], first: date, last: date) -> None:
    words = report.words
    report.heading(words["mood"], keep=75 if moods else 30)
    points = [(_completed(e), e.data["mood"]) for e in moods
              if isinstance(e.data.get("mood"), int) and not isinstance(e.data["mood"], bool)
              and 0 <= e.data["mood"] <= 10]
    if not points:
        report.paragraph(words["none"])
        return
    values = [v for _, v in points]
    report.paragraph(words["mood_summary"].format(
        n=len(points), mean=_decimal(sum(values) / len(values), report.lang),
        low=min(values), high=max(values), latest=values[-1], when=report.day(points[-1][0])))
    figure, (axes,) = _chart(52)
    xs = [_x(at, first, report.zone) for at, _ in points]
    axes.plot(xs, values, color="#0072B2", linewidth=0.8, alpha=0.55, marker="o",
              markersize=2.2 if len(points) > 60 else 3.5)
    if len(points) >= 7:
        means = [_rolling_mean(points, i) for i in range(len(points))]
        axes.plot(xs, means, color="#0072B2", linewidth=2, label=words["weekly_mean"])
        axes.legend(loc="upper left", fontsize=7, frameon=False)
    axes.set_ylim(-0.4, 10.4)
    axes.set_yticks(range(0, 11, 2))
    axes.set_ylabel(words["mood_axis"], fontsize=8)
    _style_time_axis(axes, report, first, last)
    report.image(_png(figure), 52)


def _rolling_mean(points: Sequence[tuple[datetime, int]], i: int) -> float:
    """Mean of the check-ins in the 7 days up to and including point i."""
    end = points[i][0]
    window = [v for at, v in points[max(0, i - 50):i + 1] if end - at < timedelta(days=7)]
    return sum(window) / len(window)


def _decimal(value: float, lang: Language) -> str:
    text = f"{value:.1f}"
    return text.replace(".", ",") if lang == "es" else text


def _questionnaires(report: _Report, scores: Sequence[_Score], first: date, last: date
                    ) -> None:
    words = report.words
    present = [i for i in ("phq9", "gad7") if any(s.instrument == i for s in scores)]
    height = 44 * len(present)
    report.heading(words["questionnaires"], keep=height + 16)
    if not scores:
        report.paragraph(words["none"])
        return
    figure, axes_list = _chart(height, rows=len(present))
    for axes, instrument in zip(axes_list, present, strict=True):
        _draw_scores(axes, report, instrument,
                     [s for s in scores if s.instrument == instrument], first)
        _style_time_axis(axes, report, first, last)
    report.image(_png(figure), height)

    baseline: dict[str, int] = {}
    rows: list[tuple[str, ...]] = []
    alerts: list[int] = []
    for score in scores:
        baseline.setdefault(score.instrument, score.total)
    for score in reversed(scores):
        change = score.total - baseline[score.instrument]
        item9 = "\u2013" if score.item9 is None else str(score.item9)
        if score.item9:
            item9 = f"{score.item9} ({words['item9_flag']})"
            alerts.append(len(rows))
        rows.append((report.when(score.at), _NAMES[score.instrument], str(score.total),
                     report.band(score.band), _change(change), item9))
    report.table((words["date"], words["instrument"], words["score"], words["band"],
                  words["change"], words["item9"]), rows, (2.2, 1.7, 1.3, 2.5, 2.2, 1.9),
                 alert_rows=alerts)


def _draw_scores(axes: Axes, report: _Report, instrument: str, scores: Sequence[_Score],
                 first: date) -> None:
    top = _MAX_TOTAL[instrument]
    bands = _BANDS[instrument]
    for (lowest, band), upper in zip(bands, [b[0] for b in bands[1:]] + [top], strict=True):
        axes.axhspan(lowest, upper, color=_BAND_COLOURS[band], linewidth=0, zorder=0)
        axes.text(1.005, (lowest + upper) / 2, report.band(band), fontsize=6.5,
                  color="#555555", va="center", transform=axes.get_yaxis_transform())
    axes.axhline(10, color="#555555", linewidth=0.9, linestyle="--", zorder=1)
    xs = [_x(s.at, first, report.zone) for s in scores]
    ys = [s.total for s in scores]
    axes.plot(xs, ys, color="#222222", linewidth=1.4, marker="o", markersize=3.5, zorder=3)
    flagged = [(x, s.total) for x, s in zip(xs, scores, strict=True) if s.item9]
    if flagged:
        axes.scatter([x for x, _ in flagged], [y for _, y in flagged], s=70, marker="o",
                     facecolors="none", edgecolors="#B00020", linewidths=1.6, zorder=4,
                     label=report.words["item9_flag"])
        axes.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False,
                    borderaxespad=0.2)
    axes.set_ylim(0, top + 0.5)
    axes.set_yticks([lowest for lowest, _ in bands] + [top])
    axes.set_title(_NAMES[instrument], loc="left", fontsize=9, fontweight="bold")


# ---------------------------------------------------------------------------- sections

def _exercises(report: _Report, exercises: Sequence[Entry]) -> None:
    words = report.words
    report.heading(words["exercises"])
    if not exercises:
        report.paragraph(words["none"])
        return
    befores = [v for e in exercises if isinstance(v := e.data.get("suds_before"), int)]
    afters = [v for e in exercises if isinstance(v := e.data.get("suds_after"), int)]
    stopped = sum(1 for e in exercises if _run(e).get("stopped"))
    if befores and afters:
        report.paragraph(words["suds_summary"].format(
            n=len(exercises), before=_decimal(sum(befores) / len(befores), report.lang),
            after=_decimal(sum(afters) / len(afters), report.lang), stopped=stopped))
    names = _EXERCISES[report.lang]
    rows = []
    for entry in reversed(exercises):
        data = entry.data
        exercise = str(data.get("exercise") or "")
        before, after = data.get("suds_before"), data.get("suds_after")
        change = _change(after - before) if isinstance(before, int) and \
            isinstance(after, int) else ""
        rows.append((report.when(_completed(entry)), names.get(exercise, exercise),
                     _number(before), _number(after), change,
                     words["yes"] if _run(entry).get("stopped") else words["no"]))
    report.table((words["date"], words["exercise"], words["before"], words["after"],
                  words["change"].split()[0], words["stopped"]), rows,
                 (2.2, 3.2, 1, 1, 1, 1.2))


def _change(difference: int) -> str:
    return f"{difference:+d}" if difference else "0"


def _run(entry: Entry) -> Mapping[str, Any]:
    run = entry.data.get("run")
    return run if isinstance(run, Mapping) else {}


def _number(value: Any) -> str:
    return "" if value is None else str(value)


def _thought_records(report: _Report, records: Sequence[Entry]) -> None:
    words = report.words
    report.heading(words["thought_records"])
    if not records:
        report.paragraph(words["none"])
        return
    latest = list(reversed(records))[:LATEST_THOUGHT_RECORDS]
    report.paragraph(words["thought_records_note"].format(shown=len(latest), n=len(records)),
                     colour=_MUTED)
    pdf = report.pdf
    for entry in latest:
        data = entry.data
        if pdf.will_page_break(30):
            pdf.add_page()
        pdf.ln(1)
        pdf.set_font(FONT, "B", 10)
        pdf.set_text_color(*_INK)
        pdf.set_fill_color(*_HEAD_FILL)
        pdf.cell(0, 6, report.when(_completed(entry)), fill=True, new_x="LMARGIN",
                 new_y="NEXT")
        pdf.ln(1)
        thoughts = data.get("automatic_thoughts")
        thought_lines = [str(t) for t in (thoughts if isinstance(thoughts, list)
                                          else [thoughts]) if t]
        belief = data.get("belief")
        fields: list[tuple[str, str]] = [
            (words["situation"], str(data.get("situation") or "")),
            (words["moods_before"], _moods_text(data.get("moods"), None, report.lang)),
            (words["automatic_thoughts"], "\n".join(f"\u2022 {t}" for t in thought_lines)),
            (words["hot_thought"], str(data.get("hot_thought") or "")),
            (words["evidence_for"], str(data.get("evidence_for") or "")),
            (words["evidence_against"], str(data.get("evidence_against") or "")),
            (words["balanced_thought"], str(data.get("balanced_thought") or "")),
            (words["belief"], f"{belief}/100" if isinstance(belief, int) else ""),
            (words["moods_after"], _moods_text(data.get("moods_after"), data.get("moods"),
                                               report.lang)),
        ]
        for label, text in fields:
            if text.strip():
                report.labelled(label, text)


def _moods_text(moods: Any, before: Any, lang: Language) -> str:
    """'Anxious 80, Sad 40'; re-rated moods also show the change: 'Anxious 30 (-50)'."""
    earlier = {row.get("mood"): row.get("intensity") for row in
               (before if isinstance(before, list) else []) if isinstance(row, Mapping)}
    parts = []
    for row in moods if isinstance(moods, list) else []:
        if not isinstance(row, Mapping):
            continue
        mood, intensity = row.get("mood"), row.get("intensity")
        # A left-to-right mark after the name keeps "מבוכה 50 (-30)" in reading order.
        text = f"{_MOODS[lang].get(str(mood), str(mood))}\u200e {_number(intensity)}".strip()
        was = earlier.get(mood)
        if isinstance(was, int) and isinstance(intensity, int) and before is not None:
            text += f" ({intensity - was:+d})".replace("-", "\u2212")
        parts.append(text)
    return ", ".join(parts)


def _crisis_events(report: _Report, events: Sequence[CrisisEvent]) -> None:
    words = report.words
    report.heading(words["crisis"])
    report.paragraph(words["crisis_note"], colour=_MUTED, size=8.5)
    if not events:
        report.paragraph(words["none"])
        return
    sources = {"message": words["source_message"],
               "questionnaire": words["source_questionnaire"]}
    rows = []
    for event in reversed(events):
        answers = [words[key].format(when=report.answer_time(at, event.occurred_at))
                   for key, at in (("safe", event.safe_confirmed_at),
                                   ("not_meant", event.not_meant_at)) if at is not None]
        rows.append((report.when(event.occurred_at), sources.get(event.source, event.source),
                     event.category, event.rule, "; ".join(answers) or words["no_answer"]))
    report.table((words["time"], words["source"], words["category"], words["rule"],
                  words["answer"]), rows, (2.2, 1.6, 2, 2.4, 3.2))


def _safety_plan(report: _Report, plans: Sequence[Entry]) -> None:
    words = report.words
    report.heading(words["safety_plan"])
    if not plans:
        report.paragraph(words["no_safety_plan"])
        return
    plan = plans[-1]
    report.paragraph(words["safety_plan_updated"].format(when=report.when(_completed(plan))),
                     colour=_MUTED)
    for field in _SAFETY_PLAN_FIELDS:
        text = plan.data.get(field)
        if text is not None and str(text).strip():
            report.labelled(words[field], str(text), indent=55)

