"""The engine's Prometheus metrics, and the functions the rest of the engine calls to feed them.

Bottom layer: imports only prometheus_client and the standard library, so the data layer,
the store, delivery, jobs and the API can all record here without importing one another.

Several processes (API workers, Celery workers): set ``PROMETHEUS_MULTIPROC_DIR`` to an
empty directory shared by every process of one host *before* any of them starts (the value
class is chosen when prometheus_client is imported). Counters and histograms are then summed
over all processes at scrape time by ``MultiProcessCollector``; the per-process gauges (pool,
cache entries) use ``livesum``, and each process deletes its live gauge files when it exits
(:func:`process_exit`, registered with ``atexit``; call it from hooks that bypass atexit,
e.g. Celery's ``worker_process_shutdown``). Clear the directory when the service restarts.

Label values are statement names, job names, suggestion types and priorities, channel names
and outcomes: a small, fixed set. Never put ids or traveler data in a label. Jobs are labelled
``job_name``, not ``job``: Prometheus sets ``job`` on every scraped series (the scrape job),
and an exported ``job`` label would be renamed ``exported_job``.
"""

from __future__ import annotations

import atexit
import math
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REGISTRY = CollectorRegistry(auto_describe=True)
"""Every metric of the engine (single-process exposition; multiprocess mode reads files)."""

_QUERY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                  10.0, 30.0)
_JOB_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
_LAG_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

# --- database ---------------------------------------------------------------------------------
DB_QUERIES = Counter("pam_db_queries", "Statements executed, by statement name and outcome "
                     "(ok or error).", ("statement", "outcome"), registry=REGISTRY)
DB_QUERY_SECONDS = Histogram("pam_db_query_duration_seconds", "Statement wall time, seconds.",
                             ("statement",), buckets=_QUERY_BUCKETS, registry=REGISTRY)
DB_SLOW_QUERIES = Counter("pam_db_slow_queries", "Statements slower than "
                          "PAM_SLOW_QUERY_SECONDS.", ("statement",), registry=REGISTRY)
DB_UP = Gauge("pam_db_up", "1 if the database answered the last probe (at scrape), else 0; "
              "NaN before any probe.", multiprocess_mode="mostrecent", registry=REGISTRY)
DB_UP.set(math.nan)  # unknown, not down, in a process that never probes
POOL_SIZE = Gauge("pam_db_pool_size_connections", "Connections open in the pools "
                  "(summed over live processes).", multiprocess_mode="livesum", registry=REGISTRY)
POOL_MAX = Gauge("pam_db_pool_max_connections", "Configured maximum pool connections "
                 "(summed over live processes).", multiprocess_mode="livesum", registry=REGISTRY)
POOL_IN_USE = Gauge("pam_db_pool_in_use_connections", "Pool connections lent out right now.",
                    multiprocess_mode="livesum", registry=REGISTRY)
POOL_WAITING = Gauge("pam_db_pool_waiting_requests", "Requests waiting for a pool connection.",
                     multiprocess_mode="livesum", registry=REGISTRY)

# --- context cache ----------------------------------------------------------------------------
CACHE_HITS = Counter("pam_cache_hits", "Context cache lookups served fresh.", registry=REGISTRY)
CACHE_MISSES = Counter("pam_cache_misses", "Context cache lookups not served.",
                       registry=REGISTRY)
CACHE_EVICTIONS = Counter("pam_cache_evictions", "Context cache entries evicted by the size "
                          "bound.", registry=REGISTRY)
CACHE_STALE = Counter("pam_cache_stale_served", "Stale contexts served while the database was "
                      "down.", registry=REGISTRY)
CACHE_ENTRIES = Gauge("pam_cache_entries", "Contexts held in the caches (live processes).",
                      multiprocess_mode="livesum", registry=REGISTRY)

# --- jobs -------------------------------------------------------------------------------------
JOB_RUNS = Counter("pam_job_runs", "Scheduled job runs, by job and outcome.",
                   ("job_name", "outcome"), registry=REGISTRY)
