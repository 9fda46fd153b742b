"""Scoring vectors for PHQ-9 and GAD-7: every band edge, and answers that cannot be scored."""

from __future__ import annotations

import pytest

from flows.questionnaires import GAD7, PHQ9, Instrument, ScoringError, score


def answers_totalling(instrument: Instrument, total: int) -> dict[str, object]:
    values: dict[str, object] = {}
    left = total
    for code in instrument.item_codes:
        values[code] = min(3, left)
        left -= min(3, left)
    assert left == 0
    return values


@pytest.mark.parametrize(
    ("instrument", "total", "band"),
    [
        (PHQ9, 0, "minimal"), (PHQ9, 4, "minimal"), (PHQ9, 5, "mild"), (PHQ9, 9, "mild"),
        (PHQ9, 10, "moderate"), (PHQ9, 14, "moderate"), (PHQ9, 15, "moderately severe"),
        (PHQ9, 19, "moderately severe"), (PHQ9, 20, "severe"), (PHQ9, 27, "severe"),
        (GAD7, 0, "minimal"), (GAD7, 4, "minimal"), (GAD7, 5, "mild"), (GAD7, 9, "mild"),
        (GAD7, 10, "moderate"), (GAD7, 14, "moderate"), (GAD7, 15, "severe"),
        (GAD7, 21, "severe"),
    ],
)
def test_band_edges(instrument: Instrument, total: int, band: str) -> None:
    result = score(instrument, answers_totalling(instrument, total))
    assert (result.total, result.band) == (total, band)
    assert [code for code, _ in result.items] == list(instrument.item_codes)


@pytest.mark.parametrize(
    ("instrument", "change", "message"),
    [
        (PHQ9, {"44260-8": None}, "has None"),
        (PHQ9, {"44250-9": 4}, "has 4"),
        (PHQ9, {"44250-9": -1}, "has -1"),
        (PHQ9, {"44250-9": "2"}, "has '2'"),
        (PHQ9, {"44250-9": True}, "has True"),
        (GAD7, {"69736-7": 1.5}, "has 1.5"),
    ],
)
def test_invalid_answers_are_refused(
    instrument: Instrument, change: dict[str, object], message: str
) -> None:
    answers = {**answers_totalling(instrument, 0), **change}
    with pytest.raises(ScoringError, match=message):
        score(instrument, answers)


def test_missing_item_is_refused() -> None:
    answers = answers_totalling(PHQ9, 12)
    del answers["44260-8"]
    with pytest.raises(ScoringError, match="44260-8 is not answered"):
        score(PHQ9, answers)


def test_totals_outside_the_scale_have_no_band() -> None:
    for instrument, bad in ((PHQ9, 28), (PHQ9, -1), (GAD7, 22)):
        with pytest.raises(ValueError, match="outside"):
            instrument.band(bad)


def test_codes_match_the_published_panels() -> None:
    assert (PHQ9.panel_code, PHQ9.total_code, len(PHQ9.item_codes)) == ("44249-1", "44261-6", 9)
    assert (GAD7.panel_code, GAD7.total_code, len(GAD7.item_codes)) == ("69737-5", "70274-6", 7)


def test_the_chart_and_report_bands_agree_with_the_scoring() -> None:
    """storage/ cannot import flows/, so the reports keep their own copy of the cut-offs."""
    from storage.reports.progress import severity_band

    for instrument in (PHQ9, GAD7):
        for total in range(instrument.max_total + 1):
            assert severity_band(instrument.id, total) == instrument.band(total)
