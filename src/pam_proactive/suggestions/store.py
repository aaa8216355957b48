"""The suggestion lifecycle in PostgreSQL: upsert, resolve, expire, and the notification outbox.

Everything is set-based, and every statement is a named one of :mod:`store_sql`, run
through :class:`~pam_proactive.db.connection.Database` (timed, with the engine's timeout):
:func:`apply_candidates` stages a whole batch of users' candidates in
two temporary tables (one ``INSERT ... SELECT FROM unnest(...)`` each, so it also works behind
Supabase's transaction pooler) and then runs one statement per lifecycle step for the batch,
all inside one transaction. Running it again with the same inputs changes nothing and writes
no notification, so a sweep that failed half-way can simply be retried.

The rules that keep a traveler from being told the same thing twice:

* at most one live (``open`` or ``delivered``) suggestion per user and ``dedup_key``, enforced
  by a partial unique index;
* a notification is written only when a suggestion is created, or when its priority rises above
  the highest priority already notified (``notified_rank``, never lowered);
* a subject dismissed or acted upon is not suggested again for ``DeliveryPolicy.cooldown``;
* a subject resolved or expired within the cooldown may reappear (it is visible in the app),
  but is notified again only at a priority above what was notified for it before, so a
  condition flapping around a threshold does not notify on every flip;
* a notification not yet sent is cancelled when its suggestion stops being live, so a traveler
  is never woken at the end of quiet hours for a condition that has already gone;
* a suggestion held back by another about the same cause (``held_by``, decided by
  :func:`pam_proactive.suggestions.relations.holders` over the batch's live suggestions once
  stored) is stored and listed but not notified, and is notified when released, if it never
  was; a pending notification of a suggestion that becomes held is cancelled.
* a snoozed subject is not notified until the snooze ends (then once, if still live at the
  snoozed priority or above), unless its priority rises above the snoozed one, which ends the
  snooze at once (see :mod:`pam_proactive.suggestions.answers`);
* a notification of a priority the traveler's daily digest gathers is written as a digest
  item, due at the traveler's digest moment (:mod:`pam_proactive.suggestions.digest`), and
  takes no slot of the daily cap; the delivery drain gathers the items into one notification
  (:mod:`pam_proactive.suggestions.digest_assembly`);
* what a traveler's dismissal reasons taught (:mod:`pam_proactive.suggestions.adaptation`)
  is brought up to date for the batch first, then applied: a longer cooldown, digest only, a
  held first notification, a subject silenced while its numbers stay those judged wrong, and
  the one-time offer to turn a type off.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, cast, get_args
from uuid import UUID

from pam_proactive.analysis.bounds import (
    MESSAGE_MAX_CHARS,
    TITLE_MAX_CHARS,
    bound_data,
    cut_text,
)
from pam_proactive.analysis.dates import require_aware
from pam_proactive.context import Profile
from pam_proactive.db.connection import BoundStatement, Database, Transaction, within
from pam_proactive.observability import metrics
from pam_proactive.suggestions.adaptation import OFFER_TYPE, AdaptationPolicy, offer_candidate
from pam_proactive.suggestions.detectors import is_allowed
from pam_proactive.suggestions.digest import DigestPolicy, DigestSlot, digest_slots, policy_of
from pam_proactive.suggestions.local_time import local_day_bounds, quiet_hours_end
from pam_proactive.suggestions.models import Candidate, Priority
from pam_proactive.suggestions.relations import RELATED_TYPES, Live, holders
from pam_proactive.suggestions.store_sql import StoreStatements

log = logging.getLogger(__name__)

__all__ = ["local_day_bounds", "quiet_hours_end"]  # re-exported: their home is local_time

SuggestionStatus = Literal["open", "delivered", "dismissed", "acted", "resolved", "expired"]
STATUSES: frozenset[str] = frozenset(get_args(SuggestionStatus))
LIVE_STATUSES: tuple[SuggestionStatus, ...] = ("open", "delivered")

# Namespace (first key) of the transaction-level advisory locks taken per user, so that two
# writers of one user's suggestions (two sweeps, or a sweep and a dismissal) run one at a time.
USER_LOCK_CLASS = 0x70616D



@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """Engine-wide notification rules; a profile's own ``daily_cap`` wins over ``daily_cap``,
    a traveler's stored digest choices (``user_preferences``) over ``digest``."""

    cooldown: timedelta = timedelta(days=7)
    daily_cap: int = 3  # notifications per user per local day; critical ones are never capped
    # Non-urgent notifications wait for a daily digest.
    digest: DigestPolicy = field(default_factory=DigestPolicy)
    adaptation: AdaptationPolicy = field(default_factory=AdaptationPolicy)  # per traveler

    def __post_init__(self) -> None:
        if self.cooldown < timedelta(0):
            raise ValueError("DeliveryPolicy.cooldown must not be negative")
        if self.daily_cap < 0:
            raise ValueError("DeliveryPolicy.daily_cap must not be negative")


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What one :func:`apply_candidates` call did; every field is a count of rows."""

    created: int = 0  # suggestions inserted
    updated: int = 0  # live suggestions whose content changed (escalations included)
    escalated: int = 0  # live suggestions whose priority rose above the notified one
    resolved: int = 0  # live suggestions whose condition disappeared
    expired: int = 0  # live suggestions past expires_at
    suppressed_cooldown: int = 0  # candidates skipped: dismissed/acted within the cooldown
    suppressed_preferences: int = 0  # candidates dropped: opted out or type/group disabled
    notified: int = 0  # outbox rows written
    held_quiet_hours: int = 0  # of ``notified``, rows held until the end of quiet hours
    digest_items: int = 0  # of ``notified``, rows waiting for the traveler's daily digest
    capped: int = 0  # notifications not written because the user's daily cap was reached
    held_back: int = 0  # live suggestions newly held back by another about the same cause
    released: int = 0  # live suggestions no longer held back (notified if never notified)
    snooze_resumed: int = 0  # snoozes ended with their subject notified again ('resumed')
    snooze_broken: int = 0  # snoozes broken by a priority above the snoozed one
    adapted: int = 0  # adaptations created or changed from the batch's dismissal reasons
    suppressed_wrong: int = 0  # candidates silenced: their subject was answered `wrong`
    held_too_early: int = 0  # of ``notified``, first notifications held for `too_early`


@dataclass(frozen=True, slots=True)
class SuggestionRecord:
    """One stored suggestion. Timestamps are timezone-aware."""

    id: UUID
    user_id: UUID
    type: str
    priority: Priority
    title: str
    message: str
    data: dict[str, Any]
    dedup_key: str
    computed_for: datetime
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    status: SuggestionStatus
    status_changed_at: datetime
    notified_rank: Priority | None  # highest priority notified (or deliberately capped)
    held_by: UUID | None = None  # the live suggestion this one is part of (not notified)


# --------------------------------------------------------------------------------------------
# apply_candidates
# --------------------------------------------------------------------------------------------


def _json_default(value: object) -> str:
    """Serialise the few non-JSON types detectors may leave in ``data`` (dates, UUIDs, ...)."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _data_json(candidate: Candidate) -> str:
    try:
        return json.dumps(bound_data(candidate.data), default=_json_default, allow_nan=False,
                          sort_keys=True)
    except ValueError as exc:  # NaN or infinity: PostgreSQL's jsonb rejects them
        raise ValueError(
            f"candidate of type {candidate.type!r} has a NaN or infinite number in its data"
        ) from exc


