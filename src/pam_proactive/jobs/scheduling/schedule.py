"""The five scheduled jobs, defined once as data, and cron evaluation on wall-clock boundaries.

Every runner (the in-process scheduler, Celery beat, the ``jobs``/``job`` commands) reads
:data:`JOBS`. A slot is a moment the cron names, evaluated in the schedule's own time zone
(UTC for the shipped jobs): a job is due when its latest slot at or before ``now`` has not
run yet, whatever moment the process started.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

from pam_proactive.errors import ConfigurationError
from pam_proactive.suggestions.detectors import REGISTRY

# The detector groups of the traveler jobs, from the detectors' specs (each type names its
# job group there).
MONITOR_TYPES = REGISTRY.job_types("monitor")
PATTERN_TYPES = REGISTRY.job_types("pattern")
PREDICTIVE_TYPES = REGISTRY.job_types("predictive")


@dataclass(frozen=True, slots=True)
class JobDef:
    """One scheduled job.

    ``types`` is the detector group it runs (None: it runs no detector). ``target`` is the
    import path ``module:function`` of its range function (see ``jobs.scheduling.work``).
    ``per_user`` jobs are split into ranges of users; the others run as one range covering everyone.
    """

    name: str
    cron: str
    types: frozenset[str] | None
    target: str
    per_user: bool
    description: str
    tz: str = "UTC"

    def latest_slot(self, now: datetime) -> datetime:
        """The latest slot at or before ``now`` (UTC, aware)."""
        return latest_slot(self.cron, now, self.tz)

    def next_fire(self, after: datetime) -> datetime:
        """The first slot strictly after ``after`` (UTC, aware)."""
        return next_fire(self.cron, after, self.tz)

    def period(self, now: datetime) -> timedelta:
        """The gap between the slot before ``now`` and the next one: the job's current period
        (a health check allows a last run up to twice this old)."""
        return self.next_fire(now) - self.latest_slot(now)


_WORK = "pam_proactive.jobs.scheduling.work"

JOBS: tuple[JobDef, ...] = (
    JobDef("monitor_user_context", "*/15 * * * *", MONITOR_TYPES,
           f"{_WORK}:monitor_user_context", True,
           "time-critical detectors over every active traveler"),
    JobDef("analyze_user_patterns", "0 */2 * * *", PATTERN_TYPES,
           f"{_WORK}:analyze_user_patterns", True,
           "pattern insights stored per traveler; economy drops and spending anomalies"),
    JobDef("generate_predictive_recommendations", "30 8,12,16,20 * * *", PREDICTIVE_TYPES,
           f"{_WORK}:generate_predictive_recommendations", True,
           "forward-looking detectors: budget forecasts and thresholds, events, maintenance"),
    JobDef("monitor_fleet_maintenance", "0 */6 * * *", None,
           f"{_WORK}:monitor_fleet_maintenance", False,
           "fleet health report for the operator, alert when the critical count grows"),
    JobDef("cleanup_and_health_check", "0 2 * * *", None,
           f"{_WORK}:cleanup_and_health_check", False,
           "expire stale suggestions, prune history and outbox, record a health snapshot"),
)


def job_named(name: str) -> JobDef:
    """The job called ``name``; raises ConfigurationError listing the known names."""
    for job in JOBS:
        if job.name == name:
            return job
    raise ConfigurationError(
        f"unknown job {name!r}; use one of: {', '.join(j.name for j in JOBS)}")


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def _local(moment: datetime, tz: str | ZoneInfo) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("cron evaluation needs a timezone-aware moment")
    zone = _zone(tz)
    # cronsim treats a UTC-tagged moment without DST handling, and every other zone with it.
    return moment.astimezone(UTC if zone.key == "UTC" else zone)


def check_cron(cron: str) -> str:
    """``cron`` itself if it parses as a five-field expression; else ConfigurationError."""
    try:
        CronSim(cron, datetime(2026, 1, 1, tzinfo=UTC))
    except (CronSimError, ValueError) as exc:
        raise ConfigurationError(f"invalid cron {cron!r}: {exc}") from None
    if len(cron.split()) != 5:
        raise ConfigurationError(f"invalid cron {cron!r}: use five fields (minute .. weekday)")
    return cron


def next_fire(cron: str, after: datetime, tz: str | ZoneInfo = "UTC") -> datetime:
    """The first moment strictly after ``after`` that ``cron`` names in zone ``tz``, in UTC.

    Wall-clock rules in a zone with DST: a time skipped by the spring change fires at the
    first valid minute after it, a time repeated in autumn fires once (its first occurrence),
    and intervals such as ``*/15`` keep counting real minutes across the change.
    """
    start = _local(after, tz)
    fired: datetime = next(iter(CronSim(check_cron(cron), start)))
    return fired.astimezone(UTC)


def latest_slot(cron: str, now: datetime, tz: str | ZoneInfo = "UTC") -> datetime:
    """The latest moment at or before ``now`` that ``cron`` names in zone ``tz``, in UTC."""
    # cronsim's reverse iteration yields moments strictly before its start (whole seconds):
    # start one second after ``now`` truncated so that ``now`` itself can be the slot.
    start = _local(now, tz).replace(microsecond=0) + timedelta(seconds=1)
    found = next(iter(CronSim(check_cron(cron), start, reverse=True))).astimezone(UTC)
    # Guard the DST fix-up: a slot is never after the moment asked about.
    return found if found <= now else latest_slot(cron, found - timedelta(seconds=1), tz)
