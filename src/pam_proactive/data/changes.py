"""The change feed: traveler rows inserted or updated since the last poll, read through the
engine's views by ``created_at``/``updated_at`` range scans (never a trigger, never a write to a
traveler table), and the per-traveler evaluation state of the incremental paths.

A poll reads the window (cursor - overlap, now]: ``created_at DEFAULT now()`` is a
transaction's start, not its commit, so a row can become visible after a poll that already
passed its timestamp. Re-reading the overlap catches it; the rows handed over inside the
window are kept in ``change_seen`` so that none is handed over twice. Rows stamped after
``now`` are left for a later poll, exactly as the contexts ignore them.

What the feed cannot see: deletes, and updates of tables (or views) without ``updated_at``.
A full sweep on a schedule (``PAM_FULL_SWEEP_HOURS``) catches those.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from pam_proactive.db.connection import Database, Statement, StatementSet

# (source, view, row id column) of every change source read through a traveler view. Every
# view has created_at and updated_at columns (NULL where the table has none: the planner
# drops those branches as constant-false).
VIEW_SOURCES: tuple[tuple[str, str, str], ...] = (
    ("users", "traveler_users", "user_id::text"),
    ("expenses", "traveler_expenses", "expense_id"),
    ("budgets", "traveler_budgets", "budget_id"),
    ("trips", "traveler_trips", "trip_id"),
    ("events", "traveler_events", "event_id"),
    ("fuel", "traveler_fuel_fills", "fill_id"),
    ("maintenance", "traveler_maintenance", "record_id"),
    ("vehicles", "traveler_vehicles", "vehicle_id"),
)

# Each branch is a range predicate on one timestamp column only, so each can be an index
# range scan (an OR of two columns could not).
_BRANCH = """SELECT '{source}'::text AS source, {row_id} AS row_id, user_id, {column} AS at
FROM {{s}}.{view} WHERE {column} > %(lo)s AND {column} <= %(hi)s"""

_PREFERENCES = """SELECT 'preferences'::text, user_id::text, user_id, updated_at
FROM {s}.user_preferences WHERE updated_at > %(lo)s AND updated_at <= %(hi)s"""


def _changes_sql() -> str:
    branches = [_BRANCH.format(source=src, row_id=rid, view=view, column=col)
                for src, view, rid in VIEW_SOURCES for col in ("created_at", "updated_at")]
    return ("WITH c AS (\n" + "\nUNION ALL\n".join([*branches, _PREFERENCES]) + "\n)\n"
            "SELECT DISTINCT c.source, c.row_id, c.user_id, c.at FROM c\n"
            "WHERE c.user_id IS NOT NULL\n"
            "  AND (%(ulo)s::uuid IS NULL OR c.user_id > %(ulo)s::uuid)\n"
            "  AND (%(uhi)s::uuid IS NULL OR c.user_id <= %(uhi)s::uuid)\n"
            "  AND NOT EXISTS (\n"
            "    SELECT 1 FROM {s}.change_seen z WHERE z.feed = %(feed)s\n"
            "    AND z.source = c.source AND z.row_id = c.row_id AND z.changed_at = c.at)")


class ChangeStatements(StatementSet):
    """The change feed's and evaluation state's statements;
    ``ChangeStatements.for_schema(schema)`` binds them for one engine schema."""

    changes = Statement("changes", _changes_sql())

    # The full sweep's population: active users (opted-out ones included, so that their live
    # suggestions are resolved).
    active_among = Statement("active_among", """
SELECT user_id FROM {s}.traveler_users
WHERE user_id = ANY(%(ids)s::uuid[]) AND status = 'active'
""")

    cursor = Statement(
        "change_cursor",
        "SELECT position, full_sweep_at FROM {s}.change_cursors WHERE feed = %(feed)s")

    save_cursor = Statement("change_feed_cursor", """
INSERT INTO {s}.change_cursors (feed, position, full_sweep_at, updated_at)
VALUES (%(feed)s, %(position)s, %(full)s, now())
ON CONFLICT (feed) DO UPDATE SET position = EXCLUDED.position,
    full_sweep_at = coalesce(EXCLUDED.full_sweep_at, change_cursors.full_sweep_at),
    updated_at = now()
""")

    mark_seen = Statement("change_feed_mark", """
