"""The public entry point: build chunks (ahead, in a worker process) and COPY them in."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from pam_proactive.demo.encoding import (
    Clock,
)
from pam_proactive.demo.generate.events import (
    make_events,
)
from pam_proactive.demo.generate.spending import (
    make_budgets,
    make_expenses,
)
from pam_proactive.demo.generate.travelers import (
    make_trips,
    make_users,
)
from pam_proactive.demo.generate.vehicles import (
    make_fuel,
    make_maintenance,
)
from pam_proactive.demo.tables import (
    PREFERENCE_COLUMNS,
    budgets_text,
    events_text,
    expenses_text,
    fuel_text,
    maintenance_text,
    preferences_text,
    profiles_text,
    trips_text,
    vehicles_text,
)

CHUNK_USERS = 5_000
"""Users generated and committed together; part of the data's identity (changing it changes
the generated rows for a given seed)."""

# fmt: off
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "profiles": (
        "id", "email", "full_name", "nickname", "vehicle_type", "vehicle_make_model",
        "fuel_type", "towing", "region", "role", "status", "preferred_units", "created_at",
        "updated_at",
    ),
    "vehicles": (
        "id", "user_id", "name", "vehicle_type", "fuel_type", "fuel_capacity_gallons",
        "mileage_current", "registration_expires", "insurance_expires", "is_primary",
    ),
    "trips": (
        "id", "user_id", "origin", "destination", "start_date", "end_date", "distance_miles",
        "estimated_cost", "actual_cost", "status", "notes", "route_data", "created_at",
        "updated_at",
    ),
    "calendar_events": (
        "id", "user_id", "title", "description", "start_date", "end_date", "all_day",
        "event_type", "location_name", "reminder_minutes", "created_at", "updated_at",
    ),
    "fuel_log": (
        "id", "user_id", "date", "gallons", "cost", "location", "odometer", "mpg", "created_at",
    ),
    "maintenance_records": (
        "id", "user_id", "task", "date", "mileage", "cost", "location", "notes",
        "next_due_date", "next_due_mileage", "created_at", "updated_at",
    ),
    "expenses": (
        "id", "user_id", "amount", "category", "description", "date", "location",
        "receipt_url", "created_at", "updated_at",
    ),
    "budgets": (
        "id", "user_id", "category", "amount", "period", "start_date", "end_date",
        "created_at", "updated_at",
    ),
}
"""Tables in COPY order, with the columns written."""
# fmt: on


@dataclass(frozen=True, slots=True)
class SeedReport:
    """What ``seed_demo_data`` wrote: rows per table, planted anomalies, wall time."""

    users: int
    profiles: int
    vehicles: int
    trips: int
    calendar_events: int
    fuel_log: int
    maintenance_records: int
    expenses: int
    budgets: int
    seconds: float
    planted: dict[str, int] = field(default_factory=dict, hash=False, compare=False)
    preferences: int = 0  # rows of the engine's user_preferences (with ``engine_schema``)

    def rows(self) -> dict[str, int]:
        """Rows written per table, in COPY order."""
        return {table: int(getattr(self, table)) for table in TABLE_COLUMNS}

    @property
    def total_rows(self) -> int:
        """Rows written across all tables."""
        return sum(self.rows().values())



@dataclass(frozen=True, eq=False)
class _Chunk:
    """COPY text of one chunk of users, per table."""

    users: int
    blocks: dict[str, bytes]
    rows: Counter[str]
    planted: Counter[str]
    preferences: bytes  # rows of the engine's user_preferences (PREFERENCE_COLUMNS)



def _build_chunk(seed: int, index: int, first: int, n: int, clock: Clock) -> _Chunk:
    """Generate users [first, first + n): chunk `index` of `seed` (independent of other chunks)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(index,))))
    users = make_users(rng, clock, first, n)
    trips = make_trips(rng, clock, n)
    fuel = make_fuel(rng, clock, users, trips)
    service = make_maintenance(rng, clock, trips, fuel)
    events = make_events(rng, clock, trips)
    spent, planted = make_expenses(rng, clock, users, trips, fuel, service)
    budgets = make_budgets(rng, clock, n, spent, trips)

    vehicles, n_vehicles, no_tank = vehicles_text(rng, clock, users, fuel)
    trips_block, n_trips, route_planted = trips_text(rng, clock, users, trips)
    planted.update(route_planted)
    planted.update(
        fuel_odometer_backwards=fuel.backwards,
        fuel_odometer_jumps=fuel.jumps,
        users_without_vehicle=n - n_vehicles,
        vehicles_without_tank=no_tank,
    )
    blocks = {
        "profiles": profiles_text(rng, clock, seed, users, trips),
        "vehicles": vehicles,
        "trips": trips_block,
        "calendar_events": events_text(rng, clock, users, events),
        "fuel_log": fuel_text(rng, clock, users, fuel),
        "maintenance_records": maintenance_text(rng, clock, users, service),
        "expenses": expenses_text(rng, clock, users, spent),
        "budgets": budgets_text(rng, clock, users, budgets),
    }
    # Drawn last, so that every other table's rows are what they were without it.
    preferences, n_preferences = preferences_text(rng, users, trips)
    rows = Counter(
        profiles=n,
        vehicles=n_vehicles,
        trips=n_trips,
        calendar_events=len(events.owner),
        fuel_log=len(fuel.owner),
        maintenance_records=len(service.owner),
        expenses=len(spent.owner),
        budgets=len(budgets.owner),
    )
    rows["user_preferences"] = n_preferences
    return _Chunk(n, blocks, rows, planted, preferences)


