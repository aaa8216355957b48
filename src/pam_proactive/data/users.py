"""A batch's users: ids checked, profiles read (``users_by_id``) and each one's local date at
``now``, with the parameters every batch statement takes (the only I/O: one statement)."""

from __future__ import annotations

import sys
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


# Batches of at most this many ids have their users in the order the ids were asked in
# (repeats dropped), larger ones as users_by_id returns them (it has no ORDER BY; a sweep's
# order, which its candidates' digests pin). A small batch can be read before its users
# are (read.py, guess_users): it is then in that order, and must be when read plainly too.
ASKED_ORDER_MAX = 25


@dataclass(frozen=True, slots=True)
class BatchUsers:
    """A batch's users in batch order (position ``i`` = index + 1; see
    :data:`ASKED_ORDER_MAX`), each one's :func:`local_today`, and the parameters every
    batch statement takes."""

    users: list[UserRow]
    todays: list[tuple[date, str, bool]]
    params: dict[str, Any]


# Ids remembered by :data:`ZONES`. Measured (tracemalloc, CPython 3.11, 100,000 ids read
# in batches of 2,000): ~125 bytes per id (the id's text, 85, and its dict slot; the zone
# texts are interned, a few hundred in all), so at most ~13 MB whatever the population
# (tests/data/test_users_zones.py).
ZONES_MAX = 100_000


