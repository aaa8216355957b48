"""`pam-proactive run` hosts the watcher: a trip written while it runs is suggested within
seconds (not at the next 15-minute job), its lag reaches `pam_event_lag_seconds` on the
process's /metrics, and SIGTERM stops scheduler, watcher and API with exit code 0."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
import psycopg
from prometheus_client.parser import text_string_to_metric_families

from conftest import MakeDatabase, settings_for
from jobs.test_run_serves_api import free_port, wait_ready
from pam_proactive.engine import open_engine
from pam_proactive.jobs.pipeline.batches import (
    add_lag_observer,
    observe_lag_metrics,
    remove_lag_observer,
)
from pam_proactive.jobs.watcher.watch import Watcher
from pam_proactive.observability import metrics
from planting import Planter
from processes import EXE, cli_process, terminate

LAG_COUNT = "pam_event_lag_seconds_count"


def _half_tank(uri: str) -> UUID:
    """50-gallon tank at 10 mpg with 25 gallons left (50 %: no fuel_low on its own), fills
    logged long ago; nothing to suggest until a trip is planned."""
    today = datetime.now(UTC).date()
    with Planter(uri, "seed") as p:
        uid = p.user(timezone="America/Denver")
        p.vehicle(uid, tank_gallons=50, odometer_miles=10_550)
        p.fill(uid, today - timedelta(days=20), 30, 10_000)
        p.fill(uid, today - timedelta(days=10), 30, 10_300)
    return uid


def _plan_trip(uri: str, uid: UUID) -> None:
    """A 300-mile trip leaving tomorrow (the traveler's day): more than the tank's range."""
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    with Planter(uri, "seed") as p:
        p.trip(uid, "Denver, CO", "Moab, UT", tomorrow, tomorrow + timedelta(days=2), 300,
               created_at=datetime.now(UTC))


def _types(uri: str, uid: UUID) -> set[str]:
    with psycopg.connect(uri, autocommit=True) as conn:
        rows = conn.execute(b"SELECT type FROM pam_proactive.suggestions WHERE user_id = %s",
                            (uid,)).fetchall()
    return {r[0] for r in rows}


def _settled(uri: str) -> bool:
    """The start-up work is over: every missed slot's run finished and the watcher's first
    tick (its full pass) recorded its cursor."""
    with psycopg.connect(uri, autocommit=True) as conn:
        running = conn.execute(b"SELECT count(*) FROM pam_proactive.job_runs"
                               b" WHERE status = 'running'").fetchone()
        cursor = conn.execute(b"SELECT count(*) FROM pam_proactive.change_cursors"
                              b" WHERE feed = 'watch' AND full_sweep_at IS NOT NULL").fetchone()
    return running == (0,) and cursor == (1,)


def _lag_count(base: str) -> float:
    scrape = httpx.get(base + "/metrics", timeout=15)
    assert scrape.status_code == 200
    return sum(s.value for f in text_string_to_metric_families(scrape.text)
               for s in f.samples if s.name == LAG_COUNT)


def _wait(check: object, timeout: float, proc: subprocess.Popen[str], what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc.poll() is not None:
            raise AssertionError(f"run exited early: {proc.communicate()[0]}")
        if callable(check) and check():
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"{what} not within {timeout} s")


async def test_run_suggests_a_new_trip_within_seconds(make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    uid = _half_tank(uri)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": uri, "PAM_LOG_LEVEL": "WARNING",
           "PAM_WATCH_INTERVAL": "0.5"}
    env.pop("PAM_API_TOKEN", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with cli_process(["run", "--port", str(port)], env) as proc:
        await asyncio.to_thread(wait_ready, base, proc)
        await asyncio.to_thread(_wait, lambda: _settled(uri), 90, proc, "start-up")
        assert _types(uri, uid) == set()  # the start-up sweeps found nothing to say
        assert _lag_count(base) == 0
        _plan_trip(uri, uid)
        # The next job is up to 15 minutes away: only the watcher can be this fast.
        waited = await asyncio.to_thread(
            _wait, lambda: {"departure_reminder", "fuel_low"} <= _types(uri, uid), 15, proc,
            "the trip's suggestions")
        assert waited < 15
        assert _lag_count(base) >= 1
        out = terminate(proc)
    assert proc.returncode == 0, out
    assert "watcher running (poll mode, every 0.5 s)" in out
    assert "scheduler stopped" in out and "Traceback" not in out
    with psycopg.connect(uri, autocommit=True) as conn:
        # The watcher's scope ('all'); the jobs keep their own rows (scope = job name).
        reason = conn.execute(b"SELECT reason FROM pam_proactive.evaluation_state"
                              b" WHERE scope = 'all' AND user_id = %s", (uid,)).fetchone()
    assert reason == ("changed",)


def test_watch_mode_refused_before_any_database_work() -> None:
    """Listen behind the transaction pooler, or an unknown mode, stops `run` at once with a
    message naming --watch-mode."""
    env = {**os.environ, "DATABASE_URL": "postgresql://u@127.0.0.1:6543/db"}
    bad = subprocess.run([str(EXE), "run", "--no-api", "--watch-mode", "listen"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0
    assert "--watch-mode listen" in bad.stderr and "transaction pooler" in bad.stderr
    unknown = subprocess.run([str(EXE), "run", "--no-api", "--watch-mode", "push"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert unknown.returncode != 0 and "--watch-mode: use poll or listen" in unknown.stderr


async def test_lag_metric_observed_once_per_change(make_database: MakeDatabase) -> None:
    """The registration `run` and `watch` make: called twice, each change is observed once."""
    uri = await make_database("seed")
    uid = _half_tank(uri)
    before = metrics.REGISTRY.get_sample_value(LAG_COUNT) or 0.0
    handed: list[float] = []  # what the watcher hands its observers, one per change
    observe_lag_metrics()
    add_lag_observer(handed.append)
    observe_lag_metrics()
    try:
        settings = settings_for("seed", watch_interval=0.3, watch_debounce=0.05)
        async with open_engine(settings, conninfo=uri) as engine:
            watcher = Watcher(engine)
            stop = asyncio.Event()
            task = asyncio.create_task(watcher.run(stop))
            try:
                while watcher.ticks < 2:  # the first tick is the full pass
                    await asyncio.sleep(0.05)
                _plan_trip(uri, uid)
                deadline = time.monotonic() + 15
                while "departure_reminder" not in _types(uri, uid):
                    assert time.monotonic() < deadline, "no suggestion from the watcher"
                    await asyncio.sleep(0.1)
            finally:
                stop.set()
                await asyncio.wait_for(task, 30)
    finally:
        remove_lag_observer(metrics.observe_event_lag)
        remove_lag_observer(handed.append)
    after = metrics.REGISTRY.get_sample_value(LAG_COUNT) or 0.0
    # The trip row is a change by its created_at and by its updated_at: one row, one lag.
    assert len(handed) == 1 and 0 <= handed[0] < 15
    assert after - before == len(handed)
