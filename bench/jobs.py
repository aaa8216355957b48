"""Benchmark: a `monitor_user_context` run on seeded users, in-process and through Celery.

One embedded database seeded once; a first in-process run stores the suggestions, then each
measured run is the steady state every 15 minutes brings (the same data, one more slot):
the in-process runner, then 1, 2 and 4 Celery worker processes (real `celery worker`
subprocesses on a real redis-server). For each it prints users/s and the CPU seconds spent
by the Python processes, the database server and Redis, which tell what limits scaling.
Each run is evaluated as of its slot and is a full pass over every user (the job is
incremental: ``PAM_FULL_SWEEP_HOURS`` is set below one slot here, so it cannot skip anyone).

    python bench/jobs.py --users 100000
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import psutil
import psycopg

from _common import NOW, parser, seeded_engine
from pam_proactive.analysis.geo import resolve_place
from pam_proactive.engine import Engine
from pam_proactive.jobs.scheduling.celery_tasks import create_app
from pam_proactive.jobs.scheduling.execute import run_job
from pam_proactive.jobs.scheduling.schedule import job_named

JOB = job_named("monitor_user_context")
FULL_PASS_HOURS = 0.01  # under one 15-minute slot: every measured run is a full pass
CELERY = str(Path(sys.executable).parent / "celery")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


class Fleet:
    """``n`` worker subprocesses (concurrency 1 each) on one Redis."""

    def __init__(self, n: int, uri: str, redis_url: str, range_size: int, batch: int,
                 logs: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PAM_")}
        env.update({"DATABASE_URL": uri, "REDIS_URL": redis_url, "PAM_BATCH_SIZE": str(batch),
                    "PAM_JOB_RANGE_SIZE": str(range_size), "PAM_POOL_MAX_SIZE": "4",
                    "PAM_FULL_SWEEP_HOURS": str(FULL_PASS_HOURS)})
        self.procs = []
        self.logs = [logs / f"w{n}-{i}.log" for i in range(n)]
        for i, log in enumerate(self.logs):
            self.procs.append(subprocess.Popen(
                [CELERY, "-A", "pam_proactive.jobs.celery_app", "worker", "--pool=prefork",
                 "--concurrency=1", "-Q", "pam.triggers,pam.ranges", "-n", f"b{n}-{i}@%h",
                 "--without-gossip", "--without-mingle", "--without-heartbeat",
                 "--loglevel=WARNING"], env=env, stdout=log.open("w"),
                stderr=subprocess.STDOUT, start_new_session=True))

    def pids(self) -> list[int]:
        out = []
        for p in self.procs:
            proc = psutil.Process(p.pid)
            out += [p.pid, *[c.pid for c in proc.children(recursive=True)]]
        return out

    def wait_ready(self) -> None:
        # A pool process is up once its parent forked it and it opened its engine.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if all(psutil.Process(p.pid).children() for p in self.procs):
                time.sleep(3.0)  # the engine opens in worker_process_init
                return
            time.sleep(0.2)
        raise RuntimeError("celery workers did not start; see " + str(self.logs[0]))

    def stop(self) -> None:
        for p in self.procs:
            os.killpg(p.pid, signal.SIGQUIT)
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def server_cpu_seconds(uri: str) -> float:
    """CPU seconds of the local server so far: the postmaster's live children plus those
    that exited (psutil; the benchmark's server is always local)."""
    with psycopg.connect(uri) as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        postmaster = psutil.Process(int(row[0])).ppid()
    pm = psutil.Process(postmaster)
    times = pm.cpu_times()
    return times.children_user + times.children_system + _cpu([c.pid for c in pm.children()])


def _run_status(uri: str, run_slot: Any) -> tuple[str, int] | None:
    with psycopg.connect(uri) as conn:
        row = conn.execute("SELECT status, users FROM pam_proactive.job_runs WHERE job = %s"
                           " AND slot = %s", (JOB.name, run_slot)).fetchone()
    return (str(row[0]), int(row[1])) if row else None


def celery_trial(uri: str, redis_url: str, redis_pid: int, workers: int, slot: Any,
                 args: Any, logs: Path) -> dict[str, float]:
    fleet = Fleet(workers, uri, redis_url, args.range_size, args.batch_size, logs)
    try:
        fleet.wait_ready()
        client = create_app(_settings(redis_url))
        cpu0, srv0, red0 = _cpu(fleet.pids()), server_cpu_seconds(uri), _cpu([redis_pid])
        started = time.perf_counter()
        client.send_task("pam.trigger", args=(JOB.name, slot.isoformat(), slot.isoformat()),
                         queue="pam.triggers")
        while (state := _run_status(uri, slot)) is None or state[0] == "running":
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        return {"users": state[1], "seconds": seconds, "load": os.getloadavg()[0],
                "python": _cpu(fleet.pids()) - cpu0,
                "server": server_cpu_seconds(uri) - srv0, "redis": _cpu([redis_pid]) - red0,
                "status_ok": float(state[0] == "ok")}
    finally:
        fleet.stop()


def _settings(redis_url: str) -> Any:
    from pam_proactive.config import load_settings

    return load_settings(redis_url=redis_url)


async def inprocess_trial(engine: Engine, slot: Any) -> dict[str, float]:
    uri = engine.conninfo
    cpu0, srv0 = time.process_time(), server_cpu_seconds(uri)
    started = time.perf_counter()
    outcome = await run_job(engine, JOB, slot, slot=slot)
    seconds = time.perf_counter() - started
    return {"users": outcome.run.users, "seconds": seconds, "load": os.getloadavg()[0],
            "python": time.process_time() - cpu0, "server": server_cpu_seconds(uri) - srv0,
            "redis": 0.0, "status_ok": float(outcome.status == "ok")}


def _line(label: str, r: dict[str, float]) -> str:
    rate = r["users"] / r["seconds"] if r["seconds"] else 0.0
    return (f"{label:<22} {r['users']:>8,.0f} users {r['seconds']:>7.1f} s {rate:>8,.0f} users/s"
            f"   cpu s: python {r['python']:>6.1f}  server {r['server']:>6.1f}"
            f"  redis {r['redis']:>5.2f}  load {r['load']:4.1f}"
            + ("" if r["status_ok"] else "  (run not ok!)"))


async def main(args: Any) -> None:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="pam-bench-jobs-") as tmp:
        redis = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1",
                                  "--save", "", "--appendonly", "no", "--dir", tmp],
                                 stdout=subprocess.DEVNULL)
        redis_url = f"redis://127.0.0.1:{port}/0"
        try:
            async with seeded_engine(args.users, args.seed, args.batch_size) as engine:
                os.environ["PAM_JOB_RANGE_SIZE"] = str(args.range_size)
                engine.settings = engine.settings.model_copy(
                    update={"job_range_size": args.range_size,
                            "full_sweep_hours": FULL_PASS_HOURS})
                resolve_place("Denver, CO")  # a long-running process has the gazetteer
                slot = NOW
                first = await inprocess_trial(engine, slot)
                print(_line("first run (stores)", first))
                results = []
                slot += timedelta(minutes=15)
                results.append(("in-process", await inprocess_trial(engine, slot)))
                print(_line(*results[-1]))
                for n in args.workers:
                    slot += timedelta(minutes=15)
                    r = celery_trial(engine.conninfo, redis_url, redis.pid, n, slot, args,
                                     Path(tmp))
                    results.append((f"celery, {n} worker{'s' if n > 1 else ''}", r))
                    print(_line(*results[-1]))
                _explain(results)
        finally:
            redis.terminate()
            redis.wait(10)


def _explain(results: list[tuple[str, dict[str, float]]]) -> None:
    cores = os.cpu_count() or 1
    print(f"\n{cores} cores. Per run, CPU seconds per wall second (1.0 = one core busy), and "
          "CPU seconds per 1,000 users:")
    for label, r in results:
        s, k = r["seconds"] or 1.0, (r["users"] or 1) / 1000
        print(f"  {label:<22} python {r['python'] / s:4.2f}  server {r['server'] / s:4.2f}"
              f"  redis {r['redis'] / s:4.2f}   per 1,000 users: python {r['python'] / k:5.2f}"
              f"  server {r['server'] / k:5.2f}")
    print("Python + server near the core count means the machine is full: more workers "
          "cannot help here (a load above the core count means other processes share it). "
          "Redis carries one message per range and stays near zero.")


if __name__ == "__main__":
    p = parser(__doc__ or "")
    p.add_argument("--range-size", type=int, default=5_000, help="users per job range")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    asyncio.run(main(p.parse_args()))
