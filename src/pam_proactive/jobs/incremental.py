"""Incremental sweeps: evaluate only the travelers whose data changed or whose suggestions can
change with the clock, and prove nothing is lost by giving the same stored suggestions as a
full sweep.

A traveler is evaluated when one of their rows was inserted or updated since the last run
(``changed``, from the change feed), when their ``recheck_at`` has passed or a live suggestion
of theirs has reached its expiry (``due``), or everyone when the full-sweep interval has
elapsed (``full``: the only way deletes and updates of tables without ``updated_at`` are
seen). Each evaluated traveler's next ``recheck_at`` is the earliest time boundary of their
context (analysis/boundaries.py), recorded per batch in one statement.

Each scope keeps its own evaluation state: ``all`` (every detector: ``sweep --incremental``
and the watcher) and each scheduled traveler job, whose ``recheck_at`` comes only from the
boundaries of its own detector group (:func:`incremental_range`). A job's change cursor is its
last cleanly finished run: its ranges run apart (other processes, other workers), so none of
them can move a shared cursor for the others.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from pam_proactive.context import UserContext
from pam_proactive.data.changes import SCOPE_ALL, Change, ChangeFeed, Cursor, StateRow
from pam_proactive.db.connection import in_schema
from pam_proactive.engine import Engine
from pam_proactive.jobs import statements as st
from pam_proactive.jobs.sweep import SweepReport, SweptSuggestion, sweep
from pam_proactive.suggestions.detectors import recheck_at
from pam_proactive.suggestions.models import Candidate

FEED = "incremental"


@dataclass(slots=True)
class IncrementalReport:
    """What an incremental run did: travelers evaluated and why, changes read, the sweep."""

    now: datetime
    full: bool
    changes: int = 0  # changed rows handed over by the feed
    reasons: Counter[str] = field(default_factory=Counter)  # changed, due, full -> travelers
    sweep: SweepReport | None = None

    @property
    def evaluated(self) -> int:
        """Travelers evaluated by this run."""
        return sum(self.reasons.values())

    def detail(self) -> dict[str, int]:
        """Flat numeric counters for a job range's ``detail`` (summed over a run's ranges):
        travelers evaluated by reason, changed rows read, and whether it was a full pass."""
        return {"evaluated_changed": self.reasons["changed"],
                "evaluated_due": self.reasons["due"], "evaluated_full": self.reasons["full"],
                "changes": self.changes, "full_pass": int(self.full)}


def feed_for(engine: Engine, name: str, scope: str = SCOPE_ALL) -> ChangeFeed:
    """The change feed ``name`` of this engine, with the configured overlap window, keeping
    the evaluation state of ``scope``."""
    s = engine.settings
    return ChangeFeed(engine.db, s.engine_schema, name,
                      timedelta(seconds=s.change_overlap_seconds), scope)


def latest_by_user(changes: Sequence[Change]) -> dict[UUID, datetime]:
    """Each traveler's latest change time among ``changes``."""
    latest: dict[UUID, datetime] = {}
    for c in changes:
        if c.user_id not in latest or c.at > latest[c.user_id]:
            latest[c.user_id] = c.at
    return latest


class StateRecorder:
    """The sweep's ``on_stored`` hook: records each stored batch's evaluation state."""

    def __init__(self, engine: Engine, feed: ChangeFeed, now: datetime,
                 reasons: Mapping[UUID, str] | None, default_reason: str,
                 watermarks: Mapping[UUID, datetime],
                 types: Collection[str] | None = None) -> None:
        self.engine = engine
        self.feed = feed
        self.now = now
        self.reasons = reasons or {}
        self.default_reason = default_reason
        self.watermarks = watermarks
        self.types = types  # the scope's detector group (None: every detector)
        self.counts: Counter[str] = Counter()
        self.recorded: set[UUID] = set()
        self.margin = timedelta(minutes=engine.settings.expiry_refresh_minutes)

    async def __call__(self, contexts: dict[UUID, UserContext], found: list[Candidate]) -> None:
        """Compute and store ``recheck_at`` for every traveler of the batch."""
        by_user: dict[str, list[Candidate]] = defaultdict(list)
        for c in found:
            by_user[c.user_id].append(c)
        rows = []
        for uid, ctx in contexts.items():
            mine = by_user.get(str(uid), [])
            recheck = recheck_at(ctx, self.now, self.engine.detectors,
                                 {c.dedup_key for c in mine}, [c.expires_at for c in mine],
                                 self.margin, types=self.types)
            reason = self.reasons.get(uid, self.default_reason)
            self.counts[reason] += 1
            rows.append(StateRow(uid, self.watermarks.get(uid), recheck.at, recheck.reason,
                                 reason))
            self.recorded.add(uid)
        await self.feed.save_state(self.now, rows)

    async def retry_unrecorded(self, ids: Sequence[UUID]) -> None:
        """Travelers of ``ids`` the sweep did not store (their detectors raised): due again
        at the next run rather than forgotten with their changes."""
        rows = [StateRow(u, self.watermarks.get(u), self.now, "retry",
                         self.reasons.get(u, self.default_reason))
                for u in ids if u not in self.recorded]
        await self.feed.save_state(self.now, rows)


