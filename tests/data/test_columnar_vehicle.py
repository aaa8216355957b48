"""The column-wise vehicle section against its oracle, the per-object ``build_vehicle`` of
``tests/oracle/per_object.py`` (pure: hand-written and generated rows of the batch statements,
no database).

Each case runs both paths over the same rows (the per-object one with its texts cut as
``cut_texts`` does, the column-wise one over ``frames_from_rows``) and asserts the same
VehicleContext and the same skip/repair counts per user; the hand-written cases also say
which counts they expect, so a rule lost in both paths at once is caught too."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oracle.per_object import build_vehicle, cut_texts, frames_from_rows
from pam_proactive.analysis.bounds import TEXT_MAX_CHARS
from pam_proactive.analysis.limits import (
    MAX_FILL_GALLONS,
    MAX_ODOMETER_MILES,
    ODOMETER_JUMP_MILES,
    ODOMETER_OUTLIER_MILES,
)
from pam_proactive.context import DataQuality, Profile, QualityBuilder, VehicleContext
from pam_proactive.data.assemble import build_profile
from pam_proactive.data.columnar.vehicle import vehicle_section
from pam_proactive.data.rows import UserRow

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
TODAY = NOW.date()
Row = tuple[Any, ...]
Both = dict[int, tuple[VehicleContext, DataQuality]]


def _user(k: int, vehicle_type: str | None = "class c") -> UserRow:
    return UserRow(UUID(int=k + 1), "active", "imperial", "UTC", "USD", None, vehicle_type,
                   "diesel", None, None, None, None, None, None, None, None)


def both_paths(users: int, fuel: Sequence[Row] = (), maintenance: Sequence[Row] = (),
               vehicles: Sequence[Row] = ()) -> tuple[Both, Both]:
    """(oracle, column-wise) contexts and quality of ``users`` users (positions 1..users)
    over the rows; each row starts with its user's position."""
    rows = [_user(k) for k in range(users)]
    profiles: dict[int, Profile] = {
        i: build_profile(u, "UTC", QualityBuilder()) for i, u in enumerate(rows, 1)}
    old: Both = {}
    for i, user in enumerate(rows, 1):
        q = QualityBuilder()
        mine = {"expenses": [], "budgets": [], "trips": [], "events": [],
                "fuel": [r for r in fuel if r[0] == i],
                "maintenance": [r for r in maintenance if r[0] == i]}
        vehicle = next((r for r in reversed(vehicles) if r[0] == i), None)
        _, cut, vehicle = cut_texts(user, mine, vehicle, q)
        ctx = build_vehicle(vehicle, cut["fuel"], cut["maintenance"], profiles[i], q, TODAY)
        old[i] = (ctx, q.freeze())
    frames = frames_from_rows(rows, [(TODAY, "UTC", False)] * users, NOW, {
        "expenses": [], "budgets": [], "trips": [], "events": [], "fuel": list(fuel),
        "maintenance": list(maintenance), "vehicles": list(vehicles), "after_now": [],
    })
    quality = {i: QualityBuilder() for i in profiles}
    section = vehicle_section(frames, profiles, quality)
    new: Both = {i: (section[i], quality[i].freeze()) for i in profiles}
    return old, new


def assert_same(old: Both, new: Both) -> None:
    assert old.keys() == new.keys()
    for i in old:
        (a, qa), (b, qb) = old[i], new[i]
        assert _same_floats(a, b), (i, a, b)
        assert qa == qb, (i, qa, qb)