async def _copy_chunk(conn: psycopg.AsyncConnection[Any], chunk: _Chunk,
                      engine_schema: str | None) -> None:
    """Write one chunk in its own transaction (a savepoint if one is already open); its
    preferences too when ``engine_schema`` is given."""
    async with conn.transaction():
        # Losing the last chunks of a crash is fine for demo data; waiting on fsync is not.
        await conn.execute("SET LOCAL synchronous_commit = off")
        async with conn.cursor() as cur:
            for table, block in chunk.blocks.items():
                if not block:
                    continue
                statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier("public", table),
                    sql.SQL(", ").join(map(sql.Identifier, TABLE_COLUMNS[table])),
                )
                async with cur.copy(statement) as copy:
                    await copy.write(block)
            if engine_schema is not None and chunk.preferences:
                statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(engine_schema, "user_preferences"),
                    sql.SQL(", ").join(map(sql.Identifier, PREFERENCE_COLUMNS)),
                )
                async with cur.copy(statement) as copy:
                    await copy.write(chunk.preferences)


async def seed_demo_data(
    conn: psycopg.AsyncConnection[Any],
    *,
    users: int,
    seed: int,
    now: datetime,
    progress: Callable[[int], None] | None = None,
    engine_schema: str | None = None,
) -> SeedReport:
    """Insert `users` demo travelers into the seed preset's tables, which must exist.

    With ``engine_schema`` (a migrated engine schema), their preferences (time zone, quiet
    hours, switched-off types, daily cap, opt-out) go into its ``user_preferences`` too:
    the seed schema itself has no time zone.

    The same `users`, `seed` (>= 0) and `now` always produce the same rows. Everything is
    dated relative to `now` (a naive datetime is taken as UTC): history before it, planned
    trips and calendar events after it, and every ``created_at`` at or before it. Each chunk
    of ``CHUNK_USERS`` users is committed in its own transaction; `progress` receives the
    number of users written so far after each one.

    With more than one chunk, chunks are built ahead in a spawned worker process, so a script
    calling this must guard its entry point with ``if __name__ == "__main__":``.
    """
    if users < 0 or seed < 0:
        raise ValueError("users and seed must be >= 0")
    started = time.perf_counter()
    clock = Clock.of(now)
    plan = [
        (i, first, min(CHUNK_USERS, users - first))
        for i, first in enumerate(range(0, users, CHUNK_USERS))
    ]
    rows: Counter[str] = Counter()
    planted: Counter[str] = Counter()
    written = 0

    # Chunk k+1 is built while chunk k is being copied. In a worker process, not a thread:
    # a thread holding the GIL starves the event loop that feeds COPY, and the server idles.
    loop = asyncio.get_running_loop()
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))

    def build(step: int) -> asyncio.Future[_Chunk]:
        if len(plan) == 1:  # not worth starting a process for
            return asyncio.ensure_future(asyncio.to_thread(_build_chunk, seed, *plan[0], clock))
        return loop.run_in_executor(pool, _build_chunk, seed, *plan[step], clock)

    pending = build(0) if plan else None
    try:
        for step in range(len(plan)):
            assert pending is not None
            chunk = await pending
            pending = build(step + 1) if step + 1 < len(plan) else None
            await _copy_chunk(conn, chunk, engine_schema)
            rows.update(chunk.rows)
            planted.update(chunk.planted)
            written += chunk.users
            if progress is not None:
                progress(written)
    finally:
        if pending is not None:
            pending.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
    return SeedReport(
        users=written,
        seconds=time.perf_counter() - started,
        planted=dict(planted),
        preferences=rows["user_preferences"] if engine_schema is not None else 0,
        **{table: rows[table] for table in TABLE_COLUMNS},
    )
