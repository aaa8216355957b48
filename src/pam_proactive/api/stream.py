"""Live suggestion changes: one poller per process, fanned out to every subscriber.

The poller reads the suggestions changed since its previous look in one statement (see
``statements.STREAM_POLL``): each write stamps its row with the writing transaction's id, and
each poll remembers its snapshot's ``xmax`` and in-progress ids, so every committed change is
seen exactly once whatever the order in which transactions commit, and with no long-lived
connection (it works behind Supabase's transaction pooler, where LISTEN is unavailable). It
only reads the rows of users someone is subscribed to, and only polls while someone is.
A failed poll (database blip) is retried with backoff from the same position: nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from pam_proactive.api import repository
from pam_proactive.api.statements import SUGGESTION_WIDTH
from pam_proactive.db.connection import backoff
from pam_proactive.engine import Engine
from pam_proactive.errors import PamError
from pam_proactive.suggestions.store import SuggestionRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SuggestionChange:
    """One committed change of a suggestion: 'created', 'escalated', 'updated' or 'closed'."""

    kind: str
    xid: int  # the writing transaction's id
    suggestion: SuggestionRecord

    @property
    def event_id(self) -> str:
        """An SSE event id unique per change."""
        return f"{self.xid}-{self.suggestion.id}"


@dataclass(eq=False, slots=True)
class Subscription:
    """One subscriber's queue of changes; ``overflowed`` when it fell too far behind."""

    user_id: UUID
    queue: asyncio.Queue[SuggestionChange]
    overflowed: bool = False


@dataclass(slots=True)
class _Position:
    xmax: str  # the previous snapshot's xmax
    pending: list[str] = field(default_factory=list)  # its in-progress transaction ids


class SuggestionHub:
    """The process's shared poller. ``start()`` once, ``subscribe()`` per client."""

    def __init__(self, engine: Engine, poll_seconds: float, *, queue_size: int = 1000) -> None:
        self.engine = engine
        self.poll_seconds = poll_seconds
        self.queue_size = queue_size
        self._subs: dict[UUID, set[Subscription]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._position: _Position | None = None
        self.polls = 0  # successful polls
        self.failures = 0  # consecutive failed polls
        self.last_error: str | None = None
        self.last_poll_at: float | None = None  # time.monotonic() of the last successful poll

    @property
    def subscribers(self) -> int:
        """Connected subscribers."""
        return sum(len(s) for s in self._subs.values())

    async def start(self) -> None:
        """Start the poller task."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="pam-suggestion-stream")

    async def stop(self) -> None:
        """Stop the poller; subscribers stay connected until their handlers end."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @asynccontextmanager
    async def subscribe(self, user_id: UUID) -> AsyncIterator[Subscription]:
        """Receive every change of ``user_id``'s suggestions committed from now on."""
        sub = Subscription(user_id, asyncio.Queue(self.queue_size))
        if not self._subs:
            # Start from the current snapshot; a poll taken before it would replay old rows.
            # If the database is down, the poller takes it once it is back.
            try:
                self._position = await self._snapshot()
            except PamError:
                self._position = None
        self._subs.setdefault(user_id, set()).add(sub)
        self._wake.set()
        try:
            yield sub
        finally:
            group = self._subs.get(user_id)
            if group is not None:
                group.discard(sub)
                if not group:
                    del self._subs[user_id]

    async def _snapshot(self) -> _Position:
        xmax, pending = await repository.stream_snapshot(self.engine)
        return _Position(xmax, pending)

    async def _run(self) -> None:
        while True:
            if not self._subs:
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                await self.poll_once()
            except (PamError, OSError) as exc:
                self.failures += 1
                self.last_error = type(exc).__name__
                log.warning("suggestion stream poll failed; retrying",
                            extra={"attempt": self.failures, "error": type(exc).__name__})
                await asyncio.sleep(backoff(min(self.failures, 6)))
                continue
            await asyncio.sleep(self.poll_seconds)

    async def poll_once(self) -> int:
        """Read the changes committed since the previous poll and hand them to subscribers;
        return how many changes were read."""
        position = self._position or await self._snapshot()
        users = list(self._subs)
        if not users:
            self._position = position
            return 0
        xmax, pending, rows = await repository.stream_poll(
            self.engine, position.xmax, position.pending, users)
        changes = [_change(r) for r in rows]
        self._position = _Position(xmax, pending)
        self.polls += 1
        self.failures = 0
        self.last_error = None
        self.last_poll_at = time.monotonic()
        for change in changes:
            self._publish(change)
        return len(changes)

    def _publish(self, change: SuggestionChange) -> None:
        for sub in list(self._subs.get(change.suggestion.user_id, ())):
            try:
                sub.queue.put_nowait(change)
            except asyncio.QueueFull:
                # A client this far behind reconnects and reads a fresh snapshot instead.
                sub.overflowed = True


def _change(row: Sequence[Any]) -> SuggestionChange:
    # Columns: the suggestion's, then the writing transaction's id and the change kind.
    width = SUGGESTION_WIDTH
    record = repository.record_from_row(row[:width])
    return SuggestionChange(kind=str(row[width + 1]), xid=int(row[width]), suggestion=record)
