"""The sweep: for each batch of users, contexts → detectors → lifecycle store → delivery.

One batch costs one statement per entity to read, the detectors in memory, and one
transaction of set-based statements to store, whatever the batch size. A failed batch can be
retried as a whole: the store is idempotent, so nothing is duplicated.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from psycopg import sql

from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import UserContext
from pam_proactive.data.loader import chunks, parse_user_id
from pam_proactive.db.connection import Transaction
from pam_proactive.engine import Engine
from pam_proactive.logs import current_job
from pam_proactive.observability import metrics
from pam_proactive.reports.fleet import deliver_alerts, operator_channel
from pam_proactive.suggestions import store_sql
from pam_proactive.suggestions.adaptation import AdaptationPolicy
from pam_proactive.suggestions.delivery import (
    Channel,
    DeliveryReport,
    RetryPolicy,
    WebhookChannel,
    configure_channels,
    drain_due,
)
from pam_proactive.suggestions.detectors import Note, run_detectors
from pam_proactive.suggestions.models import Candidate
from pam_proactive.suggestions.store import ApplyResult, DeliveryPolicy, apply_candidates

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SweptSuggestion:
    """A suggestion of this sweep with its stored status ('candidate' in a dry run)."""

    candidate: Candidate
    status: str


@dataclass(slots=True)
class SweepReport:
    """What a sweep did: users, suggestions by type and priority, lifecycle counts, timing."""

    now: datetime
    dry_run: bool
    users: int = 0
    batches: int = 0
    seconds: float = 0.0
    by_type: Counter[str] = field(default_factory=Counter)
    by_priority: Counter[str] = field(default_factory=Counter)
    lifecycle: Counter[str] = field(default_factory=Counter)
    silent_notes: Counter[str] = field(default_factory=Counter)
    rows_skipped: int = 0
    detector_errors: int = 0  # users whose detectors raised: skipped, logged by type only
    store_retries: int = 0
    delivery: DeliveryReport | None = None

    def add(self, contexts: Sequence[UserContext], found: Sequence[Candidate],
            result: ApplyResult | None, notes: Sequence[Note] = (),
            analysis_skipped: int = 0) -> None:
        """Fold one batch in: its contexts, candidates, stored result, the detectors' notes
        and the rows the analyses skipped."""
        self.users += len(contexts)
        self.batches += 1
        self.by_type.update(c.type for c in found)
        self.by_priority.update(c.priority.label for c in found)
        self.rows_skipped += analysis_skipped
        for ctx in contexts:
            self.rows_skipped += ctx.data_quality.rows_skipped
        self.silent_notes.update(n.detector for n in notes)
        if result is not None:
            self.lifecycle.update({k: v for k, v in _counts(result).items() if v})

    @property
    def users_per_second(self) -> float:
        """Users swept per second of wall time."""
        return self.users / self.seconds if self.seconds else 0.0


def _counts(result: ApplyResult) -> dict[str, int]:
    return {name: getattr(result, name) for name in result.__dataclass_fields__}


def delivery_policy(engine: Engine) -> DeliveryPolicy:
    """Cooldown, daily cap and the bounds of per-traveler adaptation from the settings."""
    s = engine.settings
    return DeliveryPolicy(cooldown=timedelta(days=s.cooldown_days), daily_cap=s.daily_cap,
                          adaptation=AdaptationPolicy.from_settings(s))


# One webhook channel per configuration and process: it owns a thread pool, kept for the
# process's life rather than started for every drain.
_webhooks: dict[tuple[str, str, float, int], WebhookChannel] = {}
# (database, schema, declared, available) whose recorded channels this process reconciled.
_reconciled: set[tuple[str, str, tuple[str, ...] | None, tuple[str, ...]]] = set()


def channels(engine: Engine) -> list[Channel]:
    """The push channels this process has credentials for (the outbox is always written;
    which channels the engine has is recorded in the database: see deliver_outbox())."""
    s = engine.settings
    if not (s.webhook_url and s.webhook_secret):
        return []
    key = (s.webhook_url, s.webhook_secret, s.delivery_timeout, s.delivery_concurrency)
    if key not in _webhooks:
        _webhooks[key] = WebhookChannel(s.webhook_url, s.webhook_secret,
                                        timeout=s.delivery_timeout,
                                        concurrency=s.delivery_concurrency)
    return [_webhooks[key]]


def operator_webhook(engine: Engine) -> WebhookChannel | None:
    """The operator webhook (fleet alerts), kept for the process's life like the traveler
    webhook; None when PAM_OPERATOR_WEBHOOK_URL is not set."""
    s = engine.settings
    key = (s.operator_webhook_url or "", s.operator_secret or "", s.delivery_timeout, 0)
    if key not in _webhooks:
        made = operator_channel(engine)
        if made is None:
            return None
        _webhooks[key] = made
    return _webhooks[key]


def retry_policy(engine: Engine) -> RetryPolicy:
    """Retry schedule, jitter and circuit breaker from the settings."""
    s = engine.settings
    return RetryPolicy(delays=s.retry_delays, jitter=s.delivery_jitter,
                       circuit_failures=s.circuit_failures, circuit_cooldown=s.circuit_cooldown)


async def reconcile_channels(engine: Engine) -> None:
    """Reconcile PAM_CHANNELS and this process's credentials with the recorded channels,
    once per process (:func:`configure_channels`): long-running commands call it at
    start-up, every delivery before its first run. A mismatch raises ConfigurationError
    naming PAM_CHANNELS."""
    schema = engine.settings.engine_schema
    own = channels(engine)
    declared = engine.settings.declared_channels
    key = (engine.conninfo, schema, declared, tuple(c.name for c in own))
    if key not in _reconciled:
        await configure_channels(engine.db, schema, declared, [c.name for c in own])
        _reconciled.add(key)


async def deliver_outbox(engine: Engine, now: datetime) -> DeliveryReport:
    """Deliver every outbox row due at ``now`` through the recorded channels this process
    can send through (after :func:`reconcile_channels`), then the operator's fleet alerts
    due at ``now`` when this process has the operator webhook (their retries ride on every
    delivery run, as the notifications' do)."""
    await reconcile_channels(engine)
    report = await drain_due(engine.db, engine.settings.engine_schema, channels(engine), now,
                             policy=retry_policy(engine))
    operator = operator_webhook(engine)
    if operator is not None:
        await deliver_alerts(engine, now, operator, policy=retry_policy(engine))
    return report


async def _pages(engine: Engine, user_ids: Sequence[object] | None,
                 user_range: tuple[UUID, UUID] | None) -> AsyncIterator[list[UUID]]:
    if user_ids is not None:
        for part in chunks([parse_user_id(u) for u in user_ids], engine.settings.batch_size):
            yield part
        return
    async for page in engine.data.iter_sweep_user_batches(user_range=user_range):
        yield page


async def _prefetched(engine: Engine, user_ids: Sequence[object] | None, now: datetime,
                      user_range: tuple[UUID, UUID] | None = None
                      ) -> AsyncIterator[dict[UUID, UserContext]]:
    """Contexts batch by batch, the next batch's reads already running while one is processed
    (the database works on one core while Python works on the other)."""
    pending: asyncio.Task[dict[UUID, UserContext]] | None = None
    async for page in _pages(engine, user_ids, user_range):
        task = asyncio.create_task(engine.data.get_contexts(page, now, use_cache=False))
        if pending is not None:
            yield await pending
        pending = task
    if pending is not None:
        yield await pending


async def sweep(
    engine: Engine, now: datetime, *, user_ids: Sequence[object] | None = None,
    dry_run: bool = False, detector_settings: DetectorSettings | None = None,
    on_batch: Callable[[list[SweptSuggestion], int], None] | None = None, deliver: bool = True,
    types: Collection[str] | None = None, user_range: tuple[UUID, UUID] | None = None,
    on_contexts: Callable[[dict[UUID, UserContext]], Awaitable[None]] | None = None,
    on_stored: Callable[[dict[UUID, UserContext], list[Candidate]], Awaitable[None]] | None = None,
) -> SweepReport:
    """Run every detector for the users (default: every active user) as of ``now``.

    Stores and delivers unless ``dry_run``. ``on_batch(suggestions, users)`` is called after
    each batch, e.g. to print or count. ``types`` keeps only candidates of those suggestion
    types and resolves only live suggestions of those types (a scheduled job's detector
    group). ``user_range=(lo, hi)`` sweeps the active users with lo < id <= hi.
    ``on_contexts(contexts)`` is awaited for each batch before detection (a job storing
    insights from the same reads); ``on_stored(contexts, candidates)`` is awaited after each
    batch is stored (the incremental paths record evaluation state there). Returns the
    report.
    """
    settings = detector_settings or engine.detectors
    policy = delivery_policy(engine)
    report = SweepReport(now=now, dry_run=dry_run)
    started = time.perf_counter()
    async for contexts in _prefetched(engine, user_ids, now, user_range):
        if on_contexts is not None:
            await on_contexts(contexts)
        found, notes, skipped, failed = _detect(contexts, now, settings, types)
        report.detector_errors += len(failed)
        # A user whose detectors failed is left out of the store, so that their live
        # suggestions are kept rather than resolved by mistake.
        stored = {u: c for u, c in contexts.items() if u not in failed}
        result = None
        statuses: dict[tuple[str, str], str] = {}
        if not dry_run and stored:
            result, statuses = await _store(engine, report, stored, found, now, policy, types)
            if on_stored is not None:
                await on_stored(stored, found)
        report.add(list(contexts.values()), found, result, notes, skipped)
        if not dry_run:
            metrics.add_users_processed(current_job() or "sweep", len(contexts))
        if on_batch is not None:
            on_batch([SweptSuggestion(c, "candidate" if dry_run else statuses.get(
                (c.user_id, c.dedup_key), "suppressed")) for c in found], len(contexts))
    if deliver and not dry_run:
        # Everything due, not just one claim's worth: a sweep of many users notifies far
        # more than one claim holds.
        report.delivery = await deliver_outbox(engine, now)
    report.seconds = time.perf_counter() - started
    return report


async def _refresh_statistics(tx: Transaction, schema: str, result: ApplyResult) -> None:
    if result.created + result.notified >= store_sql.ANALYZE_AFTER_ROWS:
        await tx.execute(*store_sql.ANALYZE_ENGINE_TABLES.bind(s=sql.Identifier(schema)))


def _detect(contexts: dict[UUID, UserContext], now: datetime, settings: DetectorSettings,
            types: Collection[str] | None = None
            ) -> tuple[list[Candidate], list[Note], int, set[UUID]]:
    """Every user's candidates (of ``types`` only, when given), the detectors' notes and the
    rows their analyses skipped; a user whose detectors raise is skipped and logged by the
    exception's type only (its message could quote traveler data)."""
    found: list[Candidate] = []
    notes: list[Note] = []
    skipped = 0
    failed: set[UUID] = set()
    for uid, ctx in contexts.items():
        try:
            detection = run_detectors(ctx, now, settings, types=types)
            found.extend(detection.candidates)
            notes.extend(detection.notes)
            skipped += detection.rows_skipped
        except Exception as exc:  # one traveler's bad data must not stop the sweep
            failed.add(uid)
            log.error("detectors failed for one user", extra={"error": type(exc).__name__})
    return found, notes, skipped, failed


async def _store(engine: Engine, report: SweepReport, contexts: dict[UUID, UserContext],
                 found: list[Candidate], now: datetime, policy: DeliveryPolicy,
                 types: Collection[str] | None = None,
                 ) -> tuple[ApplyResult, dict[tuple[str, str], str]]:
    """Apply one batch in one transaction, retried as a whole on transient errors: the store
    is idempotent, so a retry never duplicates a suggestion or a notification."""
    schema = engine.settings.engine_schema

    async def store(tx: Transaction) -> tuple[ApplyResult, dict[tuple[str, str], str]]:
        result = await apply_candidates(
            tx, schema=schema, user_ids=list(contexts), candidates=found,
            profiles={u: c.profile for u, c in contexts.items()}, now=now, policy=policy,
            types=types)
        statuses = await _statuses(tx, schema, list(contexts))
        await _refresh_statistics(tx, schema, result)
        return result, statuses

    def retried(attempt: int) -> None:
        report.store_retries += 1

    return await engine.db.run_in_transaction("store_batch", store, on_retry=retried)


async def _statuses(tx: Transaction, schema: str, user_ids: list[UUID]
                    ) -> dict[tuple[str, str], str]:
    """Current status of each (user, dedup_key) of these users: one statement per batch."""
    rows = await tx.fetch(*store_sql.CURRENT_STATUSES.bind(s=sql.Identifier(schema)),
                          (user_ids,))
    return {(u, k): s for u, k, s in rows}
