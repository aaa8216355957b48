"""Helpers shared by the detectors."""

from __future__ import annotations

from pam_proactive.suggestions.detectors._common import short


def test_short_titles_are_cut_at_a_word_boundary_never_inside_an_amount() -> None:
    title = "Unusual food expense: $10,000,000,000,000,000,139,372,116,959,414,099,130,712,000"
    cut = short(title, 40)
    assert cut == "Unusual food expense…"
    assert len(cut) <= 40


def test_short_keeps_text_that_fits_and_cuts_one_long_word() -> None:
    assert short("  Refuel   before\nyou leave ") == "Refuel before you leave"
    assert short("x" * 90, 10) == "x" * 9 + "…"
