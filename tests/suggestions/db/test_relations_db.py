"""One cause, one notification, through the real data layer, detectors and store, on both
presets: a departure reminder carrying the fuel or service advice holds back the standalone
suggestion (stored, listed as part of it, not notified), which is notified once when the
reminder resolves and the condition remains."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest

from conftest import PRESETS, MakeDatabase, settings_for
from pam_proactive.engine import Engine, open_engine
from pam_proactive.jobs.pipeline.evaluate import SweepReport
from pam_proactive.jobs.pipeline.sweeps import sweep
from pam_proactive.jobs.scheduling.schedule import MONITOR_TYPES
from pam_proactive.suggestions.store import list_suggestions
from planting import Planter

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)  # 11:00 in Denver; the trip leaves tomorrow
SCHEMA = "pam_proactive"


@dataclass
class Env:
    preset: str
    uri: str
    engine: Engine

    def planter(self) -> Planter:
        return Planter(self.uri, self.preset)

    def cancel_trip(self, trip_id: str) -> None:
        table = "user_trips" if self.preset == "wheels-wins-live" else "trips"
        with self.planter() as p:
            p.conn.execute(f"UPDATE {table} SET status = 'cancelled' WHERE id::text = %s".encode(),
                           (trip_id,))

    async def run(self, now: datetime, user: UUID, types: frozenset[str] | None = None
                  ) -> SweepReport:
        return await sweep(self.engine, now, user_ids=[user], types=types)

    async def live(self, user: UUID) -> dict[str, tuple[str, str | None]]:
        """type -> (priority, type of the suggestion holding it) of the user's live ones."""
        records = await list_suggestions(self.engine.db, SCHEMA, user_id=user,
                                         status=["open", "delivered"])
        kinds = {r.id: r.type for r in records}
        return {r.type: (r.priority.label, None if r.held_by is None else kinds[r.held_by])
                for r in records}

    async def outbox(self, user: UUID) -> list[tuple[str, str, str]]:
        """(type, event, priority) of the user's notifications, oldest first."""
        rows = await self.engine.db.fetch(
            "test.outbox",
            "SELECT s.type, o.event, o.priority FROM pam_proactive.outbox o"
            " JOIN pam_proactive.suggestions s ON s.id = o.suggestion_id"
            " WHERE o.user_id = %s AND o.cancelled_at IS NULL ORDER BY o.id", (user,))
        return [(t, e, p) for t, e, p in rows]


@pytest.fixture(scope="module", params=PRESETS)
async def env(request: pytest.FixtureRequest, make_database: MakeDatabase
              ) -> AsyncIterator[Env]:
    preset: str = request.param
    uri = await make_database(preset)
    async with open_engine(settings_for(preset), conninfo=uri) as engine:
        yield Env(preset, uri, engine)


async def test_trip_tomorrow_and_a_low_tank_notify_once(env: Env) -> None:
    with env.planter() as p:
        uid = p.user()
        # 50-gallon tank, 10 mpg; 400 miles since the last full fill: 10 gallons (20 %) left.
        p.vehicle(uid, tank_gallons=50, odometer_miles=10_700)
        p.fill(uid, date(2026, 11, 1), 30, 10_000)
        p.fill(uid, date(2026, 11, 10), 30, 10_300)
        trip = p.trip(uid, "Denver, CO", "Moab, UT", date(2026, 11, 26), date(2026, 11, 28), 300)
    first = await env.run(NOW, uid)
    assert first.lifecycle == {"created": 2, "notified": 1, "held_back": 1}
    assert await env.live(uid) == {"departure_reminder": ("high", None),
                                   "fuel_low": ("high", "departure_reminder")}
    assert await env.outbox(uid) == [("departure_reminder", "created", "high")]
    again = await env.run(NOW, uid)  # the same now: nothing new
    assert again.lifecycle == {}

    # The trip is cancelled; the tank is still low: fuel_low stands alone, notified once.
    env.cancel_trip(trip)
    later = NOW + timedelta(hours=1)
    released = await env.run(later, uid)
    assert released.lifecycle == {"updated": 1, "resolved": 1, "released": 1, "notified": 1}
    assert await env.live(uid) == {"fuel_low": ("medium", None)}
    assert (await env.outbox(uid))[1:] == [("fuel_low", "created", "medium")]
    assert (await env.run(later, uid)).lifecycle == {}


async def test_service_due_on_the_trip_is_part_of_the_reminder(env: Env) -> None:
    with env.planter() as p:
        uid = p.user()
        p.maintenance(uid, "oil_change", date(2026, 6, 1), 9_000,
                      next_due_date=date(2026, 11, 28))
        trip = p.trip(uid, "Denver, CO", "Moab, UT", date(2026, 11, 26), date(2026, 11, 29), 300)
    first = await env.run(NOW, uid)
    assert first.lifecycle == {"created": 2, "notified": 1, "held_back": 1}
    assert await env.live(uid) == {"departure_reminder": ("high", None),
                                   "maintenance_due_soon": ("medium", "departure_reminder")}
    assert await env.outbox(uid) == [("departure_reminder", "created", "high")]

    # The monitoring job (which never runs maintenance_due_soon) finds the trip gone: the
    # service reminder is released and notified by it, once.
    env.cancel_trip(trip)
    later = NOW + timedelta(hours=1)
    released = await env.run(later, uid, MONITOR_TYPES)
    assert released.lifecycle == {"resolved": 1, "released": 1, "notified": 1}
    assert await env.live(uid) == {"maintenance_due_soon": ("medium", None)}
    assert (await env.outbox(uid))[1:] == [("maintenance_due_soon", "created", "medium")]
    # A full sweep agrees: it only moves the reminder's expiry (a week from its `now`).
    assert (await env.run(later, uid)).lifecycle == {"updated": 1}
    assert len(await env.outbox(uid)) == 2


async def test_an_unusual_expense_that_exceeds_its_budget_is_one_notification(env: Env) -> None:
    with env.planter() as p:
        uid = p.user()
        p.budget(uid, "campground", 500)
        for day, amount in zip(range(5, 10), (40, 42, 38, 45, 41), strict=True):
            p.expense(uid, amount, "campground", date(2026, 10, day))
        p.expense(uid, 900, "campground", date(2026, 11, 22))  # 22x the usual, over budget
    first = await env.run(NOW, uid)
    assert first.lifecycle == {"created": 2, "notified": 1, "held_back": 1}
    assert await env.live(uid) == {"budget_exceeded": ("high", None),
                                   "spending_anomaly": ("low", "budget_exceeded")}
    assert await env.outbox(uid) == [("budget_exceeded", "created", "high")]
