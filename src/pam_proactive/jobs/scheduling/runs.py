"""Job runs and their ranges in the engine schema: claim a slot, plan ranges, claim, finish.

A run is unique per (job, slot). Its users are cut into ranges (lo < id <= hi) planned when
the run is claimed; each range is claimed with a token, processed and finished on its own,
and the last range to finish finalises the run in SQL. Every function here is one or two
statements; nothing is read or written per user.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any, Literal
from uuid import UUID, uuid4

from pam_proactive.engine import Engine
from pam_proactive.errors import ConfigurationError
from pam_proactive.jobs.scheduling.schedule import JobDef, job_named
from pam_proactive.jobs.scheduling.statements import JobStatements
from pam_proactive.observability import metrics

Runner = Literal["inprocess", "celery"]
NIL = UUID(int=0)
MAX_ID = UUID(int=(1 << 128) - 1)
REASONS = ("changed", "due", "full")  # why a traveler job evaluated a traveler


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One stored run; counts are sums over its ranges (filled when it finishes)."""

    id: int
    job: str
    slot: datetime
    as_of: datetime
    runner: str
    status: str  # running, ok, partial, failed
    started_at: datetime
    finished_at: datetime | None
    ranges: int
    ranges_failed: int
    ranges_skipped: int
    users: int
    created: int
    escalated: int
    resolved: int
    expired: int
    errors: int
    detail: dict[str, Any]

    @property
    def evaluated(self) -> dict[str, int] | None:
        """Travelers a traveler job evaluated, by reason (changed, due, full), summed over
        its ranges; None for a run that records no selection (operator jobs, older runs)."""
        if not any(f"evaluated_{r}" in self.detail for r in REASONS):
            return None
        return {r: int(self.detail.get(f"evaluated_{r}", 0)) for r in REASONS}

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields (timestamps as ISO-8601), with ``evaluated`` by reason."""
        out = asdict(self)
        out["evaluated"] = self.evaluated
        for key in ("slot", "as_of", "started_at", "finished_at"):
            out[key] = out[key].isoformat() if out[key] is not None else None
        return out


@dataclass(frozen=True, slots=True)
class StartResult:
    """What claiming a slot did: ``started`` (this caller owns the new run), ``duplicate``
    (the slot already has a run: nothing done) or ``busy`` (a scheduled trigger found an
    earlier run of the job still alive: no overlapping run is started)."""

    status: Literal["started", "duplicate", "busy"]
    run: RunRecord
    ranges: int = 0


@dataclass(frozen=True, slots=True)
class RangeClaim:
    """A range held by this caller: only the holder of ``claim`` may finish it."""

    run_id: int
    seq: int
    lo: UUID
    hi: UUID
    status: str  # 'running', or 'failed' when the attempt limit was reached at claim
    attempts: int
    job: str
    slot: datetime
    as_of: datetime
    claim: UUID


@dataclass(slots=True)
class RangeCounts:
    """What one range did: users processed and suggestion lifecycle counts."""

    users: int = 0
    created: int = 0
    escalated: int = 0
    resolved: int = 0
    expired: int = 0
    errors: int = 0  # users whose detectors failed (skipped, their suggestions kept)
    detail: dict[str, Any] = field(default_factory=dict)


_RUN_FIELDS = tuple(f.name for f in fields(RunRecord))


def lease_seconds(engine: Engine) -> float:
    """Seconds after which a claimed range, or a run untouched, counts as abandoned."""
    return engine.settings.job_range_timeout + 60.0


def _record(row: tuple[Any, ...]) -> RunRecord:
    values = dict(zip(_RUN_FIELDS, row, strict=True))
    values["detail"] = dict(values["detail"] or {})
    return RunRecord(**values)


def _sql(engine: Engine) -> JobStatements:
    """The job statements bound for the engine schema (bound once, then reused)."""
    return JobStatements.for_schema(engine.settings.engine_schema)


async def plan_ranges(engine: Engine, per_user: bool) -> list[tuple[UUID, UUID]]:
    """Bounds (lo, hi] covering every user id: ``PAM_JOB_RANGE_SIZE`` active users each for a
    per-user job (the last range open-ended, so users added later belong to it), one range
    otherwise. Reads ids only, one keyset page per range."""
    if not per_user:
        return [(NIL, MAX_ID)]
    cuts: list[UUID] = []
    async for page in engine.data.iter_sweep_user_batches(engine.settings.job_range_size):
        cuts.append(page[-1])
    bounds = [NIL, *cuts[:-1], MAX_ID]
    return list(itertools.pairwise(bounds))


async def get_run(engine: Engine, run_id: int) -> RunRecord | None:
    """The run with this id, if any."""
    rows = await engine.db.fetch(*_sql(engine).run_by_id, {"run": run_id})
    return _record(rows[0]) if rows else None


async def recent_runs(engine: Engine, job: str | None = None, limit: int = 20
                      ) -> list[RunRecord]:
    """The latest runs (of one job, or all), newest first."""
    rows = await engine.db.fetch(*_sql(engine).recent_runs, {"job": job, "limit": limit})
    return [_record(r) for r in rows]


async def last_finished_runs(engine: Engine) -> dict[str, RunRecord]:
    """Each job's latest finished run (ok, partial or failed), by job name; one statement."""
    rows = await engine.db.fetch(*_sql(engine).last_finished)
    return {record.job: record for record in map(_record, rows)}


