"""Gathering due digest items into one digest notification per traveler (set-based).

Run by every delivery drain before it claims rows (:func:`~.delivery.drain_due`): for up to
``limit`` travelers whose digest is due at ``now``, one transaction locks them (the sweep's
per-user lock) and one statement writes their digest rows and points the items at them. The
digest row is then delivered like any outbox row (leases, retries, dead letters, replay); when
claimed, its items are re-read, so an item resolved, dismissed, snoozed or expired since is
left out, and a digest with none left is cancelled unsent. One digest per traveler and local
day (a unique index): a repeated drain writes nothing new.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from pam_proactive.analysis.dates import require_aware
from pam_proactive.db.connection import Database
from pam_proactive.suggestions.digest_sql import DigestStatements
from pam_proactive.suggestions.store import USER_LOCK_CLASS

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AssemblyReport:
    """What :func:`assemble_digests` did; counts of rows."""

    travelers: int = 0  # travelers with items due, locked and handled
    digests: int = 0  # digest rows written
    items: int = 0  # items gathered into them
    stale: int = 0  # items cancelled: their suggestion was no longer live
    moved: int = 0  # items moved to the next day (their day's digest already existed)


async def assemble_batch(db: Database, schema: str, now: datetime, limit: int
                         ) -> AssemblyReport:
    """Gather the due items of up to ``limit`` travelers into their digests (one short
    transaction); returns the counts."""
    require_aware(now, "now")
    q = DigestStatements.for_schema(schema)
    params = {"now": now, "limit": limit, "cls": USER_LOCK_CLASS}
    async with db.transaction("digest.assemble") as tx:
        [(users, locked)] = await tx.fetch(*q.lock_due, params)
        if not locked:
            return AssemblyReport()
        [(digests, items, stale, moved)] = await tx.fetch(
            *q.assemble, params | {"users": list(users)})
    return AssemblyReport(int(locked), int(digests), int(items), int(stale), int(moved))


async def assemble_digests(db: Database, schema: str, now: datetime, *, batch: int = 250
                           ) -> AssemblyReport:
    """Every digest due at ``now``, :func:`assemble_batch` after :func:`assemble_batch` of
    ``batch`` travelers until one finds fewer; returns the counts summed. It ends: every item
    a batch handles leaves the waiting set (gathered, cancelled, or moved a day later)."""
    total = AssemblyReport()
    while True:
        report = await assemble_batch(db, schema, now, batch)
        total = AssemblyReport(*(a + b for a, b in zip(
            (total.travelers, total.digests, total.items, total.stale, total.moved),
            (report.travelers, report.digests, report.items, report.stale, report.moved),
            strict=True)))
        if report.travelers < batch:
            break
    if total.digests:
        log.info("assembled digests: %s", total)
    return total
