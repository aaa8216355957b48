"""What each scheduled job does with one range: ``async (engine, work) -> RangeCounts``.

The user-sweeping jobs run the sweep over their range with their detector group only, so a
job resolves only suggestions of the types it ran; they are incremental per job
(jobs/pipeline/sweeps.py ``incremental_range``): only the range's travelers who changed or are
due in the job's scope are evaluated, everyone when its full-sweep interval has elapsed. The
two operator jobs run as one range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from pam_proactive.db.connection import BoundStatement
from pam_proactive.engine import Engine
from pam_proactive.jobs.pipeline.evaluate import SweepReport
from pam_proactive.jobs.pipeline.state import job_cursor
from pam_proactive.jobs.pipeline.sweeps import incremental_range, sweep
from pam_proactive.jobs.scheduling.runs import RangeCounts
from pam_proactive.jobs.scheduling.schedule import JobDef
from pam_proactive.jobs.scheduling.statements import JobStatements
from pam_proactive.reports.fleet import build_fleet_report


@dataclass(frozen=True, slots=True)
class RangeWork:
    """One range of one run: users lo < id <= hi, evaluated as of ``now`` (the run's as_of)."""

    job: JobDef
    run_id: int
    seq: int
    lo: UUID
    hi: UUID
    slot: datetime
    now: datetime


def _counts(report: SweepReport) -> RangeCounts:
    life = report.lifecycle
    delivered = report.delivery.delivered if report.delivery is not None else 0
    return RangeCounts(
        users=report.users, created=life["created"], escalated=life["escalated"],
        resolved=life["resolved"], expired=life["expired"], errors=report.detector_errors,
        detail={"notified": life["notified"], "delivered": delivered,
                "rows_skipped": report.rows_skipped, "store_retries": report.store_retries})


async def _sweep_range(engine: Engine, work: RangeWork, *, insights: bool = False
                       ) -> RangeCounts:
    """The range's travelers who changed or are due in the job's own scope, or all of them
    when the job's full-sweep interval has elapsed; counts by reason in ``detail``."""
    types = work.job.types
    if types is None:  # not a traveler job: nothing to select from
        return _counts(await sweep(engine, work.now, user_range=(work.lo, work.hi)))
    cursor = await job_cursor(engine, work.job.name, work.slot)
    report = await incremental_range(engine, work.job.name, types, work.now,
                                     (work.lo, work.hi), cursor, insights=insights)
    counts = _counts(report)
    counts.detail.update(report.detail())
    if insights:
        counts.detail["insights"] = report.insights
    return counts


async def monitor_user_context(engine: Engine, work: RangeWork) -> RangeCounts:
    """Time-critical detectors (fuel, departures, budgets exceeded, overdue maintenance,
    expiring documents) over the range's travelers."""
    return await _sweep_range(engine, work)


async def generate_predictive_recommendations(engine: Engine, work: RangeWork) -> RangeCounts:
    """Forward-looking detectors (budget forecast and threshold, events needing a trip,
    maintenance due soon) over the range's travelers."""
    return await _sweep_range(engine, work)


async def analyze_user_patterns(engine: Engine, work: RangeWork) -> RangeCounts:
    """Pattern insights stored for each traveler of the range (from the same reads as the
    detectors), then the economy-drop and spending-anomaly detectors."""
    return await _sweep_range(engine, work, insights=True)


async def monitor_fleet_maintenance(engine: Engine, work: RangeWork) -> RangeCounts:
    """The fleet report (stored with this run's id; the operator is alerted when the
    critical count grows)."""
    report = await build_fleet_report(engine, work.now, run_id=work.run_id)
    vehicles = report.summary.vehicles
    return RangeCounts(users=len({v.user_id for v in vehicles}), detail={
        "vehicles": len(vehicles), "critical": len(report.summary.critical),
        "fleet_score": report.fleet_score, "errors": report.errors})


async def cleanup_and_health_check(engine: Engine, work: RangeWork) -> RangeCounts:
    """Expire live suggestions past their expiry, prune finished job runs and sent or
    cancelled notifications past retention, and record a health snapshot; set-based, one
    statement each."""
    s = engine.settings
    st = JobStatements.for_schema(s.engine_schema)

    async def count(statement: BoundStatement, params: dict[str, Any]) -> int:
        rows = await engine.db.fetch(*statement, params)
        return int(rows[0][0]) if rows else 0

    now = work.now
    expired = await count(st.expire_stale, {"now": now})
    runs_before = now - timedelta(days=s.job_history_days)
    pruned_runs = await count(st.prune_runs, {"before": runs_before})
    pruned_snapshots = await count(st.prune_snapshots, {"before": runs_before})
    pruned_outbox = await count(st.prune_outbox, {
        "before": now - timedelta(days=s.outbox_retention_days)})
    rows = await engine.db.fetch(*st.health_snapshot, {"now": now, "run": work.run_id})
    live, pending, failing = rows[0]
    return RangeCounts(expired=expired, detail={
        "pruned_runs": pruned_runs, "pruned_snapshots": pruned_snapshots,
        "pruned_outbox": pruned_outbox, "live_suggestions": int(live),
        "pending_outbox": int(pending), "failing_outbox": int(failing)})