INSERT INTO {s}.change_seen (feed, source, row_id, changed_at)
SELECT %(feed)s, x.source, x.row_id, x.at
FROM unnest(%(sources)s::text[], %(rows)s::text[], %(ats)s::timestamptz[]) AS x(source, row_id, at)
ON CONFLICT DO NOTHING
""")

    # Travelers whose rows were deleted, queued by the optional triggers; taken once.
    take_deletions = Statement(
        "take_deletions", "DELETE FROM {s}.deletions RETURNING user_id, deleted_at")

    prune_seen = Statement(
        "change_feed_prune",
        "DELETE FROM {s}.change_seen WHERE feed = %(feed)s AND changed_at <= %(before)s")

    # Due, within a scope: its recheck moment has passed, a live suggestion of the scope's types
    # has reached its expiry, or the cooldown of a dismissed subject of those types ended since
    # the traveler was last evaluated in the scope (a full sweep would suggest it again then), or
    # a snooze of those types is over and not yet ended (a full sweep would notify it again then).
    # Optionally limited to one job range (lo < user_id <= hi); types NULL: every type.
    due = Statement("due_users", """
SELECT user_id FROM {s}.evaluation_state
WHERE scope = %(scope)s AND recheck_at <= %(now)s
  AND (%(lo)s::uuid IS NULL OR user_id > %(lo)s::uuid)
  AND (%(hi)s::uuid IS NULL OR user_id <= %(hi)s::uuid)
UNION
SELECT user_id FROM {s}.suggestions
WHERE status IN ('open', 'delivered') AND expires_at <= %(now)s
  AND (%(types)s::text[] IS NULL OR type = ANY(%(types)s::text[]))
  AND (%(lo)s::uuid IS NULL OR user_id > %(lo)s::uuid)
  AND (%(hi)s::uuid IS NULL OR user_id <= %(hi)s::uuid)
UNION
SELECT s.user_id FROM {s}.suggestions s
JOIN {s}.evaluation_state e ON e.user_id = s.user_id AND e.scope = %(scope)s
WHERE s.status IN ('dismissed', 'acted')
  AND (%(types)s::text[] IS NULL OR s.type = ANY(%(types)s::text[]))
  AND (%(lo)s::uuid IS NULL OR s.user_id > %(lo)s::uuid)
  AND (%(hi)s::uuid IS NULL OR s.user_id <= %(hi)s::uuid)
  AND s.status_changed_at + %(cooldown)s > e.evaluated_for
  AND s.status_changed_at + %(cooldown)s <= %(now)s
UNION
SELECT user_id FROM {s}.snoozes
WHERE ended_at IS NULL AND until <= %(now)s
  AND (%(types)s::text[] IS NULL OR type = ANY(%(types)s::text[]))
  AND (%(lo)s::uuid IS NULL OR user_id > %(lo)s::uuid)
  AND (%(hi)s::uuid IS NULL OR user_id <= %(hi)s::uuid)
""")

    save_state = Statement("evaluation_state_save", """
INSERT INTO {s}.evaluation_state
    (scope, user_id, evaluated_for, watermark, recheck_at, recheck_reason, reason, updated_at)
SELECT %(scope)s, x.user_id, %(now)s, x.watermark, x.recheck_at, x.recheck_reason, x.reason, now()
FROM unnest(%(ids)s::uuid[], %(watermarks)s::timestamptz[], %(rechecks)s::timestamptz[],
            %(recheck_reasons)s::text[], %(reasons)s::text[])
     AS x(user_id, watermark, recheck_at, recheck_reason, reason)
ON CONFLICT (scope, user_id) DO UPDATE SET
    evaluated_for = EXCLUDED.evaluated_for,
    watermark = greatest(evaluation_state.watermark, EXCLUDED.watermark),
    recheck_at = EXCLUDED.recheck_at, recheck_reason = EXCLUDED.recheck_reason,
    reason = EXCLUDED.reason, updated_at = now()
""")

# The indexes these range scans need are listed in db/doctor.py (CHANGE_INDEXES).


@dataclass(frozen=True, slots=True)
class Change:
    """One row inserted or updated: its source, id, traveler and timestamp."""

    source: str
    row_id: str
    user_id: UUID
    at: datetime


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a feed stands: changes up to ``position`` were handed over."""

    position: datetime | None
    full_sweep_at: datetime | None


@dataclass(frozen=True, slots=True)
class StateRow:
    """One traveler's evaluation outcome, written by :meth:`ChangeFeed.save_state`."""

    user_id: UUID
    watermark: datetime | None
    recheck_at: datetime
    recheck_reason: str
    reason: str  # changed, due or full


SCOPE_ALL = "all"  # the evaluation state of every detector (sweep --incremental, watch)


