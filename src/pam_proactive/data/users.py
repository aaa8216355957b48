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
    return "{" + ",".join(str(u) for u in ids) + "}"


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
    ids = list(dict.fromkeys(parse_user_id(u) for u in user_ids))
    if not ids:
        return None
    users = await db.fetch(*statements.users_by_id, {"ids": uuid_array(ids)},
                           row_type=UserRow)
    audit_read("profiles", len(users))
    if not users:
        return None
    todays = [local_today(r.timezone, now) for r in users]
    params: dict[str, Any] = {
        "ids": uuid_array(r.user_id for r in users),
        "lo": min(r.user_id for r in users),
        "hi": max(r.user_id for r in users),
        "today": "{" + ",".join(t[0].isoformat() for t in todays) + "}",
        "now": now,
    }
    return BatchUsers(users, todays, params)
