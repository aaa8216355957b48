"""spending_anomaly: larger than 3 x median and median + 5 x MAD, with 5+ baseline expenses."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.suggestions.detectors.anomaly import detect_spending_anomaly
from pam_proactive.suggestions.models import Candidate, DetectorResult, Priority

from .factory import NOW, TODAY, category_stats, expense, make_context, notes_of

S = DetectorSettings()


def run(amount: float, days_ago: int = 0, **stats: Any) -> tuple[list[Candidate], DetectorResult]:
    ctx = make_context(
        expenses=[expense("e1", "repairs", amount, TODAY - timedelta(days=days_ago))],
        categories=[category_stats("repairs", **stats)],
    )
    result = detect_spending_anomaly(ctx, NOW, S)
    return list(result.candidates), result


def test_fires_above_both_bars() -> None:
    # median 50, MAD 10: bar = max(150, 100) = 150
    [found], _ = run(151)
    assert (found.type, found.priority) == ("spending_anomaly", Priority.LOW)
    assert found.dedup_key == "spending_anomaly:e1"
    assert found.data["bar"] == 150.0
    assert "$151 on repairs on Mon Mar 10 is about 3× your usual repairs expense ($50" in (
        found.message
    )


def test_equal_to_the_bar_is_not_an_anomaly() -> None:
    assert run(150)[0] == []


def test_mad_bar_can_be_the_higher_one() -> None:
    # median 50, MAD 30: bar = max(150, 200) = 200
    assert run(180, mad=30.0)[0] == []
    assert len(run(201, mad=30.0)[0]) == 1


def test_needs_five_baseline_expenses() -> None:
    found, result = run(1000, count=4)
    assert found == []
    assert any(n.startswith("spending_anomaly: no usable baseline") for n in notes_of(result))
    assert len(run(1000, count=5)[0]) == 1


@pytest.mark.parametrize("days_ago", [7, 30])
def test_only_the_last_seven_days(days_ago: int) -> None:
    assert run(1000, days_ago=days_ago)[0] == []


def test_six_days_ago_still_counts() -> None:
    assert len(run(1000, days_ago=6)[0]) == 1


def test_zero_median_has_no_baseline() -> None:
    assert run(1000, median=0.0)[0] == []


def test_a_payment_on_its_schedule_is_expected() -> None:
    # The same 800 site fee as every month: far above the 50 median, but on its schedule.
    on_time = replace(expense("e1", "repairs", 800), scheduled=True)
    ctx = make_context(expenses=[on_time], categories=[category_stats("repairs")])
    result = detect_spending_anomaly(ctx, NOW, S)
    assert result.candidates == ()
    assert notes_of(result) == ["spending_anomaly: recurring payment on its schedule"]
    # The same amount off its schedule is judged as any other expense.
    [found], _ = run(800)
    assert found.data["amount"] == 800.0
