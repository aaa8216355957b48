"""The distributed runner: Celery on Redis, beat's schedule generated from :data:`JOBS`.

The application is :func:`create_app`; the worker and beat load it from
``pam_proactive.jobs.celery_app`` (its module-level ``app``):

    celery -A pam_proactive.jobs.celery_app worker -Q pam.triggers,pam.ranges,pam.events
    celery -A pam_proactive.jobs.celery_app beat        # exactly one
    pam-proactive watch --executor celery               # exactly one: the change feed

Beat sends ``pam.trigger(job)`` at each slot. The trigger claims the run (unique per slot:
a duplicate trigger does nothing), plans its ranges and enqueues one ``pam.range`` task per
range on its own queue. Range tasks are acknowledged late, one prefetched at a time, and
requeued when their worker process is lost (the range's attempt counter stops a range that
keeps killing workers); transient database errors are retried with backoff, nothing else is.
The last range to finish finalises the run in SQL. Each worker process opens one engine
(pool) in ``worker_process_init`` and keeps it for its life.

A worker checks ``PAM_CHANNELS`` against the recorded delivery channels at start-up, before
its pool starts, and stops (exit 1) naming the setting on a mismatch. Its logging, Celery's
own records included, goes through the project's formatter (JSON lines off a terminal).

The watcher (``PAM_WATCH_EXECUTOR=celery``) sends each settled batch of changed travelers
as ``pam_proactive.evaluate_travelers`` on ``pam.events`` (its own queue, so a write's
suggestion never waits behind a slot's ranges); the task evaluates it with the same function
as the in-process watcher, acknowledged late and retried on transient database errors only,
and observes each changed row's lag in the worker (``pam_event_lag_seconds``).
"""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from celery import Celery, Task, signals
from celery.schedules import BaseSchedule, schedstate

from pam_proactive.config import Settings, load_settings
from pam_proactive.engine import Engine
from pam_proactive.errors import ConfigurationError, TransientDataSourceError
from pam_proactive.jobs.pipeline.batches import Batch, evaluate_batch, observe_lag_metrics
from pam_proactive.jobs.pipeline.delivery import reconcile_channels
from pam_proactive.jobs.scheduling import runs
from pam_proactive.jobs.scheduling.execute import process_range
from pam_proactive.jobs.scheduling.runtime import ProcessRuntime
from pam_proactive.jobs.scheduling.schedule import JOBS, job_named, next_fire
from pam_proactive.logs import configure_logging
from pam_proactive.observability import metrics

log = logging.getLogger(__name__)

TRIGGER_QUEUE = "pam.triggers"
RANGE_QUEUE = "pam.ranges"
EVALUATE_TASK = "pam_proactive.evaluate_travelers"  # a watcher batch (see jobs.watcher)
EVENT_QUEUE = "pam.events"
_RETRIES = 10  # transient database errors: about 5 minutes of backoff in all

_runtime: ProcessRuntime | None = None


def time_limits(settings: Settings) -> tuple[float, float, float]:
    """(soft, hard, visibility timeout) seconds for a range task: the asyncio timeout
    PAM_JOB_RANGE_TIMEOUT fires first, Celery's soft and hard limits back it up, and
    Redis redelivers an unacknowledged task only well after the hard limit."""
    t = settings.job_range_timeout
    soft, hard = t * 1.1 + 5, t * 1.2 + 10
    return soft, hard, hard * 2 + 60


class CronSlots(BaseSchedule):  # type: ignore[misc]
    """A beat schedule evaluated by :func:`next_fire` (the same rule as every runner): due
    once the first slot after the last run has come; after downtime, once, not per slot."""

    def __init__(self, cron: str, tz: str = "UTC", **kwargs: Any) -> None:
        self.cron = cron
        self.tz = tz
        super().__init__(**kwargs)

    def _aware(self, moment: datetime) -> datetime:
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def remaining_estimate(self, last_run_at: datetime) -> timedelta:
        """Time left until the first slot after ``last_run_at``."""
        last = self._aware(last_run_at)
        return next_fire(self.cron, last, self.tz) - self._aware(self.now())

    def is_due(self, last_run_at: datetime) -> schedstate:
        """Whether to fire now, and seconds until beat should look again."""
        now = self._aware(self.now())
        due_at = next_fire(self.cron, self._aware(last_run_at), self.tz)
        if now >= due_at:
            return schedstate(True, (next_fire(self.cron, now, self.tz) - now).total_seconds())
        return schedstate(False, (due_at - now).total_seconds())

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return (self.__class__, (self.cron, self.tz))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CronSlots) and (self.cron, self.tz) == (other.cron, other.tz)

    def __hash__(self) -> int:
        return hash((self.cron, self.tz))

    def __repr__(self) -> str:
        return f"<CronSlots {self.cron} {self.tz}>"


