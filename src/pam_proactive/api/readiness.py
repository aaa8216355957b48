"""Readiness: a list of checks, each answering ok or why not. Add a check by appending a
function to :data:`DEFAULT_CHECKS` (or passing ``checks`` to ``create_app``)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pam_proactive.api import repository
from pam_proactive.db.migrate import engine_migrations, preset_sql
from pam_proactive.engine import Engine
from pam_proactive.errors import PamError, SchemaError
from pam_proactive.jobs.scheduling.runs import RunRecord, last_finished_runs
from pam_proactive.jobs.scheduling.schedule import JOBS, JobDef

CHECK_TIMEOUT = 5.0  # seconds; a hung database must not hang the probe
PROCESS_STARTED = time.monotonic()  # the jobs check's grace period counts from here


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's outcome; ``detail`` says why it failed (or what it saw)."""

    name: str
    ok: bool
    detail: str


# A check is named after its function: a failure it raises is reported under that name.
Check = Callable[[Engine], Awaitable[CheckResult]]


async def database(engine: Engine) -> CheckResult:
    """The database answers a query."""
    await repository.ping(engine)
    return CheckResult("database", True, "reachable")


def _preset_checksum(preset: str) -> str:
    # The checksum migrate records for an installed preset (db/migrate.py _install_preset).
    return hashlib.sha256((preset + preset_sql(preset)).encode()).hexdigest()


async def migrations(engine: Engine) -> CheckResult:
    """Every packaged migration is applied unchanged, and the configured preset's views are
    the installed ones."""
    try:
        applied = await repository.migrations_applied(engine)
    except SchemaError:
        return CheckResult("migrations", False,
                           "the engine schema has no migrations: run `pam-proactive migrate`")
    problems = []
    for mig in engine_migrations():
        done = applied.get(mig.version)
        if done is None:
            problems.append(f"{mig.version}_{mig.name} not applied")
        elif done != mig.checksum:
            problems.append(f"{mig.version}_{mig.name} differs from the applied one")
    preset = engine.settings.preset
    if applied.get("preset") != _preset_checksum(preset):
        problems.append(f"the views of preset {preset!r} are not installed")
    if problems:
        return CheckResult("migrations", False,
                           "; ".join(problems) + ": run `pam-proactive migrate`")
    return CheckResult("migrations", True, f"{len(engine_migrations())} applied, preset {preset}")


def job_staleness(job: JobDef, last: RunRecord | None, now: datetime, uptime: timedelta
                  ) -> str | None:
    """Why ``job`` makes the engine not ready, or None. Its last finished run may be up to
    twice its period old. A job that never ran is not a failure on a fresh install: it fails
    only once this process has been up longer than twice the period (the schedule had time to
    run it); until then it is reported as "never ran"."""
    allowed = 2 * job.period(now)
    if last is None:
        return "never ran" + (f" in {_span(uptime)} up" if uptime > allowed else "")
    age = now - (last.finished_at or last.started_at)
    if age > allowed:
        return f"last run {_span(age)} ago (more than 2 x its period {_span(job.period(now))})"
    return None


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


async def jobs(engine: Engine, *, now: datetime | None = None,
               uptime: timedelta | None = None) -> CheckResult:
    """The last finished run of each scheduled job is not older than twice its period (a job
    that never ran counts only once the process has been up that long)."""
    now = now or datetime.now(UTC)
    uptime = uptime if uptime is not None else timedelta(
        seconds=time.monotonic() - PROCESS_STARTED)
    last = await last_finished_runs(engine)
    failing, never = [], []
    for job in JOBS:
        why = job_staleness(job, last.get(job.name), now, uptime)
        if why == "never ran":
            never.append(job.name)
        elif why is not None:
            failing.append(f"{job.name}: {why}")
    if failing:
        return CheckResult("jobs", False, "; ".join(failing)
                           + ": is a scheduler running (`pam-proactive run`, or Celery beat "
                           "and workers)?")
    detail = f"{len(JOBS) - len(never)} of {len(JOBS)} jobs ran recently"
    return CheckResult("jobs", True, detail + (f"; never ran yet: {', '.join(never)}"
                                               if never else ""))


DEFAULT_CHECKS: tuple[Check, ...] = (database, migrations, jobs)


async def _guarded(check: Check, engine: Engine) -> CheckResult:
    name = getattr(check, "__name__", "check")
    try:
        return await asyncio.wait_for(check(engine), CHECK_TIMEOUT)
    except TimeoutError:
        return CheckResult(name, False, f"no answer within {CHECK_TIMEOUT:.0f} s")
    except PamError as exc:
        return CheckResult(name, False, str(exc))


async def run_checks(engine: Engine, checks: Sequence[Check]) -> list[CheckResult]:
    """Every check's result, run concurrently; a check that raises or hangs fails."""
    return list(await asyncio.gather(*(_guarded(c, engine) for c in checks)))
