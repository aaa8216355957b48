"""Generation of fuel fills (odometers following each vehicle's mpg) and maintenance."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pam_proactive.demo.encoding import (
    Clock,
    FloatArr,
    IntArr,
    Rng,
)
from pam_proactive.demo.generate.arrays import (
    segment_cumsum,
    segments,
)
from pam_proactive.demo.generate.travelers import (
    DONE,
    MAX_TRIPS,
    Trips,
    Users,
)
from pam_proactive.demo.reference import (
    TASK_COST,
    TASK_DAYS,
    TASK_MILES,
    TASKS,
)


@dataclass(frozen=True, eq=False)
class Fuel:
    """Fuel fills (flat rows, grouped by user) and each user's odometer story."""

    owner: IntArr
    day: IntArr
    centigallons: IntArr  # gallons x 100
    cost_cents: IntArr
    odometer: IntArr  # miles, as logged (planted errors included)
    mpg_centi: IntArr  # entered mpg x 100, -1 when not entered
    place: IntArr  # town, -1 when not entered
    first_day: IntArr  # per user
    first_odo: FloatArr
    last_day: IntArr
    last_odo: FloatArr  # odometer at the last fill, miles
    odo_now: FloatArr  # true odometer now: last fill plus the trips driven since
    today: int
    backwards: int  # planted rows whose odometer goes back
    jumps: int  # planted rows whose odometer jumps 15,000 miles

    def odometer_at(self, users: IntArr, days: IntArr) -> FloatArr:
        """True odometer (miles) of each user's vehicle on each day."""
        rate = (self.last_odo - self.first_odo) / np.maximum(1, self.last_day - self.first_day)
        back = self.last_odo[users] - rate[users] * (self.last_day[users] - days)
        share = (days - self.last_day[users]) / np.maximum(1, self.today - self.last_day[users])
        ahead = self.last_odo[users] + (self.odo_now[users] - self.last_odo[users]) * np.clip(
            share, 0.0, 1.0
        )
        return np.rint(np.maximum(np.where(days <= self.last_day[users], back, ahead), 10.0))

    def day_at(self, users: IntArr, miles: FloatArr) -> IntArr:
        """Day each user's odometer read `miles` (the inverse of `odometer_at`)."""
        rate = (self.last_odo - self.first_odo) / np.maximum(1, self.last_day - self.first_day)
        back = self.last_day[users] - (self.last_odo[users] - miles) / rate[users]
        driven = np.maximum(self.odo_now[users] - self.last_odo[users], 1.0)
        share = np.clip((miles - self.last_odo[users]) / driven, 0.0, 1.0)
        ahead = self.last_day[users] + share * (self.today - self.last_day[users])
        return np.rint(np.where(miles <= self.last_odo[users], back, ahead)).astype(np.int64)


def _before_last_trips(rng: Rng, users: Users, trips: Trips) -> IntArr:
    """A day just before the latest past trips that add up to 50-105% of the tank's range.

    Filling up there leaves the tank much emptier than the fill's date suggests (at least
    the latest trip is always included, even when it alone is longer than the range)."""
    n = users.n
    slots = np.arange(MAX_TRIPS)[None, :]
    past = slots < trips.completed[:, None]
    driven = np.where(past & (trips.status == DONE), trips.miles, 0.0)
    from_latest = np.cumsum(driven[:, ::-1], axis=1)[:, ::-1]  # miles of trip j and all later
    budget = users.tank * users.mpg * rng.uniform(0.5, 1.05, n)
    fits = past & (from_latest <= budget[:, None])
    first = np.where(fits.any(axis=1), fits.argmax(axis=1), trips.completed - 1)
    before: IntArr = trips.start[np.arange(n), first] - rng.integers(0, 3, n)
    return before


def _last_fill_day(rng: Rng, clock: Clock, users: Users, trips: Trips) -> IntArr:
    """Day of each user's last fill: recent (90%: in the last week, after arriving from
    their last trip), before the last trips (5%), stale (5%); most travelers under way filled
    up the day their trip began."""
    n = users.n
    mode = rng.random(n)
    arrived = trips.end[np.arange(n), np.maximum(trips.completed - 1, 0)]
    days = np.where(
        mode < 0.05,
        _before_last_trips(rng, users, trips),
        np.where(
            mode < 0.10,
            clock.today - rng.integers(7, 41, n),
            np.maximum(clock.today - rng.integers(0, 7, n), arrived),
        ),
    )
    slot = np.minimum(trips.completed, MAX_TRIPS - 1)
    at_start = trips.active & (rng.random(n) < 0.85)
    days = np.where(at_start, trips.start[np.arange(n), slot], days)
    last: IntArr = np.minimum(days, clock.today)
    return last


