"""Job runs on the real database: once per slot, ranges with checkpoints, a failing range,
a job's subset of detectors, cleanup."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from conftest import MakeDatabase, settings_for
from pam_proactive.engine import Engine, open_engine
from pam_proactive.jobs.scheduling import runs
from pam_proactive.jobs.scheduling.execute import process_range, run_job
from pam_proactive.jobs.scheduling.runs import RangeCounts
from pam_proactive.jobs.scheduling.schedule import job_named
from pam_proactive.jobs.scheduling.work import RangeWork
from planting import plant_budget_groups

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
MONITOR = job_named("monitor_user_context")
PREDICTIVE = job_named("generate_predictive_recommendations")


def live(uri: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(uri) as conn:
        return conn.execute(
            "SELECT user_id, type, dedup_key FROM pam_proactive.suggestions"
            " WHERE status IN ('open', 'delivered') ORDER BY user_id, dedup_key").fetchall()


@pytest.fixture
async def planted(make_database: MakeDatabase) -> AsyncIterator[tuple[str, Engine, list[Any]]]:
    uri = await make_database("seed")
    users = plant_budget_groups(uri, NOW.date())
    async with open_engine(settings_for("seed", job_range_size=2), conninfo=uri) as engine:
        yield uri, engine, users


async def test_a_slot_runs_once_in_ranges(planted: tuple[str, Engine, list[Any]]) -> None:
    uri, engine, users = planted
    first = await run_job(engine, MONITOR, NOW)
    assert first.status == "ok" and first.run.slot == NOW and first.run.runner == "inprocess"
    assert first.run.users == len(users) and first.run.created == 5 and first.run.errors == 0
    assert first.run.ranges == 4  # 7 users, 2 per range, the last one open-ended
    ranges = await runs.run_ranges(engine, first.run.id)
    assert [r["status"] for r in ranges] == ["done"] * 4
    assert [r["attempts"] for r in ranges] == [1] * 4
    assert sum(r["users"] for r in ranges) == len(users)
    stored = live(uri)
    again = await run_job(engine, MONITOR, NOW + timedelta(minutes=14))  # same slot
    assert again.status == "duplicate" and again.run.id == first.run.id
    assert live(uri) == stored
    later = await run_job(engine, MONITOR, NOW + timedelta(minutes=15))
    assert later.status == "ok" and later.run.created == 0 and later.run.resolved == 0
    assert [r.id for r in await runs.recent_runs(engine, MONITOR.name)] == [
        later.run.id, first.run.id]
    assert {k: r.id for k, r in (await runs.last_finished_runs(engine)).items()} == {
        MONITOR.name: later.run.id}


async def test_a_jobs_subset_never_resolves_another_groups_suggestions(
        planted: tuple[str, Engine, list[Any]]) -> None:
    uri, engine, users = planted
    predictive = await run_job(engine, PREDICTIVE, NOW)
    assert predictive.status == "ok" and predictive.run.created == 1
    monitor = await run_job(engine, MONITOR, NOW)
    assert monitor.run.created == 5 and monitor.run.resolved == 0
    by_type = {t for _, t, _ in live(uri)}
    assert by_type == {"budget_exceeded", "budget_threshold"}
    # Each job again, later: neither resolves the other's suggestions.
    for job in (MONITOR, PREDICTIVE, MONITOR):
        outcome = await run_job(engine, job, NOW + timedelta(hours=5))
        assert outcome.run.resolved == 0, job.name
        assert len(live(uri)) == 6
    # The control: when the monitor's condition is gone, the monitor does resolve its own
    # (an update the change feed sees; a delete would wait for the job's full pass).
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("UPDATE public.expenses SET amount = 1, updated_at = %s WHERE user_id = %s",
                     (NOW + timedelta(hours=5, minutes=30), users[0]))
    outcome = await run_job(engine, MONITOR, NOW + timedelta(hours=6))
    assert outcome.run.resolved == 1
    assert {t for _, t, _ in live(uri)} == {"budget_exceeded", "budget_threshold"}


async def flaky(engine: Engine, work: RangeWork) -> RangeCounts:
    """A range function failing on its second range, as a range with broken data would."""
    if work.seq == 1:
        raise RuntimeError("broken range")
    return RangeCounts(users=1, created=1)


async def test_a_failing_range_is_recorded_and_the_run_goes_on(
        planted: tuple[str, Engine, list[Any]]) -> None:
    _, engine, _ = planted
    job = replace(MONITOR, name="flaky_test_job", target=f"{__name__}:flaky")
    outcome = await run_job(engine, job, NOW)
    assert outcome.status == "partial"
    assert outcome.run.ranges == 4 and outcome.run.ranges_failed == 1
    assert outcome.run.users == 3 and outcome.run.errors == 1
    ranges = await runs.run_ranges(engine, outcome.run.id)
    assert [r["status"] for r in ranges] == ["done", "failed", "done", "done"]
    assert ranges[1]["error"] == "RuntimeError"  # the type only: messages may quote data


async def test_a_crash_resumes_from_the_last_finished_range(
        planted: tuple[str, Engine, list[Any]]) -> None:
    uri, engine, users = planted
    started = await runs.start_run(engine, MONITOR, NOW, runner="inprocess")
    first = await runs.claim_range(engine, [started.run.id])
    assert first is not None
    await process_range(engine, first)
    # A runner claims the next range and dies holding it.
    lost = await runs.claim_range(engine, [started.run.id])
    assert lost is not None and lost.seq == 1
    # Its lease has not run out: nobody else takes it; the rest of the run goes on.
    outcome = await run_job(engine, MONITOR, NOW)
    assert outcome.status == "duplicate"
    while (claim := await runs.claim_range(engine, [started.run.id])) is not None:
        assert claim.seq != 1
        await process_range(engine, claim)
    assert (await runs.get_run(engine, started.run.id)).status == "running"  # type: ignore[union-attr]
    # Once the lease ran out, the range is taken over (second attempt) and the run finishes.
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("UPDATE pam_proactive.job_ranges SET claimed_at = claimed_at"
                     " - interval '1 hour' WHERE run_id = %s AND seq = 1", (started.run.id,))
    retaken = await runs.claim_range(engine, [started.run.id])
    assert retaken is not None and retaken.seq == 1 and retaken.attempts == 2
    assert not await runs.finish_range(engine, lost, "done", RangeCounts(users=99))
    final = await process_range(engine, retaken)
    assert final is not None and final.status == "ok"
    assert final.users == len(users) and final.created == 5
    assert len(live(uri)) == 5


async def test_a_dead_older_run_is_superseded_by_a_newer_slot(
        planted: tuple[str, Engine, list[Any]]) -> None:
    uri, engine, _ = planted
    old = await runs.start_run(engine, MONITOR, NOW, runner="inprocess")
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("UPDATE pam_proactive.job_runs SET touched_at = touched_at"
                     " - interval '1 hour' WHERE id = %s", (old.run.id,))
    newer = await run_job(engine, MONITOR, NOW + timedelta(minutes=15), scheduled=True)
    assert newer.status == "ok" and newer.run.created == 5
    closed = await runs.get_run(engine, old.run.id)
    assert closed is not None and closed.status == "partial"
    assert closed.ranges_skipped == 4 and closed.users == 0


async def test_a_scheduled_trigger_never_overlaps_a_live_run(
        planted: tuple[str, Engine, list[Any]]) -> None:
    _, engine, _ = planted
    live_run = await runs.start_run(engine, MONITOR, NOW, runner="inprocess")
    busy = await run_job(engine, MONITOR, NOW + timedelta(minutes=15), scheduled=True)
    assert busy.status == "busy" and busy.run.id == live_run.run.id


async def test_cleanup_expires_prunes_and_snapshots(
        planted: tuple[str, Engine, list[Any]]) -> None:
    uri, engine, _ = planted
    await run_job(engine, MONITOR, NOW)
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("UPDATE pam_proactive.suggestions SET expires_at = %s"
                     " WHERE dedup_key IN (SELECT dedup_key FROM pam_proactive.suggestions"
                     " ORDER BY dedup_key LIMIT 2)", (NOW + timedelta(hours=1),))
        conn.execute("UPDATE pam_proactive.outbox SET delivered_at = %s",
                     (NOW - timedelta(days=40),))
        old_run = conn.execute(
            "INSERT INTO pam_proactive.job_runs (job, slot, as_of, runner, status, finished_at)"
            " VALUES ('monitor_user_context', %s, %s, 'inprocess', 'ok', %s) RETURNING id",
            (NOW - timedelta(days=60),) * 3).fetchone()
    cleanup = job_named("cleanup_and_health_check")
    outcome = await run_job(engine, cleanup, NOW + timedelta(hours=8))
    assert outcome.status == "ok" and outcome.run.expired == 2
    assert outcome.run.detail["pruned_runs"] == 1
    assert outcome.run.detail["pruned_outbox"] == 5
    assert outcome.run.detail["live_suggestions"] == 3
    assert await runs.get_run(engine, old_run[0]) is None  # type: ignore[index]
    with psycopg.connect(uri) as conn:
        snap = conn.execute("SELECT database_ok, live_suggestions, pending_outbox, last_runs"
                            " FROM pam_proactive.health_snapshots").fetchall()
    assert len(snap) == 1 and snap[0][:3] == (True, 3, 0)
    assert snap[0][3]["monitor_user_context"]["status"] == "ok"