def beat_schedule() -> dict[str, dict[str, Any]]:
    """Beat entries: one per job, firing ``pam.trigger(job)`` at its slots."""
    return {job.name: {"task": "pam.trigger", "schedule": CronSlots(job.cron, job.tz),
                       "args": (job.name,), "options": {"queue": TRIGGER_QUEUE}}
            for job in JOBS}


def runtime() -> ProcessRuntime:
    """This process's runtime (one loop, one engine and pool), opened on first use."""
    global _runtime
    if _runtime is None:
        _runtime = ProcessRuntime(load_settings())
    return _runtime


@signals.celeryd_init.connect  # type: ignore[untyped-decorator]
def _json_logging_early(**_: Any) -> None:
    # The worker program's first step, before its own warnings (e.g. running as root).
    configure_logging()
    logging.captureWarnings(True)  # Python warnings become records, not plain-text lines


@signals.setup_logging.connect  # type: ignore[untyped-decorator]
def _json_logging(loglevel: int | None = None, **_: Any) -> None:
    # Connected, this replaces Celery's plain-text logging: every record (Celery's, kombu's,
    # psycopg_pool's during an outage, ours) is one line of the project's formatter.
    # Celery's own records keep the worker's --loglevel (task names, ids, run times and
    # retries: the operator's view of the queue); other libraries log from WARNING up.
    configure_logging()
    logging.captureWarnings(True)
    if loglevel:
        logging.getLogger("celery").setLevel(loglevel)


@signals.celeryd_after_setup.connect  # type: ignore[untyped-decorator]
def _check_channels(**_: Any) -> None:
    # In the worker's main process, before its pool starts: an exception in
    # worker_process_init is only logged by Celery and a pool process that exits is
    # replaced, so a mismatch found there would not stop the worker. A database that is
    # down now is no reason to refuse to start: the first delivery checks again.
    checking = ProcessRuntime(load_settings())
    try:
        checking.run(reconcile_channels)
    except ConfigurationError as exc:
        log.critical("worker stopped: %s", exc)
        raise SystemExit(1) from exc
    except TransientDataSourceError:
        log.warning("delivery channels not checked at start-up (database unavailable): "
                    "they are at the first delivery")
    finally:
        checking.close()


@signals.worker_process_init.connect  # type: ignore[untyped-decorator]
def _open_runtime(**_: Any) -> None:
    # Each pool process opens its own pool once; a forked copy of the parent's is unusable.
    global _runtime
    _runtime = None
    runtime().engine()
    observe_lag_metrics()  # the watcher's batches: each changed row's lag, observed here


@signals.worker_process_shutdown.connect  # type: ignore[untyped-decorator]
def _close_runtime(**_: Any) -> None:
    if _runtime is not None:
        _runtime.close()
    # Multiprocess mode: this process's live gauges (pool, cache) stop counting; its
    # counters and histograms stay in the shared directory for the scrape.
    metrics.process_exit()


def _countdown(retries: int) -> float:
    """Seconds before retry ``retries + 1``: exponential with jitter, capped at 60 s."""
    return float(min(60.0, 2.0 ** retries) * (0.5 + random.random() / 2))


