"""Generated travelers: a Hypothesis strategy of one traveler's rows, and how to plant them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from planting import Planter

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
TODAY = NOW.date()

days = st.integers(min_value=-150, max_value=40).map(lambda d: TODAY + timedelta(days=d))
amounts = st.one_of(st.floats(min_value=-50, max_value=5000, allow_nan=False).map(
    lambda x: round(x, 2)), st.just(0.0))
categories = st.sampled_from(["food", "fuel", "camping", "Food ", "misc stuff", ""])
places = st.sampled_from(["Moab, UT", "Bend, OR", "Nowhere, ZZ", "Quartzsite, AZ"])
route = st.one_of(st.none(), st.just("not json"), st.just('{"origin": {"lat": 1, "lng": 2}}'),
                  st.fixed_dictionaries({"destination": st.fixed_dictionaries(
                      {"lat": st.floats(-90, 90), "lng": st.floats(-180, 180)})}))

user_data = st.fixed_dictionaries({
    "units": st.sampled_from(["imperial", "metric"]),
    "timezone": st.sampled_from(["America/Denver", "Australia/Sydney", "Not/AZone", None]),
    "expenses": st.lists(st.tuples(amounts, categories, days), max_size=12),
    "budgets": st.lists(st.tuples(st.sampled_from(["food", "total", "fuel"]),
                                  st.floats(min_value=-10, max_value=3000)), max_size=3),
    "trips": st.lists(st.tuples(places, places, days, st.integers(0, 6),
                                st.one_of(st.none(), st.floats(-10, 3000)),
                                st.sampled_from(["planned", "active", "completed", "cancelled"]),
                                route), max_size=4),
    "fills": st.lists(st.tuples(days, st.floats(min_value=-5, max_value=120),
                                st.one_of(st.none(), st.integers(0, 60_000)), st.booleans()),
                      max_size=8),
    "maintenance": st.lists(st.tuples(st.sampled_from(["oil change", "Oil Change", "tires"]),
                                      days, st.integers(0, 60_000)), max_size=4),
})


def plant(p: Planter, data: dict[str, Any]) -> Any:
    uid = p.user(units=data["units"], timezone=data["timezone"])
    for amount, category, day in data["expenses"]:
        p.expense(uid, amount, category, day)
    for category, limit in data["budgets"]:
        p.budget(uid, category, limit)
    for origin, dest, start, length, miles, status, rd in data["trips"]:
        p.trip(uid, origin, dest, start, start + timedelta(days=length), miles, status=status,
               route_data=rd)
    for day, gallons, odo, full in data["fills"]:
        p.fill(uid, day, gallons if gallons > 0 else 1.0, odo, full=full)
    for task, day, mileage in data["maintenance"]:
        p.maintenance(uid, task, day, mileage)
    return uid