def _same_floats(a: Any, b: Any) -> bool:
    """Equal, NaN equal to NaN (a repr comparison would hide a float's type change)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return bool(a == b) and type(a) is type(b)


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


def fill(i: int, fid: str, offset: int, odo: float | None, gallons: float | None = 20.0,
         cost: float | None = 80.0, full: bool | None = True) -> Row:
    return (i, fid, day(offset), odo, gallons, cost, full)


def service(i: int, rid: str, task: str, done: int | None, miles: float | None,
            due: int | None = None, due_miles: float | None = None) -> Row:
    return (i, rid, "v1", task, None if done is None else day(done), miles,
            None if due is None else day(due), due_miles)


def vehicle(i: int, odo: float | None = 40_000.0, tank: float | None = 50.0,
            mpg: float | None = 9.0, name: str = "Home", vtype: str | None = "class c",
            fuel: str | None = "diesel") -> Row:
    return (i, f"veh-{i}", name, vtype, fuel, tank, mpg, odo, day(90), None)


def counts(q: DataQuality) -> dict[str, int]:
    return {**dict(q.skipped), **dict(q.repaired)}


def test_empty_batch_and_users_without_rows() -> None:
    old, new = both_paths(0)
    assert old == new == {}
    old, new = both_paths(3)
    assert_same(old, new)
    assert all(ctx == VehicleContext(None, (), (), None, ()) for ctx, _ in new.values())


def test_backwards_jump_negative_and_huge_odometers() -> None:
    fuel = [
        fill(1, "a", -50, 40_000.0), fill(1, "b", -40, 39_000.0),  # backwards
        fill(1, "c", -30, 40_300.0), fill(1, "d", -20, 40_300.0 + ODOMETER_JUMP_MILES),
        fill(1, "e", -10, -5.0), fill(1, "f", -5, MAX_ODOMETER_MILES * 2),
        fill(1, "g", -4, math.inf), fill(1, "h", -3, math.nan), fill(1, "i", -2, None),
        fill(1, "j", -1, 40_500.0),
        fill(2, "k", -9, 10_000.0), fill(2, "l", -8, 9_999.0), fill(2, "m", -7, 10_100.0),
    ]
    old, new = both_paths(2, fuel)
    assert_same(old, new)
    assert counts(new[1][1]) == {"odometer_backwards": 1, "odometer_jump": 1,
                                 "odometer_negative": 1, "odometer_implausible": 1}
    assert [f.odometer_miles for f in new[1][0].fills] == [
        40_000.0, None, 40_300.0, None, None, None, None, None, None, 40_500.0]
    assert new[2][0].max_odometer_miles == 10_100.0


def test_duplicates_first_by_row_order_and_invalid_volumes_with_their_days() -> None:
    fuel = [
        fill(1, "z", -30, 1_000.0, 12.5), fill(1, "a", -30, 1_000.0, 12.5),  # duplicate
        fill(1, "b", -30, None, 12.5), fill(1, "c", -30, None, 12.5),  # duplicate, no odo
        # A NaN odometer equals no other: as read from the database (each NaN its own
        # float object), never a duplicate.
        fill(1, "n1", -29, float("nan"), 12.5), fill(1, "n2", -29, float("nan"), 12.5),
        fill(1, "d", -20, 1_200.0, 0.0), fill(1, "e", -20, 1_250.0, None),  # a gap day
        fill(1, "f", -10, 1_300.0, math.nan), fill(1, "g", -10, 1_310.0, 10.0),  # not a gap
        fill(1, "h", -5, 1_400.0, MAX_FILL_GALLONS + 1), fill(1, "i", -4, 1_500.0, -2.0),
        fill(1, "j", 3, 1_600.0, None),  # future: neither a volume skip nor a gap
    ]
    old, new = both_paths(1, fuel)
    assert_same(old, new)
    ctx, q = new[1]
    assert counts(q) == {"fuel_fill_duplicate": 2, "fuel_volume_invalid": 5,
                         "fuel_date_future": 1}
    assert [f.fill_id for f in ctx.fills] == ["z", "b", "n1", "n2", "g"]
    assert ctx.unusable_fill_days == (day(-20), day(-5), day(-4))


def test_future_fills_costs_and_full_flags() -> None:
    fuel = [fill(1, "a", -3, 500.0, cost=-1.0, full=None), fill(1, "b", -2, 600.0, cost=None),
            fill(1, "c", -1, 700.0, cost=math.inf, full=False), fill(1, "d", 1, 800.0),
            fill(1, "e", 0, 900.0, cost=0.0)]
    old, new = both_paths(1, fuel)
    assert_same(old, new)
    ctx, q = new[1]
    assert counts(q) == {"fuel_cost_invalid": 1, "fuel_date_future": 1}
    assert [(f.total_cost, f.is_full) for f in ctx.fills] == [
        (None, False), (None, True), (None, False), (0.0, True)]


def test_outliers_across_fills_maintenance_and_vehicle() -> None:
    high = 40_100.0 + ODOMETER_OUTLIER_MILES + 1
    fuel = [fill(1, "a", -20, 40_000.0), fill(1, "b", -10, 40_100.0),
            fill(2, "c", -10, 12_000.0)]
    maintenance = [service(1, "r1", "oil change", -15, high * 3),
                   service(1, "r2", "tires", -12, 40_050.0, due_miles=high * 3),
                   service(2, "r3", "brakes", -5, 12_100.0)]
    vehicles = [vehicle(1, odo=high), vehicle(2, odo=12_000.0 + 2 * ODOMETER_OUTLIER_MILES),
                vehicle(3, odo=ODOMETER_OUTLIER_MILES * 9)]  # alone: kept
    old, new = both_paths(3, fuel, maintenance, vehicles)
    assert_same(old, new)
    one, two, three = (new[i][0] for i in (1, 2, 3))
    assert counts(new[1][1]) == {"odometer_outlier": 2}
    assert one.primary is not None and one.primary.odometer_miles is None
    assert one.max_odometer_miles == 40_100.0
    assert two.primary is not None and two.primary.odometer_miles is None
    assert three.max_odometer_miles == ODOMETER_OUTLIER_MILES * 9


def test_maintenance_repairs() -> None:
    maintenance = [
        service(1, "r1", "oil change", -30, -10.0, due=-40, due_miles=-5.0),
        service(1, "r2", "tires", -30, 20_000.0, due=30, due_miles=19_000.0),
        service(1, "r3", "roof", None, MAX_ODOMETER_MILES + 1, due=10,
                due_miles=MAX_ODOMETER_MILES * 3),
        service(1, "r4", "brakes", -3, math.nan, due_miles=math.inf),
        (1, None, None, "generator", None, None, None, None),
    ]
    old, new = both_paths(1, (), maintenance)
    assert_same(old, new)
    assert counts(new[1][1]) == {"maintenance_mileage_negative": 2,
                                 "maintenance_due_before_service": 2,
                                 "odometer_implausible": 2}
    assert new[1][0].maintenance[-1].record_id == "None"  # str(None), as the oracle has it


def test_vehicle_repairs_classes_and_long_texts() -> None:
    long = "x" * (TEXT_MAX_CHARS + 5)
    vehicles = [vehicle(1, tank=0.5, mpg=120.0, odo=-3.0, name=long, vtype=long, fuel=long),
                vehicle(2, tank=math.nan, mpg=None, vtype="Fifth Wheel", fuel=""),
                vehicle(3, tank=400.0, mpg=0.0, vtype=None, fuel=None)]
    maintenance = [service(1, "r1", long, -3, 100.0), service(2, "r2", "t" * TEXT_MAX_CHARS, -3,
                                                              100.0)]
    old, new = both_paths(4, (), maintenance, vehicles)
    assert_same(old, new)
    assert counts(new[1][1]) == {"text_cut": 4, "tank_size_implausible": 1,
                                 "vehicle_mpg_implausible": 1, "odometer_negative": 1}
    assert counts(new[3][1]) == {"tank_size_implausible": 1, "vehicle_mpg_implausible": 1}
    two = new[2][0].primary
    assert two is not None and (two.vehicle_class, two.fuel_type) == ("trailer", "diesel")
    assert new[4][0].primary is None


def _fresh_nan(value: float | None) -> float | None:
    """Each NaN its own object, as the database hands them over (the oracle's duplicate
    key compares tuples, where one NaN object equals itself)."""
    return float("nan") if value is not None and math.isnan(value) else value


_odometers = st.one_of(st.none(), st.sampled_from([
    math.nan, math.inf, -math.inf, -1.0, 0.0, -0.0, 500.0, 900.0, 9_000.0, 70_000.0,
    MAX_ODOMETER_MILES + 1]), st.floats(0, 200_000, allow_nan=False),
).map(_fresh_nan)
_gallons = st.one_of(st.none(), st.sampled_from([math.nan, 0.0, -1.0, 10.0, 12.5,
                                                 MAX_FILL_GALLONS, MAX_FILL_GALLONS + 1]))
_costs = st.one_of(st.none(), st.sampled_from([math.nan, -3.0, 0.0, 40.0]))
_fills = st.lists(st.tuples(st.integers(1, 4), st.integers(-12, 2), _odometers, _gallons,
                            _costs, st.sampled_from([None, True, False])), max_size=40)
_services = st.lists(st.tuples(st.integers(1, 4), st.one_of(st.none(), st.integers(-90, 0)),
                               _odometers, st.one_of(st.none(), st.integers(-120, 60)),
                               _odometers), max_size=8)
_vehicles = st.lists(st.tuples(st.integers(1, 4), _odometers,
                               st.sampled_from([None, math.nan, 0.5, 30.0, 400.0]),
                               st.sampled_from([None, 0.0, 10.0, 90.0])), max_size=4)


@settings(max_examples=300, deadline=None, database=None)
@given(_fills, _services, _vehicles)
def test_generated_rows_same_as_the_oracle(fills: list[Row], services: list[Row],
                                           vehicles: list[Row]) -> None:
    # Fills in the statement's order (user, day, odometer NULLS FIRST): the odometer rule
    # reads them in that order.
    fuel = sorted((fill(i, f"f{k}", offset, odo, gallons, cost, full)
                   for k, (i, offset, odo, gallons, cost, full) in enumerate(fills)),
                  key=lambda r: (r[0], r[2], r[3] is not None))
    maintenance = sorted((service(i, f"r{k}", "oil change", done, miles, due, due_miles)
                          for k, (i, done, miles, due, due_miles) in enumerate(services)),
                         key=lambda r: r[0])
    own = {i: vehicle(i, odo, tank, mpg) for i, odo, tank, mpg in vehicles}
    old, new = both_paths(4, fuel, maintenance, [own[i] for i in sorted(own)])
    assert_same(old, new)


@pytest.mark.parametrize("shuffled", [False, True])
def test_rows_of_a_user_apart_are_taken_in_their_order(shuffled: bool) -> None:
    fuel = [fill(1, "a", -3, 100.0), fill(2, "b", -3, 200.0), fill(1, "c", -2, 50.0),
            fill(2, "d", -2, 250.0)]
    if not shuffled:
        fuel.sort(key=lambda r: r[0])
    old, new = both_paths(2, fuel)
    assert_same(old, new)
    assert counts(new[1][1]) == {"odometer_backwards": 1}


def test_two_vehicle_rows_of_a_user_the_last_stands() -> None:
    long = "n" * (TEXT_MAX_CHARS + 1)
    vehicles = [vehicle(1, name=long, tank=0.1), vehicle(2), vehicle(1, odo=55_000.0)]
    old, new = both_paths(2, (), (), vehicles)
    assert_same(old, new)
    one = new[1][0].primary
    assert one is not None and one.odometer_miles == 55_000.0
    assert counts(new[1][1]) == {}  # the first row was never read: nothing cut or repaired
