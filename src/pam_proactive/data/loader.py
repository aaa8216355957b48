"""The batch loader: one statement per entity for a whole batch of users (the only I/O here)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from pam_proactive.analysis.outliers import OutlierRule
from pam_proactive.context import UserContext
from pam_proactive.data.assemble import build_context, group_by_user
from pam_proactive.data.columnar.contexts import build_contexts
from pam_proactive.data.columnar.read import read_frames
from pam_proactive.data.queries import BatchStatements
from pam_proactive.data.rows import TripRow, UserRow
from pam_proactive.data.users import read_users
from pam_proactive.db.connection import BoundStatement, Database
from pam_proactive.logs import audit_read

_NIL = UUID(int=0)

# The smallest batch assembled column-wise. The column-wise assembly has a fixed cost per
# batch (eight ADBC reads, a few hundred small Polars queries: ~45 ms) and saves ~0.25-0.5 ms
# per traveler; measured on demo travelers (CPU and wall ms per batch, per-object vs
# column-wise): 1 traveler 10 vs 49, 50: 69 vs 89, 100: 162 vs 144, 200: 297 vs 210, 1,000:
# 1,314 vs 1,120. So one traveler (the API, the seed's per-user functions) and the watcher's
# small batches stay per-object, and full sweeps and job ranges go column-wise. Transitional:
# one assembly remains once the detectors are column-wise too (issue 19).
COLUMNAR_MIN_TRAVELERS = 150

# (metrics name, statement attribute) of each entity, vehicles last; keys for the assembly.
_KEYS = ("expenses", "budgets", "trips", "events", "fuel", "maintenance")


class ContextLoader:
    """Builds :class:`UserContext` objects for batches of users."""

    def __init__(self, db: Database, statements: BatchStatements,
                 rule: OutlierRule | None = None):
        self.db = db
        self.st = statements
        self.rule = rule or OutlierRule()

    async def load(self, user_ids: Iterable[object], now: datetime) -> dict[UUID, UserContext]:
        """Contexts of the given users as of ``now``; unknown ids are absent from the result.
        A batch of at least :data:`COLUMNAR_MIN_TRAVELERS` ids is read as columns and
        assembled column-wise (``data/columnar``); a smaller one row by row, object by
        object. Both give the same contexts (tests/data/test_columnar_oracle.py)."""
        ids = list(user_ids)
        if len(ids) >= COLUMNAR_MIN_TRAVELERS:
            frames = await read_frames(self.db, self.st, ids, now)
            return {} if frames is None else build_contexts(frames, self.rule)
        rows = await self.fetch_rows(ids, now)
        return {} if rows is None else assemble_rows(rows, now, self.rule)

    async def fetch_rows(self, user_ids: Iterable[object], now: datetime) -> BatchRows | None:
        """The batch statements' rows for the given users as of ``now`` (one statement per
        entity, as row tuples); None when none of the ids is a known user. The input of the
        per-object assembly (:func:`assemble_rows`): small batches, and the oracle of the
        differential test (tests/data/test_columnar_oracle.py)."""
        batch = await read_users(self.db, self.st, user_ids, now)
        if batch is None:
            return None
        users, todays, params = batch.users, batch.todays, batch.params
        st = self.st
        # In _KEYS order, then the vehicles; each statement is named after its source.
        entities = (st.expenses, st.budgets, st.trips, st.events, st.fuel, st.maintenance,
                    st.vehicles)
        reads: list[Awaitable[Sequence[tuple[Any, ...]]]] = [
            self.db.fetch(*entity, params, row_type=TripRow) if entity is st.trips
            else self.db.fetch(*entity, params) for entity in entities]
        fetched = await asyncio.gather(*reads, self.db.fetch(*st.recorded_after_now, params))
        for entity, rows in zip(entities, fetched[: len(entities)], strict=True):
            # who read how many rows, never what; the expenses under their source's name
            audit_read("expenses" if entity is st.expenses else entity.name, len(rows))
        return BatchRows(list(users), todays,
                         dict(zip((*_KEYS, "vehicles", "after_now"), fetched, strict=True)))

    def active_user_ids(self, batch_size: int) -> AsyncIterator[list[UUID]]:
        """Pages of active, not opted-out user ids, by keyset pagination over the user id."""
        return self.ids_page(self.st.active_user_page, {}, batch_size)

    async def ids_page(self, statement: BoundStatement, params: dict[str, Any],
                       batch_size: int, *, after: UUID = _NIL) -> AsyncIterator[list[UUID]]:
        """Keyset pages of user ids above ``after`` from a statement taking ``after`` and
        ``limit``."""
        while True:
            rows = await self.db.fetch(*statement, {**params, "after": after,
                                                    "limit": batch_size})
            if not rows:
                return
            page = [r[0] for r in rows]
            yield page
            after = page[-1]
            if len(page) < batch_size:
                return


@dataclass(frozen=True, slots=True)
class BatchRows:
    """One batch's rows as the batch statements return them: the users in batch order, each
    one's :func:`local_today`, and the entity rows by key (``expenses``, ``budgets``,
    ``trips``, ``events``, ``fuel``, ``maintenance``, ``vehicles``, ``after_now``), keyed by
    the user's 1-based position in ``users``."""

    users: list[UserRow]
    todays: list[tuple[date, str, bool]]
    fetched: dict[str, Sequence[tuple[Any, ...]]]


def assemble_rows(rows: BatchRows, now: datetime, rule: OutlierRule) -> dict[UUID, UserContext]:
    """The per-object assembly of a batch's contexts from its rows (small batches; the oracle
    of the column-wise :func:`pam_proactive.data.columnar.contexts.build_contexts`)."""
    grouped = [group_by_user(rows.fetched[key]) for key in _KEYS]
    vehicles = {row[0]: row for row in rows.fetched["vehicles"]}
    after_now: dict[int, dict[str, int]] = {}
    for i, source, count in rows.fetched["after_now"]:
        after_now.setdefault(i, {})[source] = count
    contexts = {}
    for i, (row, today) in enumerate(zip(rows.users, rows.todays, strict=True), start=1):
        per_user = {key: g.get(i, ()) for key, g in zip(_KEYS, grouped, strict=True)}
        contexts[row.user_id] = build_context(row, now, today, per_user, vehicles.get(i),
                                              rule, after_now.get(i))
    return contexts


def chunks(items: Sequence[UUID], size: int) -> list[list[UUID]]:
    """``items`` cut into lists of at most ``size``."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]
