"""Insights on the real database, both presets: each kind checked against hand-computed values
on planted rows, and storing the same period again replaces the row instead of adding one.

``NOW`` is Wednesday 2026-11-25 18:00 UTC = 11:00 in Denver: today is Nov 25, so the spending
trend compares Nov 1-25 with Oct, Sep and Aug 1-25; the travel window is Aug 28 - Nov 25.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import psycopg
import pytest

from conftest import PRESETS, MakeDatabase, settings_for
from pam_proactive.analysis.insights import FUEL_ECONOMY_TREND, SPENDING_TREND, TRAVEL_PATTERN
from pam_proactive.engine import Engine, open_engine
from pam_proactive.reports.insights import get_insights, store_insights
from planting import Planter

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


def plant(p: Planter) -> dict[str, UUID]:
    busy, quiet, opted = p.user(), p.user(), p.user(opted_out=True)
    for amount, category, day in [
        (100.0, "food", date(2026, 11, 3)), (50.0, "food", date(2026, 11, 20)),
        (80.0, "fuel", date(2026, 11, 12)),
        (60.0, "food", date(2026, 10, 5)), (40.0, "food", date(2026, 10, 25)),
        (999.0, "food", date(2026, 10, 26)),  # day 26: after the span
        (90.0, "food", date(2026, 9, 10)), (120.0, "fuel", date(2026, 9, 1)),
        (30.0, "food", date(2026, 8, 25)),  # before the anomaly's 97 days: scanned anyway
        (500.0, "food", date(2026, 7, 31)),  # month -4
        (7.0, "food", date(2026, 11, 28)),  # after today: not spent yet
    ]:
        p.expense(busy, amount, category, day)
    p.trip(busy, "Denver", "Moab", date(2026, 7, 1), date(2026, 7, 3), 350,
           status="completed")  # before the window
    p.trip(busy, "Moab", "Bend", date(2026, 9, 1), date(2026, 9, 5), 300, status="completed")
    p.trip(busy, "Bend", "Boise", date(2026, 10, 10), date(2026, 10, 12), 150,
           status="completed")
    p.trip(busy, "Boise", "Reno", date(2026, 10, 20), date(2026, 10, 21), 500,
           status="cancelled")
    p.trip(busy, "Reno", "Quartzsite", date(2026, 11, 20), date(2026, 11, 27), 400,
           status="active")  # 5 of 8 days behind: 250 miles
    p.trip(busy, "Quartzsite", "Yuma", date(2026, 12, 10), date(2026, 12, 12), 90)
    odo = 30_000.0
    first = date(2026, 8, 10)
    p.fill(busy, first, 30, odo)
    for n in range(1, 10):  # 6 intervals at 10 mpg, then 3 at 8 mpg
        odo += 30 * (10.0 if n <= 6 else 8.0)
        p.fill(busy, first + timedelta(days=10 * n), 30, odo)
    p.expense(quiet, 25.0, "food", date(2026, 11, 2))  # spending only, no prior months
    p.expense(opted, 25.0, "food", date(2026, 11, 2))
    return {"busy": busy, "quiet": quiet, "opted": opted}


@dataclass
class World:
    uri: str
    engine: Engine
    users: dict[str, UUID]


@pytest.fixture(params=PRESETS)
async def world(request: pytest.FixtureRequest, make_database: MakeDatabase
                ) -> AsyncIterator[World]:
    preset: str = request.param
    uri = await make_database(preset)
    with Planter(uri, preset) as p:
        users = plant(p)
    async with open_engine(settings_for(preset), conninfo=uri) as engine:
        yield World(uri, engine, users)


async def store(w: World, now: datetime) -> int:
    contexts = await w.engine.data.get_contexts(list(w.users.values()), now, use_cache=False)
    return await store_insights(w.engine, contexts, now)


async def test_each_insight_by_hand(world: World) -> None:
    assert await store(world, NOW) == 3 + 1  # busy: all three kinds; quiet: spending only
    stored = {i.kind: i for i in await get_insights(world.engine, world.users["busy"])}
    assert set(stored) == {SPENDING_TREND, TRAVEL_PATTERN, FUEL_ECONOMY_TREND}

    spending = stored[SPENDING_TREND]
    assert (spending.period_start, spending.period_end) == (date(2026, 11, 1),
                                                            date(2026, 11, 25))
    assert spending.computed_for == NOW
    assert spending.values == {
        "day_of_month": 25,
        "total": {"month_to_date": 230.0, "prior_months": [100.0, 210.0, 30.0],
                  "prior_average": 113.33, "change_pct": 102.9},
        "categories": {
            "food": {"month_to_date": 150.0, "prior_months": [100.0, 90.0, 30.0],
                     "prior_average": 73.33, "change_pct": 104.5},
            "fuel": {"month_to_date": 80.0, "prior_months": [0.0, 120.0, 0.0],
                     "prior_average": 40.0, "change_pct": 100.0},
        },
    }

    travel = stored[TRAVEL_PATTERN]
    assert (travel.period_start, travel.period_end) == (date(2026, 8, 28), date(2026, 11, 25))
    assert travel.values == {"window_days": 90, "trips": 3, "trips_without_distance": 0,
                             "miles": 700.0, "typical_leg_miles": 300.0,
                             "days_on_road": 5 + 3 + 6}

    economy = stored[FUEL_ECONOMY_TREND]
    assert (economy.period_start, economy.period_end) == (date(2026, 8, 10), date(2026, 11, 8))
    assert economy.values == {"recent_mpg": 8.0, "recent_intervals": 3, "baseline_mpg": 10.0,
                              "baseline_intervals": 6, "change_pct": -20.0}

    [quiet] = await get_insights(world.engine, world.users["quiet"])
    assert quiet.values["total"] == {"month_to_date": 25.0, "prior_months": [0.0, 0.0, 0.0],
                                     "prior_average": 0.0}
    assert await get_insights(world.engine, world.users["opted"]) == []


async def test_recomputing_a_period_replaces_it(world: World) -> None:
    await store(world, NOW)
    later = NOW + timedelta(hours=2)
    assert await store(world, later) == 4
    rows = await get_insights(world.engine, world.users["busy"])
    assert len(rows) == 3 and {r.computed_for for r in rows} == {later}

    # replaying an earlier moment of the same periods leaves the newer figures
    assert await store(world, NOW + timedelta(hours=1)) == 0
    assert {r.computed_for for r in await get_insights(world.engine, world.users["busy"])} == {
        later}

    # the next day: the month's trend is replaced again, the 90-day window is a new period
    tomorrow = NOW + timedelta(days=1)
    await store(world, tomorrow)
    rows = await get_insights(world.engine, world.users["busy"], kind=TRAVEL_PATTERN)
    assert [r.period_start for r in rows] == [date(2026, 8, 29), date(2026, 8, 28)]
    async with await psycopg.AsyncConnection.connect(world.uri) as conn:
        cur = await conn.execute("SELECT kind, count(*) FROM pam_proactive.insights"
                                 " WHERE user_id = %s GROUP BY kind ORDER BY kind",
                                 (world.users["busy"],))
        assert await cur.fetchall() == [(FUEL_ECONOMY_TREND, 1), (SPENDING_TREND, 1),
                                        (TRAVEL_PATTERN, 2)]
