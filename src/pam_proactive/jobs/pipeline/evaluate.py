"""The one evaluation path: a selection of travelers, batch by batch, contexts → detectors →
lifecycle store (with the relations between kinds) → evaluation state → delivery.

One batch costs one statement per entity to read, the detectors in memory, and one
transaction of set-based statements to store, whatever the batch size. A failed batch can be
retried as a whole: the store is idempotent, so nothing is duplicated.

Every caller goes through :class:`Evaluation` (or :func:`evaluate`, which runs one to the
end): the full sweep, the incremental sweep, each range of a scheduled job (in-process or
Celery) and each batch of the watcher (in-process or Celery) differ only in their
:mod:`selection <pam_proactive.jobs.pipeline.selection>` and options.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Collection, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import UserContext
from pam_proactive.data.loader import chunks
from pam_proactive.data.users import parse_user_id
from pam_proactive.db.connection import Transaction
from pam_proactive.engine import Engine
from pam_proactive.jobs.pipeline.delivery import deliver_outbox, delivery_policy
from pam_proactive.jobs.pipeline.pace import sweep_pace
from pam_proactive.jobs.pipeline.selection import Plan, Selection, plan
from pam_proactive.logs import current_job
from pam_proactive.observability import metrics
from pam_proactive.reports.insights import store_insights
from pam_proactive.suggestions import store_sql
from pam_proactive.suggestions.delivery import DeliveryReport
from pam_proactive.suggestions.detectors import Note, detect_chunks
from pam_proactive.suggestions.models import Candidate
from pam_proactive.suggestions.store import ApplyResult, DeliveryPolicy, apply_candidates
from pam_proactive.suggestions.store_sql import StoreStatements

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SweptSuggestion:
    """A suggestion of this evaluation with its stored status ('candidate' in a dry run)."""

    candidate: Candidate
    status: str


@dataclass(frozen=True, slots=True)
class EvaluatedBatch:
    """One batch as it was stored: its suggestions and how many travelers it held."""

    suggestions: list[SweptSuggestion]
    users: int


@dataclass(slots=True)
class SweepReport:
    """What an evaluation did: users, suggestions by type and priority, lifecycle counts,
    timing; for an incremental selection, the travelers evaluated by reason and the changed
    rows read."""

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
    full: bool = False  # a full pass of a change feed
    changes: int = 0  # changed rows handed over by the feed
    reasons: Counter[str] = field(default_factory=Counter)  # changed, due, full -> travelers
    selected: int = 0  # travelers selected by id (0 for everyone: counted as ``users``)
    insights: int = 0  # pattern insights stored (with ``insights=True``)

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

    @property
    def evaluated(self) -> int:
        """Travelers whose evaluation state was recorded (incremental selections)."""
        return sum(self.reasons.values())

    def detail(self) -> dict[str, int]:
        """Flat numeric counters for a job range's ``detail`` (summed over a run's ranges):
        travelers evaluated by reason, changed rows read, and whether it was a full pass."""
        return {"evaluated_changed": self.reasons["changed"],
                "evaluated_due": self.reasons["due"], "evaluated_full": self.reasons["full"],
                "changes": self.changes, "full_pass": int(self.full)}


def _counts(result: ApplyResult) -> dict[str, int]:
    return {name: getattr(result, name) for name in result.__dataclass_fields__}


class Evaluation:
    """One evaluation of ``selection`` as of ``now``; iterate it to run it batch by batch
    (each :class:`EvaluatedBatch` as soon as it is stored), then read :attr:`report`.

    ``types`` keeps only candidates of those suggestion types and resolves only live
    suggestions of those types (a scheduled job's detector group). ``insights`` stores the
    pattern insights of each batch from the same reads. Nothing is stored, recorded or
    delivered with ``dry_run``; ``deliver=False`` leaves delivery to the caller. A caller
    that stops iterating early leaves the feed where it was: the next run redoes the rest.
    """

    def __init__(self, engine: Engine, now: datetime, selection: Selection, *,
                 types: Collection[str] | None = None, dry_run: bool = False,
                 deliver: bool = True, detector_settings: DetectorSettings | None = None,
                 insights: bool = False) -> None:
        self.engine = engine
        self.now = now
        self.selection = selection
        self.types = types
        self.dry_run = dry_run
        self.deliver = deliver
        self.settings = detector_settings or engine.detector_settings
        self.insights = insights
        self.report = SweepReport(now=now, dry_run=dry_run)

    def __aiter__(self) -> AsyncGenerator[EvaluatedBatch, None]:
        return self._run()

    async def collect(self) -> list[SweptSuggestion]:
        """Run to the end; every batch's suggestions, in order (then read :attr:`report`)."""
        return [item async for batch in self for item in batch.suggestions]

    async def _run(self) -> AsyncGenerator[EvaluatedBatch, None]:
        # The interpreter at a sweep's pace (see pace): the collector and the switch interval.
        # Closed early, the inner generator is closed at once too (its reads cancelled).
        with sweep_pace():
            async with aclosing(self._batches()) as batches:
                async for batch in batches:
                    yield batch

    async def _batches(self) -> AsyncGenerator[EvaluatedBatch, None]:
        engine, now, report = self.engine, self.now, self.report
        started = time.perf_counter()
        chosen = await plan(engine, now, self.selection, self.types, dry_run=self.dry_run)
        report.full, report.changes = chosen.full, chosen.changes
        report.selected = len(chosen.user_ids) if chosen.user_ids is not None else 0
        policy = delivery_policy(engine)
        async with aclosing(prefetched_contexts(engine, chosen, now)) as batches:
            async for contexts in batches:
                if self.insights and not self.dry_run:
                    report.insights += await store_insights(engine, contexts, now)
                yield await self._batch(contexts, chosen, policy)
        if self.deliver and not self.dry_run:
            # Everything due, not just one claim's worth: a sweep of many users notifies
            # far more than one claim holds.
            report.delivery = await deliver_outbox(engine, now)
        if not self.dry_run:
            await _finish(chosen, now)
        if chosen.recorder is not None:
            report.reasons = chosen.recorder.counts
        report.seconds = time.perf_counter() - started

    async def _batch(self, contexts: dict[UUID, UserContext], chosen: Plan,
                     policy: DeliveryPolicy) -> EvaluatedBatch:
        report, dry_run = self.report, self.dry_run
        found, notes, skipped, failed = await _detect(contexts, self.now, self.settings,
                                                      self.types)
        report.detector_errors += len(failed)
        # A user whose detectors failed is left out of the store, so that their live
        # suggestions are kept rather than resolved by mistake.
        stored = {u: c for u, c in contexts.items() if u not in failed}
        result = None
        statuses: dict[tuple[str, str], str] = {}
        if not dry_run and stored:
            result, statuses = await _store(self.engine, report, stored, found, self.now,
                                            policy, self.types)
            if chosen.recorder is not None:
                await chosen.recorder.record(stored, found)
        report.add(list(contexts.values()), found, result, notes, skipped)
        if not dry_run:
            metrics.add_users_processed(current_job() or "sweep", len(contexts))
        return EvaluatedBatch([SweptSuggestion(c, "candidate" if dry_run else statuses.get(
            (c.user_id, c.dedup_key), "suppressed")) for c in found], len(contexts))


async def evaluate(engine: Engine, now: datetime, selection: Selection, *,
                   types: Collection[str] | None = None, dry_run: bool = False,
                   deliver: bool = True, detector_settings: DetectorSettings | None = None,
                   insights: bool = False) -> SweepReport:
    """Run an :class:`Evaluation` of ``selection`` as of ``now`` to the end; its report."""
    run = Evaluation(engine, now, selection, types=types, dry_run=dry_run, deliver=deliver,
                     detector_settings=detector_settings, insights=insights)
    async for _ in run:
        pass
    return run.report


async def _finish(chosen: Plan, now: datetime) -> None:
    """Once every batch is stored: the selected travelers left unrecorded (their detectors
    raised) are due again at the next run, and the feed's changes are handed over."""
    feed = chosen.feed
    if feed is None or chosen.recorder is None:
        return
    if chosen.user_ids is not None:
        await chosen.recorder.retry_unrecorded([parse_user_id(u) for u in chosen.user_ids])
    if chosen.advance:
        await feed.advance(chosen.handed, now, full_sweep_at=now if chosen.full else None)
    elif chosen.seen_before is not None:
        # This range's travelers only, so ranges never mark rows for one another.
        await feed.mark_seen(chosen.handed, chosen.seen_before)


async def _pages(engine: Engine, chosen: Plan) -> AsyncIterator[list[UUID]]:
    if chosen.user_ids is not None:
        for part in chunks([parse_user_id(u) for u in chosen.user_ids],
                           engine.settings.batch_size):
            yield part
        return
    async for page in engine.data.iter_sweep_user_batches(user_range=chosen.within):
        yield page


# Batches read ahead of the one being processed. A batch's read (its statements on the
# server, their decoding, the build) progresses slowly while the event loop's thread detects:
# on 20,000 demo travelers, reading every batch took 2.3-2.4 s alone and 4.0-4.4 s beside a
# busy loop yielding every ~2 ms, which itself was not slowed; so with one read ahead the
# sweep waited for its reads. Measured, one process, dry-run sweeps alternating (medians,
# quiet 2-core machine), one batch ahead vs two: 6.33 vs 5.85 s and 6.17 vs 5.68 s wall (3
# rounds each), but 6.32 vs 6.35 in a first run of 4 rounds (three ahead: 6.19); CPU alike,
# 5.1-5.4 s. A detection slice of 16 or 4 travelers instead of 64 changed nothing. Each batch
# ahead holds one batch's frames and contexts (PAM_BATCH_SIZE bounds it). Re-measured with
# two reads at once (PAM_READ_CONCURRENCY, was four): first sweep of a fresh process, 3
# rounds, medians, one ahead 4.85 s, two 4.61, three 4.53 (second sweeps 4.53 / 4.38 /
# 4.45): three is within the noise of two and holds one batch more, two kept.
PREFETCH_BATCHES = 2


async def prefetched_contexts(engine: Engine, chosen: Plan, now: datetime
                              ) -> AsyncGenerator[dict[UUID, UserContext], None]:
    """Contexts batch by batch, the next :data:`PREFETCH_BATCHES` batches' reads already
    running while one is processed (the database works on one core while Python works on the
    other), in page order."""
    reading: list[asyncio.Task[dict[UUID, UserContext]]] = []
    try:
        async for page in _pages(engine, chosen):
            reading.append(asyncio.create_task(
                engine.data.get_contexts(page, now, use_cache=False)))
            if len(reading) > PREFETCH_BATCHES:
                yield await reading.pop(0)
        while reading:
            yield await reading.pop(0)
    finally:
        # Closed early (a consumer that stopped, a batch that failed): no read left behind.
        for task in reading:
            task.cancel()


async def _refresh_statistics(tx: Transaction, schema: str, result: ApplyResult) -> None:
    if result.created + result.notified >= store_sql.ANALYZE_AFTER_ROWS:
        await tx.execute(*StoreStatements.for_schema(schema).analyze_engine_tables)


async def _detect(contexts: Mapping[UUID, UserContext], now: datetime,
                  settings: DetectorSettings, types: Collection[str] | None = None
                  ) -> tuple[list[Candidate], list[Note], int, set[UUID]]:
    """Every user's candidates (of ``types`` only, when given), the detectors' notes and the
    rows their analyses skipped; a user whose detectors raise is skipped and logged by the
    exception's type only (its message could quote traveler data).

    Yields to the event loop between two chunks of the detectors (``DETECT_CHUNK``
    travelers). A batch's detection is ~0.2 s of pure CPU; while it runs, the loop cannot
    serve the next batch's reads (prefetched_contexts): their replies wait on the sockets
    and in the Arrow readers' futures, so the next batch's read would only begin once this
    detection ends, and the database's core idles meanwhile. Yielding every chunk (a few
    ms) keeps the next read going in parallel; the order of the candidates is unchanged."""
    found: list[Candidate] = []
    notes: list[Note] = []
    skipped = 0
    failed: set[UUID] = set()
    ids = list(contexts)
    at = 0
    for chunk in detect_chunks(list(contexts.values()), now, settings, types=types):
        for uid, detection in zip(ids[at:at + len(chunk)], chunk, strict=True):
            if isinstance(detection, Exception):  # one traveler's bad data: the others go on
                failed.add(uid)
                log.error("detectors failed for one user",
                          extra={"error": type(detection).__name__})
                continue
            found.extend(detection.candidates)
            notes.extend(detection.notes)
            skipped += detection.rows_skipped
        at += len(chunk)
        if at < len(ids):  # the next chunk is computed when the loop asks for it
            await asyncio.sleep(0)
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
    rows = await tx.fetch(*StoreStatements.for_schema(schema).current_statuses,
                          (user_ids,))
    return {(u, k): s for u, k, s in rows}
