"""The fleet health formula, by hand: 100 - 25 per overdue task - 10 per task or document due
soon - 20 per expired document - 15 for an economy drop, never below 0.

The factory's clock: Monday 10 March 2025, 09:00 in Denver.
"""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

from pam_proactive.analysis.fleet import (
    HealthItem,
    HealthWeights,
    VehicleHealth,
    summarize,
    vehicle_health,
)
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import FuelFill
from suggestions.detectors.factory import TODAY, fill, maintenance, make_context

S = DetectorSettings()


def days(n: int) -> date:
    return TODAY + timedelta(days=n)


def economy_fills(recent_mpg: float) -> list[FuelFill]:
    """Seven full fills 300 miles apart at 10 mpg (6 baseline intervals), then three at
    ``recent_mpg``: the last ends 5 days before today."""
    odo, day = 10_000.0, days(-5 - 9 * 10)
    out = []
    out.append(fill("f0", day, odo, 30))
    for n in range(1, 10):
        mpg = 10.0 if n <= 6 else recent_mpg
        odo += 30 * mpg
        out.append(fill(f"f{n}", day + timedelta(days=10 * n), odo, 30))
    return out


def test_every_kind_of_finding_counts_by_its_weight() -> None:
    ctx = make_context(
        vehicle={"odometer_miles": 50_000, "registration_expires": days(-3),
                 "insurance_expires": days(12)},
        maintenance=[
            maintenance("m1", "oil_change", due_date=days(-1)),  # overdue by date
            maintenance("m2", "tyres", due_mileage=50_400),  # 400 miles left: due soon
            maintenance("m3", "brakes", due_date=days(200)),  # fine
        ],
        fills=economy_fills(8.0),  # 20 % below the 10 mpg baseline
    )
    health = vehicle_health(ctx, S)
    assert health is not None
    assert health.vehicle_id == "veh-1"
    assert [(i.kind, i.subject, i.penalty) for i in health.items] == [
        ("overdue", "oil_change", 25),
        ("due_soon", "tyres", 10),
        ("document_expired", "registration", 20),
        ("document_expiring", "insurance", 10),
        ("economy_drop", "fuel_economy", 15),
    ]
    assert health.health_score == 100 - 25 - 10 - 20 - 10 - 15 == 20
    oil, tyres, reg, _ins, drop = health.items
    assert oil.days_left == -1
    assert tyres.miles_left == 50_400 - 50_000  # the vehicle's odometer beats the fills'

    assert reg.days_left == -3
    assert drop.drop_pct is not None and round(drop.drop_pct, 6) == 20.0


def test_score_never_goes_below_zero() -> None:
    items = [maintenance(f"m{n}", f"task_{n}", due_date=days(-n - 1)) for n in range(5)]
    health = vehicle_health(make_context(maintenance=items), S)
    assert health is not None and health.health_score == 0  # 100 - 5 x 25


def test_clean_vehicle_scores_100_and_unknown_vehicle_is_skipped() -> None:
    clean = vehicle_health(make_context(), S)  # a vehicles row, nothing due
    assert clean is not None and (clean.health_score, clean.items) == (100, ())
    assert vehicle_health(make_context(vehicle=None), S) is None  # no row, fills or records


def test_profile_vehicle_has_no_id() -> None:
    ctx = make_context(vehicle=None, maintenance=[
        maintenance("m1", "oil_change", vehicle_id=None, due_date=days(10))])
    health = vehicle_health(ctx, S)
    assert health is not None
    assert (health.vehicle_id, health.health_score) == (None, 90)


def test_the_detectors_stale_rules_apply() -> None:
    ctx = make_context(
        vehicle={"registration_expires": days(-(S.document_expired_max_days + 1)),
                 "insurance_expires": days(S.document_window_days + 1)},
        maintenance=[maintenance("m1", "oil_change",
                                 due_date=days(-(S.maintenance_stale_days + 1)))],
    )
    health = vehicle_health(ctx, S)
    assert health is not None and (health.health_score, health.items) == (100, ())


def test_other_vehicles_items_and_small_drops_do_not_count() -> None:
    ctx = make_context(
        maintenance=[maintenance("m1", "oil_change", vehicle_id="veh-2", due_date=days(-5))],
        fills=economy_fills(9.0),  # 10 % below: under the 15 % drop rule
    )
    health = vehicle_health(ctx, S)
    assert health is not None and (health.health_score, health.items) == (100, ())


def test_one_finding_per_task_the_worst() -> None:
    ctx = make_context(vehicle={"odometer_miles": 10_000}, maintenance=[
        maintenance("m1", "oil_change", vehicle_id=None, due_date=days(5)),
        maintenance("m2", "oil_change", vehicle_id="veh-1", due_mileage=9_000),
    ])
    health = vehicle_health(ctx, S)
    assert health is not None
    assert [(i.kind, i.subject) for i in health.items] == [("overdue", "oil_change")]
    assert health.health_score == 75


def test_custom_weights() -> None:
    ctx = make_context(maintenance=[maintenance("m1", "oil_change", due_date=days(-1))])
    health = vehicle_health(ctx, S, HealthWeights(overdue=40))
    assert health is not None and health.health_score == 60


def vh(n: int, score: int, *overdue: str) -> VehicleHealth:
    items = tuple(HealthItem("overdue", task, 25) for task in overdue)
    return VehicleHealth(UUID(int=n), f"v{n}", score, items)


def test_summary_by_hand() -> None:
    fleet = summarize([vh(3, 50, "oil_change", "brakes"), vh(1, 100), vh(2, 59, "oil_change"),
                       vh(4, 60, "brakes"), vh(5, 75, "oil_change")], threshold=60)
    assert fleet.fleet_score == round((50 + 100 + 59 + 60 + 75) / 5, 1) == 68.8
    assert [v.user_id.int for v in fleet.vehicles] == [1, 2, 3, 4, 5]
    # strictly below the threshold, lowest first
    assert [(v.user_id.int, v.health_score) for v in fleet.critical] == [(3, 50), (2, 59)]
    assert fleet.overdue_by_task == {"oil_change": 3, "brakes": 2}
    assert list(fleet.overdue_by_task) == ["oil_change", "brakes"]


def test_empty_fleet() -> None:
    fleet = summarize([], threshold=60)
    assert (fleet.fleet_score, fleet.vehicles, fleet.critical, fleet.overdue_by_task) == (
        None, (), (), {})


def test_json_leaves_out_absent_figures() -> None:
    item = HealthItem("overdue", "oil_change", 25, days_left=-3, miles_left=-120.04)
    assert item.to_json() == {"kind": "overdue", "subject": "oil_change", "penalty": 25,
                              "days_left": -3, "miles_left": -120.0}
