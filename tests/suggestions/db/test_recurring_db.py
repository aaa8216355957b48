"""Recurring payments through the real data layer and detectors, on both presets: a monthly
fee on its schedule is no spending anomaly (one that breaks it is), and a budget forecast
counts scheduled payments on their dates instead of spreading them as daily pace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from uuid import UUID

import pytest

from conftest import PRESETS, MakeDatabase, settings_for
from pam_proactive.engine import Engine, open_engine
from pam_proactive.jobs.pipeline.evaluate import Evaluation
from pam_proactive.jobs.pipeline.selection import Given
from pam_proactive.suggestions.models import Candidate
from planting import Planter

LATE_NOV = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)  # 11:00 in Denver
EARLY_NOV = datetime(2026, 11, 8, 18, 0, tzinfo=UTC)


@dataclass
class Env:
    preset: str
    uri: str
    engine: Engine

    async def found(self, now: datetime, user: UUID) -> list[Candidate]:
        items = await Evaluation(self.engine, now, Given([user]), dry_run=True).collect()
        return [s.candidate for s in items]


@pytest.fixture(scope="module", params=PRESETS)
async def env(request: pytest.FixtureRequest, make_database: MakeDatabase
              ) -> AsyncIterator[Env]:
    preset: str = request.param
    uri = await make_database(preset)
    async with open_engine(settings_for(preset), conninfo=uri) as engine:
        yield Env(preset, uri, engine)


def site_fees(p: Planter, latest: float) -> UUID:
    """Campground nights of 38..45 in October, and the 800 site fee on Aug 20, Sep 20 and
    Oct 20, then ``latest`` on Nov 20: 800 is 18x the 43.50 median, far above the bar."""
    uid = p.user()
    for day, amount in zip(range(5, 10), (40, 42, 38, 45, 41), strict=True):
        p.expense(uid, amount, "campground", date(2026, 10, day))
    for month in (8, 9, 10):
        p.expense(uid, 800, "campground", date(2026, month, 20))
    p.expense(uid, latest, "campground", date(2026, 11, 20))
    return uid


async def test_a_fee_on_its_schedule_is_no_anomaly(env: Env) -> None:
    with Planter(env.uri, env.preset) as p:
        on_schedule, broken = site_fees(p, 800), site_fees(p, 2_000)
    assert [c.type for c in await env.found(LATE_NOV, on_schedule)] == []
    # 2,000 breaks the schedule (more than 5 % off): judged, and flagged, as any expense.
    [flagged] = await env.found(LATE_NOV, broken)
    assert (flagged.type, flagged.data["amount"]) == ("spending_anomaly", 2000.0)


async def test_a_premium_paid_early_in_the_month_is_not_pace(env: Env) -> None:
    with Planter(env.uri, env.preset) as p:
        uid = p.user()
        p.budget(uid, "insurance", 1000)
        for month in (8, 9, 10, 11):
            p.expense(uid, 600, "insurance", date(2026, month, 3))
    # Spread as pace, 600 in 8 days would project 2,250; it is the month's premium: 600.
    assert await env.found(EARLY_NOV, uid) == []


async def test_a_fee_still_due_is_counted_once(env: Env) -> None:
    with Planter(env.uri, env.preset) as p:
        uid = p.user()
        p.budget(uid, "campground", 1000)
        for month in (8, 9, 10):
            p.expense(uid, 700, "campground", date(2026, month, 20))
        for day in range(1, 9):
            p.expense(uid, 50, "campground", date(2026, 11, day))
    [forecast] = await env.found(EARLY_NOV, uid)
    assert forecast.type == "budget_forecast_overspend"
    # 400 in 8 days = 50 a day, for 22 days, plus the 700 fee due on Nov 20.
    data = forecast.data
    assert (data["spent"], data["typical_daily"], data["scheduled_due"]) == (400.0, 50.0, 700.0)
    assert data["projected"] == 2200.0
    assert "and $700 of regular payments still due" in forecast.message