def trigger(task: Task, job_name: str, now_iso: str | None = None,
            slot_iso: str | None = None) -> dict[str, Any]:
    """Claim ``job_name``'s run for its latest slot at or before ``now_iso`` (default: the
    current time; ``slot_iso`` names another slot, for replays and benchmarks), plan its
    ranges and enqueue them. Returns the claim's status and run id."""
    job = job_named(job_name)
    now = datetime.fromisoformat(now_iso) if now_iso else datetime.now(UTC)
    slot = datetime.fromisoformat(slot_iso) if slot_iso else None

    async def claim(engine: Engine) -> runs.StartResult:
        return await runs.start_run(engine, job, now, runner="celery", slot=slot,
                                    scheduled=True)

    try:
        started = runtime().run(claim)
    except TransientDataSourceError as exc:
        raise task.retry(exc=exc, countdown=_countdown(task.request.retries)) from exc
    if started.status == "started":
        for seq in range(started.ranges):
            task.app.send_task("pam.range", args=(started.run.id, seq), queue=RANGE_QUEUE)
    log.info("job trigger", extra={"job": job_name, "run_id": started.run.id,
                                   "outcome": started.status})
    return {"status": started.status, "run_id": started.run.id}


def run_range(task: Task, run_id: int, seq: int, resume: str | None = None
              ) -> dict[str, Any] | None:
    """Claim range ``seq`` of run ``run_id`` (taking it over if its worker was lost), process
    it and finalise the run if it was the last. Nothing happens when the range is already
    finished or skipped. Returns the run once finished by this range."""
    held: list[runs.RangeClaim] = []

    async def work(engine: Engine) -> runs.RunRecord | None:
        claim = await runs.claim_range(engine, [run_id], seq=seq, takeover=True,
                                       resume=UUID(resume) if resume else None)
        if claim is None:
            return None
        held.append(claim)
        return await process_range(engine, claim, transient="raise")

    try:
        record = runtime().run(work)
    except TransientDataSourceError as exc:
        token = str(held[0].claim) if held else resume
        raise task.retry(exc=exc, countdown=_countdown(task.request.retries),
                         kwargs={"resume": token}) from exc
    return record.as_dict() if record is not None else None


def evaluate_travelers(task: Task, now: str, reason: str, user_ids: list[str],
                       watermarks: dict[str, str], ages: list[float], taken_at: float
                       ) -> dict[str, int]:
    """Evaluate one batch the watcher sent (see ``jobs.pipeline.batches.Batch``): store,
    deliver, record evaluation state and observe each changed row's lag. A redelivery or a
    retry duplicates nothing. Returns the travelers evaluated by reason."""
    batch = Batch.from_kwargs(now, reason, user_ids, watermarks, ages, taken_at)

    async def work(engine: Engine) -> dict[str, int]:
        return dict(await evaluate_batch(engine, batch, serialize=True))

    try:
        counts = runtime().run(work)
    except TransientDataSourceError as exc:
        raise task.retry(exc=exc, countdown=_countdown(task.request.retries)) from exc
    log.info("watch batch", extra={"reason": reason, "travelers": len(user_ids),
                                   "evaluated": sum(counts.values())})
    return counts


def create_app(settings: Settings | None = None) -> Celery:
    """The Celery application for ``settings`` (default: from the environment)."""
    settings = settings or load_settings()
    soft, hard, visibility = time_limits(settings)
    app = Celery("pam_proactive", broker=settings.redis_url, set_as_current=False)
    app.conf.update(
        enable_utc=True, timezone="UTC",
        task_ignore_result=True,
        task_acks_late=True,
        task_acks_on_failure_or_timeout=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=soft,
        task_time_limit=hard,
        broker_transport_options={"visibility_timeout": visibility},
        broker_connection_retry_on_startup=True,
        task_default_queue=TRIGGER_QUEUE,
        task_routes={"pam.range": {"queue": RANGE_QUEUE}, "pam.trigger": {"queue": TRIGGER_QUEUE},
                     EVALUATE_TASK: {"queue": EVENT_QUEUE}},
        beat_schedule=beat_schedule(),
        worker_hijack_root_logger=False,
    )
    app.task(name="pam.trigger", bind=True, max_retries=_RETRIES)(trigger)
    app.task(name="pam.range", bind=True, max_retries=_RETRIES)(run_range)
    app.task(name=EVALUATE_TASK, bind=True, max_retries=_RETRIES)(evaluate_travelers)
    return app
