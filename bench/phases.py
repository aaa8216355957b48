"""Benchmark: where a sweep's CPU goes, phase by phase (fetch, build, detect, store, other).

Seeds demo travelers, then runs the dry run, the first storing sweep and the storing sweep
again at the same moment (as bench/sweep.py does), and prints for each the Python process's
CPU seconds split by phase:

* ``fetch``: reading a batch's sources as columns (``read_frames``: ADBC and Arrow, or
  psycopg for a small batch);
* ``build``: making the contexts (``loader.build_contexts``);
* ``detect``: running the detectors (``evaluate._detect``);
* ``store``: the lifecycle store and the evaluation state (``evaluate._store``);
* ``other``: everything else of the sweep (paging, the report, the event loop...);
* ``gc``: the cyclic garbage collector, whichever phase set it off.

Each phase is charged only while its code runs: a coroutine's time is counted per step of
its task, so a batch read in the background while another batch is detected is charged to
``fetch``, not to ``detect``. The column-wise reads decode in worker threads
(``db/arrow.py``), whose CPU the process's clock counts whatever the event loop's thread
does meanwhile (mostly waiting for them, which was charged to ``other``): each worker's own
CPU clock is read at every mark and charged to ``fetch``. The split is exact up to the
cost of the bookkeeping itself (a few microseconds per task step). Polars' own thread pool
works while the loop's thread waits for its query, so its CPU stays with the phase that
ran the query (``build``). ``--profile`` also prints a cProfile of each sweep
(which slows it: read its proportions, not its seconds). Last come each sweep's suggestions
by type, its lifecycle counts and a digest of the stored suggestions and notifications
(ids and wall-clock stamps left out): two checkouts must print the same. To measure another
checkout with this script: ``PYTHONPATH=/path/to/its/src python bench/phases.py``.

    python bench/phases.py --users 20000
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import cProfile
import functools
import gc
import inspect
import pstats
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from _common import NOW, parser, run, seeded_engine, server_cpu_seconds
from pam_proactive.analysis.geo import resolve_place
from pam_proactive.data import loader
from pam_proactive.db import arrow
from pam_proactive.jobs.pipeline import evaluate
from pam_proactive.jobs.pipeline.sweeps import sweep

PHASES = ("fetch", "build", "detect", "store", "other", "gc")

_phase: contextvars.ContextVar[str] = contextvars.ContextVar("phase", default="other")


class Clock:
    """CPU seconds (``time.process_time``) charged to the phase running since the last mark."""

    def __init__(self) -> None:
        self.spent: Counter[str] = Counter()
        self.last = time.process_time()
        # The read workers' CPU clocks and each one's reading at the last mark.
        self.readers: dict[int, float] = {}
        self.lock = threading.Lock()

    def reader(self) -> None:
        """Charge the calling worker thread's CPU from now on to ``fetch``."""
        clock = time.pthread_getcpuclockid(threading.get_ident())
        with self.lock:
            self.readers.setdefault(clock, time.clock_gettime(clock))

    def _readers(self) -> float:
        """The read workers' CPU seconds since the last mark."""
        spent = 0.0
        with self.lock:
            for clock, last in list(self.readers.items()):
                try:
                    now = time.clock_gettime(clock)
                except OSError:  # the thread ended: its CPU up to the last mark was charged
                    del self.readers[clock]
                    continue
                spent += now - last
                self.readers[clock] = now
        return spent

    def mark(self, phase: str | None = None) -> None:
        """Charge the CPU since the last mark to ``phase`` (default: the current context's),
        but the read workers' to ``fetch``."""
        now = time.process_time()
        readers = self._readers()
        self.spent["fetch"] += readers
        self.spent[phase or _phase.get()] += now - self.last - readers
        self.last = now

    @contextmanager
    def running(self, phase: str) -> Iterator[None]:
        """Charge what runs inside to ``phase``, then go back to the enclosing one."""
        self.mark()
        token = _phase.set(phase)
        try:
            yield
        finally:
            self.mark()
            _phase.reset(token)


CLOCK = Clock()