def _select_candidates(
    user_ids: Collection[UUID],
    candidates: Iterable[Candidate],
    profiles: Mapping[UUID, Profile],
) -> tuple[dict[tuple[UUID, str], Candidate], int]:
    """Candidates kept after preferences, one per (user, dedup_key); and how many were dropped.

    Two candidates with one key in one batch keep the higher priority (then the first seen).
    """
    kept: dict[tuple[UUID, str], Candidate] = {}
    dropped = 0
    for cand in candidates:
        uid = UUID(str(cand.user_id))
        if uid not in user_ids:
            raise ValueError(
                f"candidate for user {uid} is not among user_ids: every user whose candidates "
                "are applied must be passed in user_ids (resolution is scoped to them)"
            )
        profile = profiles.get(uid)
        if profile is None:
            raise ValueError(f"no profile for user {uid}: preferences cannot be enforced")
        require_aware(cand.computed_for, "Candidate.computed_for")
        if cand.expires_at is not None:
            require_aware(cand.expires_at, "Candidate.expires_at")
        if not is_allowed(profile, cand.type):
            dropped += 1
            continue
        key = (uid, cand.dedup_key)
        if key not in kept or cand.priority > kept[key].priority:
            kept[key] = cand
    return kept, dropped


_Instants = tuple[datetime, datetime, datetime | None, tuple[DigestSlot, DigestSlot]]


