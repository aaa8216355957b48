"""Helpers shared by the detectors."""

from __future__ import annotations

from pam_proactive.suggestions.detectors._common import NOTHING, Findings, short
from pam_proactive.suggestions.models import DetectorResult, Note


def test_short_titles_are_cut_at_a_word_boundary_never_inside_an_amount() -> None:
    title = "Unusual food expense: $10,000,000,000,000,000,139,372,116,959,414,099,130,712,000"
    cut = short(title, 40)
    assert cut == "Unusual food expense…"
    assert len(cut) <= 40


def test_short_keeps_text_that_fits_and_cuts_one_long_word() -> None:
    assert short("  Refuel   before\nyou leave ") == "Refuel before you leave"
    assert short("x" * 90, 10) == "x" * 9 + "…"


def test_findings_result_of_notes_and_skips() -> None:
    """Nothing noted or skipped gives the shared empty result; notes come once each, in their
    first order; a skip keeps the largest count, and a zero count is no skip."""
    quiet = Findings("fuel_low")
    quiet.skip("fuel_interval_implausible_mpg", 0)
    assert quiet.result() is NOTHING
    found = Findings("fuel_low")
    found.note("b")
    found.note("a")
    found.note("b")
    found.skip("y", 2)
    found.skip("x", 0)
    found.skip("y", 1)
    found.skip("x", 3)
    assert found.result() == DetectorResult(
        (), (Note("fuel_low", "b"), Note("fuel_low", "a")), (("x", 3), ("y", 2)))
    skipped_only = Findings("economy")
    skipped_only.skip("z", 1)
    assert skipped_only.result() == DetectorResult((), (), (("z", 1),))
