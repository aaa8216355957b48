"""fuel_low: planted positives and near misses at a fixed now (Mon 10 Mar 2025, 09:00 MDT)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import UserContext
from pam_proactive.suggestions.detectors.fuel import detect_fuel_low
from pam_proactive.suggestions.models import Candidate, Priority

from .factory import NOW, TODAY, fill, make_context, notes_of, trip

S = DetectorSettings()


def fuel_low(ctx: UserContext, now: datetime, settings: DetectorSettings) -> list[Candidate]:
    return list(detect_fuel_low(ctx, now, settings).candidates)

# Last full fill f2 at 10,400 miles; 10 mpg from f1 -> f2; tank 50 gal.
FILLS = [fill("f1", date(2025, 2, 1), 10_000, 40), fill("f2", date(2025, 2, 20), 10_400, 40)]


def ctx_at(odometer: float, **overrides: Any) -> UserContext:
    vehicle = {"tank_gallons": 50, "odometer_miles": odometer}
    return make_context(fills=FILLS, vehicle=vehicle, **overrides)


@pytest.mark.parametrize(
    ("odometer", "level", "priority"),
    [
        (10_800, 20.0, Priority.MEDIUM),  # 400 mi = 40 gal used, 10 left
        (10_830, 14.0, Priority.HIGH),  # 430 mi = 43 gal used, 7 left
        (10_876, 4.8, Priority.HIGH),
    ],
)
def test_fires_below_thresholds(odometer: float, level: float, priority: Priority) -> None:
    [found] = fuel_low(ctx_at(odometer), NOW, S)
    assert found.priority is priority
    assert found.data["level_pct"] == pytest.approx(level)
    assert found.dedup_key == "fuel_low:veh-1:f2"
    assert found.expires_at == NOW + timedelta(hours=24)
    assert found.data["tank_source"] == "vehicle"
    assert found.data["mpg_source"] == "own_fills"
    assert found.data["miles_source"] == "odometer"


def test_message_explains_the_estimate() -> None:
    [found] = fuel_low(ctx_at(10_800), NOW, S)
    assert found.title == "Fuel low: about 20% left"
    assert "roughly 20% (about 10 gallons, 100 miles of range)" in found.message
    assert "last full fill-up on Thu Feb 20" in found.message
    assert "about 400 miles driven since (odometer readings)" in found.message
    assert "10 mpg (your last full-to-full fill-up)" in found.message
    assert "tank of 50 gallons (your vehicle's tank size)" in found.message


def test_metric_user_sees_litres_and_km() -> None:
    [found] = fuel_low(ctx_at(10_800, units="metric"), NOW, S)
    assert "38 litres" in found.message  # 10 gal
    assert "161 km of range" in found.message  # 100 miles
    assert "23.5 L/100 km" in found.message
    assert found.data["range_miles"] == 100.0  # data stays in miles


@pytest.mark.parametrize("odometer", [10_760, 10_400, 10_775])  # 28%, 100%, exactly 25%
def test_near_misses_stay_silent(odometer: float) -> None:
    assert fuel_low(ctx_at(odometer), NOW, S) == []


def test_exactly_fifteen_percent_is_medium_not_high() -> None:
    [found] = fuel_low(ctx_at(10_825), NOW, S)  # 42.5 gal used, 7.5 left = 15%
    assert found.priority is Priority.MEDIUM


def test_planned_trip_beyond_range_is_high_refuel_before_you_leave() -> None:
    # 200 mi since fill -> 30 gal, 300 mi of range (60%); 280 mi > 300 - 50 reserve
    ctx = ctx_at(
        10_600,
        trips=[
            trip("t1", "planned", TODAY + timedelta(days=1), destination="Moab, UT", distance=280)
        ],
    )
    [found] = fuel_low(ctx, NOW, S)
    assert found.priority is Priority.HIGH
    assert found.title == "Refuel before you leave"
    assert "Your trip to Moab, UT on Tue Mar 11 is about 280 miles" in found.message
    assert "refuel before you leave (about 3 gallons)" in found.message  # 33 needed - 30
    assert found.data["trip"] == {
        "trip_id": "t1",
        "miles_needed": 280.0,
        "active": False,
        "gallons_to_buy": 3.0,
    }


def test_trip_within_range_or_too_far_ahead_stays_silent() -> None:
    within = trip("t1", "planned", TODAY + timedelta(days=1), distance=250)  # = 300 - 50
    later = trip("t2", "planned", TODAY + timedelta(days=3), distance=900)
    assert fuel_low(ctx_at(10_600, trips=[within, later]), NOW, S) == []


def test_active_trip_remaining_share_counts() -> None:
    # active 4-day trip of 800 mi, day 3 (2 days behind): 400 mi left > 250 usable
    ctx = ctx_at(
        10_600,
        trips=[
            trip("t1", "active", TODAY - timedelta(days=2), TODAY + timedelta(days=1), distance=800)
        ],
    )
    [found] = fuel_low(ctx, NOW, S)
    assert found.title == "Refuel soon"
    assert found.data["trip"]["miles_needed"] == 400.0


def test_trip_longer_than_a_full_tank_suggests_a_fuel_stop() -> None:
    ctx = ctx_at(10_600, trips=[trip("t1", "planned", TODAY, distance=700)])
    [found] = fuel_low(ctx, NOW, S)
    assert "plan a fuel stop on the way" in found.message
    assert found.data["trip"]["gallons_to_buy"] == 20.0  # fill the tank


def test_nearly_full_tank_is_not_told_to_refuel_for_a_long_trip() -> None:
    ctx = ctx_at(10_420, trips=[trip("t1", "planned", TODAY, distance=2000)])  # 96%
    assert fuel_low(ctx, NOW, S) == []


def test_no_fills_is_silent_with_a_note() -> None:
    ctx = make_context(vehicle={"tank_gallons": 50, "odometer_miles": 10_800})
    assert (result := detect_fuel_low(ctx, NOW, S)).candidates == ()
    assert "fuel_low: no fill-ups logged" in notes_of(result)


def test_no_tank_and_unknown_class_is_silent_with_a_note() -> None:
    ctx = make_context(fills=FILLS, vehicle=None, vehicle_class="unknown", max_odometer=10_800)
    assert (result := detect_fuel_low(ctx, NOW, S)).candidates == ()
    assert "fuel_low: no tank size and no vehicle class" in notes_of(result)


def test_synthesised_vehicle_uses_profile_class_and_profile_key() -> None:
    # Class C default tank 50 gal; own 10 mpg; max odometer 10,800 -> 20%
    ctx = make_context(fills=FILLS, vehicle=None, vehicle_class="class_c", max_odometer=10_800)
    [found] = fuel_low(ctx, NOW, S)
    assert found.dedup_key == "fuel_low:profile:f2"
    assert found.data["tank_source"] == "class_default"
    assert "typical for a Class C motorhome" in found.message


def test_estimate_resting_on_defaults_only_stays_silent() -> None:
    # class tank (0.5) x class mpg (0.5) x trips (0.6) = 0.15 < 0.2
    ctx = make_context(
        fills=[fill("f1", date(2025, 3, 1), None, 30)],
        trips=[trip("t", "completed", date(2025, 3, 2), date(2025, 3, 3), distance=500)],
    )
    assert (result := detect_fuel_low(ctx, NOW, S)).candidates == ()
    assert "fuel_low: estimate rests on too many defaults" in notes_of(result)
