"""The demo's claims about which budget types a date rules out agree with the budget detector
itself, on every day of a common and a leap year (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.data.assemble import period_bounds
from pam_proactive.demo.ruled_out import (
    PERIODS,
    forecast_possible,
    local_dates,
    ruled_out,
    threshold_possible,
)
from pam_proactive.suggestions.detectors.budget import FORECAST, THRESHOLD, detect_budgets
from suggestions.detectors.factory import budget, make_context

SETTINGS = DetectorSettings()
LIMIT = 1_000.0


def kinds_found(period: str, today: date, spent: float) -> set[str]:
    """Types the budget detector gives a budget of ``period`` with ``spent`` on ``today``
    (no one-off expenses)."""
    start, end = period_bounds(period, today)
    ctx = make_context(now=datetime.combine(today, datetime.min.time(), UTC) + timedelta(hours=18),
                       today=today, timezone="UTC",
                       budgets=[budget("b", LIMIT, spent, period=period, start=start, end=end)])
    return {c.type for c in detect_budgets(ctx, ctx.now, SETTINGS).candidates}


def every_day(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)]


@pytest.mark.parametrize("year", [2026, 2028])
def test_possible_exactly_when_the_detector_can_fire(year: int) -> None:
    # Spending from 0 to just under the limit: 5 % steps, the alert threshold itself and a cent
    # under the limit (where each rule is easiest to meet).
    steps = [LIMIT * k / 20 for k in range(20)] + [LIMIT * 0.8, LIMIT - 0.01]
    for day in every_day(year):
        for period in PERIODS:
            found: set[str] = set()
            for spent in steps:
                found |= kinds_found(period, day, spent)
            assert (FORECAST in found) == forecast_possible(period, day, SETTINGS), (period, day)
            assert (THRESHOLD in found) == threshold_possible(period, day, SETTINGS), (period, day)


def test_the_dates_the_readme_names() -> None:
    # Outside a weekly budget's days 5-6 (Friday, Saturday), no period allows a forecast.
    for day in (date(2026, 12, 1), *(date(2027, 1, d) for d in (1, 2, 3, 4))):
        assert (FORECAST in ruled_out({day}, SETTINGS)) == (day.weekday() not in (4, 5)), day
    assert FORECAST in ruled_out({date(2026, 12, 2), date(2026, 12, 3)}, SETTINGS)
    # A Saturday is a weekly budget's day 6: a forecast is possible.
    assert FORECAST not in ruled_out({date(2026, 12, 5)}, SETTINGS)
    assert ruled_out({date(2026, 6, 20)}, SETTINGS) == {}  # mid-month, a Saturday
    # A week's day 5 (Friday) projects 80 % to 112 %, and so does a month's day 12.
    assert set(ruled_out({date(2026, 6, 12)}, SETTINGS)) == {THRESHOLD}
    assert THRESHOLD not in ruled_out({date(2026, 6, 15)}, SETTINGS)  # a week's day 1
    assert ruled_out(set(), SETTINGS) == {}


def test_local_dates_of_a_moment() -> None:
    moment = datetime(2026, 12, 3, 5, 30, tzinfo=UTC)  # 10:30 PM the day before in Denver
    assert local_dates(moment, {None, "America/Denver"}) == {date(2026, 12, 3),
                                                            date(2026, 12, 2)}
