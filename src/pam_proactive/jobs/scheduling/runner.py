"""The in-process scheduler: the five jobs on their crons in one process, no other service.

Each pass looks at every job's latest slot at or before the wall clock; a slot without a run
is claimed (so a slot missed while the process was down runs once at start-up, not once per
missed slot), then every claimable range of the running runs is processed. Several runners
on one database share the work: the slot's run is claimed once, each range once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from pam_proactive.engine import Engine
from pam_proactive.errors import TransientDataSourceError
from pam_proactive.jobs.scheduling import runs
from pam_proactive.jobs.scheduling.execute import Stop, drain_run
from pam_proactive.jobs.scheduling.runs import RunRecord
from pam_proactive.jobs.scheduling.schedule import JOBS, JobDef

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)


class Runner:
    """Runs due jobs as they fall due. One per process; ``serve()`` until stopped."""

    def __init__(self, engine: Engine, *, jobs: Sequence[JobDef] = JOBS,
                 clock: Clock = wall_clock, idle_seconds: float = 30.0) -> None:
        self.engine = engine
        self.jobs = tuple(jobs)
        self.clock = clock
        self.idle_seconds = idle_seconds
        self.stop = Stop()
        self._wake = asyncio.Event()
        self.finished: list[RunRecord] = []
        self._claimed: dict[str, datetime] = {}  # latest slot known to have a run, per job

    async def run_pending(self) -> int:
        """Claim every job's due slot, then process claimable ranges of running runs until
        none is left (or a stop is asked). Returns how many ranges this runner processed."""
        for job in self.jobs:
            if self.stop.requested:
                break
            now = self.clock()
            if self._claimed.get(job.name) == job.latest_slot(now):
                continue
            started = await runs.start_run(self.engine, job, now, runner="inprocess",
                                           scheduled=True)
            if started.status != "busy":
                self._claimed[job.name] = started.run.slot
            if started.status == "started":
                log.info("job run started", extra={"job": job.name, "run_id": started.run.id,
                                                   "ranges": started.ranges})
        running = await runs.running_runs(self.engine, [j.name for j in self.jobs])
        processed = await drain_run(self.engine, running, self.stop) if running else 0
        for run_id in running:
            record = await runs.get_run(self.engine, run_id)
            if record is not None and record.status != "running":
                self.finished.append(record)
        return processed

    def seconds_to_next(self) -> float:
        """Seconds until the next slot of any job, capped at ``idle_seconds`` (other runners'
        ranges and clock changes are picked up at least that often)."""
        now = self.clock()
        nxt = min(job.next_fire(now) for job in self.jobs)
        return max(0.05, min(self.idle_seconds, (nxt - now) / timedelta(seconds=1)))

    def request_stop(self) -> None:
        """Finish the range in hand, then return from :meth:`serve`."""
        self.stop.set()
        self._wake.set()

    async def serve(self) -> None:
        """Run until :meth:`request_stop` (SIGINT/SIGTERM via :meth:`install_signals`)."""
        while not self.stop.requested:
            # Cleared before the pass, not after it: a stop (or wake) asked while the pass
            # runs must end the wait below at once, not after the idle interval.
            self._wake.clear()
            try:
                await self.run_pending()
            except TransientDataSourceError as exc:
                # The database is away: the ranges in hand are retaken when it is back.
                log.warning("scheduler pass failed; retrying", extra={
                    "error": type(exc).__name__})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.seconds_to_next())


async def serve_until_signalled(runner: Runner) -> None:
    """Serve with SIGINT/SIGTERM handled: the first signal finishes the range in hand and
    stops; a second cancels it, giving the range back to be redone. Returns normally."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    signals = 0

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        log.info("stopping the scheduler", extra={"signals": signals})
        runner.request_stop()
        if signals > 1 and task is not None:
            task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    try:
        await runner.serve()
    except asyncio.CancelledError:
        if signals < 2:
            raise
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
