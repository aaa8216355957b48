"""Robust statistics helpers."""

from __future__ import annotations

import math

import pytest

from pam_proactive.analysis.stats import clamp, finite, mad, median, positive


def test_median_odd_even_and_empty() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([1.0, 2.0, 3.0, 4.0]) == 2.5
    assert median([]) is None


def test_median_ignores_dirty_values() -> None:
    assert median([math.nan, None, 5.0, math.inf]) == 5.0
    assert median([None, math.nan]) is None


def test_median_of_huge_values_stays_finite() -> None:
    assert median([1.7e308, 1.7e308]) == 1.7e308


def test_mad_hand_checked() -> None:
    # median 3, absolute deviations 2, 1, 0, 1, 97 -> median 1
    assert mad([1.0, 2.0, 3.0, 4.0, 100.0]) == 1.0
    assert mad([]) is None
    assert mad([7.0]) == 0.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1.5, 1.5), (None, None), (math.nan, None), (math.inf, None), (True, None), ("x", None)],
)
def test_finite(value: object, expected: float | None) -> None:
    assert finite(value) == expected  # type: ignore[arg-type]


def test_positive_and_clamp() -> None:
    assert positive(2.0) == 2.0
    assert positive(0.0) is None
    assert positive(-1.0) is None
    assert positive(500.0, upper=300.0) is None
    assert clamp(5.0, 0.0, 1.0) == 1.0
    assert clamp(math.nan, 0.0, 1.0) == 0.0


def test_clamp_keeps_the_bound_on_a_tie_and_low_wins_over_high() -> None:
    """As max(low, min(high, value)): a tie returns the bound itself (its sign of zero), and
    a low bound above the high one wins."""
    assert math.copysign(1.0, clamp(0.0, -0.0, 1.0)) == -1.0
    assert math.copysign(1.0, clamp(-0.0, -1.0, 0.0)) == 1.0
    assert clamp(4.0, 5.0, 3.0) == 5.0
    assert clamp(6.0, 5.0, 3.0) == 5.0
    assert clamp(-math.inf, 0.0, 1.0) == 0.0
    assert clamp(0.5, 0.0, 1.0) == 0.5
