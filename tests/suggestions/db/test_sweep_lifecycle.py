"""The suggestion lifecycle through the real sweep on planted users, on both presets.

No duplicate on a re-run, one escalation when a condition worsens, resolution when it goes
away, the cooldown after a dismissal, and a dry run that writes nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from conftest import PRESETS, MakeDatabase, settings_for
from pam_proactive.engine import Engine, open_engine
from pam_proactive.jobs.pipeline.evaluate import Evaluation, SweepReport, SweptSuggestion
from pam_proactive.jobs.pipeline.selection import Given
from pam_proactive.jobs.pipeline.sweeps import sweep
from pam_proactive.suggestions.store import dismiss, list_suggestions
from planting import Planter

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)  # 11:00 in Denver
NEXT_DAY = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)
SCHEMA = "pam_proactive"


@dataclass
class Env:
    preset: str
    uri: str
    engine: Engine

    def planter(self) -> Planter:
        return Planter(self.uri, self.preset)

    async def run(self, now: datetime, *users: UUID, dry_run: bool = False
                  ) -> tuple[SweepReport, list[SweptSuggestion]]:
        run = Evaluation(self.engine, now, Given(list(users)), dry_run=dry_run)
        found = await run.collect()
        return run.report, found

    async def rows(self, user: UUID) -> list[tuple[Any, ...]]:
        """(id, type, priority, status, updated_at, data) of the user's stored suggestions."""
        records = await list_suggestions(self.engine.db, SCHEMA, user_id=user)
        return sorted((r.id, r.type, r.priority.label, r.status, r.updated_at, r.data)
                      for r in records)

    async def outbox(self, user: UUID) -> list[tuple[str, str]]:
        """(event, priority) of the user's notifications, oldest first."""
        rows = await self.engine.db.fetch(
            "test.outbox",
            "SELECT event, priority FROM pam_proactive.outbox WHERE user_id = %s ORDER BY id",
            (user,))
        return [(e, p) for e, p in rows]

    async def count(self, table: str) -> int:
        rows = await self.engine.db.fetch("test.count",
                                          f"SELECT count(*) FROM pam_proactive.{table}")
        return int(rows[0][0])


@pytest.fixture(scope="module", params=PRESETS)
async def env(request: pytest.FixtureRequest, make_database: MakeDatabase
              ) -> AsyncIterator[Env]:
    preset: str = request.param
    uri = await make_database(preset)
    async with open_engine(settings_for(preset), conninfo=uri) as engine:
        yield Env(preset, uri, engine)


def budget_user(p: Planter, spent: float = 850) -> tuple[UUID, str]:
    """A 1,000 monthly food budget with ``spent`` on Nov 3: 85 % = budget_threshold (low)."""
    uid = p.user()
    budget_id = p.budget(uid, "food", 1000)
    p.expense(uid, spent, "food", date(2026, 11, 3))
    return uid, budget_id


async def test_same_now_twice_stores_nothing_new(env: Env) -> None:
    with env.planter() as p:
        uid, budget_id = budget_user(p)
    first, found = await env.run(NOW, uid)
    assert [(s.candidate.type, s.candidate.dedup_key, s.status) for s in found] == [
        ("budget_threshold", f"budget:{budget_id}:2026-11-01", "open")]
    assert first.lifecycle == {"created": 1, "notified": 1}
    assert first.delivery is not None and first.delivery.delivered == 1
    rows_before, outbox_before = await env.rows(uid), await env.outbox(uid)
    assert [r[1:4] for r in rows_before] == [("budget_threshold", "low", "delivered")]
    assert outbox_before == [("created", "low")]

    second, found = await env.run(NOW, uid)
    assert second.by_type == {"budget_threshold": 1}  # still found...
    assert not second.lifecycle  # ...but nothing created, updated or notified
    assert [s.status for s in found] == ["delivered"]
    assert await env.rows(uid) == rows_before
    assert await env.outbox(uid) == outbox_before


async def test_a_worsening_condition_escalates_once(env: Env) -> None:
    with env.planter() as p:
        budget, _ = budget_user(p)
        departing = p.user()
        p.trip(departing, "Denver, CO", "Moab, UT", date(2026, 11, 27), date(2026, 11, 28), 350)
    _, found = await env.run(NOW, budget, departing)
    assert sorted((s.candidate.type, s.candidate.priority.label) for s in found) == [
        ("budget_threshold", "low"), ("departure_reminder", "medium")]  # leaves in 37 h
    ids = {u: [r[0] for r in await env.rows(u)] for u in (budget, departing)}

    # A day later: 200 more spent (1,050 of 1,000), and the trip leaves in 13 h.
    with env.planter() as p:
        p.expense(budget, 200, "food", date(2026, 11, 26),
                  created_at=datetime(2026, 11, 26, 15, tzinfo=UTC))
    report, found = await env.run(NEXT_DAY, budget, departing)
    assert sorted((s.candidate.type, s.candidate.priority.label) for s in found) == [
        ("budget_exceeded", "high"), ("departure_reminder", "high")]
    assert report.lifecycle == {"updated": 2, "escalated": 2, "notified": 2}
    for uid, kind in ((budget, "budget_exceeded"), (departing, "departure_reminder")):
        rows = await env.rows(uid)
        assert [r[0] for r in rows] == ids[uid]  # the same suggestion, updated in place
        assert [r[1:3] for r in rows] == [(kind, "high")]
    assert await env.outbox(budget) == [("created", "low"), ("escalated", "high")]
    assert await env.outbox(departing) == [("created", "medium"), ("escalated", "high")]

    # An hour later it is still as bad: no second escalation, no new notification.
    report, _ = await env.run(NEXT_DAY + timedelta(hours=1), budget, departing)
    assert "escalated" not in report.lifecycle and "notified" not in report.lifecycle
    assert "created" not in report.lifecycle
    assert len(await env.outbox(budget)) == 2 and len(await env.outbox(departing)) == 2


