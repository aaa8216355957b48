"""Evaluation state: the change feeds and cursors, who is due, and each evaluated traveler's
next ``recheck_at``.

A traveler is evaluated when one of their rows was inserted or updated since the last run
(``changed``, from the change feed), when their ``recheck_at`` has passed or a live suggestion
of theirs has reached its expiry (``due``), or everyone when the full-sweep interval has
elapsed (``full``: the only way deletes and updates of tables without ``updated_at`` are
seen). Each evaluated traveler's next ``recheck_at`` is the earliest time boundary of their
context (each detector's boundary, suggestions/detectors), recorded per batch in one statement.

Each scope keeps its own evaluation state: ``all`` (every detector: ``sweep --incremental``
and the watcher) and each scheduled traveler job, whose ``recheck_at`` comes only from the
boundaries of its own detector group. A job's change cursor is its last cleanly finished run
(:func:`job_cursor`): its ranges run apart (other processes, other workers), so none of them
can move a shared cursor for the others.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from uuid import UUID

from pam_proactive.context import UserContext
from pam_proactive.data.changes import SCOPE_ALL, Change, ChangeFeed, Cursor, StateRow
from pam_proactive.engine import Engine
from pam_proactive.jobs.pipeline.statements import PipelineStatements
from pam_proactive.suggestions.detectors import recheck_at
from pam_proactive.suggestions.models import Candidate

FEED = "incremental"  # the change feed of `sweep --incremental`
WATCH_FEED = "watch"  # the watcher's change feed (its cursor and seen rows)


def feed_for(engine: Engine, name: str, scope: str = SCOPE_ALL) -> ChangeFeed:
    """The change feed ``name`` of this engine, with the configured overlap window, keeping
    the evaluation state of ``scope``."""
    s = engine.settings
    return ChangeFeed(engine.db, s.engine_schema, name,
                      timedelta(seconds=s.change_overlap_seconds), scope)


def latest_by_user(changes: Sequence[Change]) -> dict[UUID, datetime]:
    """Each traveler's latest change time among ``changes`` (their data watermark)."""
    latest: dict[UUID, datetime] = {}
    for c in changes:
        if c.user_id not in latest or c.at > latest[c.user_id]:
            latest[c.user_id] = c.at
    return latest


def full_pass_due(now: datetime, position: datetime | None, full_at: datetime | None,
                  hours: float) -> bool:
    """Whether a run at ``now`` must be a full pass: first run, the clock went back, or the
    full-sweep interval has elapsed."""
    if position is None or full_at is None or now < position:
        return True
    return now - full_at >= timedelta(hours=hours)


async def job_cursor(engine: Engine, job: str, slot: datetime) -> Cursor:
    """Where ``job``'s change feed stands for its run of ``slot``: the ``as_of`` of its latest
    earlier run finished with every range done, and of its latest such full pass (None
    before the first)."""
    st = PipelineStatements.for_schema(engine.settings.engine_schema)
    rows = await engine.db.fetch(*st.job_cursor, {"job": job, "slot": slot})
    return Cursor(rows[0][0], rows[0][1]) if rows else Cursor(None, None)


class StateRecorder:
    """Records each stored batch's evaluation state in the feed's scope, and counts the
    travelers recorded by reason."""

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

    async def record(self, contexts: Mapping[UUID, UserContext],
                     found: Sequence[Candidate]) -> None:
        """Compute and store ``recheck_at`` for every traveler of the batch."""
        by_user: dict[str, list[Candidate]] = defaultdict(list)
        for c in found:
            by_user[c.user_id].append(c)
        rows = []
        for uid, ctx in contexts.items():
            mine = by_user.get(str(uid), [])
            recheck = recheck_at(ctx, self.now, self.engine.detector_settings,
                                 {c.dedup_key for c in mine}, [c.expires_at for c in mine],
                                 self.margin, types=self.types)
            reason = self.reasons.get(uid, self.default_reason)
            self.counts[reason] += 1
            rows.append(StateRow(uid, self.watermarks.get(uid), recheck.at, recheck.reason,
                                 reason))
            self.recorded.add(uid)
        await self.feed.save_state(self.now, rows)

    async def retry_unrecorded(self, ids: Sequence[UUID]) -> None:
        """Travelers of ``ids`` the evaluation did not store (their detectors raised): due
        again at the next run rather than forgotten with their changes."""
        rows = [StateRow(u, self.watermarks.get(u), self.now, "retry",
                         self.reasons.get(u, self.default_reason))
                for u in ids if u not in self.recorded]
        await self.feed.save_state(self.now, rows)
