"""Fuel analysis: tank, economy (full-to-full), miles since the last full fill, state."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from pam_proactive.analysis.fuel import (
    SKIP_IMPLAUSIBLE_INTERVAL,
    UNLOGGED_FILL,
    Interval,
    analyze_fuel,
    best_odometer,
    clean_fills,
    economy_estimate,
    economy_intervals,
    economy_windows,
    implausible_interval_count,
    plausible_intervals,
    split_intervals,
    tank_estimate,
)
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import FuelFill
from pam_proactive.suggestions.detectors import Note, run_detectors
from pam_proactive.suggestions.detectors.fuel import detect_fuel_low

from .factory import NOW, fill, maintenance, make_context, trip

S = DetectorSettings()


def intervals_of(fills: list[FuelFill]) -> list[Interval]:
    return economy_intervals(clean_fills(fills, S), S)


# --- economy ---------------------------------------------------------------------------


def test_full_to_full_interval_hand_checked() -> None:
    # 1000 -> 1300 miles on 30 gallons = 10 mpg
    found = intervals_of(
        [fill("a", date(2025, 3, 1), 1000, 25), fill("b", date(2025, 3, 5), 1300, 30)]
    )
    assert len(found) == 1
    assert (found[0].miles, found[0].gallons, found[0].mpg) == (300, 30, 10)
    assert (found[0].start_fill_id, found[0].end_fill_id) == ("a", "b")


def test_partial_fill_gallons_are_carried_into_the_next_full_one() -> None:
    # 1000 -> 1450 miles on 10 (partial) + 20 (full) gallons = 15 mpg
    found = intervals_of(
        [
            fill("a", date(2025, 3, 1), 1000, 25),
            fill("p", date(2025, 3, 3), 1150, 10, full=False),
            fill("b", date(2025, 3, 5), 1450, 20),
        ]
    )
    assert [(i.miles, i.gallons, i.mpg) for i in found] == [(450, 30, 15)]


def test_full_fill_without_odometer_breaks_the_chain() -> None:
    found = intervals_of(
        [
            fill("a", date(2025, 3, 1), 1000, 25),
            fill("b", date(2025, 3, 3), None, 20),
            fill("c", date(2025, 3, 5), 1300, 30),
            fill("d", date(2025, 3, 7), 1600, 30),
        ]
    )
    assert [(i.start_fill_id, i.end_fill_id) for i in found] == [("c", "d")]


def test_fills_out_of_order_are_sorted_by_date() -> None:
    found = intervals_of(
        [fill("b", date(2025, 3, 5), 1300, 30), fill("a", date(2025, 3, 1), 1000, 25)]
    )
    assert [i.mpg for i in found] == [10]


def test_economy_is_median_of_last_five_plausible_intervals_and_skips_are_counted_once() -> None:
    mpgs = [20.0, 9.0, 10.0, 11.0, 12.0, 13.0]  # the first drops out of the last-5 window
    fills = [fill("f0", date(2025, 1, 1), 10_000, 20)]
    odo = 10_000.0
    for n, mpg in enumerate(mpgs, start=1):
        odo += 300
        fills.append(fill(f"f{n}", date(2025, 1, 1 + 3 * n), odo, 300 / mpg))
    # an implausible interval (300 miles on 150 gallons = 2 mpg) in the middle of nowhere
    odo += 300
    fills.append(fill("bad", date(2025, 2, 1), odo, 150))
    ctx = make_context(fills=fills)
    estimate = economy_estimate(ctx, S)
    assert estimate.source == "own_fills"
    assert estimate.value == pytest.approx(11.0)  # median of 9, 10, 11, 12, 13
    assert implausible_interval_count(ctx, S) == 1
    assert ctx.data_quality.skipped == ()  # analyses never write into the context
    # Every fuel detector reports the same total; run_detectors keeps it once.
    detection = run_detectors(ctx, NOW, S)
    assert dict(detection.skipped)[SKIP_IMPLAUSIBLE_INTERVAL] == 1


def test_economy_falls_back_to_vehicle_then_class_default() -> None:
    assert economy_estimate(make_context(vehicle={"mpg": 9.5}), S).value == 9.5
    class_c = economy_estimate(make_context(), S)
    assert (class_c.value, class_c.source) == (12.0, "class_default")


@pytest.mark.parametrize(
    ("vehicle_class", "towing", "expected"),
    [
        ("class_a", False, 8.0),
        ("class_a", True, 8.0 * 0.65),
        ("class_c", True, 12.0 * 0.65),
        ("class_b", False, 18.0),
        ("truck", True, 10.0),  # a pickup towing has its own figure
        ("trailer", False, 10.0),  # a trailer rig's tow vehicle is towing
        ("car", False, 25.0),
    ],
)
def test_class_default_mpg(vehicle_class: str, towing: bool, expected: float) -> None:
    ctx = make_context(vehicle_class=vehicle_class, towing=towing, vehicle=None)
    assert economy_estimate(ctx, S).value == pytest.approx(expected)


def test_towing_does_not_lower_the_users_own_mpg() -> None:
    ctx = make_context(
        towing=True,
        fills=[fill("a", date(2025, 3, 1), 1000, 25), fill("b", date(2025, 3, 5), 1300, 30)],
    )
    assert economy_estimate(ctx, S).value == 10.0


# --- tank ------------------------------------------------------------------------------


def test_tank_from_vehicle_then_largest_fill_then_class() -> None:
    assert tank_estimate(make_context(vehicle={"tank_gallons": 55}), S).value == 55
    fills = [
        fill("a", date(2025, 3, 1), 1000, 20),
        fill("b", date(2025, 3, 5), 1300, 40),
        fill("c", date(2025, 3, 8), 1600, 30),
    ]
    largest = tank_estimate(make_context(fills=fills), S)
    assert largest.value == pytest.approx(42.0)
    assert largest.source == "largest_fill"
    two_fills = tank_estimate(make_context(fills=fills[:2]), S)
    assert (two_fills.value, two_fills.source) == (50.0, "class_default")  # Class C


@pytest.mark.parametrize(
    ("vehicle_class", "fuel_type", "expected"),
    [
        ("class_a", "gasoline", 80.0),
        ("class_a", "diesel", 100.0),
        ("class_a", None, 80.0),
        ("class_b", None, 25.0),
        ("trailer", "diesel", 30.0),  # the tow truck's tank
        ("car", None, 14.0),
        ("unknown", None, None),
    ],
)
def test_class_default_tank(vehicle_class: str, fuel_type: str | None, expected: float) -> None:
    ctx = make_context(vehicle_class=vehicle_class, fuel_type=fuel_type, vehicle=None)
    assert tank_estimate(ctx, S).value == expected


# --- miles since fill and state ----------------------------------------------------------

BASE_FILLS = [
    fill("f1", date(2025, 2, 1), 10_000, 40),
    fill("f2", date(2025, 2, 20), 10_400, 40),  # 400 miles / 40 gal = 10 mpg
]


def test_state_from_odometer_hand_checked() -> None:
    # 380 miles since the last full fill at 10 mpg = 38 gal used of 50 -> 12 gal = 24%
    ctx = make_context(fills=BASE_FILLS, vehicle={"tank_gallons": 50, "odometer_miles": 10_780})
    state = analyze_fuel(ctx, S).state
    assert state is not None
    assert state.miles_since_fill.value == 380
    assert state.miles_since_fill.source == "odometer"
    assert state.gallons_left == pytest.approx(12.0)
    assert state.level_pct == pytest.approx(24.0)
    assert state.range_miles == pytest.approx(120.0)
    assert state.last_full_fill.fill_id == "f2"


def test_odometer_evidence_takes_the_highest_reading_after_the_fill() -> None:
    ctx = make_context(
        fills=[*BASE_FILLS, fill("p", date(2025, 3, 1), 10_500, 5, full=False)],
        vehicle={"tank_gallons": 50, "odometer_miles": 10_450},  # stale
        maintenance=[maintenance("m", "oil_change", performed_on=date(2025, 3, 5), mileage=10_600)],
        max_odometer=10_550,
    )
    state = analyze_fuel(ctx, S).state
    assert state is not None
    # 200 miles = 20 gal used; the 5 gallon partial fill is added back: 50 - 20 + 5 = 35
    assert state.miles_since_fill.value == 200
    assert state.partial_gallons == 5
    assert state.gallons_left == pytest.approx(35.0)


def test_trips_count_when_there_is_no_odometer_evidence() -> None:
    # completed 150 miles + active 200-mile trip 2 of 4 days through = 100 -> 250 miles
    ctx = make_context(
        fills=BASE_FILLS,
        vehicle={"tank_gallons": 50},
        trips=[
            trip("old", "completed", date(2025, 2, 10), date(2025, 2, 11), distance=999),
            trip("done", "completed", date(2025, 2, 25), date(2025, 2, 25), distance=150),
            trip("now", "active", date(2025, 3, 8), date(2025, 3, 11), distance=200),
            trip("next", "planned", date(2025, 3, 20), distance=500),
        ],
    )
    state = analyze_fuel(ctx, S).state
    assert state is not None
    assert state.miles_since_fill.source == "trips"
    assert state.miles_since_fill.value == pytest.approx(250.0)
    assert state.level_pct == pytest.approx(50.0)


def test_no_distance_evidence_means_a_full_tank() -> None:
    ctx = make_context(fills=BASE_FILLS, vehicle={"tank_gallons": 50})
    state = analyze_fuel(ctx, S).state
    assert state is not None
    assert state.miles_since_fill.source == "none"
    assert state.level_pct == 100.0


def test_no_fills_gives_no_state() -> None:
    result = analyze_fuel(make_context(), S)
    assert result.state is None
    assert result.reason == "no fill-ups logged"


def test_only_partial_fills_gives_no_state() -> None:
    result = analyze_fuel(make_context(fills=[fill("p", date(2025, 3, 1), 1000, 5, full=False)]), S)
    assert (result.state, result.reason) == (None, "no full fill-up logged")


def test_unknown_class_and_no_tank_gives_no_state() -> None:
    ctx = make_context(fills=BASE_FILLS, vehicle=None, vehicle_class="unknown")
    assert analyze_fuel(ctx, S).reason == "no tank size and no vehicle class"


def test_driving_far_beyond_a_full_tank_means_unlogged_fill_ups() -> None:
    # 900 miles at 10 mpg from a 50 gal tank = -80%: the user filled up without logging it
    ctx = make_context(fills=BASE_FILLS, vehicle={"tank_gallons": 50, "odometer_miles": 11_300})
    result = analyze_fuel(ctx, S)
    assert result.state is None
    assert result.reason == UNLOGGED_FILL and "log your fill-ups" in result.reason


@pytest.mark.parametrize("odometer", [10_901, 10_950])  # 50.1 and 55 gal of a 50 gal tank
def test_any_overrun_past_a_full_tank_is_unknown_not_empty(odometer: float) -> None:
    ctx = make_context(fills=BASE_FILLS, vehicle={"tank_gallons": 50, "odometer_miles": odometer})
    assert analyze_fuel(ctx, S).state is None
    assert detect_fuel_low(ctx, NOW, S).candidates == ()


def test_443_miles_at_15_7_mpg_on_a_27_gallon_tank_is_silent() -> None:
    # The demo's case: a full tank carries 27 x 15.7 = 424 miles, so 443 miles since the last
    # full fill means an unlogged fill-up, never "about 0 % left".
    fills = [fill("a", date(2025, 2, 1), 20_000, 20), fill("b", date(2025, 2, 10), 20_314, 20),
             fill("c", date(2025, 2, 20), 20_628, 20)]  # 314 mi / 20 gal = 15.7 mpg
    ctx = make_context(fills=fills, vehicle={"tank_gallons": 27, "odometer_miles": 20_628 + 443})
    assert economy_estimate(ctx, S).value == pytest.approx(15.7)
    result = analyze_fuel(ctx, S)
    assert result.state is None and result.reason == UNLOGGED_FILL
    found = detect_fuel_low(ctx, NOW, S)
    assert found.candidates == ()
    assert Note("fuel_low", UNLOGGED_FILL) in found.notes


def test_confidence_falls_as_the_miles_estimate_consumes_the_tank() -> None:
    def confidence(odometer: float) -> float:
        ctx = make_context(fills=BASE_FILLS,
                           vehicle={"tank_gallons": 50, "odometer_miles": odometer})
        state = analyze_fuel(ctx, S).state
        assert state is not None
        return state.confidence

    full, half, low = confidence(10_410), confidence(10_650), confidence(10_880)
    assert full > half > low
    assert low / full == pytest.approx((1 - 0.5 * 0.96) / (1 - 0.5 * 0.02))  # 48 vs 1 gal used


def test_gallons_to_cover() -> None:
    ctx = make_context(fills=BASE_FILLS, vehicle={"tank_gallons": 50, "odometer_miles": 10_600})
    state = analyze_fuel(ctx, S).state
    assert state is not None  # 30 gal left, 300 miles of range
    assert state.gallons_to_cover(280, 50) == pytest.approx(3.0)  # 33 needed - 30
    assert state.gallons_to_cover(100, 50) == 0.0
    assert state.gallons_to_cover(5000, 50) == pytest.approx(20.0)  # at most a full tank


def test_best_odometer() -> None:
    ctx = make_context(
        fills=BASE_FILLS,
        vehicle={"odometer_miles": 10_300},
        maintenance=[maintenance("m", "tyres", performed_on=date(2025, 3, 1), mileage=10_700)],
        max_odometer=10_650,
    )
    best = best_odometer(ctx, S)
    assert (best.value, best.detail) == (10_700, "the service record")


@pytest.mark.parametrize(
    ("vehicle_odometer", "latest", "service", "label"),
    [
        (10_400, None, None, "the vehicle odometer"),  # equal to the last fill's reading
        (None, 10_400, None, "the latest odometer reading"),
        (None, None, 10_400, "the service record"),
        (None, None, None, "the fill-up"),
        (10_400, 10_400, 10_400, "the vehicle odometer"),
    ],
)
def test_best_odometer_names_equal_readings_by_the_largest_label(
    vehicle_odometer: float | None, latest: float | None, service: float | None, label: str
) -> None:
    # Readings equal to the kept maximum are named as the largest (value, label) pair names
    # them: the label that sorts last.
    records = ([maintenance("m", "tyres", performed_on=date(2025, 3, 1), mileage=service)]
               if service is not None else [])
    ctx = make_context(fills=BASE_FILLS, vehicle={"odometer_miles": vehicle_odometer},
                       maintenance=records, max_odometer=latest)
    best = best_odometer(ctx, S)
    assert (best.value, best.detail) == (10_400, label)


def test_economy_windows_split_the_plausible_intervals_as_split_intervals_does() -> None:
    # Twelve weekly full fills at 10 mpg, then three at 8 mpg, one implausible interval
    # (2 mpg) in between: the windows' recent intervals and baseline mpgs are those of
    # split_intervals over the plausible intervals.
    fills, odometer = [], 10_000.0
    for week in range(16):
        mpg = 2.0 if week == 6 else 8.0 if week >= 13 else 10.0
        odometer += 0 if week == 0 else 20 * mpg
        fills.append(fill(f"f{week}", date(2025, 1, 1) + timedelta(days=7 * week), odometer, 20))
    ctx = make_context(fills=fills, today=date(2025, 4, 20))
    recent, baseline = split_intervals(plausible_intervals(ctx, S), S)
    windows = economy_windows(ctx, S)
    assert windows.recent() == recent
    assert list(windows.baseline_mpgs) == [i.mpg for i in baseline]
    assert windows.recent_mpgs == [8.0, 8.0, 8.0]
    assert windows.last_end == recent[-1].end_date
    assert implausible_interval_count(ctx, S) == 1
    assert len(baseline) == 11


def test_economy_windows_without_enough_intervals_are_empty() -> None:
    windows = economy_windows(make_context(fills=BASE_FILLS), S)
    assert (windows.recent(), windows.baseline_mpgs, windows.last_end) == ([], (), None)