async def running_runs(engine: Engine, jobs: list[str]) -> list[int]:
    """Ids of the runs of ``jobs`` still running, newest slot first."""
    rows = await engine.db.fetch(*_sql(engine).running_runs, {"jobs": jobs})
    return [int(r[0]) for r in rows]


async def run_ranges(engine: Engine, run_id: int) -> list[dict[str, Any]]:
    """A run's ranges with their status, attempts and counts, in order."""
    rows = await engine.db.fetch(*_sql(engine).ranges_of_run, {"run": run_id})
    keys = ("seq", "lo", "hi", "status", "attempts", "users", "created", "escalated",
            "resolved", "errors", "error")
    return [dict(zip(keys, r, strict=True)) for r in rows]


async def supersede(engine: Engine, run_id: int) -> RunRecord | None:
    """Close a run whose workers are gone because a newer slot is due: its unfinished ranges
    are skipped (evaluating an old moment now would notify stale conditions) and it is
    finalised as partial. Returns the finished run."""
    await engine.db.fetch(*_sql(engine).skip_open_ranges, {"run": run_id})
    return await finalize_run(engine, run_id)


async def start_run(engine: Engine, job: JobDef, now: datetime, *, runner: Runner,
                    slot: datetime | None = None, scheduled: bool = True) -> StartResult:
    """Claim ``job``'s run for ``slot`` (default: its latest slot at or before ``now``),
    evaluated as of ``now``, and plan its ranges, in one transaction.

    Dead earlier runs of the job are superseded first. A ``scheduled`` trigger that finds
    another run of the job still alive starts nothing (``busy``): runs never overlap.
    """
    slot = slot or job.latest_slot(now)
    existing = await engine.db.fetch(*_sql(engine).run_by_slot, {"job": job.name, "slot": slot})
    if existing:  # the common case of a scheduler's pass: nothing to plan
        return StartResult("duplicate", _record(existing[0]))
    lease = lease_seconds(engine)
    params = {"job": job.name, "slot": slot, "lease": lease}
    for other_id, other_slot, alive in await engine.db.fetch(*_sql(engine).other_running, params):
        if alive and scheduled:
            other = await get_run(engine, int(other_id))
            if other is not None:
                return StartResult("busy", other)
        if not alive and other_slot < slot:
            await supersede(engine, int(other_id))
    bounds = await plan_ranges(engine, job.per_user)
    run_id = await _insert(engine, job, slot, now, runner, bounds)
    rows = await engine.db.fetch(*_sql(engine).run_by_slot, {"job": job.name, "slot": slot})
    record = _record(rows[0])
    if run_id is None:
        return StartResult("duplicate", record)
    return StartResult("started", record, len(bounds))