def _exactly(clock: time | None) -> tuple[Any, ...] | None:
    """A key equal for two clock times only when every use of them gives the same result
    (``time`` equality alone ignores ``fold`` and compares aware times across offsets)."""
    return None if clock is None else (clock.replace(tzinfo=None), clock.fold, clock.tzinfo)


def _instants(profile: Profile, hour: int, now: datetime) -> _Instants:
    """The traveler's local day [start, end), the end of the quiet hours ``now`` falls in
    (None: outside them) and the digest slots at local ``hour`` (UTC instants)."""
    start, end = local_day_bounds(profile, now)
    # Even with the digest off: a type adapted to "digest only" still goes in one.
    return start, end, quiet_hours_end(profile, now), digest_slots(profile, hour, now)


def _user_columns(
    user_ids: Sequence[UUID],
    profiles: Mapping[UUID, Profile],
    now: datetime,
    policy: DeliveryPolicy,
    digests: Mapping[UUID, Sequence[Any]],
) -> list[list[Any]]:
    """Column arrays of the users' temporary table: id, day start/end, deliver_after, cap,
    and the digest's: the bit mask of the priority ranks it takes (0: none), this digest's
    moment and local day, and the next day's (``digests``: the travelers' stored choices)."""
    columns: list[list[Any]] = [[] for _ in range(10)]
    # The local instants depend only on the zone, the quiet hours and the digest hour, which
    # most travelers of a batch share: each distinct combination is computed once.
    instants: dict[tuple[Any, ...], _Instants] = {}
    for uid in dict.fromkeys(user_ids):  # unique, order kept
        profile = profiles.get(uid)
        if profile is None:  # no candidates possible (checked): only resolution applies
            start, end, held, cap = now, now, None, policy.daily_cap
            mask, slots = 0, None
        else:
            cap = policy.daily_cap if profile.daily_cap is None else profile.daily_cap
            chosen = policy_of(policy.digest, digests.get(uid))
            mask = sum(1 << rank for rank in chosen.ranks)
            key = (profile.timezone, _exactly(profile.quiet_start),
                   _exactly(profile.quiet_end), chosen.hour)
            known = instants.get(key)
            if known is None:
                known = instants[key] = _instants(profile, chosen.hour, now)
            start, end, held, slots = known
        row = (uid, start, end, held or now, cap, mask,
               slots[0].at if slots else now, slots[0].day if slots else now.date(),
               slots[1].at if slots else now, slots[1].day if slots else now.date())
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    return columns