JOB_SECONDS = Histogram("pam_job_duration_seconds", "Job run wall time, seconds.",
                        ("job_name", "outcome"), buckets=_JOB_BUCKETS, registry=REGISTRY)
JOB_USERS = Counter("pam_job_users_processed", "Travelers swept, by job (counted per batch).",
                    ("job_name",), registry=REGISTRY)
JOB_LAST_SUCCESS = Gauge("pam_job_last_success_timestamp_seconds", "Unix time of the job's "
                         "last successful run.", ("job_name",), multiprocess_mode="max",
                         registry=REGISTRY)
JOB_PERIOD = Gauge("pam_job_period_seconds", "Scheduled period of the job, seconds.",
                   ("job_name",), multiprocess_mode="max", registry=REGISTRY)

# --- suggestions and delivery ------------------------------------------------------------------
SUGGESTIONS = Counter("pam_suggestion_transitions", "Suggestions created, escalated, resolved "
                      "or expired by the store, by type and priority.",
                      ("transition", "type", "priority"), registry=REGISTRY)
DELIVERIES = Counter("pam_deliveries", "Delivery attempts, by channel and outcome (ok or "
                     "failed).", ("channel", "outcome"), registry=REGISTRY)
OUTBOX_ROWS = Counter("pam_outbox_rows", "Outbox rows handled by delivery runs, by outcome "
                      "(delivered, failed, cancelled, dead).", ("outcome",), registry=REGISTRY)
OUTBOX_DEAD = Gauge("pam_outbox_dead", "Notifications past their last scheduled attempt, by "
                    "channel that has not accepted them (read from the database at scrape).",
                    ("channel",), multiprocess_mode="mostrecent", registry=REGISTRY)
DIGESTS = Counter("pam_digests_sent", "Daily digests delivered (each one notification "
                  "gathering a traveler's non-urgent ones).", registry=REGISTRY)
DIGEST_ITEMS = Histogram("pam_digest_items", "Items (suggestions) per delivered daily digest.",
                         buckets=(1, 2, 3, 4, 5, 7, 10, 15, 20, 30), registry=REGISTRY)
EVENT_LAG = Histogram("pam_event_lag_seconds", "Time from a traveler's data change to its "
                      "suggestions being stored, seconds.", buckets=_LAG_BUCKETS,
                      registry=REGISTRY)

# --- fleet ------------------------------------------------------------------------------------
FLEET_CRITICAL = Gauge("pam_fleet_critical_vehicles", "Vehicles in a critical state in the "
                       "latest fleet report.", multiprocess_mode="mostrecent", registry=REGISTRY)
FLEET_VEHICLES = Gauge("pam_fleet_vehicles", "Vehicles in the latest fleet report.",
                       multiprocess_mode="mostrecent", registry=REGISTRY)

# --- relevance (read from the database at scrape, suggestions/relevance.py) ------------------
RELEVANCE_RATE = Gauge("pam_relevance_rate", "Share of the answered suggestions of a type "
                       "that were acted on or rated useful, over the relevance window "
                       "(PAM: 28 days); NaN when none was answered.", ("type",),
                       multiprocess_mode="mostrecent", registry=REGISTRY)
RELEVANCE_WRONG_RATE = Gauge("pam_relevance_wrong_rate", "Share of the answered suggestions "
                             "of a type dismissed as wrong, over the relevance window; NaN "
                             "when none was answered.", ("type",),
                             multiprocess_mode="mostrecent", registry=REGISTRY)
RELEVANCE_ANSWERED = Gauge("pam_relevance_answered", "Suggestions of a type acted on, "
                           "dismissed or rated useful over the relevance window (the rates' "
                           "sample size).", ("type",), multiprocess_mode="mostrecent",
                           registry=REGISTRY)
RELEVANCE_DELIVERED = Gauge("pam_relevance_delivered", "Suggestions of a type with a "
                            "notification delivered over the relevance window.", ("type",),
                            multiprocess_mode="mostrecent", registry=REGISTRY)

JOB_OUTCOMES = ("ok", "partial", "failed", "skipped")  # job_runs.status, and skipped
TRANSITIONS = ("created", "escalated", "resolved", "expired", "held_back", "released")


