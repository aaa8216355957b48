"""The in-process runner: a due job runs once with two runners on one database, a missed
slot runs once at start-up, and `pam-proactive run` stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from conftest import MakeDatabase, settings_for
from pam_proactive.engine import open_engine
from pam_proactive.jobs.scheduling import runs
from pam_proactive.jobs.scheduling.runner import Runner
from pam_proactive.jobs.scheduling.schedule import job_named
from planting import Planter

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
JOBS = [job_named(n) for n in ("monitor_user_context", "generate_predictive_recommendations",
                               "cleanup_and_health_check")]


def plant(uri: str, users: int) -> None:
    with Planter(uri, "seed") as p:
        for i in range(users):
            u = p.user()
            p.budget(u, "food", 100)
            p.expense(u, 120 if i % 2 else 85, "food", NOW.date())


async def _runner_pass(uri: str, start: Any) -> int:
    settings = settings_for("seed", job_range_size=3)
    async with open_engine(settings, conninfo=uri) as engine:
        start.wait()
        return await Runner(engine, jobs=JOBS, clock=lambda: NOW).run_pending()


def _runner_process(uri: str, start: Any) -> int:
    return asyncio.run(_runner_pass(uri, start))


def rows(uri: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(uri) as conn:
        return conn.execute(query).fetchall()


async def test_two_runners_execute_a_due_job_once(make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    plant(uri, 20)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        start = manager.Barrier(2)
        with ctx.Pool(2) as pool:
            processed = pool.starmap(_runner_process, [(uri, start), (uri, start)])
    found = rows(uri, "SELECT job, slot, status, users, created, ranges"
                      " FROM pam_proactive.job_runs ORDER BY job")
    assert [(j, s, st) for j, s, st, *_ in found] == [
        ("cleanup_and_health_check", datetime(2026, 11, 25, 2, 0, tzinfo=UTC), "ok"),
        ("generate_predictive_recommendations", datetime(2026, 11, 25, 16, 30, tzinfo=UTC), "ok"),
        ("monitor_user_context", NOW, "ok")]
    by_job = {j: (u, c, r) for j, _, _, u, c, r in found}
    assert by_job["monitor_user_context"] == (20, 10, 7)
    assert by_job["generate_predictive_recommendations"][:2] == (20, 10)
    assert sum(processed) == 7 + 7 + 1  # every range processed once, by one of the two
    ranges = rows(uri, "SELECT status, attempts FROM pam_proactive.job_ranges")
    assert set(ranges) == {("done", 1)}
    dupes = rows(uri, "SELECT user_id, dedup_key FROM pam_proactive.suggestions"
                      " GROUP BY 1, 2 HAVING count(*) > 1")
    assert dupes == [] and rows(uri, "SELECT count(*) FROM pam_proactive.suggestions") == [(20,)]


async def test_a_missed_slot_runs_once_at_start_up(make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    plant(uri, 4)
    clock = [NOW]
    monitor = [job_named("monitor_user_context")]
    async with open_engine(settings_for("seed"), conninfo=uri) as engine:
        runner = Runner(engine, jobs=monitor, clock=lambda: clock[0])
        await runner.run_pending()
        await runner.run_pending()  # same slot: nothing new
        clock[0] = NOW + timedelta(hours=2, minutes=7)  # down for eight slots
        await runner.run_pending()
        slots = [r.slot for r in await runs.recent_runs(engine)]
        assert slots == [NOW + timedelta(hours=2), NOW]
        assert runner.seconds_to_next() == 30.0  # capped: next slot is 8 minutes away
        clock[0] = NOW + timedelta(hours=2, minutes=14, seconds=50)
        assert abs(runner.seconds_to_next() - 10.0) < 1e-6


async def test_run_command_stops_cleanly_on_sigterm(make_database: MakeDatabase,
                                                    tmp_path: Path) -> None:
    uri = await make_database("seed")
    plant(uri, 30)
    env = {**os.environ, "DATABASE_URL": uri, "PAM_BATCH_SIZE": "5", "PAM_JOB_RANGE_SIZE": "5"}
    exe = Path(sys.executable).parent / "pam-proactive"
    proc = subprocess.Popen([str(exe), "run", "--no-api"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done = rows(uri, "SELECT count(*) FROM pam_proactive.job_ranges"
                             " WHERE status = 'done'") if _has_runs(uri) else [(0,)]
            if done[0][0] >= 1:
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        out, _ = proc.communicate(timeout=60)
        stopped_in = time.monotonic() - signalled
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "scheduler stopped" in out
    # Well within a container's grace period (docker stop: 10 s), though the signal came
    # while a pass was running: it ends the wait that follows the pass.
    assert stopped_in < 8.0, stopped_in
    # Nothing left claimed: the range in hand was finished before exiting.
    assert rows(uri, "SELECT count(*) FROM pam_proactive.job_ranges"
                     " WHERE status = 'running'") == [(0,)]
    assert rows(uri, "SELECT count(*) FROM pam_proactive.job_runs")[0][0] >= 1


def _has_runs(uri: str) -> bool:
    found = rows(uri, "SELECT to_regclass('pam_proactive.job_ranges') IS NOT NULL")
    return bool(found[0][0])