def make_fuel(rng: Rng, clock: Clock, users: Users, trips: Trips) -> Fuel:
    """8-25 fills over 200-300 days, each of 40-90% of the tank, odometers following the mpg."""
    n = users.n
    rows = np.arange(n)
    last_day = _last_fill_day(rng, clock, users, trips)
    span = rng.integers(200, 301, n)
    counts = rng.integers(8, 26, n)
    owner, pos = segments(counts)
    m = len(owner)
    first_idx = np.cumsum(counts) - counts
    last_idx = first_idx + counts - 1

    weight = np.where(pos == 0, 0.0, rng.uniform(0.5, 1.5, m))
    elapsed = segment_cumsum(weight, pos)
    day = last_day[owner] - span[owner] + np.rint(elapsed / elapsed[last_idx][owner] * span[owner])
    day = day.astype(np.int64)

    centigallons = np.rint(users.tank[owner] * rng.uniform(0.4, 0.9, m) * 100).astype(np.int64)
    gallons = centigallons / 100
    # Every fill is to full, so the miles since the previous fill burned this fill's gallons.
    miles = np.where(pos == 0, 0.0, gallons * users.mpg[owner] * rng.uniform(0.93, 1.07, m))
    # ~1.5% of rigs have lost a fifth or so of their economy over the last three fills (a
    # dragging brake, soft tyres, a heavier load): what fuel_economy_drop is for.
    worse = rng.uniform(0.7, 0.82, n)
    dropped = (rng.random(n) < 0.015)[owner] & (pos >= counts[owner] - 3)
    miles = np.where(dropped, miles * worse[owner], miles)
    first_odo = rng.integers(3_000, 90_000, n).astype(np.float64)
    odometer = (first_odo[owner] + np.rint(segment_cumsum(miles, pos))).astype(np.int64)
    price = np.minimum(rng.uniform(3.2, 5.0, m) + np.where(users.diesel[owner], 0.25, 0.0), 5.0)
    cost = np.rint(gallons * price * 100).astype(np.int64)
    mpg_centi = np.where(
        (pos == 0) | (rng.random(m) < 0.35), -1, np.rint(miles / gallons * 100)
    ).astype(np.int64)
    place = trips.places[owner, rng.integers(0, trips.completed[owner] + 1)]
    place = np.where(rng.random(m) < 0.1, -1, place)

    last_odo = odometer[last_idx].astype(np.float64)
    since = (trips.status == DONE) & (trips.start >= last_day[:, None])
    driven = np.where(since, trips.miles, 0.0).sum(axis=1)
    slot = np.minimum(trips.completed, MAX_TRIPS - 1)
    a_start, a_end = trips.start[rows, slot], trips.end[rows, slot]
    progress = np.clip((clock.today - a_start) / (a_end - a_start + 1), 0.0, 1.0)
    driven += np.where(trips.active, trips.miles[rows, slot] * progress, 0.0)

    backwards, jumps = _plant_odometer_errors(rng, odometer, counts, first_idx)
    return Fuel(
        owner,
        day,
        centigallons,
        cost,
        odometer,
        mpg_centi,
        place,
        day[first_idx],
        first_odo,
        last_day,
        last_odo,
        last_odo + driven,
        clock.today,
        backwards,
        jumps,
    )


def _plant_odometer_errors(
    rng: Rng, odometer: IntArr, counts: IntArr, first_idx: IntArr
) -> tuple[int, int]:
    """Corrupt one middle fill of ~0.3% of users: back 500-8,000 miles, or 15,000 ahead."""
    n = len(counts)
    users = np.flatnonzero(rng.random(n) < 0.003)
    rows = first_idx[users] + rng.integers(1, counts[users] - 1)
    back = rng.random(len(users)) < 0.5
    odometer[rows[back]] = np.maximum(
        odometer[rows[back] - 1] - rng.integers(500, 8_001, int(back.sum())), 0
    )
    odometer[rows[~back]] += 15_000
    return int(back.sum()), int((~back).sum())


@dataclass(frozen=True, eq=False)
class Service:
    """Maintenance records (flat rows)."""

    owner: IntArr
    task: IntArr  # index into TASKS
    day: IntArr
    mileage: IntArr  # odometer at the service, miles
    cost_cents: IntArr
    place: IntArr  # town, -1 when not entered
    note: IntArr  # index into _TASK_NOTES, -1 when none
    due_day: IntArr
    due_miles: IntArr  # odometer the next service is due at, -1 when not set


