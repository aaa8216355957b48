"""A batch's users: ids checked, profiles read (``users_by_id``) and each one's local date at
``now``, with the parameters every batch statement takes (the only I/O: one statement)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from pam_proactive.analysis.dates import require_aware
from pam_proactive.data.assemble import local_today
from pam_proactive.data.queries import BatchStatements
from pam_proactive.data.rows import UserRow
from pam_proactive.db.connection import Database
from pam_proactive.errors import InvalidUserIdError
from pam_proactive.logs import audit_read


def uuid_array(ids: Iterable[UUID]) -> str:
    """A PostgreSQL array literal of the ids: one text parameter is far cheaper to send than
    a list of UUID objects adapted one by one."""
    return text_array(str(u) for u in ids)


def text_array(texts: Iterable[str]) -> str:
    """A PostgreSQL array literal of ``texts`` (ids' or dates' canonical text: nothing to
    quote or escape)."""
    return "{" + ",".join(texts) + "}"


def parse_user_id(value: object) -> UUID:
    """``value`` as a UUID; raises :class:`InvalidUserIdError` naming the bad value's type."""
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise InvalidUserIdError(
            "user ids are UUIDs (profiles.id); got a value that is not a UUID"
        ) from None


@dataclass(frozen=True, slots=True)
class BatchUsers:
    """A batch's users in batch order (position ``i`` = index + 1), each one's
    :func:`local_today`, and the parameters every batch statement takes."""

    users: list[UserRow]
    todays: list[tuple[date, str, bool]]
    params: dict[str, Any]


async def read_users(db: Database, statements: BatchStatements, user_ids: Iterable[object],
                     now: datetime) -> BatchUsers | None:
    """The batch's known users as of ``now`` (``users_by_id``, audited as ``profiles``) and
    the batch statements' parameters; None when none of the ids is a known user. Raises
    :class:`InvalidUserIdError` for an id that is not a UUID."""
    require_aware(now)
    # Each id's text once (the two array parameters below, the bounds): a UUID's str() is
    # pure Python, and a batch has thousands.
    texts = {u: str(u) for u in (parse_user_id(v) for v in user_ids)}
    if not texts:
        return None
    users = await db.fetch(*statements.users_by_id, {"ids": text_array(texts.values())},
                           row_type=UserRow)
    audit_read("profiles", len(users))
    if not users:
        return None
    # local_today depends on the zone alone (at one ``now``): once per distinct zone, of
    # which a batch has a few dozen, not once per user.
    zones: dict[str | None, tuple[tuple[date, str, bool], str]] = {}
    todays: list[tuple[date, str, bool]] = []
    days: list[str] = []
    known: list[str] = []
    for r in users:
        found = zones.get(r.timezone)
        if found is None:
            today = local_today(r.timezone, now)
            found = zones[r.timezone] = (today, today[0].isoformat())
        todays.append(found[0])
        days.append(found[1])
        known.append(texts[r.user_id])  # users_by_id returns only ids it was given
    params: dict[str, Any] = {
        "ids": text_array(known),
        # A UUID's canonical text is lower-case hex of fixed length, so its text order is
        # its order as a uuid: the bounds need no UUID comparisons.
        "lo": min(known),
        "hi": max(known),
        "today": text_array(days),
        "now": now,
    }
    return BatchUsers(users, todays, params)
