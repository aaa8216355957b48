"""A CLI sweep and a job run ride out a database restart: transient errors are retried with
exponential backoff for up to PAM_RETRY_MAX_SECONDS, then fail with one clear line (exit 1).

A real embedded PostgreSQL of its own is stopped for ~5 s in the middle of a real
`pam-proactive sweep` process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from celery_harness import DUPLICATES, query, seed
from pam_proactive.db.embedded import database_uri, embedded_server, ensure_database
from pam_proactive.db.migrate import migrate
from processes import EXE

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
STORED = "SELECT count(*) FROM pam_proactive.suggestions"


def cli(uri: str, args: list[str], retry_seconds: str) -> subprocess.Popen[str]:
    env = {**os.environ, "DATABASE_URL": uri, "PAM_BATCH_SIZE": "10", "PAM_LOG_FORMAT": "json",
           "PAM_RETRY_MAX_SECONDS": retry_seconds, "PAM_QUERY_TIMEOUT": "5"}
    return subprocess.Popen([str(EXE), *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def sweep(uri: str, now: datetime, retry_seconds: str) -> subprocess.Popen[str]:
    return cli(uri, ["sweep", "--now", now.isoformat(), "--format", "jsonl"], retry_seconds)


def wait_until(check: Callable[[], bool], proc: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + 60
    while not check():
        assert proc.poll() is None, f"the sweep ended before {what}"
        assert time.monotonic() < deadline, f"no {what} within 60 s"
        time.sleep(0.05)


def test_a_sweep_rides_out_a_restart_and_a_long_outage_is_one_line() -> None:
    user = "embedded_postgres" if os.geteuid() == 0 else None
    with tempfile.TemporaryDirectory(prefix="pam-cli-restart-") as tmp, embedded_server(
            Path(tmp) / "pgdata", delete=True) as server:
        from embedded_postgres._commands import (  # type: ignore[attr-defined]
            pg_ctl,  # after the server set its runtime dir
        )

        pgdata = Path(tmp) / "pgdata"

        def stop() -> None:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)

        def start() -> None:  # "restart" starts it with the options it last ran with
            pg_ctl(["-w", "-l", str(pgdata / "log"), "restart"], pgdata=pgdata, user=user)

        ensure_database(server, "restart")
        uri = database_uri(server, "restart")

        async def prepare() -> None:
            async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
                await migrate(conn, schema="pam_proactive", preset="seed",
                              create_reference_tables=True)

        asyncio.run(prepare())
        seed(uri, 1500, NOW)

        # 1. Stopped for 5 s while the sweep stores its batches: it waits, and completes.
        proc = sweep(uri, NOW, "30")
        wait_until(lambda: query(uri, STORED)[0][0] > 0, proc, "a first batch stored")
        stop()
        time.sleep(5)
        start()
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "retrying" in err  # it did lose the database and retry
        assert query(uri, DUPLICATES) == []
        stored = query(uri, STORED)[0][0]
        assert stored == len(out.splitlines())  # every suggestion of the sweep is stored
        again = sweep(uri, NOW, "30")  # nothing was lost: the same moment stores nothing new
        again.communicate(timeout=120)
        assert again.returncode == 0
        assert query(uri, STORED)[0][0] == stored

        # 2. A scheduled job run in this process: its range rides out the restart too.
        job = cli(uri, ["job", "monitor_user_context", "--now",
                        (NOW + timedelta(hours=1)).isoformat(), "--format", "json"], "30")
        wait_until(lambda: query(uri, "SELECT count(*) FROM pam_proactive.job_ranges"
                                      " WHERE status = 'running'")[0][0] > 0, job,
                   "a job range running")
        stop()
        time.sleep(5)
        start()
        out, err = job.communicate(timeout=120)
        assert job.returncode == 0, err
        assert "retrying" in err  # the range did lose the database
        run = json.loads(out)
        assert run["status"] == "ok" and run["errors"] == 0, run
        assert run["users"] == query(uri, "SELECT count(*) FROM public.profiles"
                                          " WHERE status = 'active'")[0][0]
        assert query(uri, DUPLICATES) == []
        stored = query(uri, STORED)[0][0]

        # 3. With a 1 s bound an outage that lasts fails the sweep: one line, exit 1.
        later = sweep(uri, NOW + timedelta(days=1), "1")
        wait_until(lambda: query(uri, STORED)[0][0] > stored, later, "a later batch stored")
        stop()
        try:
            err = later.communicate(timeout=60)[1]
        finally:
            start()  # for the server's own stop at the end
        # Logs are JSON lines (psycopg's pool's included); --now in the past adds a note.
        lines = [line for line in err.splitlines()
                 if not line.startswith(("{", "note: --now is"))]
        assert later.returncode == 1, err
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert "PAM_RETRY_MAX_SECONDS=1" in lines[0] and "Traceback" not in err
