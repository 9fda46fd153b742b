"""PHQ-9 and GAD-7: items, LOINC codes, scoring and severity bands exactly as published.

Sources: reference/clinical.md (Kroenke 2001; Spitzer 2006; LOINC panels 44249-1, 69737-5).
The bands describe a score, never a diagnosis.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# LOINC answer codes shared by both questionnaires, by item score.
ANSWER_CODES = {0: "LA6568-5", 1: "LA6569-3", 2: "LA6570-1", 3: "LA6571-9"}
DIFFICULTY_CODES = {0: "LA6572-7", 1: "LA6573-5", 2: "LA6575-0", 3: "LA6574-3"}


@dataclass(frozen=True)
class Instrument:
    id: str
    name: str
    panel_code: str
    total_code: str
    item_codes: tuple[str, ...]
    # (lowest total, band) from the top band down.
    bands: tuple[tuple[int, str], ...]
    difficulty_code: str | None = None

    @property
    def max_total(self) -> int:
        return 3 * len(self.item_codes)

    def band(self, total: int) -> str:
        if not 0 <= total <= self.max_total:
            raise ValueError(f"{self.name} total {total} is outside 0-{self.max_total}")
        return next(label for lowest, label in self.bands if total >= lowest)


PHQ9 = Instrument(
    id="phq9", name="PHQ-9", panel_code="44249-1", total_code="44261-6",
    item_codes=("44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5",
                "44253-3", "44260-8"),
    bands=((20, "severe"), (15, "moderately severe"), (10, "moderate"), (5, "mild"),
           (0, "minimal")),
    difficulty_code="69722-7",
)
GAD7 = Instrument(
    id="gad7", name="GAD-7", panel_code="69737-5", total_code="70274-6",
    item_codes=("69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7"),
    bands=((15, "severe"), (10, "moderate"), (5, "mild"), (0, "minimal")),
)
INSTRUMENTS = {instrument.id: instrument for instrument in (PHQ9, GAD7)}
# PHQ-9 item 9 (thoughts of being better off dead or of self-harm).
PHQ9_ITEM9_CODE = "44260-8"


class ScoringError(ValueError):
    """Answers that cannot be scored: an item missing, or a value outside 0-3."""


@dataclass(frozen=True)
class Score:
    instrument: str
    total: int
    band: str
    items: tuple[tuple[str, int], ...]  # (LOINC item code, 0-3) in questionnaire order


def score(instrument: Instrument, answers: Mapping[str, object]) -> Score:
    """Total and band from item answers keyed by LOINC item code; refuses partial answers."""
    items: list[tuple[str, int]] = []
    for code in instrument.item_codes:
        if code not in answers:
            raise ScoringError(f"{instrument.name}: item {code} is not answered")
        value = answers[code]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3:
            raise ScoringError(f"{instrument.name}: item {code} has {value!r}, not 0-3")
        items.append((code, value))
    total = sum(value for _, value in items)
    return Score(instrument=instrument.id, total=total, band=instrument.band(total),
                 items=tuple(items))
