"""One batch of the watcher's travelers evaluated: the single implementation behind the
in-process watcher and the Celery task ``pam_proactive.evaluate_travelers``.

A :class:`Batch` carries everything a worker elsewhere needs: the ``now`` to evaluate at,
the travelers, why (``changed``, ``due``, ``full``), each traveler's data watermark, and for
a ``changed`` batch the age of each changed row at ``now`` (one per row, its earliest
timestamp in the window) with the wall-clock moment ``now`` was taken, so the lag of each row
(its timestamp to its traveler's suggestions stored) is measured where the store happened.

:func:`evaluate_batch` is idempotent: the lifecycle store never duplicates a live
suggestion or its notification, and a traveler already evaluated for a later moment in the
watcher's scope (a redelivered task arriving after a newer one) is left alone: the newer
evaluation saw everything this one would have (the :class:`Settled` selection). With
``serialize`` (the Celery task, where two workers may hold batches sharing a traveler), the
batch first takes a per-traveler transaction lock, so two evaluations of one traveler take
turns and the second checks the first's state: an older evaluation is never stored over a
newer one.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from pam_proactive.data.changes import Change
from pam_proactive.engine import Engine
from pam_proactive.jobs.pipeline.delivery import deliver_outbox
from pam_proactive.jobs.pipeline.evaluate import SweepReport, evaluate
from pam_proactive.jobs.pipeline.selection import Settled
from pam_proactive.jobs.pipeline.state import WATCH_FEED, latest_by_user
from pam_proactive.jobs.pipeline.statements import EVALUATE_LOCK_CLASS, PipelineStatements
from pam_proactive.observability import metrics

LagObserver = Callable[[float], None]
_observers: list[LagObserver] = []


def add_lag_observer(observer: LagObserver) -> None:
    """Call ``observer(seconds)`` with each changed row's lag, from its timestamp
    (``created_at``/``updated_at``: the writing transaction's start; the earliest when both
    are in the window) to its traveler's suggestions being stored."""
    _observers.append(observer)


def remove_lag_observer(observer: LagObserver) -> None:
    """Stop calling ``observer``."""
    if observer in _observers:
        _observers.remove(observer)


def observe_lag_metrics() -> None:
    """Record every changed row's lag (seconds) in the ``pam_event_lag_seconds`` histogram.
    Idempotent: a process that calls it twice still observes each row once."""
    if metrics.observe_event_lag not in _observers:
        add_lag_observer(metrics.observe_event_lag)


@dataclass(frozen=True, slots=True)
class Batch:
    """Travelers to evaluate at ``now``, and what the lag of their changed rows needs."""

    now: datetime
    reason: str  # changed, due or full
    user_ids: tuple[UUID, ...]
    watermarks: Mapping[UUID, datetime] = field(default_factory=dict)
    ages: tuple[float, ...] = ()  # seconds from each changed row's timestamp to ``now``
    taken_at: float = 0.0  # time.time() when ``now`` was read

    def to_kwargs(self) -> dict[str, Any]:
        """JSON-serialisable keyword arguments of the Celery task."""
        return {"now": self.now.isoformat(), "reason": self.reason,
                "user_ids": [str(u) for u in self.user_ids],
                "watermarks": {str(u): w.isoformat() for u, w in self.watermarks.items()},
                "ages": list(self.ages), "taken_at": self.taken_at}

    @classmethod
    def from_kwargs(cls, now: str, reason: str, user_ids: Sequence[str],
                    watermarks: Mapping[str, str], ages: Sequence[float],
                    taken_at: float) -> Batch:
        """The batch a Celery task was sent with (see :meth:`to_kwargs`)."""
        return cls(datetime.fromisoformat(now), reason, tuple(UUID(u) for u in user_ids),
                   {UUID(u): datetime.fromisoformat(w) for u, w in watermarks.items()},
                   tuple(float(a) for a in ages), float(taken_at))


def row_changes(changes: Sequence[Change]) -> dict[tuple[str, str], Change]:
    """One change per row (table, row id), the earliest in the window: an inserted row is
    stamped by ``created_at`` and ``updated_at`` both, and is still one write."""
    rows: dict[tuple[str, str], Change] = {}
    for c in changes:
        if not c.row_id:
            continue  # a notification or a queued delete: no row, no timestamp of its own
        key = (c.source, c.row_id)
        if key not in rows or c.at < rows[key].at:
            rows[key] = c
    return rows


def split(now: datetime, reason: str, ids: Sequence[UUID], changes: Sequence[Change],
          size: int, taken_at: float | None = None) -> list[Batch]:
    """``ids`` (sorted) in batches of at most ``size`` travelers, each with its travelers'
    watermarks and, for ``changed``, the age at ``now`` of each of their changed rows."""
    taken = time.time() if taken_at is None else taken_at
    rows = row_changes(changes)
    latest = latest_by_user(changes)
    ordered = sorted(ids)
    batches = []
    for start in range(0, len(ordered), size):
        part = tuple(ordered[start:start + size])
        members = set(part)
        ages = tuple((now - c.at).total_seconds() for c in rows.values()
                     if c.user_id in members) if reason == "changed" else ()
        batches.append(Batch(now, reason, part,
                             {u: latest[u] for u in part if u in latest}, ages, taken))
    return batches


async def evaluate_batch(engine: Engine, batch: Batch, *, feed: str = WATCH_FEED,
                         deliver: bool = True, serialize: bool = False) -> Counter[str]:
    """Contexts, detectors, store and evaluation state (in ``feed``'s scope) for the batch's
    active travelers not evaluated for a later moment; then each changed row's lag (seconds,
    measured once the suggestions are stored) to the lag observers; then, with ``deliver``,
    the delivery of everything due (a caller passing False delivers later itself). With
    ``serialize``, the evaluation holds a per-traveler lock (one pooled connection) from the
    freshness check to the state written. Returns the travelers evaluated by reason."""
    selection = Settled(batch.user_ids, batch.reason, batch.watermarks, feed)
    if serialize and batch.user_ids:
        async with engine.db.transaction("watch_evaluate_lock") as tx:
            st = PipelineStatements.for_schema(engine.settings.engine_schema)
            await tx.execute(*st.evaluate_lock, {
                "cls": EVALUATE_LOCK_CLASS, "ids": list(batch.user_ids)})
            report = await _evaluate(engine, batch, selection)
    else:
        report = await _evaluate(engine, batch, selection)
    if batch.ages:
        elapsed = time.time() - batch.taken_at
        for age in batch.ages:
            for observer in list(_observers):
                observer(age + elapsed)
    if deliver and report.selected:
        await deliver_outbox(engine, batch.now)
    return report.reasons


async def _evaluate(engine: Engine, batch: Batch, selection: Settled) -> SweepReport:
    return await evaluate(engine, batch.now, selection, deliver=False)
