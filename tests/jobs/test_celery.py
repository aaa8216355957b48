"""Celery end to end: a real redis-server and real `celery worker` processes.

- a run through Celery stores the same suggestions as the in-process runner on the same data,
  and a duplicate beat trigger makes one run;
- a worker process killed with SIGKILL in the middle of a range loses and duplicates nothing;
- the database restarted in the middle of a run ends in a completed run, no duplicates.
"""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from celery_harness import (
    DUPLICATES,
    SUGGESTIONS,
    Worker,
    query,
    redis_server,
    seed,
    wait_for_run,
    worker_env,
)
from conftest import create_database, settings_for
from pam_proactive.db.embedded import database_uri, embedded_server, ensure_database
from pam_proactive.db.migrate import migrate
from pam_proactive.engine import open_engine
from pam_proactive.jobs.scheduling.celery_tasks import create_app
from pam_proactive.jobs.scheduling.execute import run_job
from pam_proactive.jobs.scheduling.schedule import job_named

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
JOB = "monitor_user_context"


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for w in started:
        w.stop()


def trigger(redis_url: str, job: str = JOB, now: datetime = NOW) -> None:
    client = create_app(settings_for("seed", redis_url=redis_url))
    client.send_task("pam.trigger", args=(job, now.isoformat()), queue="pam.triggers")


def inprocess(uri: str) -> None:
    async def go() -> None:
        settings = settings_for("seed", batch_size=25, job_range_size=100)
        async with open_engine(settings, conninfo=uri) as engine:
            outcome = await run_job(engine, job_named(JOB), NOW)
            assert outcome.status == "ok"

    asyncio.run(go())


def copy_database(server_uri: str, source_uri: str, name: str) -> str:
    source = psycopg.conninfo.conninfo_to_dict(source_uri)["dbname"]
    with psycopg.connect(server_uri, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(str(source))))
    return database_uri(server_uri, name)