def _candidate_columns(kept: Mapping[tuple[UUID, str], Candidate]) -> list[list[Any]]:
    """Column arrays of the candidates' temporary table, in its column order."""
    columns: list[list[Any]] = [[] for _ in range(11)]
    for (uid, key), cand in kept.items():
        row = (
            uid,
            cand.type,
            cand.priority.label,
            int(cand.priority),
            # Capped as stored (analysis.bounds): the notification payload, and so the webhook
            # body, is built from these columns.
            cut_text(cand.title, TITLE_MAX_CHARS),
            cut_text(cand.message, MESSAGE_MAX_CHARS),
            _data_json(cand),
            key,
            cand.computed_for,
            cand.expires_at,
            json.dumps(list(cand.subjects)),
        )
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    return columns



def _check_types(kept: Mapping[tuple[UUID, str], Candidate], types: Collection[str] | None
                 ) -> list[str] | None:
    """``types`` as a list (None: every type); raises if a kept candidate is outside it."""
    if types is None:
        return None
    scope = sorted(set(types))
    outside = sorted({c.type for c in kept.values()} - set(scope))
    if outside:
        raise ValueError(
            f"candidates of types {outside} are outside types={scope}: pass every type the "
            "detectors that ran can return (or types=None for a sweep of every detector)")
    return scope


def _offers(rows: Iterable[Sequence[Any]], profiles: Mapping[UUID, Profile]
            ) -> dict[tuple[UUID, str], Candidate]:
    """The outstanding offers to turn a type off (``StoreStatements.offers`` rows) as candidates,
    for the travelers whose preferences still accept both the offered type and the offer."""
    found: dict[tuple[UUID, str], Candidate] = {}
    for uid, offered, answers, offered_at in rows:
        profile = profiles.get(uid)
        if profile is None or not (is_allowed(profile, offered)
                                   and is_allowed(profile, OFFER_TYPE)):
            continue
        cand = offer_candidate(uid, str(offered), int(answers), offered_at)
        found[(uid, cand.dedup_key)] = cand
    return found


Kinds = list[tuple[str, str, int]]


def _kinds(value: Any) -> Kinds:
    """A statement's [type, priority, n] array (see ``store_sql.kinds``) as tuples."""
    return [(str(t), str(p), int(n)) for t, p, n in value or ()]


async def _counted(tx: Transaction, statement: BoundStatement, params: dict[str, Any]
                   ) -> tuple[int, Kinds]:
    """Run a statement returning (count, [type, priority, n] array); return both."""
    [(count, by_kind)] = await tx.fetch(*statement, params)
    return int(count), _kinds(by_kind)


def _holding(rows: Iterable[Sequence[Any]]) -> tuple[list[UUID], list[UUID | None]]:
    """From the batch's live related suggestions (``StoreStatements.live_related`` rows), the ids
    whose holder must change and their new holder (None: released), per traveler by
    :func:`holders`."""
    by_user: dict[UUID, list[Live[UUID]]] = {}
    current: dict[UUID, UUID | None] = {}
    for sid, uid, kind, key, subjects, held_by in rows:
        by_user.setdefault(uid, []).append(Live(sid, str(kind), str(key), tuple(subjects or ())))
        current[sid] = held_by
    wanted: dict[UUID, UUID] = {}
    for items in by_user.values():
        wanted.update(holders(items))
    ids: list[UUID] = []
    new: list[UUID | None] = []
    for sid, held_by in current.items():
        if wanted.get(sid) != held_by:
            ids.append(sid)
            new.append(wanted.get(sid))
    return ids, new


