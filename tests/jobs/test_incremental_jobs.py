"""The traveler jobs are incremental per job, on the real database: a run evaluates only the
travelers who changed or are due in the job's own scope, everyone once its full-sweep interval
has elapsed, and records how many and why."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner, Result

from conftest import MakeDatabase, settings_for
from pam_proactive.cli.main import app
from pam_proactive.engine import Engine, open_engine
from pam_proactive.jobs.scheduling import runs
from pam_proactive.jobs.scheduling.execute import run_job
from pam_proactive.jobs.scheduling.schedule import job_named
from planting import Planter, plant_budget_groups

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)  # 11:00 in the planted travelers' Denver
MONITOR = job_named("monitor_user_context")
PREDICTIVE = job_named("generate_predictive_recommendations")
PATTERNS = job_named("analyze_user_patterns")


@pytest.fixture
async def planted(make_database: MakeDatabase) -> AsyncIterator[tuple[str, Engine, list[Any]]]:
    uri = await make_database("seed")
    users = plant_budget_groups(uri, NOW.date())
    settings = settings_for("seed", job_range_size=2, full_sweep_hours=1.0)
    async with open_engine(settings, conninfo=uri) as engine:
        yield uri, engine, users


def live(uri: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(uri) as conn:
        return conn.execute(
            "SELECT user_id::text, type, dedup_key FROM pam_proactive.suggestions"
            " WHERE status IN ('open', 'delivered') ORDER BY user_id, dedup_key").fetchall()


async def invoke(*args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


def evaluated(run: runs.RunRecord) -> dict[str, int]:
    assert run.evaluated is not None, run.detail
    return run.evaluated


async def test_consecutive_slots_evaluate_only_what_changed_then_everyone(
        planted: tuple[str, Engine, list[Any]]) -> None:
    uri, engine, users = planted
    first = await run_job(engine, MONITOR, NOW)
    assert first.status == "ok" and first.run.ranges == 4
    assert evaluated(first.run) == {"changed": 0, "due": 0, "full": 7}
    assert first.run.users == 7 and first.run.created == 5
    stored = live(uri)

    quiet = await run_job(engine, MONITOR, NOW + timedelta(minutes=15))
    assert quiet.status == "ok"
    assert evaluated(quiet.run) == {"changed": 0, "due": 0, "full": 0}
    assert quiet.run.users == 0 and live(uri) == stored

    # One new expense of user 6, stamped inside the next slot: that traveler only.
    with Planter(uri, "seed") as p:
        p.budget(users[6], "food", 50)
        p.expense(users[6], 90, "food", NOW.date(), created_at=NOW + timedelta(minutes=20))
    changed = await run_job(engine, MONITOR, NOW + timedelta(minutes=30))
    assert evaluated(changed.run) == {"changed": 1, "due": 0, "full": 0}
    assert changed.run.users == 1 and changed.run.created == 1 and changed.run.resolved == 0
    ranges = await runs.run_ranges(engine, changed.run.id)
    assert sum(r["users"] for r in ranges) == 1
    assert {u for u, t, _ in live(uri)} == {str(u) for u in users[:5]} | {str(users[6])}

    quiet_again = await run_job(engine, MONITOR, NOW + timedelta(minutes=45))
    assert evaluated(quiet_again.run) == {"changed": 0, "due": 0, "full": 0}

    # PAM_FULL_SWEEP_HOURS (1 h here) after the last full pass: everyone, whatever changed.
    full = await run_job(engine, MONITOR, NOW + timedelta(hours=1))
    assert evaluated(full.run) == {"changed": 0, "due": 0, "full": 7}
    assert full.run.detail["full_pass"] == 4  # each of the 4 ranges was a full pass
    assert full.run.created == 0 and full.run.resolved == 0


async def test_each_job_keeps_its_own_scope(planted: tuple[str, Engine, list[Any]]) -> None:
    uri, engine, _ = planted
    assert evaluated((await run_job(engine, MONITOR, NOW)).run)["full"] == 7
    # The predictive job has never run: its own first run is a full pass.
    predictive = await run_job(engine, PREDICTIVE, NOW + timedelta(minutes=30))
    assert evaluated(predictive.run) == {"changed": 0, "due": 0, "full": 7}
    with psycopg.connect(uri) as conn:
        scopes: dict[str, int] = dict(conn.execute(
            "SELECT scope, count(*) FROM pam_proactive.evaluation_state GROUP BY scope"
        ).fetchall())
        reasons = {r for (r,) in conn.execute(
            "SELECT DISTINCT recheck_reason FROM pam_proactive.evaluation_state"
            " WHERE scope = %s", (PREDICTIVE.name,)).fetchall()}
    assert scopes == {MONITOR.name: 7, PREDICTIVE.name: 7}
    # The predictive scope's recheck comes from its own detectors (or the daily recheck),
    # never from one of the monitor's (fuel, departures, documents).
    assert reasons <= {"budget", "maintenance", "event_travel_planning", "daily",
                       "expiry_refresh"}, reasons


async def test_monitor_never_resolves_a_budget_threshold_incrementally(
        planted: tuple[str, Engine, list[Any]]) -> None:
    uri, engine, users = planted
    await run_job(engine, PREDICTIVE, NOW)
    await run_job(engine, MONITOR, NOW)
    threshold = [row for row in live(uri) if row[1] == "budget_threshold"]
    assert [row[0] for row in threshold] == [str(users[5])]
    # The threshold's traveler changes: the monitor evaluates them, and leaves the
    # predictive job's suggestion alone (changed path, then a full pass).
    with Planter(uri, "seed") as p:
        p.expense(users[5], 3, "food", NOW.date(), created_at=NOW + timedelta(minutes=5))
    changed = await run_job(engine, MONITOR, NOW + timedelta(minutes=15))
    assert evaluated(changed.run)["changed"] == 1 and changed.run.resolved == 0
    full = await run_job(engine, MONITOR, NOW + timedelta(hours=1))
    assert evaluated(full.run)["full"] == 7 and full.run.resolved == 0
    assert [row for row in live(uri) if row[1] == "budget_threshold"] == threshold


async def test_patterns_store_insights_only_for_the_travelers_evaluated(
        planted: tuple[str, Engine, list[Any]]) -> None:
    uri, engine, users = planted
    first = await run_job(engine, PATTERNS, NOW)
    assert evaluated(first.run)["full"] == 7 and first.run.detail["insights"] > 0
    with Planter(uri, "seed") as p:
        p.expense(users[2], 40, "food", NOW.date(), created_at=NOW + timedelta(minutes=30))
    second = await run_job(engine, PATTERNS, NOW + timedelta(minutes=45),
                           slot=NOW + timedelta(minutes=45))
    assert evaluated(second.run) == {"changed": 1, "due": 0, "full": 0}
    with psycopg.connect(uri) as conn:
        recomputed = {u for (u,) in conn.execute(
            "SELECT DISTINCT user_id FROM pam_proactive.insights WHERE computed_for = %s",
            (NOW + timedelta(minutes=45),)).fetchall()}
    assert recomputed == {users[2]} and second.run.detail["insights"] > 0


async def test_job_json_and_runs_show_the_reasons(planted: tuple[str, Engine, list[Any]],
                                                  ) -> None:
    uri, _, _ = planted
    common = ["--database-url", uri, "--preset", "seed"]
    out = await invoke("job", MONITOR.name, "--now", NOW.isoformat(), "--format", "json",
                       *common)
    assert out.exit_code == 0, out.output
    record = json.loads(out.stdout)
    assert record["evaluated"] == {"changed": 0, "due": 0, "full": 7}
    assert record["detail"]["evaluated_full"] == 7
    listed = await invoke("runs", "--job", MONITOR.name, *common)
    assert listed.exit_code == 0, listed.output
    assert "0/0/7" in listed.stdout