def wait_until(check: object, timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_celery_stores_what_the_inprocess_runner_stores_and_runs_a_slot_once(
        pg_server: str, redis_url: str, workers: list[Worker], tmp_path: Path) -> None:
    uri = asyncio.run(create_database(pg_server, "seed"))
    seed(uri, 300, NOW)
    twin = copy_database(pg_server, uri, f"twin_{os.getpid()}")
    inprocess(twin)
    expected = query(twin, SUGGESTIONS)
    assert len(expected) > 30  # the demo tells about a fifth of its travelers something

    env = worker_env(uri, redis_url)
    workers.extend(Worker(f"w{i}", env, tmp_path) for i in range(2))
    for w in workers:
        w.wait_ready()
    trigger(redis_url)
    trigger(redis_url)  # beat firing twice for one slot
    _run_id, status, users, created, ranges, errors = wait_for_run(uri, JOB)
    assert (status, errors) == ("ok", 0) and ranges == 3
    assert query(uri, "SELECT count(*), min(runner) FROM pam_proactive.job_runs") == [(1, "celery")]
    assert set(query(uri, "SELECT status, attempts FROM pam_proactive.job_ranges")) == {
        ("done", 1)}
    assert query(uri, SUGGESTIONS) == expected
    assert query(uri, DUPLICATES) == []
    twin_run = query(twin, "SELECT users, created FROM pam_proactive.job_runs")
    assert twin_run == [(users, created)]


def test_a_worker_killed_mid_range_loses_and_duplicates_nothing(
        pg_server: str, redis_url: str, workers: list[Worker], tmp_path: Path) -> None:
    uri = asyncio.run(create_database(pg_server, "seed"))
    seed(uri, 400, NOW)
    twin = copy_database(pg_server, uri, f"twin_kill_{os.getpid()}")
    inprocess(twin)
    expected = query(twin, SUGGESTIONS)

    # Two ranges of 200 users in batches of 10: each range takes a while.
    env = worker_env(uri, redis_url, PAM_BATCH_SIZE="10", PAM_JOB_RANGE_SIZE="200")
    victim, other = Worker("victim", env, tmp_path), Worker("other", env, tmp_path)
    workers.extend([victim, other])
    victim.wait_ready()
    other.wait_ready()
    trigger(redis_url)

    def both_ranges_in_hand() -> bool:
        running = query(uri, "SELECT count(*) FROM pam_proactive.job_ranges"
                             " WHERE status = 'running'")
        stored = query(uri, "SELECT count(*) FROM pam_proactive.suggestions")
        return bool(running == [(2,)] and stored[0][0] > 0)

    wait_until(both_ranges_in_hand, what="both ranges running with suggestions stored")
    for pid in victim.pool_pids():  # the process executing a range, killed outright
        os.kill(pid, signal.SIGKILL)
    _run_id, status, users, *_ = wait_for_run(uri, JOB)
    assert status == "ok" and users == len(query(uri, "SELECT id FROM public.profiles"
                                                      " WHERE status = 'active'"))
    attempts = sorted(a for (a,) in query(uri, "SELECT attempts FROM pam_proactive.job_ranges"))
    assert attempts == [1, 2]  # the killed range was redone once, by another worker process
    assert query(uri, SUGGESTIONS) == expected
    assert query(uri, DUPLICATES) == []
    outbox = query(uri, "SELECT suggestion_id, event FROM pam_proactive.outbox"
                        " GROUP BY 1, 2 HAVING count(*) > 1")
    assert outbox == []


def test_the_database_restarted_mid_run_ends_in_a_completed_run(
        redis_url: str, workers: list[Worker], tmp_path: Path) -> None:
    user = "embedded_postgres" if os.geteuid() == 0 else None
    with tempfile.TemporaryDirectory(prefix="pam-restart-") as tmp, embedded_server(
            Path(tmp) / "pgdata", delete=True) as server:
        from embedded_postgres._commands import (  # type: ignore[attr-defined]
            pg_ctl,  # after the server set its runtime dir
        )

        pgdata = Path(tmp) / "pgdata"
        ensure_database(server, "restart")
        uri = database_uri(server, "restart")

        async def prepare() -> None:
            async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
                await migrate(conn, schema="pam_proactive", preset="seed",
                              create_reference_tables=True)

        asyncio.run(prepare())
        # Ranges long enough (300 travelers in batches of 10) that the restart comes while
        # ranges are still running, so that tasks do fail and retry. The engine's own patience
        # (a second of retries, a second's wait for a pooled connection) is shorter than the
        # outage below: otherwise a task waits it out in-process (a range takes about a
        # second, the outage three), and the task's retry goes untested.
        seed(uri, 1200, NOW)
        env = worker_env(uri, redis_url, PAM_BATCH_SIZE="10", PAM_JOB_RANGE_SIZE="300",
                         PAM_QUERY_TIMEOUT="1", PAM_RETRY_MAX_SECONDS="1")
        workers.extend(Worker(f"r{i}", env, tmp_path) for i in range(2))
        for w in workers:
            w.wait_ready()
        trigger(redis_url)
        wait_until(lambda: query(uri, "SELECT count(*) FROM pam_proactive.job_ranges"
                                      " WHERE status = 'done'")[0][0] >= 1,
                   what="a first range finished")
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
        time.sleep(3)  # tasks fail against a dead server meanwhile, and back off
        pg_ctl(["-w", "-l", str(pgdata / "log"), "restart"], pgdata=pgdata, user=user)
        _run_id, status, users, _created, ranges, errors = wait_for_run(uri, JOB, timeout=150)
        assert status == "ok" and errors == 0 and ranges == 4
        assert users == query(uri, "SELECT count(*) FROM public.profiles"
                                   " WHERE status = 'active'")[0][0]
        assert query(uri, DUPLICATES) == []
        assert any("Retry in" in w.log.read_text() for w in workers)  # it did retry

        async def verify() -> None:
            # The same moment evaluated in-process finds nothing to change: nothing was lost.
            settings = settings_for("seed", batch_size=50)
            async with open_engine(settings, conninfo=uri) as engine:
                again = await run_job(engine, job_named(JOB), NOW,
                                      slot=datetime(2026, 11, 25, 18, 1, tzinfo=UTC))
                assert (again.run.created, again.run.resolved, again.run.escalated) == (0, 0, 0)

        asyncio.run(verify())
        for w in workers:
            w.stop()
        workers.clear()


def test_a_celery_workers_counts_reach_the_scrape_in_multiprocess_mode(
        pg_server: str, redis_url: str, workers: list[Worker], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    from api.harness import Server
    from pam_proactive.api import metrics as metrics_route
    from serving import small_app

    uri = asyncio.run(create_database(pg_server, "seed"))
    seed(uri, 40, NOW)
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = worker_env(uri, redis_url, PROMETHEUS_MULTIPROC_DIR=str(shared))
    workers.append(Worker("mp", env, tmp_path))
    workers[0].wait_ready()
    trigger(redis_url)
    _run_id, status, users, _created, _ranges, _errors = wait_for_run(uri, JOB)
    assert status == "ok" and users > 0
    # This process scrapes the directory the worker's pool process wrote to.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))
    server = Server(small_app(None, metrics_route.router))
    server.start()
    try:
        scrape = httpx.get(server.url + "/metrics", timeout=10)
    finally:
        server.stop()
    assert scrape.status_code == 200
    samples = [s for f in text_string_to_metric_families(scrape.text) for s in f.samples]

    def value(name: str, **labels: str) -> float:
        return sum(s.value for s in samples if s.name == name
                   and all(s.labels.get(k) == v for k, v in labels.items()))

    assert value("pam_job_runs_total", job_name=JOB, outcome="ok") == 1  # counted once
    assert value("pam_job_duration_seconds_count", job_name=JOB) == 1
    assert value("pam_job_users_processed_total", job_name=JOB) == users
    assert value("pam_job_period_seconds", job_name=JOB) == 900