async def apply_candidates(
    db: Database | Transaction,
    *,
    schema: str,
    user_ids: Sequence[UUID],
    candidates: Sequence[Candidate],
    profiles: Mapping[UUID, Profile],
    now: datetime,
    policy: DeliveryPolicy = DeliveryPolicy(),
    types: Collection[str] | None = None,
) -> ApplyResult:
    """Bring the stored suggestions of ``user_ids`` in line with this sweep's ``candidates``.

    In one transaction, for the whole batch: create or update one live suggestion per
    (user, dedup_key); resolve the users' live suggestions absent from ``candidates``; expire
    the users' live suggestions whose ``expires_at`` is not after ``now``; decide which live
    suggestions are held back by another about the same cause (:func:`holders`, over the
    users' live suggestions of every related type, whatever ``types``); and write the
    notifications due (outbox rows) for the others, respecting quiet hours and the daily cap.
    ``user_ids`` must hold every swept user, including those without candidates (their live
    suggestions are resolved); every user with candidates needs a profile. ``now`` is
    timezone-aware. With ``types``, only live suggestions of those types are resolved (a sweep
    that ran some detectors leaves the others' suggestions alone), and a candidate of another
    type is a
    ``ValueError``. Idempotent: the same call again changes nothing and writes no outbox row.

    ``db`` is the engine's :class:`Database` (its own transaction) or a :class:`Transaction`
    to join (a savepoint of it). Returns the counts of what was done (see
    :class:`ApplyResult`).
    """
    require_aware(now, "now")
    swept = set(user_ids)
    kept, dropped = _select_candidates(swept, candidates, profiles)
    scope = _check_types(kept, types)
    if scope is not None:  # every sweep keeps the offers it makes (see _offers)
        scope = sorted({*scope, OFFER_TYPE})
    adapt = policy.adaptation
    params: dict[str, Any] = {"now": now, "since": now - policy.cooldown, "cls": USER_LOCK_CLASS,
                              "lo": min(swept, default=None), "hi": max(swept, default=None),
                              "types": scope, "cooldown": policy.cooldown} | adapt.params()
    kinds: dict[str, Kinds] = {}
    adapted = 0
    q = StoreStatements.for_schema(schema)
    async with within(db, "apply_candidates") as tx:
        digests = {row[0]: row[1:] for row in await tx.fetch(
            *q.digest_choices, {"ids": [u for u in swept if u in profiles]})}
        await tx.execute(*q.create_users)
        await tx.execute(*q.create_candidates)
        await tx.execute(*q.load_users,
                         _user_columns(user_ids, profiles, now, policy, digests))
        await tx.execute(*q.lock_users, params)
        if adapt.enabled and swept:
            # Under the users' locks: no answer of theirs lands between this and NOTIFY.
            adapted = int(await tx.fetch_value(*q.adapt, params) or 0)
            kept.update(_offers(await tx.fetch(*q.offers, params), profiles))
        await tx.execute(*q.load_candidates, _candidate_columns(kept))
        await tx.execute(*q.analyze_temp)
        await tx.execute(*q.find_live, params)
        await tx.execute(*q.mark_history, params)
        [(suppressed, silenced)] = await tx.fetch(*q.count_suppressed)
        updated = await tx.execute(*q.update_live, params)
        created, kinds["created"] = await _counted(tx, q.insert_new, params)
        resolved, kinds["resolved"] = await _counted(tx, q.resolve_gone, params)
        expired, kinds["expired"] = await _counted(tx, q.expire_due, params)
        if updated:  # only a changed suggestion can make a held notification stale
            await tx.execute(*q.refresh_pending, params)
        related = await tx.fetch(*q.live_related,
                                 params | {"related": sorted(RELATED_TYPES)})
        ids, new = _holding(related)
        [(newly_held, released, held_kinds, released_kinds)] = await tx.fetch(
            *q.set_held, params | {"held_ids": ids, "holder_ids": new})
        kinds["held_back"], kinds["released"] = _kinds(held_kinds), _kinds(released_kinds)
        params["released"] = [sid for sid, holder in zip(ids, new, strict=True) if holder is None]
        [(resumed, broken)] = await tx.fetch(*q.end_snoozes, params)
        [counts] = await tx.fetch(*q.notify, params)
        escalated, capped, notified, held, digest_items = (int(v) for v in counts[:5])
        kinds["escalated"] = _kinds(counts[5])
        held_too_early = int(counts[6])
        # Explicit, so a caller's enclosing transaction can apply several batches.
        await tx.execute(*q.drop_temp)
    # Counted once this call's transaction is done: a rolled-back batch counts nothing.
    for transition, counts_by_kind in kinds.items():
        metrics.observe_suggestions(transition, counts_by_kind)
    result = ApplyResult(
        created=created,
        updated=updated,
        escalated=escalated,
        resolved=resolved,
        expired=expired,
        suppressed_cooldown=int(suppressed),
        suppressed_preferences=dropped,
        notified=notified,
        held_quiet_hours=held,
        digest_items=digest_items,
        capped=capped,
        held_back=int(newly_held),
        released=int(released),
        snooze_resumed=int(resumed),
        snooze_broken=int(broken),
        adapted=adapted,
        suppressed_wrong=int(silenced),
        held_too_early=held_too_early,
    )
    log.info("applied suggestions for %d users: %s", len(swept), result)
    return result


