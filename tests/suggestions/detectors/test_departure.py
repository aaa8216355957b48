"""departure_reminder: planned trips starting within 48 h, with what to do before leaving."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import Trip
from pam_proactive.suggestions.detectors.departure import detect_departure_reminder
from pam_proactive.suggestions.models import Candidate, DetectorResult, Priority

from .factory import NOW, TODAY, budget, fill, maintenance, make_context, trip

S = DetectorSettings()
FILLS = [fill("f1", date(2025, 2, 1), 10_000, 40), fill("f2", date(2025, 2, 20), 10_400, 40)]
TOMORROW = TODAY + timedelta(days=1)


def run(*trips: Trip, **overrides: Any) -> tuple[list[Candidate], DetectorResult]:
    ctx = make_context(trips=list(trips), **overrides)
    result = detect_departure_reminder(ctx, NOW, S)
    return list(result.candidates), result


@pytest.mark.parametrize(
    ("days", "priority"),
    [(0, Priority.HIGH), (1, Priority.HIGH), (2, Priority.MEDIUM)],
)
def test_priority_by_hours_to_local_midnight(days: int, priority: Priority) -> None:
    # now = Mon 09:00 MDT; Tue 00:00 is 15 h away, Wed 00:00 39 h
    [found], _ = run(trip("t1", "planned", TODAY + timedelta(days=days), destination="Moab, UT"))
    assert found.priority is priority
    assert found.dedup_key == "departure_reminder:t1"
    start = TODAY + timedelta(days=days)
    assert found.expires_at == datetime.combine(
        start + timedelta(days=1), datetime.min.time(), tzinfo=UTC
    ) + timedelta(hours=6)


def test_outside_the_window_or_not_planned() -> None:
    assert run(trip("t1", "planned", TODAY + timedelta(days=3)))[0] == []  # 63 h
    assert run(trip("t1", "active", TOMORROW))[0] == []
    assert run(trip("t1", "planned", TODAY - timedelta(days=1)))[0] == []
    assert run(trip("t1", "planned", None))[0] == []


def test_plain_reminder_when_there_is_nothing_to_do() -> None:
    [found], _ = run(trip("t1", "planned", TOMORROW, destination="Moab, UT", distance=350))
    assert found.title == "Your trip to Moab, UT starts tomorrow"
    assert found.message == "Your trip to Moab, UT (about 350 miles) starts tomorrow, Tue Mar 11."


def test_fuel_to_buy_from_the_fuel_analysis() -> None:
    # 200 mi since fill at 10 mpg: 30 of 50 gal, 300 mi of range; 280 + 50 reserve -> 33 gal
    [found], _ = run(
        trip("t1", "planned", TOMORROW, destination="Moab, UT", distance=280),
        fills=FILLS,
        vehicle={"tank_gallons": 50, "odometer_miles": 10_600},
    )
    assert "Before you leave: buy about 3 gallons of fuel" in found.message
    assert found.data["fuel"]["gallons_to_buy"] == 3.0
    assert found.data["fuel"]["covered"] is False


def test_fuel_enough_says_so() -> None:
    [found], _ = run(
        trip("t1", "planned", TOMORROW, distance=200),
        fills=FILLS,
        vehicle={"tank_gallons": 50, "odometer_miles": 10_600},
    )
    assert "buy" not in found.message
    assert "Your fuel records show nothing to do first." in found.message
    assert found.data["fuel"] == {"range_miles": 300.0, "covered": True}


def test_maintenance_due_before_or_during_the_trip() -> None:
    items = [
        maintenance("m1", "oil_change", due_date=TODAY + timedelta(days=3)),  # during
        maintenance("m2", "tyres", due_date=TODAY + timedelta(days=20)),  # after
        maintenance("m3", "brakes", due_mileage=10_900),  # odometer 10,600 + 400 mi trip
        maintenance("m4", "generator", due_mileage=11_500),
        maintenance("m5", "other_rig", vehicle_id="veh-2", due_date=TODAY),
    ]
    [found], _ = run(
        trip("t1", "planned", TOMORROW, TODAY + timedelta(days=4), distance=400),
        maintenance=items,
        vehicle={"odometer_miles": 10_600},
    )
    assert (
        "service due before or during the trip: Oil change (due Thu Mar 13), "
        "Brakes (due at 10,900 miles)"
    ) in found.message
    assert found.data["maintenance_record_ids"] == ["m1", "m3"]


def test_budget_rule_prefers_all_spending_then_fuel_then_the_sum() -> None:
    t = trip("t1", "planned", TOMORROW, cost=300)
    overall = budget("all", 1000, 800)
    fuel = budget("fuel", 500, 100, category="fuel")
    food = budget("food", 200, 150, category="food")
    [found], _ = run(t, budgets=[fuel, overall, food])
    assert (
        "The trip's estimated cost ($300) is more than the $200 left in your monthly budget."
        in found.message
    )
    assert found.data["budget"]["budget_ids"] == ["all"]
    [found], _ = run(t, budgets=[food, fuel])
    assert "fits in the $400 left in your monthly fuel budget" in found.message
    [found], _ = run(t, budgets=[food, budget("fun", 300, 0, category="fun")])
    assert "fits in the $350 left in your budgets combined" in found.message


def test_budget_whose_period_ends_before_the_trip_is_ignored() -> None:
    t = trip("t1", "planned", TOMORROW, cost=300)
    ending = budget("wk", 500, 100, start=TODAY - timedelta(days=6), end=TODAY)
    [found], _ = run(t, budgets=[ending])
    assert "estimated cost" not in found.message
