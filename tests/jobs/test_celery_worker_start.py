"""A real `celery worker` at start-up: PAM_CHANNELS is checked against the recorded delivery
channels before the pool starts, and everything it logs is one JSON line per record."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from celery_harness import Worker, query, redis_server, seed, wait_for_run, worker_env
from conftest import create_database, settings_for
from pam_proactive.jobs.scheduling.celery_tasks import create_app

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


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


def record_channels(uri: str, channels: list[str]) -> None:
    query(uri, "INSERT INTO pam_proactive.delivery_channels (channels) VALUES (%s)"
               " RETURNING channels", (channels,))


def test_a_worker_whose_pam_channels_differs_stops_at_start_up(
        pg_server: str, redis_url: str, workers: list[Worker], tmp_path: Path) -> None:
    uri = asyncio.run(create_database(pg_server, "seed"))
    record_channels(uri, ["webhook"])
    workers.append(Worker("wrong", worker_env(uri, redis_url, PAM_CHANNELS="none"), tmp_path))
    deadline = time.monotonic() + 60
    while workers[0].proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert workers[0].proc.returncode == 1, workers[0].log.read_text()
    records = workers[0].records()
    stopped = [r for r in records if r["level"] == "critical"]
    assert len(stopped) == 1 and "PAM_CHANNELS=none differs" in stopped[0]["msg"], records
    assert not any(r["msg"].endswith(" ready.") for r in records)  # no pool, no task taken
    # The record is left as it was.
    assert query(uri, "SELECT channels FROM pam_proactive.delivery_channels") == [(["webhook"],)]


def test_a_worker_logs_json_lines_on_stderr(
        pg_server: str, redis_url: str, workers: list[Worker], tmp_path: Path) -> None:
    uri = asyncio.run(create_database(pg_server, "seed"))
    seed(uri, 30, NOW)
    env = worker_env(uri, redis_url, PAM_CHANNELS="none", PAM_LOG_LEVEL="INFO")
    workers.append(Worker("json", env, tmp_path))
    workers[0].wait_ready()
    client = create_app(settings_for("seed", redis_url=redis_url))
    client.send_task("pam.trigger", args=("monitor_user_context", NOW.isoformat()),
                     queue="pam.triggers")
    _run_id, status, users, created, _ranges, errors = wait_for_run(uri, "monitor_user_context")
    assert status == "ok" and users > 0 and created > 0 and errors == 0
    # Matching PAM_CHANNELS: the worker delivered, outbox only.
    assert query(uri, "SELECT count(*) FILTER (WHERE delivered_at IS NULL"
                      "  AND deliver_after <= %s), count(*) FROM pam_proactive.outbox",
                 (NOW,))[0][0] == 0
    workers[0].stop()
    records = workers[0].records()  # every stderr line is a JSON record
    loggers = {r["logger"] for r in records}
    assert any(r["msg"].endswith(" ready.") for r in records)  # Celery's own, as JSON
    assert any(name.startswith("celery.") for name in loggers)
    assert any(name.startswith("pam_proactive.") for name in loggers)  # ours at INFO
    assert any("succeeded in" in r["msg"] for r in records)
