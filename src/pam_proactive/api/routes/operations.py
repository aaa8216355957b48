"""The operator's reports: the latest fleet report and the scheduled jobs' recent runs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from pam_proactive.api.auth import Caller
from pam_proactive.api.schemas import ERRORS
from pam_proactive.api.state import api_state, operator
from pam_proactive.jobs.scheduling.runs import recent_runs
from pam_proactive.jobs.scheduling.schedule import JOBS
from pam_proactive.logs import audit_actor
from pam_proactive.reports.fleet import build_fleet_report, latest_fleet_report

router = APIRouter(prefix="/v1", tags=["operations"])

MAX_RUNS = 200
_JOB_NAMES = tuple(j.name for j in JOBS)


@router.get("/fleet/report", responses=ERRORS)
async def fleet_report(request: Request, _: Caller = Depends(operator)) -> dict[str, Any]:
    """The latest stored fleet report (what `pam-proactive fleet --format json` prints):
    fleet score, each vehicle's health score (0-100) and items, the critical list and the
    overdue counts by task. When none is stored yet, one is computed now, stored and
    returned (that takes a sweep over every active traveler)."""
    engine = api_state(request).engine
    with audit_actor("api:operator"):
        report = await latest_fleet_report(engine)
        if report is None:
            report = await build_fleet_report(engine, datetime.now(UTC))
    return report.to_json()


@router.get("/jobs/runs", responses=ERRORS)
async def job_runs(request: Request,
                   job: str | None = Query(None, pattern="^(" + "|".join(_JOB_NAMES) + ")$",
                                           description="only this job"),
                   limit: int = Query(20, ge=1, le=MAX_RUNS, description="runs to return"),
                   _: Caller = Depends(operator)) -> list[dict[str, Any]]:
    """The latest runs of the scheduled jobs (or of ``job``), newest first: slot, runner,
    status (running, ok, partial, failed), started/finished, ranges, users processed,
    suggestions created/escalated/resolved/expired and errors."""
    with audit_actor("api:operator"):
        found = await recent_runs(api_state(request).engine, job, limit)
    return [r.as_dict() for r in found]
