"""Benchmark: the full sweep (contexts + detectors + lifecycle storage) over seeded users.

Prints users/s for a dry run (read + detect) and for the storing sweep, then for a second
storing sweep at the same moment (the steady state: nothing new to store). Then the same dry
run and steady-state sweep split across ``--processes`` worker processes, each with its own
engine (one pool) and a contiguous share of the users, as Celery workers would take them:
this is how throughput is meant to grow, so its figure is measured beside the single one.

    python bench/sweep.py --users 100000 --processes 2
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import time
from typing import Any
from uuid import UUID

from _common import NOW, parser, run, seeded_engine, server_cpu_seconds
from pam_proactive.analysis.geo import resolve_place
from pam_proactive.config import load_settings
from pam_proactive.engine import Engine, open_engine
from pam_proactive.jobs.pipeline.sweeps import sweep


async def _worker_sweep(uri: str, batch_size: int, ids: list[UUID], dry_run: bool,
                        start: Any) -> tuple[int, float]:
    settings = load_settings(database_url=uri, batch_size=batch_size)
    async with open_engine(settings, conninfo=uri) as engine:
        # A long-running worker has the gazetteer loaded: load it before the clock starts.
        resolve_place("Denver, CO")
        start.wait()
        started = time.perf_counter()
        report = await sweep(engine, NOW, user_ids=ids, dry_run=dry_run, deliver=False)
        return report.users, time.perf_counter() - started


def _worker(uri: str, batch_size: int, ids: list[UUID], dry_run: bool, start: Any
            ) -> tuple[int, float]:
    return asyncio.run(_worker_sweep(uri, batch_size, ids, dry_run, start))


def parallel_rate(uri: str, batch_size: int, ids: list[UUID], processes: int, dry_run: bool
                  ) -> tuple[int, float]:
    """Users and wall seconds (the slowest worker) of one sweep split across processes."""
    ctx = multiprocessing.get_context("spawn")
    share = -(-len(ids) // processes)
    parts = [ids[i : i + share] for i in range(0, len(ids), share)]
    start = ctx.Manager().Barrier(len(parts))
    with ctx.Pool(len(parts)) as pool:
        results = pool.starmap(_worker, [(uri, batch_size, part, dry_run, start)
                                         for part in parts])
    return sum(u for u, _ in results), max(s for _, s in results)


async def _active_ids(engine: Engine) -> list[UUID]:
    return [u async for page in engine.data.iter_sweep_user_batches() for u in page]


async def main(args: argparse.Namespace) -> None:
    figures = []
    async with seeded_engine(args.users, args.seed, args.batch_size) as engine:
        resolve_place("Denver, CO")  # as in the workers: the gazetteer is loaded untimed
        uri = engine.settings.database_url or ""
        for label, dry in (("dry run (read + detect)", True), ("sweep (first, stores)", False),
                           ("sweep (again, same now)", False)):
            server, python, started = (server_cpu_seconds(uri), time.process_time(),
                                       time.perf_counter())
            report = await sweep(engine, NOW, dry_run=dry, deliver=False)
            elapsed = time.perf_counter() - started
            figures.append((label, report.users, elapsed,
                            f"CPU s: Python {time.process_time() - python:.1f}, server "
                            f"{server_cpu_seconds(uri) - server:.1f}; "
                            f"{sum(report.by_type.values()):,} suggestions; "
                            f"stored {dict(report.lifecycle)}"))
        if args.processes > 1:
            ids = await _active_ids(engine)
            for label, dry in (("dry run", True), ("sweep (again)", False)):
                users, seconds = await asyncio.to_thread(
                    parallel_rate, uri, args.batch_size, ids, args.processes, dry)
                figures.append((f"{label}, {args.processes} processes", users, seconds, ""))
    for label, users, elapsed, note in figures:
        print(f"{label:<26} {users:>7,} users in {elapsed:7.2f} s = "
              f"{users / elapsed:>8,.0f} users/s{'; ' + note if note else ''}")


if __name__ == "__main__":
    cli = parser(__doc__ or "")
    cli.add_argument("--processes", type=int, default=2,
                     help="worker processes for the parallel figures (1: skip them)")
    run(main(cli.parse_args()))
