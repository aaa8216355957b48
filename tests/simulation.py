"""A week of travelers' writes, generated once and applied identically to two databases.

Each step's mutations are dated inside the step (created_at/updated_at between the previous
step and this one, as the app would stamp them at that moment): inserts of fill-ups, expenses,
calendar events and planned trips (many of them far away, soon, or large, so the detectors
fire and time boundaries are crossed), updates of expenses, trips and events, and deletes.

Also the shared setup of the equivalence tests: a seeded database and its copy
(:func:`seeded_pair`), and a full sweep served by its own process (:class:`FullSweepProcess`)
so that the full side and the incremental side of a step use both cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import multiprocessing
import random
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any
from uuid import UUID

import psycopg

from conftest import create_database
from pam_proactive.config import Settings
from pam_proactive.db.embedded import database_uri
from pam_proactive.demo import seed_demo_data
from pam_proactive.engine import open_engine
from pam_proactive.jobs.pipeline.sweeps import sweep
from pam_proactive.jobs.scheduling.runs import MAX_ID, NIL

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


# The holder is named by its dedup key: ids differ between the two databases.
STORED = b"""
SELECT s.user_id::text, s.dedup_key, s.priority, s.status, h.dedup_key AS held_by, count(*)
FROM pam_proactive.suggestions AS s
LEFT JOIN pam_proactive.suggestions AS h ON h.id = s.held_by
GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
"""


def stored(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    """Every stored suggestion as (user, dedup_key, priority, status, dedup key of the
    suggestion holding it back or None, rows)."""
    return list(conn.execute(STORED).fetchall())


async def seeded_pair(pg_server: str, travelers: int, seed: int, now: datetime
                      ) -> tuple[str, str]:
    """URIs of a fresh database seeded with ``travelers`` demo travelers at ``now`` and of
    its copy (CREATE DATABASE ... TEMPLATE: identical rows, engine state included)."""
    uri_a = await create_database(pg_server, "seed")
    async with await psycopg.AsyncConnection.connect(uri_a) as conn:
        await seed_demo_data(conn, users=travelers, seed=seed, now=now,
                             engine_schema="pam_proactive")
    name_a = psycopg.conninfo.conninfo_to_dict(uri_a)["dbname"]
    name_b = f"{name_a}_copy"
    with psycopg.connect(pg_server, autocommit=True) as server:
        server.execute(f'CREATE DATABASE "{name_b}" TEMPLATE "{name_a}"'.encode())
    return uri_a, database_uri(pg_server, name_b)


def _full_sweep_worker(uri: str, settings: Settings, user_range: tuple[UUID, UUID],
                       conn: Connection) -> None:
    asyncio.run(_serve_full_sweeps(uri, settings, user_range, conn))


async def _serve_full_sweeps(uri: str, settings: Settings, user_range: tuple[UUID, UUID],
                             conn: Connection) -> None:
    async with open_engine(settings, conninfo=uri) as engine:
        conn.send(("ready", 0))
        # One request at a time: nothing else runs on this loop while it waits for `now`.
        while (now := conn.recv()) is not None:
            cpu = time.process_time()
            try:
                report = await sweep(engine, now, user_range=user_range)
            except Exception:  # handed to the test, which fails with it
                conn.send(("error", traceback.format_exc()))
            else:
                conn.send(("ok", (report.users, time.process_time() - cpu)))


def id_ranges(users: list[UUID], parts: int) -> list[tuple[UUID, UUID]]:
    """``parts`` contiguous ranges (lo, hi] of user ids, each holding an equal share of
    ``users`` (sorted), together covering every id: as a scheduled job cuts its sweep into
    ranges for workers (``jobs.scheduling.runs.plan_ranges``)."""
    cuts = [users[len(users) * i // parts - 1] for i in range(1, parts)]
    bounds = [NIL, *cuts, MAX_ID]
    return list(itertools.pairwise(bounds))


class FullSweepProcess:
    """A full sweep (``jobs.pipeline.sweeps.sweep`` of every active traveler of
    ``user_range``, storing and delivering) of the database at ``uri``, run on request by a
    worker process with its own engine.

    ``start(now)`` asks for one; ``await users()`` waits for it and returns how many
    travelers it evaluated; ``cpu_seconds`` adds up the worker's CPU time in the sweeps (its
    share of a step, whatever else the machine runs). Use it as a context manager: the
    worker is stopped on exit."""

    def __init__(self, uri: str, settings: Settings, user_range: tuple[UUID, UUID]) -> None:
        ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited loop
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_full_sweep_worker,
                                    args=(uri, settings, user_range, child),
                                    daemon=True, name="full-sweep")
        self._process.start()
        child.close()
        self.cpu_seconds = 0.0
        self._reply()  # its engine is open

    def _reply(self) -> int:
        if not self._conn.poll(120):
            raise TimeoutError("the full-sweep worker did not answer within 120 s")
        status, value = self._conn.recv()
        if status == "error":
            raise AssertionError(f"the full sweep failed in its worker:\n{value}")
        if status == "ready":
            return 0
        users, cpu = value
        self.cpu_seconds += cpu
        return int(users)

    def start(self, now: datetime) -> None:
        """Ask the worker for a full sweep as of ``now``."""
        self._conn.send(now)

    async def users(self) -> int:
        """Travelers evaluated by the sweep last started (waits for it to finish)."""
        return await asyncio.to_thread(self._reply)

    def __enter__(self) -> FullSweepProcess:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        with contextlib.suppress(OSError):  # the worker may already be gone
            self._conn.send(None)
        self._process.join(30)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._conn.close()


class FullSweeps:
    """A full sweep split by user id range between ``workers`` :class:`FullSweepProcess`
    workers, as Celery workers share a scheduled sweep: together they evaluate every active
    traveler of ``users`` (sorted ids) once per ``start(now)``."""

    def __init__(self, uri: str, settings: Settings, users: list[UUID], workers: int) -> None:
        self._stack = contextlib.ExitStack()
        self._workers = [self._stack.enter_context(FullSweepProcess(uri, settings, part))
                         for part in id_ranges(users, workers)]

    @property
    def cpu_seconds(self) -> float:
        """CPU seconds of all the workers in their sweeps."""
        return sum(w.cpu_seconds for w in self._workers)

    def start(self, now: datetime) -> None:
        """Ask every worker for its share of a full sweep as of ``now``."""
        for worker in self._workers:
            worker.start(now)

    async def users(self) -> int:
        """Travelers evaluated by the sweep last started, once every share is done."""
        return sum([await worker.users() for worker in self._workers])

    def __enter__(self) -> FullSweeps:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stack.close()
