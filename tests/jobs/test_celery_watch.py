"""The Celery-fed watcher end to end: a real redis-server and real `celery worker` processes.

- a trip written while the watcher runs with the celery executor is suggested by a worker
  within seconds, evaluated for reason `changed`, and its lag reaches the worker's
  multiprocess registry (one observation: one row);
- a task delivered twice, concurrently to two workers, and a stale redelivery after a newer
  evaluation, duplicate no suggestion and no notification;
- with the broker down the watcher logs by type, keeps the batch and its cursor, and sends
  it once the broker is back;
- `watch --executor celery` (the command) feeds a worker the same way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from celery_harness import DUPLICATES, Worker, free_port, query, redis_server, worker_env
from conftest import MakeDatabase, settings_for
from jobs.test_run_watch import _half_tank, _plan_trip, _types
from pam_proactive.engine import open_engine
from pam_proactive.jobs.pipeline.batches import Batch
from pam_proactive.jobs.scheduling.celery_tasks import EVALUATE_TASK, EVENT_QUEUE, create_app
from pam_proactive.jobs.watcher.executors import CeleryExecutor
from pam_proactive.jobs.watcher.watch import Watcher
from processes import cli_process, terminate

LAG_COUNT = "pam_event_lag_seconds_count"
OUTBOX_DUPLICATES = ("SELECT suggestion_id, event FROM pam_proactive.outbox"
                     " GROUP BY 1, 2 HAVING count(*) > 1")


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for w in started:
        w.stop()


def _lag_count(directory: Path) -> float:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    return sum(s.value for f in registry.collect() for s in f.samples if s.name == LAG_COUNT)


async def _until(check: Callable[[], Any], timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if await asyncio.to_thread(check):
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


def _state(uri: str, uid: UUID) -> tuple[Any, ...] | None:
    rows = query(uri, "SELECT reason, evaluated_for FROM pam_proactive.evaluation_state"
                      " WHERE scope = 'all' AND user_id = %s", (uid,))
    return rows[0] if rows else None


def _full_pass_recorded(uri: str) -> bool:
    return query(uri, "SELECT count(*) FROM pam_proactive.change_cursors WHERE feed = 'watch'"
                      " AND full_sweep_at IS NOT NULL") == [(1,)]


@asynccontextmanager
async def _watching(uri: str, redis: str) -> AsyncIterator[Watcher]:
    settings = settings_for("seed", redis_url=redis, watch_executor="celery",
                            watch_interval=0.3, watch_debounce=0.05)
    async with open_engine(settings, conninfo=uri) as engine:
        watcher = Watcher(engine)
        stop = asyncio.Event()
        task = asyncio.create_task(watcher.run(stop))
        try:
            yield watcher
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)


async def test_a_trip_is_suggested_by_a_worker_within_seconds(
        make_database: MakeDatabase, redis_url: str, workers: list[Worker],
        tmp_path: Path) -> None:
    uri = await make_database("seed")
    uid = _half_tank(uri)
    shared = tmp_path / "prometheus"
    shared.mkdir()
    workers.append(Worker("ev", worker_env(uri, redis_url,
                                           PROMETHEUS_MULTIPROC_DIR=str(shared)), tmp_path))
    await asyncio.to_thread(workers[0].wait_ready)
    async with _watching(uri, redis_url) as watcher:
        assert isinstance(watcher.executor, CeleryExecutor)
        await _until(lambda: _full_pass_recorded(uri) and _state(uri, uid) is not None, 60,
                     "the full pass, evaluated by the worker")
        assert _types(uri, uid) == set() and _state(uri, uid)[0] == "full"  # type: ignore[index]
        assert _lag_count(shared) == 0  # a full pass has no changed rows
        sent = watcher.executor.sent
        _plan_trip(uri, uid)
        waited = await _until(lambda: {"departure_reminder", "fuel_low"} <= _types(uri, uid),
                              15, "the trip's suggestions")
        assert waited < 10
        assert watcher.executor.sent > sent  # stored by the worker: the watcher only sent
        # The lag is observed just after the store, in the worker's pool process.
        await _until(lambda: _lag_count(shared) >= 1, 10, "the lag observation")
    assert _state(uri, uid)[0] == "changed"  # type: ignore[index]
    assert _lag_count(shared) == 1  # the trip row: one row, one observation
    assert query(uri, DUPLICATES) == []
    assert "pam_proactive.evaluate_travelers" in workers[0].log.read_text()


async def test_a_task_delivered_twice_duplicates_nothing(
        make_database: MakeDatabase, redis_url: str, workers: list[Worker],
        tmp_path: Path) -> None:
    uri = await make_database("seed")
    uid = _half_tank(uri)
    _plan_trip(uri, uid)
    env = worker_env(uri, redis_url)
    workers.extend(Worker(f"dup{i}", env, tmp_path) for i in range(2))
    for w in workers:
        await asyncio.to_thread(w.wait_ready)
    now = datetime.now(UTC)
    app = create_app(settings_for("seed", redis_url=redis_url))
    batch = Batch(now, "changed", (uid,), {uid: now - timedelta(seconds=1)}, (1.0,),
                  time.time())
    for _ in range(2):  # both workers take one: the same batch, at the same time
        app.send_task(EVALUATE_TASK, kwargs=batch.to_kwargs(), queue=EVENT_QUEUE)

    def both_ran() -> bool:
        return all("evaluate_travelers" in w.log.read_text() and "succeeded" in
                   w.log.read_text() for w in workers)

    await _until(both_ran, 60, "both deliveries evaluated")
    stored = query(uri, "SELECT type, status FROM pam_proactive.suggestions"
                        " WHERE user_id = %s ORDER BY 1", (uid,))
    assert {"departure_reminder", "fuel_low"} <= {t for t, _ in stored}
    assert len(stored) == len({t for t, _ in stored})  # one row per suggestion
    assert query(uri, DUPLICATES) == [] and query(uri, OUTBOX_DUPLICATES) == []
    outbox = query(uri, "SELECT count(*) FROM pam_proactive.outbox")
    # A stale redelivery (an older `now`) after the newer evaluation is left alone.
    stale = Batch(now - timedelta(minutes=5), "changed", (uid,), {}, (), time.time())
    app.send_task(EVALUATE_TASK, kwargs=stale.to_kwargs(), queue=EVENT_QUEUE)
    await _until(lambda: sum(w.log.read_text().count("succeeded") for w in workers) >= 3,
                 60, "the stale redelivery")
    assert _state(uri, uid) == ("changed", now)
    assert query(uri, "SELECT type, status FROM pam_proactive.suggestions"
                      " WHERE user_id = %s ORDER BY 1", (uid,)) == stored
    assert query(uri, "SELECT count(*) FROM pam_proactive.outbox") == outbox


async def test_a_broker_outage_keeps_the_batch_and_the_cursor(
        make_database: MakeDatabase, workers: list[Worker], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    uri = await make_database("seed")
    uid = _half_tank(uri)
    port = free_port()
    redis = f"redis://127.0.0.1:{port}/0"
    with redis_server(port):
        workers.append(Worker("out", worker_env(uri, redis), tmp_path))
        await asyncio.to_thread(workers[0].wait_ready)
    caplog.set_level(logging.WARNING, logger="pam_proactive.jobs.watcher.watch")
    async with _watching(uri, redis) as watcher:
        # The broker is down from the first tick: not even the full pass is handed over.
        await _until(lambda: watcher.errors >= 2, 60, "the watcher failing to send")
        assert not _full_pass_recorded(uri)
        assert "watcher: broker unavailable, retrying" in caplog.text
        errors = [r for r in caplog.records if "broker unavailable" in r.getMessage()]
        assert {getattr(r, "error", None) for r in errors} <= {
            "ConnectionError", "OperationalError", "ConnectionRefusedError"}
        with redis_server(port):
            await _until(lambda: _full_pass_recorded(uri), 90, "the full pass once Redis is up")
            await _until(lambda: _state(uri, uid) is not None, 90, "the worker's evaluation")
            _plan_trip(uri, uid)
            await _until(lambda: "departure_reminder" in _types(uri, uid), 30,
                         "the trip's suggestion")
            await _until(lambda: _state(uri, uid)[0] == "changed", 10,  # type: ignore[index]
                         "the changed evaluation")
    assert query(uri, DUPLICATES) == []


def test_the_watch_command_feeds_the_workers(
        pg_server: str, redis_url: str, workers: list[Worker], tmp_path: Path) -> None:
    from conftest import create_database

    uri = asyncio.run(create_database(pg_server, "seed"))
    uid = _half_tank(uri)
    env = worker_env(uri, redis_url, PAM_WATCH_INTERVAL="0.3", PAM_LOG_LEVEL="WARNING")
    workers.append(Worker("cmd", env, tmp_path, queues="pam.events"))
    workers[0].wait_ready()
    with cli_process(["watch", "--executor", "celery"], env) as proc:
        deadline = time.monotonic() + 90
        while not (_full_pass_recorded(uri) and _state(uri, uid) is not None):
            assert proc.poll() is None and time.monotonic() < deadline, "no full pass"
            time.sleep(0.1)
        _plan_trip(uri, uid)
        deadline = time.monotonic() + 15
        while "departure_reminder" not in _types(uri, uid):
            assert proc.poll() is None and time.monotonic() < deadline, "no suggestion"
            time.sleep(0.1)
        out = terminate(proc)
    assert proc.returncode == 0, out
    assert "executor celery" in out and "Traceback" not in out
    assert _state(uri, uid)[0] == "changed"  # type: ignore[index]