async def _insert(engine: Engine, job: JobDef, slot: datetime, now: datetime, runner: Runner,
                  bounds: list[tuple[UUID, UUID]]) -> int | None:
    q = _sql(engine)
    # One transaction: a run is never visible without its ranges. A transient failure
    # surfaces as TransientDataSourceError (the next trigger claims the slot again).
    async with engine.db.transaction("job_run_claim") as tx:
        rows = await tx.fetch(*q.insert_run, {
            "job": job.name, "slot": slot, "as_of": now, "runner": runner,
            "ranges": len(bounds)})
        if not rows:
            return None
        await tx.execute(*q.insert_ranges, {
            "run": rows[0][0], "lo": [b[0] for b in bounds], "hi": [b[1] for b in bounds]})
        return int(rows[0][0])


async def claim_range(engine: Engine, runs: list[int], *, seq: int | None = None,
                      takeover: bool = False, resume: UUID | None = None
                      ) -> RangeClaim | None:
    """Claim a range of one of ``runs`` (``seq``: that range): a pending one, or a running
    one whose lease ran out (any running one with ``takeover``). None when nothing is
    claimable. Each claim is an attempt, except one presenting the token of the previous
    claim (``resume``: a retry after a transient error). A range past
    ``PAM_JOB_MAX_ATTEMPTS`` comes back with status 'failed'."""
    token = uuid4()
    rows = await engine.db.fetch(*_sql(engine).claim_range, {
        "runs": runs, "seq": seq, "takeover": takeover, "lease": lease_seconds(engine),
        "resume": resume,
        "max_attempts": engine.settings.job_max_attempts, "claim": token})
    if not rows:
        return None
    run_id, rseq, lo, hi, status, attempts, job, slot, as_of = rows[0]
    return RangeClaim(int(run_id), int(rseq), lo, hi, status, int(attempts), job, slot, as_of,
                      token)


async def finish_range(engine: Engine, claim: RangeClaim, status: Literal["done", "failed"],
                       counts: RangeCounts, error: str | None = None) -> bool:
    """Record a range's outcome; False if this caller no longer held it (a takeover)."""
    rows = await engine.db.fetch(*_sql(engine).finish_range, {
        "run": claim.run_id, "seq": claim.seq, "claim": claim.claim, "status": status,
        "users": counts.users, "created": counts.created, "escalated": counts.escalated,
        "resolved": counts.resolved, "expired": counts.expired, "errors": counts.errors,
        "detail": json.dumps(counts.detail, sort_keys=True, default=str), "error": error})
    return bool(rows and rows[0][0])


async def release_range(engine: Engine, claim: RangeClaim) -> None:
    """Give a range back unfinished (a runner stopping): pending again for anyone."""
    await engine.db.fetch(*_sql(engine).release_range,
                          {"run": claim.run_id, "seq": claim.seq, "claim": claim.claim})


async def finalize_run(engine: Engine, run_id: int) -> RunRecord | None:
    """Finish the run if none of its ranges is pending or running: status ok, partial (a
    range failed or skipped, or users whose detectors failed) or failed (every range
    failed), counts summed. Returns the finished run, or None if it is not done (or was
    finalised already)."""
    rows = await engine.db.fetch(*_sql(engine).finalize_run, {"run": run_id})
    if not rows:
        return None
    record = _record(rows[0])
    observe_finished(record)
    return record


def observe_finished(record: RunRecord) -> None:
    """Count a finished run in this process's metrics (job runs by outcome, duration in
    seconds, the job's period). Called by whoever finalised it: the SQL update succeeds for
    one caller only (``status = 'running'`` guard), so each run is counted exactly once, in
    the process (in-process runner or Celery worker) that finished its last range."""
    finished = record.finished_at or record.started_at
    seconds = max(0.0, (finished - record.started_at).total_seconds())
    metrics.observe_job_run(record.job, record.status, seconds,
                            finished_at=finished.timestamp())
    try:
        job = job_named(record.job)
    except ConfigurationError:  # a run of a job no longer scheduled: no period to declare
        return
    metrics.set_job_period(record.job, job.period(finished).total_seconds())
