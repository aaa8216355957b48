"""Real Redis and real Celery worker processes for the distributed-runner tests."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

CELERY = str(Path(sys.executable).parent / "celery")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def redis_server(port: int | None = None) -> Iterator[str]:
    """A throwaway redis-server on a free loopback port, or ``port`` (no persistence);
    yields its URL."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(binary):
        pytest.skip("redis-server is not installed (.ci/run installs it)")
    port = port or free_port()
    with tempfile.TemporaryDirectory(prefix="pam-redis-") as tmp:
        proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1",
                                 "--save", "", "--appendonly", "no", "--dir", tmp],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(200):
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.025)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(10)


class Worker:
    """One `celery worker` subprocess (its own process group, so it can be killed whole).

    ``log`` is its stderr: its logging, one JSON line per record (Celery's own records
    included, e.g. ``… ready.``, ``… retry: Retry in …``); its stdout (Celery's start-up
    banner) goes to ``out``."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path,
                 queues: str = "pam.triggers,pam.ranges,pam.events") -> None:
        self.name = name
        self.log = log_dir / f"{name}.log"
        self.out = log_dir / f"{name}.out"
        self._err = self.log.open("w")
        self._out = self.out.open("w")
        self.proc = subprocess.Popen(
            [CELERY, "-A", "pam_proactive.jobs.celery_app", "worker", "--pool=prefork",
             "--concurrency=1", "-Q", queues, "-n", f"{name}@%h",
             "--without-gossip", "--without-mingle", "--without-heartbeat",
             "--loglevel=INFO"],
            env=env, stdout=self._out, stderr=self._err, start_new_session=True)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.log.read_text():
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"worker {self.name} exited:\n{self.log.read_text()}")
            time.sleep(0.1)
        raise AssertionError(f"worker {self.name} not ready:\n{self.log.read_text()}")

    def pool_pids(self) -> list[int]:
        import psutil

        return [c.pid for c in psutil.Process(self.proc.pid).children()]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # cold shutdown: the test is over
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # orphaned pool processes, if any
        self._out.close()
        self._err.close()

    def records(self) -> list[dict[str, Any]]:
        """Its stderr's log records; a line that is not a JSON object fails the test."""
        lines = self.log.read_text().splitlines()
        parsed = [json.loads(line) for line in lines if line.strip()]
        assert all(isinstance(r, dict) and {"ts", "level", "logger", "msg"} <= r.keys()
                   for r in parsed), lines
        return parsed


def worker_env(uri: str, redis_url: str, **extra: str) -> dict[str, str]:
    """A worker's environment: half a second of retries inside a task, so that a lost
    database fails the task and Celery's own retries (with their countdown) take over.
    Outbox only is declared (PAM_CHANNELS=none) and the daily digest is off, as
    ``settings_for`` has them for the tests' in-process engines, so both runners deliver
    alike."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAM_", "DATABASE_URL"))}
    env.update({"DATABASE_URL": uri, "REDIS_URL": redis_url, "PAM_BATCH_SIZE": "25",
                "PAM_JOB_RANGE_SIZE": "100", "PAM_RETRY_MAX_SECONDS": "0.5",
                "PAM_CHANNELS": "none", "PAM_DIGEST": "false", **extra})
    return env


def seed(uri: str, users: int, now: datetime) -> None:
    """Demo travelers."""
    import asyncio

    from pam_proactive.demo import seed_demo_data

    async def go() -> None:
        async with await psycopg.AsyncConnection.connect(uri) as conn:
            await seed_demo_data(conn, users=users, seed=11, now=now,
                                        engine_schema="pam_proactive")

    asyncio.run(go())


def query(uri: str, text: str, params: Any = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(uri) as conn:
        return conn.execute(text, params).fetchall()


def wait_for_run(uri: str, job: str, timeout: float = 90) -> tuple[Any, ...]:
    """The job's run once it is finished: (id, status, users, created, ranges, errors)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = query(uri, "SELECT id, status, users, created, ranges, errors"
                          " FROM pam_proactive.job_runs WHERE job = %s", (job,))
        if rows and rows[0][1] != "running":
            return rows[0]
        time.sleep(0.2)
    ranges = query(uri, "SELECT seq, status, attempts FROM pam_proactive.job_ranges")
    raise AssertionError(f"run of {job} not finished: {ranges}")


SUGGESTIONS = ("SELECT user_id, dedup_key, type, priority, title, message, data, status"
               " FROM pam_proactive.suggestions ORDER BY user_id, dedup_key, status")
DUPLICATES = ("SELECT user_id, dedup_key FROM pam_proactive.suggestions"
              " WHERE status IN ('open', 'delivered') GROUP BY 1, 2 HAVING count(*) > 1")
