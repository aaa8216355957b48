"""Budgets: exceeded, forecast overspend, threshold; one per budget and period."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import BudgetStatus
from pam_proactive.suggestions.detectors.budget import detect_budgets
from pam_proactive.suggestions.models import Candidate, DetectorResult, Priority

from .factory import NOW, budget, make_context, notes_of

S = DetectorSettings()
# NOW is Mon 10 Mar 2025: a March budget is 10 days in, with 21 days left.


def run(*budgets: BudgetStatus, **overrides: Any) -> tuple[list[Candidate], DetectorResult]:
    ctx = make_context(budgets=list(budgets), **overrides)
    result = detect_budgets(ctx, NOW, S)
    return list(result.candidates), result


def test_exceeded_at_one_hundred_percent() -> None:
    [found], _ = run(budget("b1", 1000, 1000))
    assert (found.type, found.priority) == ("budget_exceeded", Priority.HIGH)
    assert found.dedup_key == "budget:b1:2025-03-01"
    assert found.title == "Monthly budget exceeded"
    assert "You've spent $1,000 of your $1,000 monthly budget (100%), $0 over" in found.message
    # expires when the period ends: midnight starting 1 April in Denver (MDT)
    assert found.expires_at == datetime(2025, 4, 1, 6, 0, tzinfo=UTC)


def test_forecast_hand_checked() -> None:
    # 500 spent in 10 days = 50/day; 500 + 50 x 21 = 1,550 >= 1,100
    [found], _ = run(budget("b1", 1000, 500, category="Fuel"))
    assert (found.type, found.priority) == ("budget_forecast_overspend", Priority.MEDIUM)
    assert found.data["typical_daily"] == 50.0
    assert found.data["projected"] == 1550.0
    assert found.data["days_elapsed"] == 10 and found.data["days_left"] == 21
    assert found.title == "On pace to overspend your monthly fuel budget"
    assert "on track for about $1,550 by Mon Mar 31, 55% over" in found.message
    assert found.dedup_key == "budget:b1:2025-03-01"


def test_forecast_excludes_outliers_from_the_pace() -> None:
    # 700 spent, 400 of it one-off: pace 30/day -> 700 + 630 = 1,330 >= 1,100
    [found], _ = run(budget("b1", 1000, 700, outlier_spent=400))
    assert found.type == "budget_forecast_overspend"
    assert found.data["projected"] == 1330.0
    assert "not counting $400 of one-off expenses" in found.message


def test_outliers_can_bring_the_projection_under() -> None:
    # 500 spent, 400 one-off: 10/day -> 710 < 1,100; 50% < 80% threshold
    assert run(budget("b1", 1000, 500, outlier_spent=400))[0] == []


def test_forecast_counts_scheduled_payments_on_their_dates() -> None:
    # 500 spent in 10 days, 300 of it the monthly premium (paid): pace 20/day, not 50; the
    # 200 subscription due on the 25th is counted once: 500 + 20 x 21 + 200 = 1,120 >= 1,100.
    scheduled = replace(budget("b1", 1000, 500), scheduled_spent=300, scheduled_due=200)
    [found], _ = run(scheduled)
    assert found.type == "budget_forecast_overspend"
    assert (found.data["typical_daily"], found.data["projected"]) == (20.0, 1120.0)
    assert (found.data["scheduled_spent"], found.data["scheduled_due"]) == (300.0, 200.0)
    assert ("At your usual $20 a day (not counting $300 of regular payments) and $200 of "
            "regular payments still due, you're on track for about $1,120") in found.message
    # Without the one still due, the paid premium no longer sets the pace: no forecast.
    assert run(replace(scheduled, scheduled_due=0.0))[0] == []
    # Outliers and scheduled payments never count twice: scheduled is clamped to the rest.
    both = replace(budget("b1", 1000, 850, outlier_spent=400), scheduled_spent=500)
    [found], _ = run(both)
    assert found.type == "budget_threshold"
    assert found.data["scheduled_spent"] == 450.0 and found.data["typical_daily"] == 0.0


def test_forecast_needs_five_days() -> None:
    day4 = datetime(2025, 3, 4, 18, 0, tzinfo=UTC)
    ctx = make_context(budgets=[budget("b1", 1000, 500)], now=day4)
    assert detect_budgets(ctx, day4, S).candidates == ()
    day5 = datetime(2025, 3, 5, 18, 0, tzinfo=UTC)
    ctx = make_context(budgets=[budget("b1", 1000, 500)], now=day5)
    [found] = detect_budgets(ctx, day5, S).candidates
    assert found.type == "budget_forecast_overspend"


def test_forecast_needs_forty_percent_spent() -> None:
    # 390 spent (39%): 390 + 39 x 21 = 1,209 would be over, but too early to tell
    assert run(budget("b1", 1000, 390))[0] == []


def test_threshold_when_the_projection_is_fine() -> None:
    late = datetime(2025, 3, 28, 18, 0, tzinfo=UTC)  # 28 days in, 3 left
    ctx = make_context(budgets=[budget("b1", 1000, 850)], now=late)
    # 850 + 30.36 x 3 = 941 < 1,100; 85% >= 80%
    [found] = detect_budgets(ctx, late, S).candidates
    assert (found.type, found.priority) == ("budget_threshold", Priority.LOW)
    assert found.title == "Monthly budget 85% used"
    assert "$150 is left until Mon Mar 31" in found.message
    assert found.dedup_key == "budget:b1:2025-03-01"


def test_threshold_uses_the_budget_setting_and_defaults_to_eighty() -> None:
    late = datetime(2025, 3, 28, 18, 0, tzinfo=UTC)
    own = make_context(budgets=[budget("b1", 1000, 850, threshold=90)], now=late)
    assert detect_budgets(own, late, S).candidates == ()
    none = make_context(budgets=[budget("b1", 1000, 850, threshold=0)], now=late)
    assert [c.type for c in detect_budgets(none, late, S).candidates] == ["budget_threshold"]


def test_same_key_for_all_three_types_so_a_rise_updates_one_suggestion() -> None:
    late = datetime(2025, 3, 28, 18, 0, tzinfo=UTC)
    keys = set()
    for spent in (850, 1000):
        ctx = make_context(budgets=[budget("b1", 1000, spent)], now=late)
        keys |= {c.dedup_key for c in detect_budgets(ctx, late, S).candidates}
    keys |= {c.dedup_key for c in run(budget("b1", 1000, 500))[0]}
    assert keys == {"budget:b1:2025-03-01"}


def test_one_per_budget_most_severe() -> None:
    found, _ = run(budget("b1", 1000, 1200), budget("b2", 100, 20, category="food"))
    assert [c.type for c in found] == ["budget_exceeded"]


@pytest.mark.parametrize("limit", [0.0, -5.0, math.nan, math.inf])
def test_bad_limit_is_skipped_with_a_note(limit: float) -> None:
    found, result = run(budget("b1", limit, 500))
    assert found == []
    assert "budget: budget skipped: limit is not a positive number" in notes_of(result)


def test_period_not_containing_today_is_skipped() -> None:
    found, result = run(budget("b1", 100, 500, start=date(2025, 2, 1), end=date(2025, 2, 28)))
    assert found == []
    assert any("outside the budget's period" in n for n in notes_of(result))


def test_currency_symbol() -> None:
    [found], _ = run(budget("b1", 1000, 1000), currency="GBP")
    assert "£1,000" in found.message


def test_exceeded_message_counts_the_days_left() -> None:
    [found], _ = run(budget("b1", 1000, 1200))  # Mon 10 Mar: 21 days left
    assert "$200 over, with 21 days left until Mon Mar 31." in found.message
    last = datetime(2025, 3, 31, 18, 0, tzinfo=UTC)
    ctx = make_context(budgets=[budget("b1", 1000, 1200)], now=last)
    [found] = detect_budgets(ctx, last, S).candidates
    assert "$200 over, on the period's last day (Mon Mar 31)." in found.message
