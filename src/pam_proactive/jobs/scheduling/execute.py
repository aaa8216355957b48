"""Running ranges and whole jobs in this process (the ``job`` command, the in-process runner
and each Celery range task share :func:`process_range`)."""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pam_proactive.db.connection import TRANSIENT_ERRORS, RetryBudget
from pam_proactive.engine import Engine
from pam_proactive.errors import PamError, TransientDataSourceError
from pam_proactive.jobs.scheduling import runs
from pam_proactive.jobs.scheduling.runs import RangeClaim, RangeCounts, RunRecord
from pam_proactive.jobs.scheduling.schedule import JobDef, job_named
from pam_proactive.jobs.scheduling.work import RangeWork
from pam_proactive.logs import audit_actor, bind

log = logging.getLogger(__name__)

RangeFn = Callable[[Engine, RangeWork], Awaitable[RangeCounts]]


def resolve_target(job: JobDef) -> RangeFn:
    """The job's range function from its ``module:function`` import path."""
    module, _, name = job.target.partition(":")
    fn: RangeFn = getattr(importlib.import_module(module), name)
    return fn


def describe_error(exc: BaseException) -> str:
    """A log- and database-safe description: the type, and the message only for the engine's
    own errors (written never to carry traveler data)."""
    if isinstance(exc, PamError):
        return f"{type(exc).__name__}: {exc}"[:500]
    if isinstance(exc, TimeoutError):
        return "TimeoutError: the range exceeded PAM_JOB_RANGE_TIMEOUT"
    return type(exc).__name__


async def process_range(engine: Engine, claim: RangeClaim, *,
                        transient: Literal["retry", "raise"] = "retry",
                        job: JobDef | None = None) -> RunRecord | None:
    """Run one claimed range and record its outcome, then finalise the run if it was the last.

    A failing range is recorded as failed and the run goes on. Transient database errors are
    retried here with backoff for up to ``PAM_RETRY_MAX_SECONDS`` (``retry``), or re-raised
    for the caller's own retry (``raise``: Celery), leaving the range claimed for the retry
    to take over. Returns the run if this range finished it. ``job`` defaults to the
    scheduled job of the claim's name.
    """
    job = job or job_named(claim.job)
    with bind(job=claim.job, run_id=claim.run_id, range_lo=claim.lo, range_hi=claim.hi), \
            audit_actor(f"job:{claim.job}"):
        return await _process_range(engine, claim, job, transient)


async def _process_range(engine: Engine, claim: RangeClaim, job: JobDef,
                         transient: Literal["retry", "raise"]) -> RunRecord | None:
    if claim.status == "failed":  # attempt limit reached at claim
        return await runs.finalize_run(engine, claim.run_id)
    work = RangeWork(job, claim.run_id, claim.seq, claim.lo, claim.hi, claim.slot, claim.as_of)
    fn = resolve_target(job)
    retry = RetryBudget.for_settings(engine.settings)
    while True:
        try:
            async with asyncio.timeout(engine.settings.job_range_timeout):
                counts = await fn(engine, work)
        except (TransientDataSourceError, *TRANSIENT_ERRORS) as exc:
            if transient == "raise":
                if isinstance(exc, TransientDataSourceError):
                    raise
                raise TransientDataSourceError(
                    f"range {claim.seq} of run {claim.run_id} lost the database "
                    f"({type(exc).__name__}); retried") from exc
            delay = retry.next_delay()
            if delay is not None:
                await asyncio.sleep(delay)
                continue
            await _failed(engine, claim, exc)
        except Exception as exc:  # one failing range is recorded; the run goes on
            await _failed(engine, claim, exc)
        else:
            await runs.finish_range(engine, claim, "done", counts)
        break
    return await runs.finalize_run(engine, claim.run_id)


async def _failed(engine: Engine, claim: RangeClaim, exc: BaseException) -> None:
    log.error("job range failed", extra={"job": claim.job, "run_id": claim.run_id,
                                         "range": claim.seq, "error": type(exc).__name__})
    await runs.finish_range(engine, claim, "failed", RangeCounts(), describe_error(exc))


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """A run as the caller of :func:`run_job` sees it: ``duplicate`` when the slot had run."""

    status: str  # ok, partial, failed, running (ranges held elsewhere), duplicate, busy
    run: RunRecord

    def as_dict(self) -> dict[str, object]:
        """The run's fields with this call's status (JSON-ready)."""
        return {**self.run.as_dict(), "status": self.status, "run_id": self.run.id}


class Stop:
    """A flag a signal handler sets: finish the range in hand, then stop."""

    def __init__(self) -> None:
        self.requested = False

    def set(self) -> None:
        """Ask the work to stop after the current range."""
        self.requested = True


async def drain_run(engine: Engine, run_ids: list[int], stop: Stop | None = None,
                    job: JobDef | None = None) -> int:
    """Claim and process ranges of ``run_ids`` until none is claimable (or a stop is asked);
    returns how many ranges this caller processed."""
    done = 0
    while not (stop and stop.requested):
        claim = await runs.claim_range(engine, run_ids)
        if claim is None:
            return done
        await _process_or_release(engine, claim, job)
        done += 1
    return done


async def _process_or_release(engine: Engine, claim: RangeClaim, job: JobDef | None) -> None:
    """Process a claimed range; if this task is cancelled (a second signal), give the range
    back so another runner (or this one after a restart) redoes it."""
    try:
        await process_range(engine, claim, job=job)
    except asyncio.CancelledError:
        await asyncio.shield(runs.release_range(engine, claim))
        raise


async def run_job(engine: Engine, job: JobDef, now: datetime, *, scheduled: bool = False,
                  slot: datetime | None = None, stop: Stop | None = None) -> JobOutcome:
    """Run ``job`` once in this process for its latest slot at or before ``now`` (or
    ``slot``), evaluated as of ``now``. A slot that already has a run does nothing
    (``duplicate``). Returns the run as it stands when this process has no range left."""
    started = await runs.start_run(engine, job, now, runner="inprocess", slot=slot,
                                   scheduled=scheduled)
    if started.status != "started":
        return JobOutcome(started.status, started.run)
    await drain_run(engine, [started.run.id], stop, job)
    final = await runs.get_run(engine, started.run.id)
    assert final is not None
    return JobOutcome(final.status, final)
