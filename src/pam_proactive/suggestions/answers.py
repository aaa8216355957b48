"""A traveler's answers to a suggestion beyond dismiss/acted: snooze, a reason, "useful".

* **Snooze** a live suggestion until a moment at most :data:`MAX_SNOOZE` ahead: its subject
  (user + dedup_key) is not notified until then. Its unsent notifications are cancelled; when
  the snooze is over, the next sweep of the traveler (the snooze's end makes them due, so an
  incremental sweep does it at the same moment a full one would) writes one ``resumed``
  notification if the subject is still live at the snoozed priority or above. A priority above
  the snoozed one breaks the snooze and is notified at once (StoreStatements.end_snoozes, notify).
* **Dismiss with a reason** (:data:`REASONS`) and an optional note of at most :data:`MAX_NOTE`
  characters (the free text of ``other``, or a detail of another reason), stored for the
  traveler's export and never logged.
* **Useful**: kept without closing the suggestion.

Snoozes and feedback keep the suggestion's type, priority, subject and numbers (``data``) at
the time, so digests and per-traveler adaptation can be built on them later.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, get_args
from uuid import UUID

from pam_proactive.analysis.dates import require_aware
from pam_proactive.db.connection import Database, Transaction, within
from pam_proactive.suggestions.answers_sql import AnswerStatements

log = logging.getLogger(__name__)

Reason = Literal["not_useful", "wrong", "already_done", "too_early", "other"]
REASONS: tuple[str, ...] = get_args(Reason)

MAX_SNOOZE = timedelta(days=30)  # the longest snooze a traveler can ask for
MAX_NOTE = 500  # characters of a dismissal's free-text note


@dataclass(frozen=True, slots=True)
class Snoozed:
    """A snooze in force: its id, its end (aware) and the unsent notifications it cancelled."""

    id: int
    until: datetime
    held: int


@dataclass(frozen=True, slots=True)
class LiveSnooze:
    """A subject's snooze in force, for the suggestion's explanation."""

    id: int
    created_at: datetime
    until: datetime
    priority: str  # the priority snoozed: a higher one breaks the snooze



def snooze_end(now: datetime, *, until: datetime | None = None,
               duration: timedelta | None = None) -> datetime:
    """The end of a snooze asked ``until`` a moment or for a ``duration`` (exactly one).

    Raises ValueError when neither or both are given, when the end is not after ``now`` or
    is more than :data:`MAX_SNOOZE` after it."""
    require_aware(now, "now")
    if (until is None) == (duration is None):
        raise ValueError("give either until (a moment) or for (a duration), not both")
    if until is not None:
        require_aware(until, "until")
        end = until
    else:
        assert duration is not None
        end = now + duration
    if end <= now:
        raise ValueError("the snooze must end in the future")
    if end - now > MAX_SNOOZE:
        raise ValueError(f"a snooze lasts at most {MAX_SNOOZE.days} days")
    return end


async def snooze(db: Database | Transaction, schema: str, suggestion_id: UUID, now: datetime,
                 until: datetime) -> Snoozed | None:
    """Snooze a live suggestion's subject until ``until`` (see :func:`snooze_end`).

    Returns the snooze, or None when the suggestion is absent or no longer live."""
    snooze_end(now, until=until)  # the SQL checks the same bounds: this gives the message
    params = {"id": suggestion_id, "now": now, "until": until}
    async with within(db, "snooze") as tx:
        rows = await tx.fetch(*AnswerStatements.for_schema(schema).snooze, params)
    if not rows:
        return None
    snooze_id, end, held = rows[0]
    log.info("snoozed a subject (snooze %s): %d pending notifications held", snooze_id, held)
    return Snoozed(int(snooze_id), end, int(held))


def check_note(reason: str | None, note: str | None) -> None:
    """Raise ValueError for an unknown reason or a note longer than :data:`MAX_NOTE`."""
    if reason is not None and reason not in REASONS:
        raise ValueError(f"unknown reason {reason!r}: use one of {', '.join(REASONS)}")
    if note is not None and len(note) > MAX_NOTE:
        raise ValueError(f"the note is longer than {MAX_NOTE} characters")


async def dismiss(db: Database | Transaction, schema: str, suggestion_id: UUID, now: datetime,
                  reason: str | None = None, note: str | None = None) -> bool:
    """Dismiss a live suggestion (as ``store.dismiss``), keeping the traveler's feedback:
    the optional ``reason`` and ``note`` with the suggestion's type, priority, subject and data.

    Returns True if a live suggestion was dismissed, False if absent or already closed."""
    require_aware(now, "now")
    check_note(reason, note)
    params = {"id": suggestion_id, "now": now, "reason": reason, "note": note}
    async with within(db, "dismiss_with_reason") as tx:
        done = bool(await tx.fetch_value(*AnswerStatements.for_schema(schema).dismiss, params))
    # The reason is one of REASONS; the note is the traveler's own words and is never logged.
    log.info("dismissal of %s: %s, reason %s%s", suggestion_id,
             "recorded" if done else "nothing to do (absent or closed)",
             reason or "unspecified", ", with a note" if note else "")
    return done


async def rate_useful(db: Database | Transaction, schema: str, suggestion_id: UUID,
                      now: datetime) -> bool | None:
    """Record that the traveler found a suggestion useful; it stays as it is.

    Returns None when there is no such suggestion, True when recorded now, False when it was
    already rated useful."""
    require_aware(now, "now")
    params = {"id": suggestion_id, "now": now}
    async with within(db, "rate_useful") as tx:
        kept = await tx.fetch_value(*AnswerStatements.for_schema(schema).useful, params)
    return None if kept is None else bool(kept)


async def live_snoozes(db: Database, schema: str, subjects: Collection[tuple[UUID, str]]
                       ) -> dict[tuple[UUID, str], LiveSnooze]:
    """The snoozes in force of some (user, dedup_key) subjects, by subject."""
    if not subjects:
        return {}
    params = {"users": sorted({u for u, _ in subjects}), "keys": sorted({k for _, k in subjects})}
    rows = await db.fetch(*AnswerStatements.for_schema(schema).live_snoozes, params)
    return {(r[0], r[1]): LiveSnooze(int(r[2]), r[3], r[4], str(r[5])) for r in rows
            if (r[0], r[1]) in subjects}


async def export_answers(db: Database, schema: str, user_id: UUID) -> dict[str, list[Any]]:
    """A traveler's snoozes and feedback (notes included) for the privacy export."""
    params = {"user_id": user_id}
    snoozes = await db.fetch(*AnswerStatements.for_schema(schema).export_snoozes, params)
    feedback = await db.fetch(*AnswerStatements.for_schema(schema).export_feedback, params)
    return {"snoozes": [r[0] for r in snoozes], "feedback": [r[0] for r in feedback]}


async def erase_answers(tx: Transaction, schema: str, user_id: UUID) -> Sequence[int]:
    """Delete a traveler's feedback and snoozes (inside the erasure's transaction); returns
    the rows deleted of each."""
    params = {"user_id": user_id}
    return (await tx.execute(*AnswerStatements.for_schema(schema).erase_feedback, params),
            await tx.execute(*AnswerStatements.for_schema(schema).erase_snoozes, params))