def _sync(phase: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with CLOCK.running(phase):
            return fn(*args, **kwargs)
    return wrapped


def _async(phase: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def wrapped(*args: Any, **kwargs: Any) -> Any:
        with CLOCK.running(phase):
            return await fn(*args, **kwargs)
    return wrapped


def _instrument() -> None:
    """Wrap the phases' functions, and charge each event-loop step to its task's phase."""
    original_run = asyncio.events.Handle._run

    def step(handle: asyncio.events.Handle) -> None:
        CLOCK.mark("other")  # the loop itself, between steps
        original_run(handle)
        # The step's own phase is the one of the context it ran in (its task's).
        handle._context.run(CLOCK.mark)

    asyncio.events.Handle._run = step  # type: ignore[method-assign]

    def collecting(stage: str, info: dict[str, int]) -> None:
        # Up to the start: the phase that set it off; from there to the stop: the collector.
        CLOCK.mark(None if stage == "start" else "gc")

    gc.callbacks.append(collecting)
    reading = arrow.ArrowReaders._read

    def read(self: arrow.ArrowReaders, text: str, running: list[Any]) -> Any:
        CLOCK.reader()  # runs in the worker thread
        return reading(self, text, running)

    arrow.ArrowReaders._read = read  # type: ignore[method-assign]
    loader.read_frames = _async("fetch", loader.read_frames)  # type: ignore[attr-defined]
    loader.build_contexts = _sync("build", loader.build_contexts)  # type: ignore[attr-defined]
    # Asynchronous since detection yields to the event loop between slices of travelers.
    detect = _async if inspect.iscoroutinefunction(evaluate._detect) else _sync
    evaluate._detect = detect("detect", evaluate._detect)
    evaluate._store = _async("store", evaluate._store)


# What a storing sweep leaves behind, without the random ids and the wall-clock stamps: two
# runs of one seed at one moment must give the same digest (the output is the same).
STORED = """
SELECT md5(coalesce(string_agg(r, '|' ORDER BY r), '')) FROM (
  SELECT concat_ws(',', user_id, type, priority, title, message, data::text, dedup_key,
                   computed_for, expires_at, status, notified_rank, held_by IS NULL) AS r
  FROM {s}.suggestions
  UNION ALL
  SELECT concat_ws(',', o.user_id, s.dedup_key, o.event, o.priority, o.deliver_after,
                   o.cancelled_at IS NULL)
  FROM {s}.outbox o JOIN {s}.suggestions s ON s.id = o.suggestion_id) rows
"""


async def main(args: argparse.Namespace) -> None:
    _instrument()
    async with seeded_engine(args.users, args.seed, args.batch_size) as engine:
        resolve_place("Denver, CO")  # the gazetteer is loaded untimed, as in a worker
        uri = engine.settings.database_url or ""
        print(f"{'CPU seconds':<24}" + "".join(f"{p:>8}" for p in PHASES)
              + f"{'python':>8}{'server':>8}{'wall':>8}  users")
        outcomes = []
        for label, dry in (("dry run", True), ("sweep (first, stores)", False),
                           ("sweep (again, same now)", False)):
            server = server_cpu_seconds(uri)
            prof = cProfile.Profile() if args.profile else None
            CLOCK.spent.clear()
            CLOCK.mark("outside")
            python, started = time.process_time(), time.perf_counter()
            if prof is not None:
                prof.enable()
            report = await sweep(engine, NOW, dry_run=dry, deliver=False)
            if prof is not None:
                prof.disable()
            CLOCK.mark()
            python, wall = time.process_time() - python, time.perf_counter() - started
            server = server_cpu_seconds(uri) - server
            print(f"{label:<24}" + "".join(f"{CLOCK.spent[p]:8.2f}" for p in PHASES)
                  + f"{python:8.2f}{server:8.2f}{wall:8.2f}  {report.users:,}")
            stored = await engine.db.fetch("bench.stored", STORED.format(
                s=engine.settings.engine_schema))
            outcomes.append(f"{label}: {sorted(report.by_type.items())} "
                            f"{sorted(report.lifecycle.items())} stored {stored[0][0]}")
            if prof is not None:
                pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(
                    args.profile)
        print("\n".join(outcomes))


if __name__ == "__main__":
    cli = parser(__doc__ or "")
    cli.set_defaults(users=20_000)
    cli.add_argument("--profile", type=int, default=0, metavar="N",
                     help="also print the N costliest functions of each sweep (cProfile)")
    run(main(cli.parse_args()))
