"""Every read and write of the API against the engine's tables, in one place.

The suggestion lifecycle goes through :mod:`pam_proactive.suggestions.store` (so dismissals
take the same per-user lock as sweeps); the API's own statements live in
:mod:`pam_proactive.api.statements`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from pam_proactive.api.statements import ApiStatements
from pam_proactive.db.connection import BoundStatement
from pam_proactive.engine import Engine
from pam_proactive.errors import DataSourceError, InvalidPreferencesError
from pam_proactive.suggestions import adaptation, answers, store
from pam_proactive.suggestions.models import Priority
from pam_proactive.suggestions.store import USER_LOCK_CLASS, SuggestionRecord, SuggestionStatus


def statements(engine: Engine) -> ApiStatements:
    """The API statements bound for this engine's schema (bound once per schema)."""
    return ApiStatements.for_schema(engine.settings.engine_schema)


async def ping(engine: Engine) -> None:
    """One round trip to the database; raises a :class:`DataSourceError` when it fails."""
    await engine.db.fetch(*statements(engine).ping)


async def migrations_applied(engine: Engine) -> dict[str, str]:
    """Applied migration versions (and 'preset') with their checksums."""
    rows = await engine.db.fetch(*statements(engine).migrations_applied)
    return {str(v): str(c) for v, c in rows}


async def user_exists(engine: Engine, user_id: UUID) -> bool:
    """True when the traveler tables know ``user_id``."""
    rows = await engine.db.fetch(*statements(engine).user_exists,
                                 {"user_id": user_id})
    return bool(rows and rows[0][0])


async def suggestion_owner(engine: Engine, suggestion_id: UUID) -> UUID | None:
    """The user a stored suggestion belongs to; None when no such suggestion."""
    rows = await engine.db.fetch(*statements(engine).suggestion_owner,
                                 {"id": suggestion_id})
    return rows[0][0] if rows else None


async def list_user_suggestions(
    engine: Engine, user_id: UUID, statuses: Collection[SuggestionStatus], limit: int
) -> list[SuggestionRecord]:
    """A user's suggestions with one of ``statuses`` (all when empty), newest first."""
    return await store.list_suggestions(engine.db, engine.settings.engine_schema,
                                        user_id=user_id, status=list(statuses) or None,
                                        limit=limit)


async def dismiss(engine: Engine, suggestion_id: UUID, now: datetime,
                  reason: str | None = None, note: str | None = None) -> bool:
    """Dismiss a live suggestion, keeping the traveler's ``reason`` (and ``note``, for
    'other'); False when it was already closed (or is absent)."""
    return await answers.dismiss(engine.db, engine.settings.engine_schema, suggestion_id, now,
                                 reason, note)


async def mark_acted(engine: Engine, suggestion_id: UUID, now: datetime) -> bool:
    """Mark a live suggestion acted upon; False when it was already closed (or is absent)."""
    return await store.mark_acted(engine.db, engine.settings.engine_schema, suggestion_id, now)


async def live_snoozes(engine: Engine, records: Sequence[SuggestionRecord]
                       ) -> dict[tuple[UUID, str], answers.LiveSnooze]:
    """The snoozes in force of the live ones among ``records``, by (user, dedup_key)."""
    subjects = {(r.user_id, r.dedup_key) for r in records if r.status in store.LIVE_STATUSES}
    return await answers.live_snoozes(engine.db, engine.settings.engine_schema, subjects)


async def adaptations_in_force(engine: Engine, records: Sequence[SuggestionRecord]
                               ) -> dict[tuple[UUID, str], list[adaptation.Adaptation]]:
    """The adaptations in force of the types of ``records``, by (user, type)."""
    pairs = {(r.user_id, r.type) for r in records}
    return await adaptation.in_force(engine.db, engine.settings.engine_schema, pairs)


async def preferences(engine: Engine, user_id: UUID) -> dict[str, Any]:
    """The traveler's notification preferences (the defaults when none are stored)."""
    rows = await engine.db.fetch(*statements(engine).get_preferences,
                                 {"user_id": user_id})
    return dict(rows[0][0])


async def update_preferences(engine: Engine, user_id: UUID, changes: dict[str, Any]
                             ) -> dict[str, Any]:
    """Change the fields of ``changes`` (null clears one) and return the preferences after.
    Validated by the database function Supabase apps call too; a refused change raises
    :class:`InvalidPreferencesError` naming the field, and changes nothing."""
    try:
        async with engine.db.transaction("api_update_preferences") as tx:
            rows = await tx.fetch(*statements(engine).update_preferences,
                                  {"user_id": user_id, "changes": Jsonb(changes)})
    except DataSourceError as exc:
        cause = exc.__cause__
        if isinstance(cause, psycopg.errors.InvalidParameterValue):
            # The function's own message: the field and the rule, never stored data.
            raise InvalidPreferencesError(cause.diag.message_primary or "invalid preferences"
                                          ) from exc
        raise
    engine.data.invalidate_user(user_id)
    return dict(rows[0][0])


def record_from_row(row: Sequence[Any]) -> SuggestionRecord:
    """A stored suggestion from a row in :data:`statements.SUGGESTION_COLUMNS` order."""
    notified = row[14]
    return SuggestionRecord(
        id=row[0], user_id=row[1], type=row[2], priority=Priority.from_label(row[3]),
        title=row[4], message=row[5], data=dict(row[6]), dedup_key=row[7],
        computed_for=row[8], created_at=row[9], updated_at=row[10], expires_at=row[11],
        status=cast(SuggestionStatus, row[12]), status_changed_at=row[13],
        notified_rank=None if notified is None else Priority(notified), held_by=row[15],
    )