class ZoneMemory:
    """Each user's timezone text (None: no zone) as this process last read it from
    ``users_by_id``, by the id's text: what lets a small batch compute its users' local dates
    before reading them (:func:`guess_users`). A hint, never trusted: a batch read with it is
    kept only if ``users_by_id`` returns exactly those users with exactly those zones
    (:func:`confirmed_users`).

    Bounded to ``size`` ids in two generations: ids go into the newer one; when it holds
    ``size // 2``, the older one is dropped and the newer one takes its place (so the ids
    read most recently stay, with no per-entry bookkeeping)."""

    __slots__ = ("_half", "_new", "_old")

    def __init__(self, size: int = ZONES_MAX) -> None:
        self._half = max(1, size // 2)
        self._new: dict[str, str | None] = {}
        self._old: dict[str, str | None] = {}

    def __len__(self) -> int:
        return len(self._new) + sum(1 for t in self._old if t not in self._new)

    def clear(self) -> None:
        """Forget every id."""
        self._new, self._old = {}, {}

    def zones(self, texts: Iterable[str]) -> list[str | None] | None:
        """The remembered zone of each id (``texts``, in order); None if any is unknown."""
        new, old = self._new, self._old
        found: list[str | None] = []
        for t in texts:
            zone = new.get(t, _UNKNOWN)
            if zone is _UNKNOWN:
                zone = old.get(t, _UNKNOWN)
                if zone is _UNKNOWN:
                    return None
            found.append(zone)
        return found

    def learn(self, texts: dict[UUID, str], users: Iterable[UserRow]) -> None:
        """What ``users_by_id`` returned (``users``) when asked for the ids ``texts``:
        their zones are remembered, and the ids it did not return (unknown, deleted) are
        forgotten (a guess with them would only be discarded)."""
        new, old = self._new, self._old
        returned = set()
        for r in users:
            text = texts[r.user_id]
            returned.add(text)
            if len(new) >= self._half and text not in new:
                self._old = old = new
                self._new = new = {}
            new[text] = None if r.timezone is None else sys.intern(r.timezone)
        if len(returned) < len(texts):
            for text in texts.values():
                if text not in returned:
                    new.pop(text, None)
                    old.pop(text, None)


_UNKNOWN: Any = object()  # no zone remembered (None is a remembered "no zone")

# This process's memory of its users' zones (filled by every read of users, sweeps
# included; read by small batches: data/columnar/read.py).
ZONES = ZoneMemory()


def batch_texts(user_ids: Iterable[object]) -> dict[UUID, str]:
    """Each id as a UUID, with its text, in the order given, repeats dropped. Raises
    :class:`InvalidUserIdError` for an id that is not a UUID."""
    # Each id's text once (the two array parameters below, the bounds): a UUID's str() is
    # pure Python, and a batch has thousands.
    return {u: str(u) for u in (parse_user_id(v) for v in user_ids)}


async def read_users(db: Database, statements: BatchStatements, user_ids: Iterable[object],
                     now: datetime) -> BatchUsers | None:
    """The batch's known users as of ``now`` (``users_by_id``, audited as ``profiles``) and
    the batch statements' parameters; None when none of the ids is a known user. Raises
    :class:`InvalidUserIdError` for an id that is not a UUID."""
    require_aware(now)
    return await users_of(db, statements, batch_texts(user_ids), now)


async def users_of(db: Database, statements: BatchStatements, texts: dict[UUID, str],
                   now: datetime) -> BatchUsers | None:
    """:func:`read_users` of the ids ``texts`` (:func:`batch_texts`)."""
    if not texts:
        return None
    users = await db.fetch(*statements.users_by_id, {"ids": text_array(texts.values())},
                           row_type=UserRow)
    audit_read("profiles", len(users))
    ZONES.learn(texts, users)
    if not users:
        return None
    if len(users) > 1 and len(texts) <= ASKED_ORDER_MAX:
        position = {u: k for k, u in enumerate(texts)}
        users.sort(key=lambda r: position[r.user_id])
    return batch_users(users, [texts[r.user_id] for r in users],
                       [r.timezone for r in users], now)


def batch_users(users: list[UserRow], known: list[str], zones: list[str | None],
                now: datetime) -> BatchUsers:
    """The batch of ``users`` (in batch order; ``known``: their ids' texts, ``zones``:
    their timezones, both in that order) at ``now``."""
    # local_today depends on the zone alone (at one ``now``): once per distinct zone, of
    # which a batch has a few dozen, not once per user.
    seen: dict[str | None, tuple[tuple[date, str, bool], str]] = {}
    todays: list[tuple[date, str, bool]] = []
    days: list[str] = []
    for zone in zones:
        found = seen.get(zone)
        if found is None:
            today = local_today(zone, now)
            found = seen[zone] = (today, today[0].isoformat())
        todays.append(found[0])
        days.append(found[1])
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


@dataclass(frozen=True, slots=True)
class Guess:
    """A small batch's users as :data:`ZONES` remembers them: the ids (``texts``, in batch
    order), their remembered ``zones``, and the batch (no users yet) their reads take."""

    texts: dict[UUID, str]
    zones: list[str | None]
    batch: BatchUsers


def guess_users(texts: dict[UUID, str], now: datetime) -> Guess | None:
    """The batch of the ids ``texts`` if they are at most :data:`ASKED_ORDER_MAX` and
    every one's zone is remembered (:data:`ZONES`), so that its statements can be sent with
    ``users_by_id`` rather than after it; None otherwise."""
    if not texts or len(texts) > ASKED_ORDER_MAX:
        return None
    zones = ZONES.zones(texts.values())
    if zones is None:
        return None
    return Guess(texts, zones, batch_users([], list(texts.values()), zones, now))


def confirmed_users(guess: Guess, users: list[UserRow], now: datetime) -> BatchUsers | None:
    """The batch of ``guess`` with its ``users`` (what ``users_by_id`` returned for its
    ids, read with its statements, audited here) if they are exactly the guessed users
    with exactly the remembered zones: then the batch is the one :func:`read_users` would
    give, parameters included (same ids, same order, same zones). None
    otherwise (an id
    unknown or deleted, a zone changed): the guess is discarded."""
    audit_read("profiles", len(users))
    ZONES.learn(guess.texts, users)
    if len(users) != len(guess.texts):
        return None
    found = {r.user_id: r for r in users}  # users_by_id returns only ids it was given
    ordered: list[UserRow] = []
    for user_id, zone in zip(guess.texts, guess.zones, strict=True):
        r = found.get(user_id)
        if r is None or r.timezone != zone:  # (None: an id returned twice, never from a key)
            return None
        ordered.append(r)
    return BatchUsers(ordered, guess.batch.todays, guess.batch.params)
