"""Generation of travelers (vehicle class, fuel habits) and their chained trips."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pam_proactive.demo.encoding import (
    ID_SLOTS,
    BoolArr,
    BytesArr,
    Clock,
    FloatArr,
    IntArr,
    Rng,
    ascii_array,
    id_base,
    uuids,
)
from pam_proactive.demo.reference import (
    CLASS_A,
    CLASS_C,
    CLASS_NAMES,
    CLASS_SHARE,
    DIESEL_SHARE,
    GREAT_CIRCLE,
    MAKES,
    MPG_RANGE,
    NEAREST,
    TANK_RANGE,
    TOW_TRUCKS,
    TOWNS,
)


@dataclass(frozen=True, eq=False)
class Users:
    """Per-user facts of one chunk (arrays of length n)."""

    first: int  # global number of the chunk's first user
    ids: BytesArr
    vclass: IntArr  # index into CLASS_NAMES
    diesel: BoolArr
    mpg: FloatArr  # real miles per US gallon of the fuel-burning vehicle
    tank: FloatArr  # its tank, US gallons
    toad: BoolArr  # motorhome towing a car
    spend_scale: FloatArr  # how freely the user spends, 1 = typical
    make_model: BytesArr  # the RV (motorhome, van or trailer)
    tow_truck: BytesArr  # the truck pulling a trailer (unused for motorhomes)

    @property
    def n(self) -> int:
        """Users in the chunk."""
        return len(self.ids)


def make_users(rng: Rng, clock: Clock, first: int, n: int) -> Users:
    """Vehicle class, fuel and spending habits of `n` users."""
    prefix = id_base(clock) + (first + np.arange(n, dtype=np.int64)) * ID_SLOTS
    vclass = rng.choice(len(CLASS_NAMES), n, p=CLASS_SHARE).astype(np.int64)
    mpg_lo, mpg_hi = np.array(MPG_RANGE, dtype=np.float64).T
    tank_lo, tank_hi = np.array(TANK_RANGE, dtype=np.float64).T
    # Class A and C motorhomes often tow a car ("toad"); camper vans practically never do.
    toad = ((vclass == CLASS_A) | (vclass == CLASS_C)) & (rng.random(n) < 0.35)
    # A towed car costs a motorhome about a tenth of its fuel economy.
    mpg = rng.uniform(mpg_lo[vclass], mpg_hi[vclass]) * np.where(toad, 0.9, 1.0)
    tank = np.rint(rng.uniform(tank_lo[vclass], tank_hi[vclass]) * 2) / 2
    diesel = rng.random(n) < np.array(DIESEL_SHARE)[vclass]
    scale = np.exp(0.3 * rng.standard_normal(n))
    make_model = MAKES.pick(rng, vclass)
    tow_truck = ascii_array(TOW_TRUCKS)[rng.integers(0, len(TOW_TRUCKS), n)]
    return Users(
        first, uuids(rng, prefix), vclass, diesel, mpg, tank, toad, scale, make_model, tow_truck
    )


DONE, _ACTIVE, PLANNED, _CANCELLED, NO_TRIP = 0, 1, 2, 3, -1
STATUS_TEXT = ascii_array(("completed", "active", "planned", "cancelled"))
MAX_TRIPS = 6


@dataclass(frozen=True, eq=False)
class Trips:
    """Each user's trips as (n, 6) slot matrices in chronological order."""

    places: IntArr  # (n, 7) towns; trip j goes from places[:, j] to places[:, j + 1]
    status: IntArr  # status code per slot, NO_TRIP past the user's last trip
    start: IntArr  # day numbers
    end: IntArr
    miles: FloatArr  # road distance, miles
    count: IntArr  # trips per user
    completed: IntArr  # slots [0, completed) lie in the past
    active: BoolArr
    here: IntArr  # town the user is at, or leaving from, now
    next_stop: IntArr  # destination of the first planned trip, -1 when none