_OVERDUE, _DUE_SOON, _FINE = 0, 1, 2


def _latest_services(
    rng: Rng, clock: Clock, fuel: Fuel, owner: IntArr, task: IntArr
) -> tuple[IntArr, IntArr, IntArr, IntArr]:
    """Latest record of each (user, task): day, mileage, due day, due mileage (-1: none).

    ~1.2% are overdue and ~1.3% due within 30 days or 500 miles, by date or by mileage."""
    m = len(owner)
    state = rng.choice(3, m, p=(0.012, 0.013, 0.975))
    interval_days, interval_miles = TASK_DAYS[task], TASK_MILES[task]
    odo_now = np.rint(fuel.odo_now[owner])
    offset = np.select(
        [state == _OVERDUE, state == _DUE_SOON],
        [-rng.integers(1, 91, m), rng.integers(0, 31, m)],
        rng.integers(31, interval_days - 6),
    )
    day = clock.today + offset - interval_days
    mileage = fuel.odometer_at(owner, day)
    due_miles = mileage + interval_miles

    miles_due = odo_now + np.where(
        state == _OVERDUE, -rng.integers(50, 2_001, m), rng.integers(0, 501, m)
    )
    day_m = np.minimum(fuel.day_at(owner, miles_due - interval_miles), clock.today - 3)
    # Due by mileage only for users who drive enough to get there within the interval.
    by_miles = (interval_miles > 0) & (state != _FINE) & (rng.random(m) < 0.5)
    by_miles &= day_m >= clock.today - interval_days - 90
    day = np.where(by_miles, day_m, day)
    mileage = np.where(by_miles, miles_due - interval_miles, mileage)
    due_miles = np.where(by_miles, miles_due, due_miles)
    # A date-driven record must not be silently overdue by mileage: users often log no
    # due mileage at all, so drop it when it would contradict the intended state.
    contradicts = (~by_miles) & (
        ((state == _FINE) & (due_miles < odo_now + 501))
        | ((state == _DUE_SOON) & (due_miles < odo_now))
    )
    due_miles = np.where(contradicts | (interval_miles == 0), -1, due_miles)
    mileage = np.maximum(mileage, 10)
    return (
        day.astype(np.int64),
        mileage.astype(np.int64),
        (day + interval_days).astype(np.int64),
        due_miles.astype(np.int64),
    )


def make_maintenance(rng: Rng, clock: Clock, trips: Trips, fuel: Fuel) -> Service:
    """2-3 tasks per user, each with 1-3 records (older ones superseded by the newest)."""
    n = len(trips.count)
    tasks = np.where(rng.random(n) < 0.5, 2, 3)
    keys = rng.random((n, len(TASKS)))
    keys[:, 0] -= 0.6  # nearly everyone logs oil changes
    order = np.argsort(keys, axis=1)
    owner, pos = segments(tasks)
    task = order[owner, pos]
    m = len(owner)
    records = np.where(tasks[owner] == 2, rng.integers(1, 4, m), rng.integers(1, 3, m))

    day, mileage, due_day, due_miles = _latest_services(rng, clock, fuel, owner, task)
    parts = [(owner, task, day, mileage, due_day, due_miles)]
    for k in (1, 2):
        keep = records > k
        owner, task, day = owner[keep], task[keep], day[keep]
        records = records[keep]
        day = day - np.rint(TASK_DAYS[task] * rng.uniform(0.85, 1.2, len(day))).astype(np.int64)
        mileage = fuel.odometer_at(owner, day).astype(np.int64)
        due_miles = np.where(TASK_MILES[task] > 0, mileage + TASK_MILES[task], -1)
        parts.append((owner, task, day, mileage, day + TASK_DAYS[task], due_miles))
    owner, task, day, mileage, due_day, due_miles = (
        np.concatenate(c) for c in zip(*parts, strict=True)
    )

    order = np.lexsort((day, owner))
    owner, task, day, mileage, due_day, due_miles = (
        a[order] for a in (owner, task, day, mileage, due_day, due_miles)
    )
    m = len(owner)
    lo, hi = TASK_COST[task, 0], TASK_COST[task, 1]
    cost = np.rint(rng.uniform(lo, hi) * 100).astype(np.int64)
    place = trips.places[owner, rng.integers(0, trips.completed[owner] + 1)]
    place = np.where(rng.random(m) < 0.2, -1, place)
    note = np.where(rng.random(m) < 0.3, task, -1)
    return Service(owner, task, day, mileage, cost, place, note, due_day, due_miles)