async def _insights_table(engine: Engine) -> bool:
    rows = await engine.db.fetch(*statements(engine).insights_table,
                                 {"schema": engine.settings.engine_schema})
    return bool(rows and rows[0][0])


def _rows(rows: Sequence[tuple[Any, ...]], columns: Sequence[str]) -> list[dict[str, Any]]:
    return [dict(zip(columns, row, strict=True)) for row in rows]


_OUTBOX_COLUMNS = ("id", "suggestion_id", "event", "priority", "payload", "created_at",
                   "deliver_after", "delivered_at", "cancelled_at", "attempts", "last_error",
                   "digest_id")
_DELIVERY_COLUMNS = ("id", "outbox_id", "channel", "attempt", "ok", "http_status", "error", "at")
_PREFERENCE_COLUMNS = ("user_id", "opted_out", "disabled_types", "timezone", "currency",
                       "quiet_start", "quiet_end", "daily_cap", "digest", "digest_hour",
                       "digest_priorities", "updated_at")


@dataclass(frozen=True, slots=True)
class UserExport:
    """Everything the engine stores about one traveler (traveler tables excluded)."""

    user_id: UUID
    suggestions: list[SuggestionRecord]
    outbox: list[dict[str, Any]]
    deliveries: list[dict[str, Any]]
    preferences: dict[str, Any] | None
    insights: list[dict[str, Any]] | None  # None when this installation has no insights table
    truncated: tuple[str, ...] = ()  # tables cut at the caller's row bound
    snoozes: list[dict[str, Any]] = field(default_factory=list)
    feedback: list[dict[str, Any]] = field(default_factory=list)  # notes included
    adaptations: list[dict[str, Any]] = field(default_factory=list)  # reset ones included

    @property
    def empty(self) -> bool:
        """True when the engine holds nothing about this user."""
        return not (self.suggestions or self.outbox or self.deliveries or self.preferences
                    or self.insights or self.snoozes or self.feedback or self.adaptations)


async def export_user(engine: Engine, user_id: UUID, max_rows: int | None = None
                      ) -> UserExport:
    """Read every engine row about ``user_id``: one statement per table, each of at most
    ``max_rows`` rows (the oldest; None: all), the tables cut named in ``truncated``."""
    st = statements(engine)
    params = {"user_id": user_id, "limit": None if max_rows is None else max_rows + 1}
    truncated: list[str] = []

    async def fetch(table: str, statement: BoundStatement) -> list[tuple[Any, ...]]:
        rows = await engine.db.fetch(*statement, params)
        if max_rows is not None and len(rows) > max_rows:
            truncated.append(table)
            return rows[:max_rows]
        return rows

    suggestions = await fetch("suggestions", st.export_suggestions)
    outbox = await fetch("outbox", st.export_outbox)
    deliveries = await fetch("deliveries", st.export_deliveries)
    preferences = await fetch("preferences", st.export_preferences)
    insights = None
    if await _insights_table(engine):
        insights = [dict(r[0]) for r in await fetch("insights", st.export_insights)]
    answered = await answers.export_answers(engine.db, engine.settings.engine_schema, user_id)
    return UserExport(
        user_id=user_id,
        snoozes=answered["snoozes"],
        feedback=answered["feedback"],
        adaptations=await adaptation.export(engine.db, engine.settings.engine_schema, user_id),
        suggestions=[record_from_row(r) for r in suggestions],
        outbox=_rows(outbox, _OUTBOX_COLUMNS),
        deliveries=_rows(deliveries, _DELIVERY_COLUMNS),
        preferences=_rows(preferences, _PREFERENCE_COLUMNS)[0] if preferences else None,
        insights=insights,
        truncated=tuple(truncated),
    )


async def erase_user(engine: Engine, user_id: UUID) -> dict[str, int]:
    """Delete every engine row about ``user_id`` in one transaction (under the user's lock, so
    no sweep of this user interleaves); return the rows deleted per table. Traveler tables
    are never touched."""
    st = statements(engine)
    params = {"user_id": user_id, "cls": USER_LOCK_CLASS}
    steps = [("deliveries", st.erase_deliveries), ("outbox", st.erase_outbox),
             ("suggestions", st.erase_suggestions), ("user_preferences", st.erase_preferences)]
    if await _insights_table(engine):
        steps.append(("insights", st.erase_insights))
    deleted: dict[str, int] = {}
    async with engine.db.transaction("api_erase_user") as tx:
        await tx.execute(*st.lock_user, params)
        for table, statement in steps:
            deleted[table] = await tx.execute(*statement, params)
        deleted["feedback"], deleted["snoozes"] = await answers.erase_answers(
            tx, engine.settings.engine_schema, user_id)
        deleted["adaptations"] = await adaptation.erase(tx, engine.settings.engine_schema,
                                                        user_id)
    engine.data.invalidate_user(user_id)
    return deleted


async def stream_snapshot(engine: Engine) -> tuple[str, list[str]]:
    """The current snapshot's xmax and in-progress transaction ids (as text)."""
    rows = await engine.db.fetch(*statements(engine).stream_snapshot)
    return str(rows[0][0]), [str(x) for x in rows[0][1] or ()]


async def stream_poll(engine: Engine, xmax: str, pending: Sequence[str], users: Sequence[UUID]
                      ) -> tuple[str, list[str], list[tuple[Any, ...]]]:
    """Suggestions of ``users`` changed by transactions that committed after the snapshot
    (``xmax``, ``pending``); returns this poll's snapshot and the rows (the suggestion's
    columns, then the writing transaction's id and the change kind)."""
    rows = await engine.db.fetch(*statements(engine).stream_poll,
                                 {"xmax": xmax, "pending": list(pending), "users": list(users)})
    changed = [r[2:] for r in rows if r[2] is not None]
    return str(rows[0][0]), [str(x) for x in rows[0][1] or ()], changed