# --------------------------------------------------------------------------------------------
# User actions and listing
# --------------------------------------------------------------------------------------------


async def _close(
    db: Database | Transaction,
    schema: str,
    suggestion_id: UUID,
    now: datetime,
    status: SuggestionStatus,
    user_id: UUID | None = None,
) -> bool:
    """Move a live suggestion to a final ``status``; cancel its unsent notifications. With
    ``user_id``, only that traveler's suggestion (another's counts as absent)."""
    require_aware(now, "now")
    params = {"id": suggestion_id, "now": now, "status": status, "user_id": user_id}
    async with within(db, f"close_{status}") as tx:
        return bool(await tx.fetch_value(*StoreStatements.for_schema(schema).close_one, params))


async def dismiss(
    db: Database | Transaction, schema: str, suggestion_id: UUID, now: datetime
) -> bool:
    """The traveler dismissed a suggestion: it is not suggested again within the cooldown.

    Returns True if a live suggestion was dismissed, False if it was absent or already closed.
    """
    return await _close(db, schema, suggestion_id, now, "dismissed")


async def mark_acted(
    db: Database | Transaction, schema: str, suggestion_id: UUID, now: datetime
) -> bool:
    """The traveler acted on a suggestion: closed, and (like a dismissal) not repeated within
    the cooldown while the data catches up with what they did.

    Returns True if a live suggestion was marked, False if it was absent or already closed.
    """
    return await _close(db, schema, suggestion_id, now, "acted")


def _record(row: Sequence[Any]) -> SuggestionRecord:
    notified = row[14]
    return SuggestionRecord(
        id=row[0],
        user_id=row[1],
        type=row[2],
        priority=Priority.from_label(row[3]),
        title=row[4],
        message=row[5],
        data=dict(row[6]),
        dedup_key=row[7],
        computed_for=row[8],
        created_at=row[9],
        updated_at=row[10],
        expires_at=row[11],
        status=cast(SuggestionStatus, row[12]),
        status_changed_at=row[13],
        notified_rank=None if notified is None else Priority(notified),
        held_by=row[15],
    )


async def list_suggestions(
    db: Database,
    schema: str,
    user_id: UUID | None = None,
    status: SuggestionStatus | Collection[SuggestionStatus] | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[SuggestionRecord]:
    """Stored suggestions, most recently updated first (ties by id).

    Filters: one user; one status or several; ``since`` keeps those updated at or after it.
    Returns at most ``limit`` records.
    """
    statuses = [status] if isinstance(status, str) else list(status or ())
    unknown = set(statuses) - STATUSES
    if unknown:
        raise ValueError(f"unknown suggestion status {sorted(unknown)}: use {sorted(STATUSES)}")
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if since is not None:
        require_aware(since, "since")
    params = {"user_id": user_id, "statuses": statuses or None, "since": since, "limit": limit}
    rows = await db.fetch(*StoreStatements.for_schema(schema).list_suggestions, params)
    return [_record(row) for row in rows]