def multiprocess_dir() -> str | None:
    """The multiprocess directory when multiprocess mode is on, else None."""
    return os.environ.get(MULTIPROC_ENV) or None


def metric_names() -> set[str]:
    """Every sample name the engine can export (``_total``, ``_bucket``... included)."""
    names: set[str] = set()
    for family in REGISTRY.collect():
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.add(family.name + "_total")
        elif family.type == "histogram":
            names.update(family.name + s for s in ("_bucket", "_count", "_sum"))
    return names


# --- recording functions ----------------------------------------------------------------------


def observe_query(statement: str, seconds: float, *, ok: bool, slow: bool) -> None:
    """Count one execution of ``statement`` taking ``seconds``; refresh pool gauges now and
    then (so a worker process's pool figures reach the multiprocess files)."""
    DB_QUERIES.labels(statement, "ok" if ok else "error").inc()
    DB_QUERY_SECONDS.labels(statement).observe(seconds)
    if slow:
        DB_SLOW_QUERIES.labels(statement).inc()
    _pools.refresh_if_due()


def set_db_up(up: bool) -> None:
    """Record the outcome of a database probe (1 reachable, 0 not)."""
    DB_UP.set(1 if up else 0)


def cache_lookup(*, hit: bool) -> None:
    """Count one context cache lookup."""
    (CACHE_HITS if hit else CACHE_MISSES).inc()


def cache_changed(*, added: int = 0, removed: int = 0, evicted: int = 0,
                  stale_served: int = 0) -> None:
    """Record entries added to or removed from a cache (``evicted`` ones are also removed)."""
    if added or removed or evicted:
        CACHE_ENTRIES.inc(added - removed - evicted)
    if evicted:
        CACHE_EVICTIONS.inc(evicted)
    if stale_served:
        CACHE_STALE.inc(stale_served)


def observe_job_run(job: str, outcome: str, seconds: float, *,
                    finished_at: float | None = None) -> None:
    """Record one finished run of ``job``: ``outcome`` is 'ok', 'partial', 'failed' or
    'skipped' (job_runs.status), ``seconds`` its wall time; 'ok' also sets the last-success
    timestamp (Unix seconds, default now). Users are counted by the sweep itself, batch by
    batch (:func:`add_users_processed`), so a long run shows progress."""
    if outcome not in JOB_OUTCOMES:
        raise ValueError(f"job outcome must be one of {JOB_OUTCOMES}, got {outcome!r}")
    JOB_RUNS.labels(job, outcome).inc()
    JOB_SECONDS.labels(job, outcome).observe(seconds)
    if outcome == "ok":
        JOB_LAST_SUCCESS.labels(job).set(time.time() if finished_at is None else finished_at)


def set_job_period(job: str, seconds: float) -> None:
    """Declare the schedule period of ``job`` (seconds): the 'missed run' alert uses it."""
    JOB_PERIOD.labels(job).set(seconds)


def add_users_processed(job: str, users: int) -> None:
    """Count ``users`` travelers swept by ``job`` (one batch)."""
    if users:
        JOB_USERS.labels(job).inc(users)


def observe_suggestions(transition: str, counts: Iterable[tuple[str, str, int]]) -> None:
    """Count stored suggestions of one ``transition`` from (type, priority, count) rows."""
    if transition not in TRANSITIONS:
        raise ValueError(f"transition must be one of {TRANSITIONS}, got {transition!r}")
    for type_, priority, n in counts:
        if n:
            SUGGESTIONS.labels(transition, type_, priority).inc(n)


def observe_delivery(attempts: Iterable[tuple[str, bool]], rows: Mapping[str, int]) -> None:
    """Count delivery attempts as (channel, ok) pairs and outbox rows by outcome."""
    for channel, ok in attempts:
        DELIVERIES.labels(channel, "ok" if ok else "failed").inc()
    for outcome, n in rows.items():
        if n:
            OUTBOX_ROWS.labels(outcome).inc(n)


def observe_digests(items: Iterable[int]) -> None:
    """Count delivered digests, one per value, each the number of items it carried."""
    for n in items:
        DIGESTS.inc()
        DIGEST_ITEMS.observe(n)