def _walk(rng: Rng, n: int) -> IntArr:
    """Towns visited in order: each stop is one of the previous stop's nearest towns."""
    places = np.empty((n, MAX_TRIPS + 1), dtype=np.int64)
    places[:, 0] = rng.integers(0, len(TOWNS), n)
    for j in range(1, MAX_TRIPS + 1):
        places[:, j] = NEAREST[places[:, j - 1], rng.integers(0, NEAREST.shape[1], n)]
    return places


def _put(matrix: IntArr, users: BoolArr, slots: IntArr, values: IntArr) -> None:
    """matrix[u, slots[u]] = values[u] for the selected users."""
    rows = np.flatnonzero(users)
    matrix[rows, slots[rows]] = values[rows]


def make_trips(rng: Rng, clock: Clock, n: int) -> Trips:
    """2-6 chained trips per user: past ones, ~8% under way now, ~18% departing within 10 days."""
    today = clock.today
    rows = np.arange(n)
    active = rng.random(n) < 0.08
    soon = rng.random(n) < 0.18
    later = rng.random(n) < 0.25
    future = active.astype(np.int64) + soon + later
    completed = np.maximum(np.minimum(rng.integers(1, 5, n), MAX_TRIPS - future), 2 - future)
    places = _walk(rng, n)
    miles = GREAT_CIRCLE[places[:, :-1], places[:, 1:]] * 1.2 * rng.uniform(0.95, 1.08, (n, 6))
    drive_days = np.floor(miles / rng.uniform(250, 400, (n, 6))).astype(np.int64)
    start = np.zeros((n, MAX_TRIPS), dtype=np.int64)
    end = np.zeros((n, MAX_TRIPS), dtype=np.int64)
    status = np.full((n, MAX_TRIPS), NO_TRIP, dtype=np.int64)

    active_slot = np.minimum(completed, MAX_TRIPS - 1)
    a_start = today - rng.integers(0, 4, n)
    a_end = np.maximum(a_start + drive_days[rows, active_slot], today + rng.integers(0, 3, n))
    # Past trips, walking back in time from the active trip (or from today).
    cursor = np.where(active, a_start - rng.integers(1, 15, n), today - rng.integers(0, 21, n))
    for j in range(MAX_TRIPS - 1, -1, -1):
        past = j < completed
        end[:, j] = np.where(past, cursor, end[:, j])
        start[:, j] = np.where(past, cursor - drive_days[:, j], start[:, j])
        status[:, j] = np.where(past, DONE, status[:, j])
        cursor = np.where(past, start[:, j] - rng.integers(3, 26, n), cursor)
    status[(status == DONE) & (rng.random((n, MAX_TRIPS)) < 0.03)] = _CANCELLED
    _put(status, active, active_slot, np.full(n, _ACTIVE))
    _put(start, active, active_slot, a_start)
    _put(end, active, active_slot, a_end)

    free_from = np.where(active, a_end + 1, today)
    soon_slot = np.minimum(completed + active, MAX_TRIPS - 1)
    soon_start = np.maximum(today + rng.integers(0, 11, n), free_from)
    soon_end = soon_start + drive_days[rows, soon_slot]
    later_slot = np.minimum(soon_slot + soon, MAX_TRIPS - 1)
    later_start = np.where(
        soon,
        soon_end + rng.integers(5, 31, n),
        np.maximum(today + rng.integers(12, 61, n), free_from),
    )
    for chosen, slot, begin in ((soon, soon_slot, soon_start), (later, later_slot, later_start)):
        _put(status, chosen, slot, np.full(n, PLANNED))
        _put(start, chosen, slot, begin)
        _put(end, chosen, slot, begin + drive_days[rows, slot])

    planned = soon | later
    next_stop = np.where(planned, places[rows, np.minimum(soon_slot + 1, MAX_TRIPS)], -1)
    count = completed + future
    return Trips(
        places,
        status,
        start,
        end,
        miles,
        count,
        completed,
        active,
        places[rows, completed],
        next_stop,
    )


