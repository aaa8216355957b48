"""The operator's view of the outbox: list dead, pending or failing notifications, inspect
one with its attempts, replay dead or chosen ones, count dead ones per channel.

Read by ``pam-proactive deliveries``, the dashboard and the ``pam_outbox_dead`` gauge. Rows
carry ids, statuses and errors only: never a payload (it holds traveler text).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pam_proactive.db.connection import Database
from pam_proactive.suggestions.delivery import message_id
from pam_proactive.suggestions.delivery_sql import DeliveryStatements

State = Literal["dead", "pending", "failing"]
_LISTS = {"dead": DeliveryStatements.list_dead, "pending": DeliveryStatements.list_pending,
          "failing": DeliveryStatements.list_failing}


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One notification's delivery state."""

    id: int
    message_id: str  # webhook-id
    event: str
    priority: str
    created_at: datetime
    deliver_after: datetime  # next attempt (pending) or last one scheduled
    tries: int  # delivery rounds since created or replayed
    attempts: int  # channel attempts ever made
    last_error: str | None
    channels_done: tuple[str, ...]
    dead_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None
    replayed_at: datetime | None
    leased: bool  # being sent right now

    @property
    def state(self) -> str:
        """dead, delivered, cancelled, sending, failing (retrying) or pending."""
        if self.cancelled_at is not None:
            return "cancelled"
        if self.delivered_at is not None:
            return "delivered"
        if self.dead_at is not None:
            return "dead"
        if self.leased:
            return "sending"
        return "failing" if self.tries else "pending"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "message_id": self.message_id, "state": self.state,
                "event": self.event, "priority": self.priority,
                "created_at": self.created_at.isoformat(),
                "deliver_after": self.deliver_after.isoformat(), "tries": self.tries,
                "attempts": self.attempts, "last_error": self.last_error,
                "channels_done": list(self.channels_done),
                **{k: (v.isoformat() if v else None) for k, v in (
                    ("dead_at", self.dead_at), ("delivered_at", self.delivered_at),
                    ("cancelled_at", self.cancelled_at), ("replayed_at", self.replayed_at))}}


@dataclass(frozen=True, slots=True)
class AttemptRow:
    channel: str
    attempt: int
    ok: bool
    http_status: int | None
    error: str | None
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"channel": self.channel, "attempt": self.attempt, "ok": self.ok,
                "http_status": self.http_status, "error": self.error,
                "at": self.at.isoformat()}


def _row(r: Sequence[Any]) -> OutboxRow:
    return OutboxRow(int(r[0]), message_id(r[1]), str(r[2]), str(r[3]), r[4], r[5], int(r[6]),
                     int(r[7]), r[8], tuple(r[9] or ()), r[10], r[11], r[12], r[13],
                     bool(r[14]))


async def list_rows(db: Database, schema: str, state: State, limit: int = 100
                    ) -> list[OutboxRow]:
    """Notifications in ``state``: dead (oldest first), pending or failing (next due first).
    Failing: pending rows whose last attempt failed and that wait for a retry."""
    statement = DeliveryStatements.for_schema(schema).bound(_LISTS[state])
    found = await db.fetch(*statement, {"limit": limit})
    return [_row(r) for r in found]


async def inspect(db: Database, schema: str, outbox_id: int
                  ) -> tuple[OutboxRow, list[AttemptRow]] | None:
    """One notification and every attempt made for it, oldest first; None if absent."""
    q = DeliveryStatements.for_schema(schema)
    found = await db.fetch(*q.one_row, {"id": outbox_id})
    if not found:
        return None
    attempts = await db.fetch(*q.attempts_of, {"id": outbox_id})
    return _row(found[0]), [AttemptRow(str(a[0]), int(a[1]), bool(a[2]), a[3], a[4], a[5])
                            for a in attempts]


async def replay(db: Database, schema: str, now: datetime, *, ids: Sequence[int] = (),
                 dead: bool = False) -> list[int]:
    """Make notifications due again at ``now`` with a fresh retry schedule: every dead one
    (``dead``) and/or the chosen ``ids``. A delivered row is sent again through every
    channel; a dead or failing one through the channels that have not accepted it. Rows
    being sent right now and cancelled rows are left as they are. Returns the ids replayed.
    Replaying changes nothing else: once delivered, a replayed row is done like any other."""
    q = DeliveryStatements.for_schema(schema)
    replayed: list[int] = []
    async with db.transaction("delivery.replay") as tx:
        if dead:
            replayed += [int(r[0]) for r in await tx.fetch(*q.replay_dead,
                                                           {"now": now})]
        if ids:
            replayed += [int(r[0]) for r in await tx.fetch(*q.replay_ids, {
                "now": now, "ids": [i for i in ids if i not in replayed]})]
    return sorted(replayed)


async def dead_by_channel(db: Database, schema: str) -> dict[str, int]:
    """Dead notifications per recorded channel that has not accepted them (0 included)."""
    found = await db.fetch(*DeliveryStatements.for_schema(schema).dead_by_channel)
    return {str(ch): int(n) for ch, n in found}
