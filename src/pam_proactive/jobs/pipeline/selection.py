"""Which travelers an evaluation looks at, and what it records for them.

A selection is one of:

- :class:`Everyone`: every active traveler (or those of an id range): a full sweep;
- :class:`Given`: the travelers named, whatever their status (a caller asked for them);
- :class:`ChangedOrDue`: the travelers of a change feed who changed since its cursor or are
  due in its scope (everyone when its full pass is due), their evaluation state recorded;
- :class:`Settled`: a watcher batch (travelers it read and debounced itself), of which only
  the active ones not already evaluated for a later moment, their state recorded.

:func:`plan` resolves a selection at ``now`` into a :class:`Plan`: the ids (or everyone),
the state recorder, and what to do with the feed once every batch is stored.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from pam_proactive.data.changes import SCOPE_ALL, Change, ChangeFeed, Cursor
from pam_proactive.engine import Engine
from pam_proactive.jobs.pipeline.state import (
    FEED,
    WATCH_FEED,
    StateRecorder,
    feed_for,
    full_pass_due,
    latest_by_user,
)
from pam_proactive.jobs.pipeline.statements import PipelineStatements

UserRange = tuple[UUID, UUID]  # (lo, hi]: the travelers with lo < id <= hi


@dataclass(frozen=True, slots=True)
class Everyone:
    """Every active traveler (those with lo < id <= hi with ``within``); no state recorded."""

    within: UserRange | None = None


@dataclass(frozen=True, slots=True)
class Given:
    """The travelers named (ids or their text), whatever their status; no state recorded."""

    user_ids: Sequence[object]


@dataclass(frozen=True, slots=True)
class ChangedOrDue:
    """The travelers (of ``within`` only, when given) who changed since ``feed``'s cursor or
    are due in ``scope``; everyone when the scope's full pass is due, or ``full`` is True.

    With ``cursor`` (a scheduled job's run: :func:`state.job_cursor`) the changes read are
    marked seen and no cursor moves: the job's ranges run apart. Without, the feed's own
    cursor is read, the deletions queued by the optional triggers are taken, and the cursor
    is advanced once every batch is stored.
    """

    feed: str = FEED
    scope: str = SCOPE_ALL
    within: UserRange | None = None
    cursor: Cursor | None = None
    full: bool | None = None


@dataclass(frozen=True, slots=True)
class Settled:
    """A watcher batch: of ``user_ids``, the active travelers not evaluated in ``feed``'s
    scope for a later moment, recorded with ``reason`` and each one's data ``watermarks``."""

    user_ids: Sequence[UUID]
    reason: str  # changed, due or full
    watermarks: Mapping[UUID, datetime] = field(default_factory=dict)
    feed: str = WATCH_FEED


Selection = Everyone | Given | ChangedOrDue | Settled


@dataclass(slots=True)
class Plan:
    """A selection resolved at a moment: whom to evaluate and what to record."""

    user_ids: Sequence[object] | None  # None: every active traveler of ``within``
    within: UserRange | None = None
    recorder: StateRecorder | None = None
    full: bool = False  # a full pass of a feed
    handed: list[Change] = field(default_factory=list)  # changed rows read from the feed
    changes: int = 0  # changed rows (and queued deletes) handed over
    advance: bool = False  # move the feed's cursor to ``now`` once stored
    seen_before: datetime | None = None  # else mark ``handed`` seen, pruning before this

    @property
    def feed(self) -> ChangeFeed | None:
        """The feed whose state this evaluation records."""
        return self.recorder.feed if self.recorder is not None else None


async def plan(engine: Engine, now: datetime, selection: Selection,
               types: Collection[str] | None = None, *, dry_run: bool = False) -> Plan:
    """Resolve ``selection`` at ``now`` (reading the feed for the incremental ones);
    ``types`` is the detector group evaluated (it decides who is due in a job's scope). A
    ``dry_run`` takes nothing from the feed: its queued deletions stay for a real run."""
    if isinstance(selection, Everyone):
        return Plan(None, selection.within)
    if isinstance(selection, Given):
        return Plan(list(selection.user_ids))
    if isinstance(selection, Settled):
        feed = feed_for(engine, selection.feed)
        ids = await _fresh_active(engine, feed.scope, now, selection.user_ids)
        return Plan(ids, recorder=StateRecorder(engine, feed, now, None, selection.reason,
                                                selection.watermarks))
    return await _changed_or_due(engine, now, selection, types, dry_run)


async def _changed_or_due(engine: Engine, now: datetime, selection: ChangedOrDue,
                          types: Collection[str] | None, dry_run: bool) -> Plan:
    feed = feed_for(engine, selection.feed, selection.scope)
    own = selection.cursor is None  # the feed's own cursor (else a job run's)
    cursor = await feed.cursor() if selection.cursor is None else selection.cursor
    full = selection.full
    if full is None:
        full = full_pass_due(now, cursor.position, cursor.full_sweep_at,
                             engine.settings.full_sweep_hours)
    since = cursor.position or now  # a first run hands over what its window holds
    changes = await feed.changes(since, now, selection.within)
    taking = own and not dry_run
    deleted = {c.user_id for c in await feed.take_deletions()} if taking else set()
    latest = latest_by_user(changes)
    found = Plan(None, selection.within, full=full, handed=changes,
                 changes=len(changes) + len(deleted), advance=own,
                 seen_before=None if own else since - feed.overlap)
    if full:
        found.recorder = StateRecorder(engine, feed, now, None, "full", latest, types)
        return found
    changed = set(latest) | deleted
    due = await feed.due(now, timedelta(days=engine.settings.cooldown_days), types=types,
                         user_range=selection.within)
    ids = await feed.active_among(sorted(changed | due))
    found.user_ids = ids
    found.recorder = StateRecorder(engine, feed, now,
                                   {u: "changed" if u in changed else "due" for u in ids},
                                   "due", latest, types)
    return found


async def _fresh_active(engine: Engine, scope: str, now: datetime, ids: Sequence[UUID]
                        ) -> list[UUID]:
    if not ids:
        return []
    st = PipelineStatements.for_schema(engine.settings.engine_schema)
    rows = await engine.db.fetch(*st.fresh_active, {
        "ids": list(ids), "scope": scope, "now": now})
    return sorted(r[0] for r in rows)
