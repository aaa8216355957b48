"""A week of travelers' writes, generated once and applied identically to two databases.

Each step's mutations are dated inside the step (created_at/updated_at between the previous
step and this one, as the app would stamp them at that moment): inserts of fill-ups, expenses,
calendar events and planned trips (many of them far away, soon, or large, so the detectors
fire and time boundaries are crossed), updates of expenses, trips and events, and deletes.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg

PLACES = ("Quartzsite, AZ", "Phoenix", "Denver, CO", "Portland", "St. Louis, MO", "Austin, TX")
CATEGORIES = ("fuel", "food", "camping", "maintenance", "entertainment")

Statement = tuple[str, tuple[Any, ...]]


@dataclass
class World:
    """What the generator knows of the rows it can update or delete."""

    users: list[UUID]
    expenses: list[UUID] = field(default_factory=list)
    trips: list[UUID] = field(default_factory=list)
    events: list[UUID] = field(default_factory=list)
    fills: list[UUID] = field(default_factory=list)
    odometer: dict[UUID, int] = field(default_factory=dict)


def load_world(conn: psycopg.Connection[Any]) -> World:
    """The seeded travelers and row ids of the tables the generator mutates."""
    def ids(query: str) -> list[UUID]:
        return [r[0] for r in conn.execute(query.encode()).fetchall()]

    world = World(users=ids("SELECT id FROM profiles ORDER BY id"))
    world.expenses = ids("SELECT id FROM expenses ORDER BY id")
    world.trips = ids("SELECT id FROM trips ORDER BY id")
    world.events = ids("SELECT id FROM calendar_events ORDER BY id")
    world.fills = ids("SELECT id FROM fuel_log ORDER BY id")
    for uid, odo in conn.execute(
            b"SELECT user_id, max(odometer) FROM fuel_log GROUP BY user_id").fetchall():
        world.odometer[uid] = int(odo or 40_000)
    return world


def _stamp(rng: random.Random, start: datetime, end: datetime) -> datetime:
    span = (end - start).total_seconds()
    return start + timedelta(seconds=rng.uniform(1.0, max(1.0, span - 1.0)))


def step_mutations(rng: random.Random, world: World, start: datetime, end: datetime,
                   count: int) -> list[Statement]:
    """``count`` random writes stamped in (``start``, ``end``]."""
    out: list[Statement] = []
    for _ in range(count):
        kind = rng.choices(
            ("fill", "expense", "event", "trip", "upd_expense", "upd_trip", "upd_event",
             "del_expense", "del_event", "del_trip", "del_fill"),
            weights=(4, 5, 3, 3, 2, 2, 2, 1, 1, 1, 1))[0]
        out.extend(_mutation(kind, rng, world, _stamp(rng, start, end)))
    return out


def _mutation(kind: str, rng: random.Random, world: World, at: datetime) -> list[Statement]:
    user = rng.choice(world.users)
    day = at.date()
    if kind == "fill":
        rid = uuid.uuid4()
        odo = world.odometer.get(user, 40_000) + rng.randint(50, 450)
        world.odometer[user] = odo
        world.fills.append(rid)
        return [("INSERT INTO fuel_log (id, user_id, date, gallons, cost, odometer, created_at)"
                 " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                 (rid, user, day, round(rng.uniform(3, 40), 2), 60, odo, at))]
    if kind == "expense":
        rid = uuid.uuid4()
        world.expenses.append(rid)
        amount = rng.choice((12.0, 45.0, 80.0, 640.0, 1900.0))
        return [("INSERT INTO expenses (id, user_id, amount, category, date, created_at,"
                 " updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                 (rid, user, amount, rng.choice(CATEGORIES), day, at, at))]
    if kind == "event":
        rid = uuid.uuid4()
        world.events.append(rid)
        starts = at + timedelta(hours=rng.uniform(2, 24 * 16))
        return [("INSERT INTO calendar_events (id, user_id, title, start_date, end_date,"
                 " location_name, created_at, updated_at) VALUES (%s, %s, 'Rally', %s, %s, %s,"
                 " %s, %s)", (rid, user, starts, starts + timedelta(hours=3),
                              rng.choice(PLACES), at, at))]
    if kind == "trip":
        rid = uuid.uuid4()
        world.trips.append(rid)
        start = day + timedelta(days=rng.randint(0, 4))
        return [("INSERT INTO trips (id, user_id, origin, destination, start_date, end_date,"
                 " distance_miles, estimated_cost, status, created_at, updated_at) VALUES"
                 " (%s, %s, 'Home', %s, %s, %s, %s, %s, 'planned', %s, %s)",
                 (rid, user, rng.choice(PLACES), start, start + timedelta(days=rng.randint(0, 5)),
                  rng.randint(80, 1400), rng.randint(100, 3000), at, at))]
    return _change(kind, rng, world, at)


def _change(kind: str, rng: random.Random, world: World, at: datetime) -> list[Statement]:
    table, pool = {"expense": ("expenses", world.expenses), "trip": ("trips", world.trips),
                   "event": ("calendar_events", world.events),
                   "fill": ("fuel_log", world.fills)}[kind.split("_", 1)[1]]
    if not pool:
        return []
    row = rng.choice(pool)
    if kind.startswith("del_"):
        pool.remove(row)
        return [(f"DELETE FROM {table} WHERE id = %s", (row,))]
    if table == "expenses":
        return [("UPDATE expenses SET amount = %s, updated_at = %s WHERE id = %s",
                 (rng.choice((5.0, 300.0, 2500.0)), at, row))]
    if table == "trips":
        return [("UPDATE trips SET start_date = %s, status = 'planned', updated_at = %s"
                 " WHERE id = %s", (at.date() + timedelta(days=rng.randint(0, 3)), at, row))]
    starts = at + timedelta(hours=rng.uniform(1, 24 * 10))
    return [("UPDATE calendar_events SET start_date = %s, end_date = %s, updated_at = %s"
             " WHERE id = %s", (starts, starts + timedelta(hours=2), at, row))]


def apply(conn: psycopg.Connection[Any], statements: list[Statement]) -> None:
    """Run the step's writes in one transaction."""
    with conn.transaction():
        for query, params in statements:
            conn.execute(query.encode(), params)


STORED = b"""
SELECT user_id::text, dedup_key, priority, status, count(*)
FROM pam_proactive.suggestions GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
"""


def stored(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    """Every stored suggestion as (user, dedup_key, priority, status, rows)."""
    return list(conn.execute(STORED).fetchall())
