"""Pattern insights by hand: spending trend, travel pattern, fuel economy trend; and the
expense scan's prior-month spans they rest on.

The factory's clock: Monday 10 March 2025, 09:00 in Denver (today = Mar 10).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest

from oracle.per_object import build_financial, frames_from_rows
from pam_proactive.analysis.insights import (
    FUEL_ECONOMY_TREND,
    SPENDING_TREND,
    TRAVEL_PATTERN,
    fuel_economy_trend,
    spending_trend,
    travel_pattern,
    user_insights,
)
from pam_proactive.analysis.outliers import OutlierRule
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import CategoryStats, FuelFill, QualityBuilder
from pam_proactive.data.assemble import prior_month_offsets
from pam_proactive.data.columnar.financial import financial_section
from pam_proactive.data.rows import UserRow
from suggestions.detectors.factory import NOW, TODAY, fill, make_context, trip

S = DetectorSettings()


def stats(category: str, month: float, prior: tuple[float, float, float]) -> CategoryStats:
    return CategoryStats(category, 0, None, None, 0.0, 0, month, prior)


# --- the scan ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "spans"),
    [
        # Mar 31: Feb clamps to its 28 days; Jan and Dec run to the 31st.
        (date(2025, 3, 31), [(date(2025, 2, 1), date(2025, 2, 28)),
                             (date(2025, 1, 1), date(2025, 1, 31)),
                             (date(2024, 12, 1), date(2024, 12, 31))]),
        # Jan 15 reaches back into the previous year.
        (date(2025, 1, 15), [(date(2024, 12, 1), date(2024, 12, 15)),
                             (date(2024, 11, 1), date(2024, 11, 15)),
                             (date(2024, 10, 1), date(2024, 10, 15))]),
    ],
)
def test_prior_month_spans(today: date, spans: list[tuple[date, date]]) -> None:
    expected = [((a - today).days, (b - today).days) for a, b in spans]
    assert list(prior_month_offsets(today)) == expected


def test_scan_sums_each_prior_month_over_the_same_days() -> None:
    today = date(2025, 3, 10)
    spent = [("food", 40.0, date(2025, 3, 2)), ("food", 25.0, date(2025, 2, 10)),
             ("food", 99.0, date(2025, 2, 11)),  # after day 10: not in the span
             ("food", 30.0, date(2025, 1, 1)), ("fuel", 70.0, date(2024, 12, 5)),
             ("fuel", 55.0, date(2024, 11, 30))]  # month -4: not counted
    row: tuple[Any, ...] = (1, [c for c, _, _ in spent], [a for _, a, _ in spent],
           [(d - today).days for _, _, d in spent], [], [None] * len(spent))
    # The product's column-wise section, and the per-object oracle it was proved against.
    user = UserRow(UUID(int=1), "active", "metric", "UTC", "USD", None, None, None, None, None,
                   None, False, None, None, None, None)
    frames = frames_from_rows([user], [(today, "UTC", False)], NOW, {
        "expenses": [row], "budgets": [], "trips": [], "events": [], "fuel": [],
        "maintenance": [], "vehicles": [], "after_now": []})
    columnar = financial_section(frames, OutlierRule(), {1: QualityBuilder()})[1]
    oracle = build_financial(row, [], today, QualityBuilder(), OutlierRule())
    for fin in (columnar, oracle):
        assert fin.categories["food"].spent_month == 40.0
        assert fin.categories["food"].prior_months == (25.0, 30.0, 0.0)
        assert fin.categories["fuel"].prior_months == (0.0, 0.0, 70.0)


# --- spending trend ----------------------------------------------------------------------


def test_spending_trend_by_hand() -> None:
    ctx = make_context(categories=[stats("food", 150.0, (100.0, 90.0, 30.0)),
                                   stats("fuel", 80.0, (0.0, 120.0, 0.0)),
                                   stats("gifts", 0.0, (0.0, 0.0, 0.0))])
    insight = spending_trend(ctx)
    assert insight is not None
    assert (insight.kind, insight.period_start, insight.period_end) == (
        SPENDING_TREND, date(2025, 3, 1), TODAY)
    v = insight.values
    assert v["day_of_month"] == 10
    assert v["categories"]["food"] == {"month_to_date": 150.0,
                                       "prior_months": [100.0, 90.0, 30.0],
                                       "prior_average": 73.33, "change_pct": 104.5}
    assert v["categories"]["fuel"]["change_pct"] == 100.0  # 80 against (0 + 120 + 0) / 3
    assert "gifts" not in v["categories"]  # nothing spent in the four months
    assert v["total"] == {"month_to_date": 230.0, "prior_months": [100.0, 210.0, 30.0],
                          "prior_average": 113.33, "change_pct": 102.9}


def test_new_category_has_no_change_pct() -> None:
    insight = spending_trend(make_context(categories=[stats("camping", 45.0, (0, 0, 0))]))
    assert insight is not None
    assert insight.values["categories"]["camping"] == {
        "month_to_date": 45.0, "prior_months": [0.0, 0.0, 0.0], "prior_average": 0.0}


def test_no_spending_no_trend() -> None:
    assert spending_trend(make_context()) is None


# --- travel pattern ----------------------------------------------------------------------


def d(n: int) -> date:
    return TODAY + timedelta(days=n)


def test_travel_pattern_by_hand() -> None:
    ctx = make_context(trips=[
        trip("old", "completed", d(-100), d(-95), distance=999),  # started before the window
        trip("t1", "completed", d(-89), d(-85), distance=300),  # first day of the window
        trip("t2", "completed", d(-40), d(-38), distance=150),
        trip("t3", "completed", d(-39), d(-36), distance=None),  # overlaps t2's days
        trip("c", "cancelled", d(-20), d(-18), distance=500),
        trip("now", "active", d(-5), d(2), distance=400),  # 5 of 8 days behind: 250 miles
        trip("next", "planned", d(10), d(12), distance=200),
    ])
    insight = travel_pattern(ctx)
    assert insight is not None
    assert (insight.kind, insight.period_start, insight.period_end) == (
        TRAVEL_PATTERN, d(-89), TODAY)
    assert insight.values == {
        "window_days": 90,
        "trips": 4,
        "trips_without_distance": 1,
        "miles": 300 + 150 + 250.0,
        "typical_leg_miles": 300.0,  # median of 300, 150, 400
        "days_on_road": 5 + 5 + 6,  # t1; t2 and t3 over d-40..d-36; the active trip to today
    }


def test_no_trips_no_pattern() -> None:
    ctx = make_context(trips=[trip("next", "planned", d(10), d(12), distance=200)])
    assert travel_pattern(ctx) is None


# --- fuel economy trend ------------------------------------------------------------------


def fills(recent_mpg: float, baseline: int = 6) -> list[FuelFill]:
    out = [fill("f0", d(-200), 10_000, 30)]
    odo = 10_000.0
    for n in range(1, baseline + 4):
        odo += 30 * (10.0 if n <= baseline else recent_mpg)
        out.append(fill(f"f{n}", d(-200 + 10 * n), odo, 30))
    return out


def test_economy_trend_by_hand() -> None:
    insight = fuel_economy_trend(make_context(fills=fills(8.0)), S)
    assert insight is not None
    assert (insight.kind, insight.period_start, insight.period_end) == (
        FUEL_ECONOMY_TREND, d(-200), d(-110))
    assert insight.values == {"recent_mpg": 8.0, "recent_intervals": 3, "baseline_mpg": 10.0,
                              "baseline_intervals": 6, "change_pct": -20.0}


def test_economy_trend_without_baseline() -> None:
    insight = fuel_economy_trend(make_context(fills=fills(8.0, baseline=0)), S)
    assert insight is not None
    assert insight.values == {"recent_mpg": 8.0, "recent_intervals": 3,
                              "baseline_intervals": 0}
    assert fuel_economy_trend(make_context(fills=fills(8.0)[:3]), S) is None  # 2 intervals


def test_all_insights_and_opt_out() -> None:
    ctx = make_context(fills=fills(8.0), trips=[trip("t", "completed", d(-3), d(-1),
                                                      distance=100)],
                       categories=[stats("food", 10.0, (5.0, 5.0, 5.0))])
    assert [i.kind for i in user_insights(ctx, S)] == [SPENDING_TREND, TRAVEL_PATTERN,
                                                        FUEL_ECONOMY_TREND]
    opted = make_context(opted_out=True, fills=fills(8.0))
    assert user_insights(opted, S) == []