async def test_a_condition_that_disappears_is_resolved(env: Env) -> None:
    with env.planter() as p:
        budget, budget_id = budget_user(p)
        fuel = p.user()
        p.vehicle(fuel, tank_gallons=50, odometer_miles=10_700)
        p.fill(fuel, date(2026, 11, 1), 30, 10_000)
        p.fill(fuel, date(2026, 11, 10), 30, 10_300)  # 10 mpg; 400 miles since: 20 % left
    _, found = await env.run(NOW, budget, fuel)
    assert sorted((s.candidate.type, s.candidate.priority.label) for s in found) == [
        ("budget_threshold", "low"), ("fuel_low", "medium")]

    # The traveler fills up, and raises the budget to 2,000 (850 = 42.5 %).
    with env.planter() as p:
        p.fill(fuel, date(2026, 11, 26), 40, 10_700,
               created_at=datetime(2026, 11, 26, 15, tzinfo=UTC))
        column = "monthly_limit" if env.preset == "wheels-wins-live" else "amount"
        p.conn.execute(f"UPDATE budgets SET {column} = 2000 WHERE id::text = %s".encode(),
                       (budget_id,))
    report, found = await env.run(NEXT_DAY, budget, fuel)
    assert found == []
    assert report.lifecycle == {"resolved": 2}
    for uid in (budget, fuel):
        assert [r[3] for r in await env.rows(uid)] == ["resolved"]
        assert len(await env.outbox(uid)) == 1  # nothing notified about the resolution


async def test_a_dismissed_suggestion_is_not_recreated_within_the_cooldown(env: Env) -> None:
    with env.planter() as p:
        uid = p.user()
        p.vehicle(uid, registration_expires=date(2026, 12, 15))  # 20 days ahead
    _, found = await env.run(NOW, uid)
    assert [(s.candidate.type, s.candidate.priority.label) for s in found] == [
        ("document_expiring", "medium")]
    (row,) = await env.rows(uid)
    assert await dismiss(env.engine.db, SCHEMA, row[0], NOW + timedelta(hours=1)) is True

    report, found = await env.run(NEXT_DAY, uid)
    assert [s.status for s in found] == ["dismissed"]  # still detected, not shown again
    assert report.lifecycle == {"suppressed_cooldown": 1}
    assert [(r[0], r[3]) for r in await env.rows(uid)] == [(row[0], "dismissed")]
    assert await env.outbox(uid) == [("created", "medium")]

    # The cooldown (7 days) is over on Dec 3: the registration (now 12 days away) is back.
    report, found = await env.run(datetime(2026, 12, 3, 18, tzinfo=UTC), uid)
    assert report.lifecycle == {"created": 1, "notified": 1}
    assert sorted(r[3] for r in await env.rows(uid)) == ["delivered", "dismissed"]


async def test_dry_run_writes_nothing(env: Env) -> None:
    with env.planter() as p:
        uid, _ = budget_user(p, spent=1200)
    suggestions, outbox = await env.count("suggestions"), await env.count("outbox")
    report, found = await env.run(NOW, uid, dry_run=True)
    assert [(s.candidate.type, s.status) for s in found] == [("budget_exceeded", "candidate")]
    assert report.by_priority == {"high": 1}
    assert not report.lifecycle and report.delivery is None
    assert await env.rows(uid) == []
    assert (await env.count("suggestions"), await env.count("outbox")) == (suggestions, outbox)


async def test_a_sweep_of_some_types_leaves_the_others_live(env: Env) -> None:
    with env.planter() as p:
        uid, _ = budget_user(p, spent=1200)
        p.vehicle(uid, registration_expires=date(2026, 12, 15))
    await env.run(NOW, uid)
    assert sorted((r[1], r[3]) for r in await env.rows(uid)) == [
        ("budget_exceeded", "delivered"), ("document_expiring", "delivered")]
    # A job of the vehicle detectors only: it finds the registration, and must not read the
    # budget's absence from its own results as "resolved".
    run = Evaluation(env.engine, NEXT_DAY, Given([uid]),
                     types={"document_expiring", "maintenance_overdue"})
    found = await run.collect()
    report = run.report
    assert [s.candidate.type for s in found] == ["document_expiring"]
    assert "resolved" not in report.lifecycle
    assert sorted((r[1], r[3]) for r in await env.rows(uid)) == [
        ("budget_exceeded", "delivered"), ("document_expiring", "delivered")]
    # A job whose types found nothing resolves only its own.
    report = await sweep(env.engine, NEXT_DAY, user_ids=[uid], types={"fuel_low"})
    assert "resolved" not in report.lifecycle