def set_outbox_dead(counts: Mapping[str, int]) -> None:
    """Publish the dead notifications per channel (every recorded channel, 0 included, so
    that a cleared channel's alert resolves)."""
    for channel, n in counts.items():
        OUTBOX_DEAD.labels(channel).set(n)


def observe_event_lag(seconds: float) -> None:
    """Record the lag (seconds) between a data change and its suggestions being stored."""
    EVENT_LAG.observe(max(0.0, seconds))


def set_fleet_health(*, critical: int, vehicles: int) -> None:
    """Publish the latest fleet report's critical and total vehicle counts."""
    FLEET_CRITICAL.set(critical)
    FLEET_VEHICLES.set(vehicles)


def set_relevance(rows: Iterable[tuple[str, int, int, float | None, float | None]]) -> None:
    """Publish each type's (type, delivered, answered, relevance rate, wrong rate) over the
    relevance window; types absent from ``rows`` are dropped."""
    for gauge in (RELEVANCE_RATE, RELEVANCE_WRONG_RATE, RELEVANCE_ANSWERED,
                  RELEVANCE_DELIVERED):
        gauge.clear()
    for kind, delivered, answered, rate, wrong in rows:
        RELEVANCE_DELIVERED.labels(kind).set(delivered)
        RELEVANCE_ANSWERED.labels(kind).set(answered)
        RELEVANCE_RATE.labels(kind).set(math.nan if rate is None else rate)
        RELEVANCE_WRONG_RATE.labels(kind).set(math.nan if wrong is None else wrong)


# --- pools ------------------------------------------------------------------------------------


class _Pools:
    """Weakly held pool-statistics callables of this process, summed into the pool gauges."""

    def __init__(self, every_seconds: float = 1.0) -> None:
        self._sources: list[Callable[[], Callable[[], Mapping[str, int]] | None]] = []
        self._every = every_seconds
        self._next = 0.0
        self._lock = threading.Lock()

    def track(self, stats: Callable[[], Mapping[str, int]]) -> None:
        ref: Callable[[], Any] = (weakref.WeakMethod(stats) if hasattr(stats, "__self__")
                                  else (lambda: stats))
        with self._lock:
            self._sources.append(ref)
        self.refresh()

    def refresh_if_due(self) -> None:
        if time.monotonic() >= self._next:
            self.refresh()

    def refresh(self) -> None:
        self._next = time.monotonic() + self._every
        totals = {"pool_size": 0, "pool_max": 0, "in_use": 0, "requests_waiting": 0}
        with self._lock:
            self._sources = [ref for ref in self._sources if ref() is not None]
            sources = [ref() for ref in self._sources]
        for stats_fn in sources:
            if stats_fn is None:
                continue
            stats = stats_fn()
            totals["pool_size"] += stats.get("pool_size", 0)
            totals["pool_max"] += stats.get("pool_max", 0)
            totals["in_use"] += stats.get("pool_size", 0) - stats.get("pool_available", 0)
            totals["requests_waiting"] += stats.get("requests_waiting", 0)
        POOL_SIZE.set(totals["pool_size"])
        POOL_MAX.set(totals["pool_max"])
        POOL_IN_USE.set(totals["in_use"])
        POOL_WAITING.set(totals["requests_waiting"])


_pools = _Pools()


def track_pool(stats: Callable[[], Mapping[str, int]]) -> None:
    """Publish a pool's statistics (psycopg_pool ``get_stats()`` keys) in the pool gauges.

    Held weakly when ``stats`` is a bound method, so a closed, dropped pool disappears."""
    _pools.track(stats)


def refresh_pools() -> None:
    """Set the pool gauges from every tracked pool of this process now (done at scrape)."""
    _pools.refresh()


def process_exit() -> None:
    """Remove this process's live gauge files (multiprocess mode): its pool and cache gauges
    stop counting. Safe to call more than once and in single-process mode."""
    path = multiprocess_dir()
    if path and os.path.isdir(path):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid(), path)  # type: ignore[no-untyped-call]


if multiprocess_dir():
    atexit.register(process_exit)
