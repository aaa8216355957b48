"""Spending and travel patterns of one context (pure; the integration API's summaries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pam_proactive.context import UserContext


@dataclass(frozen=True, slots=True)
class CategoryPattern:
    category: str
    spent_30d: float  # user's currency
    count_30d: int
    share_pct: float  # of all spending in the last 30 days, 0-100


@dataclass(frozen=True, slots=True)
class ExpensePatterns:
    """The last 30 days of spending (user's local dates)."""

    total_30d: float  # user's currency
    daily_average_30d: float  # user's currency per day
    count_30d: int
    categories: tuple[CategoryPattern, ...]  # largest first
    top_category: str | None


def expense_patterns(ctx: UserContext) -> ExpensePatterns:
    """Totals, daily average and per-category shares of the last 30 days."""
    cats = [c for c in ctx.financial.categories.values() if c.count_30d]
    total = sum(c.spent_30d for c in cats)
    ranked = sorted(cats, key=lambda c: (-c.spent_30d, c.category))
    patterns = tuple(
        CategoryPattern(
            c.category,
            round(c.spent_30d, 2),
            c.count_30d,
            round(100 * c.spent_30d / total, 1) if total else 0.0,
        )
        for c in ranked
    )
    return ExpensePatterns(
        total_30d=round(total, 2),
        daily_average_30d=round(total / 30, 2),
        count_30d=sum(c.count_30d for c in cats),
        categories=patterns,
        top_category=patterns[0].category if patterns else None,
    )


@dataclass(frozen=True, slots=True)
class TravelPatterns:
    """Trips of the last 365 days and the ones ahead."""

    completed_trips: int
    miles_travelled: float  # completed trips with a known distance, miles
    average_trip_miles: float | None
    active_trip_id: str | None
    planned_trips: int
    next_departure: date | None
    trips_without_distance: int


def travel_patterns(ctx: UserContext) -> TravelPatterns:
    """Counts and miles of completed, active and planned trips."""
    trips = ctx.travel.trips
    done = [t for t in trips if t.status == "completed"]
    measured = [t.distance_miles for t in done if t.distance_miles is not None]
    active = [t for t in trips if t.status == "active"]
    planned = sorted(
        (t for t in trips if t.status == "planned" and t.start_date is not None),
        key=lambda t: (t.start_date or date.max, t.trip_id),
    )
    return TravelPatterns(
        completed_trips=len(done),
        miles_travelled=round(sum(measured), 1),
        average_trip_miles=round(sum(measured) / len(measured), 1) if measured else None,
        active_trip_id=active[-1].trip_id if active else None,
        planned_trips=len(planned),
        next_departure=planned[0].start_date if planned else None,
        trips_without_distance=len(done) - len(measured),
    )