class ChangeFeed:
    """Reads and advances one named feed (e.g. ``incremental``, ``watch``, a job's name),
    and the evaluation state of one ``scope`` (``all``, or a scheduled job's name)."""

    def __init__(self, db: Database, schema: str, feed: str, overlap: timedelta,
                 scope: str = SCOPE_ALL) -> None:
        self.db = db
        self.feed = feed
        self.overlap = overlap
        self.scope = scope

        self._st = ChangeStatements.for_schema(schema)

    async def cursor(self) -> Cursor:
        """The feed's cursor (both None before its first run)."""
        rows = await self.db.fetch(*self._st.cursor, {"feed": self.feed})
        return Cursor(rows[0][0], rows[0][1]) if rows else Cursor(None, None)

    async def changes(self, since: datetime, now: datetime,
                      user_range: tuple[UUID, UUID] | None = None) -> list[Change]:
        """Rows changed in (``since`` - overlap, ``now``] not handed over yet (of the
        travelers lo < id <= hi only, with ``user_range``)."""
        lo, hi = user_range or (None, None)
        rows = await self.db.fetch(*self._st.changes, {
            "lo": since - self.overlap, "hi": now, "feed": self.feed, "ulo": lo, "uhi": hi})
        return [Change(*row) for row in rows]

    async def take_deletions(self) -> list[Change]:
        """Deletes queued by the optional triggers, removed from the queue (each is handed to
        one consumer only: whichever evaluates the traveler stores for everyone)."""
        async with self.db.transaction("take_deletions") as tx:
            rows = await tx.fetch(*self._st.take_deletions)
        return [Change("deleted", "", uid, at) for uid, at in rows]

    async def active_among(self, ids: Sequence[UUID]) -> list[UUID]:
        """The ids, in order, that a full sweep would evaluate (active users)."""
        if not ids:
            return []
        rows = await self.db.fetch(*self._st.active_among, {"ids": list(ids)})
        return sorted(r[0] for r in rows)

    async def due(self, now: datetime, cooldown: timedelta, *,
                  types: Collection[str] | None = None,
                  user_range: tuple[UUID, UUID] | None = None) -> set[UUID]:
        """Travelers due for a look in this feed's scope without new data (see ``DUE``): of
        suggestion ``types`` (None: every type), lo < id <= hi with ``user_range``."""
        lo, hi = user_range or (None, None)
        rows = await self.db.fetch(*self._st.due, {
            "now": now, "cooldown": cooldown, "scope": self.scope, "lo": lo, "hi": hi,
            "types": sorted(types) if types is not None else None})
        return {r[0] for r in rows}

    async def advance(self, changes: Sequence[Change], position: datetime,
                      full_sweep_at: datetime | None = None) -> None:
        """Record ``changes`` as handed over, forget those the next window cannot reach, and
        move the cursor to ``position`` (one transaction)."""
        params: dict[str, Any] = {
            "feed": self.feed, "sources": [c.source for c in changes],
            "rows": [c.row_id for c in changes], "ats": [c.at for c in changes],
            "before": position - self.overlap, "position": position, "full": full_sweep_at}
        async with self.db.transaction("change_feed_advance") as tx:
            if changes:
                await tx.execute(*self._st.mark_seen, params)
            await tx.execute(*self._st.prune_seen, params)
            await tx.execute(*self._st.save_cursor, params)

    async def mark_seen(self, changes: Sequence[Change], prune_before: datetime) -> None:
        """Record ``changes`` as handed over and forget those changed at or before
        ``prune_before`` (no window reaches them any more), without moving a cursor: a job's
        ranges each mark their own travelers' rows (one transaction)."""
        params: dict[str, Any] = {
            "feed": self.feed, "sources": [c.source for c in changes],
            "rows": [c.row_id for c in changes], "ats": [c.at for c in changes],
            "before": prune_before}
        async with self.db.transaction("change_feed_mark") as tx:
            if changes:
                await tx.execute(*self._st.mark_seen, params)
            await tx.execute(*self._st.prune_seen, params)

    async def save_state(self, now: datetime, rows: Sequence[StateRow]) -> None:
        """Upsert the evaluation state of a batch of travelers in this scope, one statement."""
        if not rows:
            return
        async with self.db.transaction("evaluation_state") as tx:
            await tx.execute(*self._st.save_state, {
                "now": now, "scope": self.scope, "ids": [r.user_id for r in rows],
                "watermarks": [r.watermark for r in rows],
                "rechecks": [r.recheck_at for r in rows],
                "recheck_reasons": [r.recheck_reason for r in rows],
                "reasons": [r.reason for r in rows]})
