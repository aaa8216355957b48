"""The batch loader: one statement per entity for a whole batch of users (the only I/O here)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from pam_proactive.analysis.outliers import OutlierRule
from pam_proactive.context import UserContext
from pam_proactive.data.columnar.contexts import build_contexts
from pam_proactive.data.columnar.read import read_frames
from pam_proactive.data.queries import BatchStatements
from pam_proactive.db.connection import BoundStatement, Database

_NIL = UUID(int=0)


class ContextLoader:
    """Builds :class:`UserContext` objects for batches of users."""

    def __init__(self, db: Database, statements: BatchStatements,
                 rule: OutlierRule | None = None):
        self.db = db
        self.st = statements
        self.rule = rule or OutlierRule()

    async def load(self, user_ids: Iterable[object], now: datetime) -> dict[UUID, UserContext]:
        """Contexts of the given users as of ``now``; unknown ids are absent from the result.
        One path for one traveler and for a whole sweep's batch: the sources read as columns
        (``read_frames``), the contexts built column-wise (``build_contexts``)."""
        frames = await read_frames(self.db, self.st, user_ids, now)
        return {} if frames is None else build_contexts(frames, self.rule)

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


def chunks(items: Sequence[UUID], size: int) -> list[list[UUID]]:
    """``items`` cut into lists of at most ``size``."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]