def full_pass_due(now: datetime, position: datetime | None, full_at: datetime | None,
                  hours: float) -> bool:
    """Whether a run at ``now`` must be a full pass: first run, the clock went back, or the
    full-sweep interval has elapsed."""
    if position is None or full_at is None or now < position:
        return True
    return now - full_at >= timedelta(hours=hours)


async def incremental_sweep(
    engine: Engine, now: datetime, *, full: bool | None = None,
    on_batch: Callable[[list[SweptSuggestion], int], None] | None = None, deliver: bool = True,
) -> IncrementalReport:
    """Evaluate the changed and due travelers as of ``now`` (everyone when a full pass is due,
    or ``full=True``), store, deliver, record their evaluation state and advance the feed.
    Returns the counts by reason."""
    feed = feed_for(engine, FEED)
    cursor = await feed.cursor()
    if full is None:
        full = full_pass_due(now, cursor.position, cursor.full_sweep_at,
                             engine.settings.full_sweep_hours)
    # A first run (no cursor) hands over what its window holds: the full pass covers it.
    changes = await feed.changes(cursor.position or now, now)
    deleted = {c.user_id for c in await feed.take_deletions()}
    latest = latest_by_user(changes)
    report = IncrementalReport(now=now, full=full, changes=len(changes) + len(deleted))
    if full:
        ids: list[UUID] | None = None
        recorder = StateRecorder(engine, feed, now, None, "full", latest)
    else:
        changed = set(latest) | deleted
        due = await feed.due(now, timedelta(days=engine.settings.cooldown_days))
        ids = await feed.active_among(sorted(changed | due))
        reasons = {u: "changed" if u in changed else "due" for u in ids}
        recorder = StateRecorder(engine, feed, now, reasons, "due", latest)
    report.sweep = await sweep(engine, now, user_ids=ids, on_batch=on_batch, deliver=deliver,
                               on_stored=recorder)
    if ids is not None:
        await recorder.retry_unrecorded(ids)
    report.reasons = recorder.counts
    await feed.advance(changes, now, full_sweep_at=now if full else None)
    return report


async def job_cursor(engine: Engine, job: str, slot: datetime) -> Cursor:
    """Where ``job``'s change feed stands for its run of ``slot``: the ``as_of`` of its latest
    earlier run finished with every range done, and of its latest such full pass (None
    before the first)."""
    rows = await engine.db.fetch("job_cursor", in_schema(st.JOB_CURSOR,
                                                          engine.settings.engine_schema),
                                 {"job": job, "slot": slot})
    return Cursor(rows[0][0], rows[0][1]) if rows else Cursor(None, None)


async def incremental_range(
    engine: Engine, scope: str, types: Collection[str], now: datetime,
    user_range: tuple[UUID, UUID], cursor: Cursor, *,
    on_contexts: Callable[[dict[UUID, UserContext]], Awaitable[None]] | None = None,
) -> IncrementalReport:
    """One range (lo < id <= hi) of a scheduled traveler job, incremental in ``scope`` (the
    job's name) with its detector group ``types``: everyone in the range when the scope's
    full-sweep interval has elapsed since ``cursor.full_sweep_at``, else only those who
    changed since ``cursor.position`` or are due in the scope. Only those evaluated are
    stored, so the others keep their suggestions. Returns the counts by reason."""
    feed = feed_for(engine, scope, scope)
    full = full_pass_due(now, cursor.position, cursor.full_sweep_at,
                         engine.settings.full_sweep_hours)
    since = cursor.position or now
    changes = await feed.changes(since, now, user_range)
    latest = latest_by_user(changes)
    report = IncrementalReport(now=now, full=full, changes=len(changes))
    if full:
        recorder = StateRecorder(engine, feed, now, None, "full", latest, types)
        report.sweep = await sweep(engine, now, user_range=user_range, types=types,
                                   on_contexts=on_contexts, on_stored=recorder)
    else:
        due = await feed.due(now, timedelta(days=engine.settings.cooldown_days),
                             types=types, user_range=user_range)
        ids = await feed.active_among(sorted(set(latest) | due))
        reasons = {u: "changed" if u in latest else "due" for u in ids}
        recorder = StateRecorder(engine, feed, now, reasons, "due", latest, types)
        report.sweep = await sweep(engine, now, user_ids=ids, types=types,
                                   on_contexts=on_contexts, on_stored=recorder)
        await recorder.retry_unrecorded(ids)
    report.reasons = recorder.counts
    # This range's travelers only, so ranges never mark rows for one another.
    await feed.mark_seen(changes, since - feed.overlap)
    return report
