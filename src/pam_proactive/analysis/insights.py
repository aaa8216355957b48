"""Per-user pattern insights (pure): spending trend by category, travel pattern, fuel economy
trend. Each insight is a set of numbers with the period (user's local dates) it describes.

Units: money in the user's currency, distances in miles, fuel economy in mpg, percent 0-100,
days. Nothing here reads a clock: every figure is relative to ``ctx.today``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pam_proactive.analysis.dates import add_days
from pam_proactive.analysis.fuel import plausible_intervals, split_intervals, trip_elapsed_share
from pam_proactive.analysis.limits import MAX_TRIP_MILES
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.analysis.stats import median, positive
from pam_proactive.context import CategoryStats, UserContext

SPENDING_TREND = "spending_trend"
TRAVEL_PATTERN = "travel_pattern"
FUEL_ECONOMY_TREND = "fuel_economy_trend"
KINDS = (SPENDING_TREND, TRAVEL_PATTERN, FUEL_ECONOMY_TREND)

TRAVEL_WINDOW_DAYS = 90

Values = dict[str, Any]  # numbers, or objects / lists of numbers


@dataclass(frozen=True, slots=True)
class Insight:
    """One insight of one user: ``values`` (numbers only) describe [period_start, period_end]
    (inclusive, the user's local dates)."""

    kind: str
    period_start: date
    period_end: date
    values: Values


def _r2(value: float) -> float:
    return round(value, 2)


def _change_pct(current: float, reference: float) -> float | None:
    """(current - reference) / reference in percent, or None without a reference."""
    if reference <= 0:
        return None
    return round((current - reference) / reference * 100.0, 1)


# --- spending trend ----------------------------------------------------------------------


def category_trend(stats: CategoryStats) -> Values:
    """One category's month to date, its three prior months over the same days of the month
    (most recent first), their average and the change in percent (absent with no prior
    spending)."""
    prior = [_r2(v) for v in stats.prior_months]
    average = sum(stats.prior_months) / 3.0
    out: Values = {
        "month_to_date": _r2(stats.spent_month),
        "prior_months": prior,
        "prior_average": _r2(average),
    }
    change = _change_pct(stats.spent_month, average)
    if change is not None:
        out["change_pct"] = change
    return out


def spending_trend(ctx: UserContext) -> Insight | None:
    """This month to date against the average of the three months before over the same
    day-of-month span, per category and in total; None when the user spent nothing in the
    four months."""
    cats = {
        name: stats
        for name, stats in sorted(ctx.financial.categories.items())
        if stats.spent_month > 0 or any(v > 0 for v in stats.prior_months)
    }
    if not cats:
        return None
    total = CategoryStats(
        category="total", baseline_count=0, baseline_median=None, baseline_mad=None,
        spent_30d=0.0, count_30d=0,
        spent_month=sum(c.spent_month for c in cats.values()),
        prior_months=(
            sum(c.prior_months[0] for c in cats.values()),
            sum(c.prior_months[1] for c in cats.values()),
            sum(c.prior_months[2] for c in cats.values()),
        ),
    )
    values: Values = {
        "day_of_month": ctx.today.day,
        "total": category_trend(total),
        "categories": {name: category_trend(stats) for name, stats in cats.items()},
    }
    return Insight(SPENDING_TREND, ctx.today.replace(day=1), ctx.today, values)


# --- travel pattern ----------------------------------------------------------------------


def travel_pattern(ctx: UserContext, window_days: int = TRAVEL_WINDOW_DAYS) -> Insight | None:
    """Trips started in the last ``window_days`` days (today included) that are completed or
    under way: their count, miles driven (an active trip counts the elapsed share of its
    distance), typical leg (median distance of those with one), and days on the road (days
    of the window covered by at least one of them). None without such a trip."""
    start = add_days(ctx.today, -(window_days - 1))
    trips = [
        (t, t.start_date) for t in ctx.travel.trips
        if t.status in ("completed", "active")
        and isinstance(t.start_date, date) and start <= t.start_date <= ctx.today
    ]
    if not trips:
        return None
    miles = 0.0
    legs: list[float] = []
    days: set[int] = set()
    for trip, first in trips:
        distance = positive(trip.distance_miles, MAX_TRIP_MILES)
        if distance is not None:
            legs.append(distance)
            share = 1.0 if trip.status == "completed" else trip_elapsed_share(trip, ctx.today)
            miles += distance * (share or 0.0)
        last = min(trip.end_date or first, ctx.today)
        days.update(range(first.toordinal(), max(last, first).toordinal() + 1))
    typical = median(legs)
    values: Values = {
        "window_days": window_days,
        "trips": len(trips),
        "trips_without_distance": len(trips) - len(legs),
        "miles": round(miles, 1),
        "days_on_road": len(days),
    }
    if typical is not None:
        values["typical_leg_miles"] = round(typical, 1)
    return Insight(TRAVEL_PATTERN, start, ctx.today, values)


# --- fuel economy trend ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EconomyTrend:
    """Median mpg of the recent full-to-full intervals against the baseline ones before."""

    recent_mpg: float
    recent_count: int
    baseline_mpg: float | None  # None without a baseline interval
    baseline_count: int
    first_day: date  # start of the earliest interval used
    last_day: date  # end of the latest recent interval

    @property
    def drop_pct(self) -> float | None:
        """How much worse recent is than baseline, in percent (negative when better)."""
        if self.baseline_mpg is None or self.baseline_mpg <= 0:
            return None
        return (self.baseline_mpg - self.recent_mpg) / self.baseline_mpg * 100.0


def economy_trend(ctx: UserContext, settings: DetectorSettings) -> EconomyTrend | None:
    """The fuel economy detector's split of the plausible intervals (the last
    ``economy_recent_intervals``, and the earlier ones ending within
    ``economy_baseline_days``), as medians; None with too few intervals for a recent set."""
    recent, baseline = split_intervals(plausible_intervals(ctx, settings), settings)
    now_mpg = median(i.mpg for i in recent)
    if not recent or now_mpg is None:
        return None
    return EconomyTrend(
        recent_mpg=now_mpg,
        recent_count=len(recent),
        baseline_mpg=median(i.mpg for i in baseline),
        baseline_count=len(baseline),
        first_day=min(i.start_date for i in (baseline or recent)),
        last_day=recent[-1].end_date,
    )


def is_economy_drop(trend: EconomyTrend | None, today: date, settings: DetectorSettings) -> bool:
    """The ``fuel_economy_drop`` detector's rule: enough baseline intervals, the latest one
    recent enough, and recent mpg at least ``economy_drop_pct`` below the baseline."""
    if trend is None or trend.baseline_count < settings.economy_baseline_min_intervals:
        return False
    age = (today - trend.last_day).days
    drop = trend.drop_pct
    return 0 <= age <= settings.economy_recent_max_age_days and (
        drop is not None and drop >= settings.economy_drop_pct
    )


def fuel_economy_trend(ctx: UserContext, settings: DetectorSettings) -> Insight | None:
    """Recent against baseline mpg with the interval counts, over the days the intervals
    span; None without enough full-to-full fill-ups."""
    trend = economy_trend(ctx, settings)
    if trend is None:
        return None
    values: Values = {
        "recent_mpg": _r2(trend.recent_mpg),
        "recent_intervals": trend.recent_count,
        "baseline_intervals": trend.baseline_count,
    }
    if trend.baseline_mpg is not None:
        values["baseline_mpg"] = _r2(trend.baseline_mpg)
    drop = trend.drop_pct
    if drop is not None:
        values["change_pct"] = round(-drop, 1)
    return Insight(FUEL_ECONOMY_TREND, trend.first_day, trend.last_day, values)


# --- all ---------------------------------------------------------------------------------


def user_insights(ctx: UserContext, settings: DetectorSettings) -> list[Insight]:
    """Every insight the context supports, in :data:`KINDS` order (none for an opted-out
    traveler)."""
    if ctx.profile.opted_out:
        return []
    found = (spending_trend(ctx), travel_pattern(ctx), fuel_economy_trend(ctx, settings))
    return [i for i in found if i is not None]


def insights_by_user(
    contexts: Mapping[Any, UserContext], settings: DetectorSettings
) -> dict[Any, list[Insight]]:
    """:func:`user_insights` of each context, keyed as given."""
    return {key: user_insights(ctx, settings) for key, ctx in contexts.items()}
