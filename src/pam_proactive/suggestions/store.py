"""The suggestion lifecycle in PostgreSQL: upsert, resolve, expire, and the notification outbox.

Everything is set-based: :func:`apply_candidates` stages a whole batch of users' candidates in
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
  is never woken at the end of quiet hours for a condition that has already gone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, cast, get_args
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
from psycopg import sql

from pam_proactive.data.models import Profile
from pam_proactive.observability import metrics
from pam_proactive.suggestions.models import TYPE_GROUPS, Candidate, Priority

log = logging.getLogger(__name__)

SuggestionStatus = Literal["open", "delivered", "dismissed", "acted", "resolved", "expired"]
STATUSES: frozenset[str] = frozenset(get_args(SuggestionStatus))
LIVE_STATUSES: tuple[SuggestionStatus, ...] = ("open", "delivered")

# Namespace (first key) of the transaction-level advisory locks taken per user, so that two
# writers of one user's suggestions (two sweeps, or a sweep and a dismissal) run one at a time.
USER_LOCK_CLASS = 0x70616D

# Temporary tables of one apply_candidates call (dropped at commit).
_USERS = sql.Identifier("pam_apply_users")
_CANDS = sql.Identifier("pam_apply_candidates")


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """Engine-wide notification rules; a profile's own ``daily_cap`` wins over ``daily_cap``."""

    cooldown: timedelta = timedelta(days=7)
    daily_cap: int = 3  # notifications per user per local day; critical ones are never capped

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
    capped: int = 0  # notifications not written because the user's daily cap was reached


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


# --------------------------------------------------------------------------------------------
# Pure helpers: preferences, quiet hours, local days
# --------------------------------------------------------------------------------------------


def is_allowed(profile: Profile, suggestion_type: str) -> bool:
    """True when ``profile`` accepts suggestions of ``suggestion_type``.

    False when the user opted out, or disabled the type itself or its group (``group:<name>``).
    """
    if profile.opted_out:
        return False
    disabled = profile.disabled_types
    if suggestion_type in disabled:
        return False
    group = TYPE_GROUPS.get(suggestion_type)
    return not (group is not None and f"group:{group}" in disabled)


def user_zone(profile: Profile) -> ZoneInfo:
    """The profile's time zone; UTC when its name is unknown to this system's tz database."""
    try:
        return ZoneInfo(profile.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``clock`` on ``day`` in ``zone``."""
    return datetime.combine(day, clock.replace(tzinfo=None), tzinfo=zone).astimezone(UTC)


def quiet_hours_end(profile: Profile, now: datetime) -> datetime | None:
    """If ``now`` falls in the profile's quiet hours, the UTC instant they end; else None.

    The window is read in the user's time zone, from ``quiet_start`` (inclusive) to
    ``quiet_end`` (exclusive), and wraps midnight when ``quiet_start > quiet_end``
    (22:00-07:00). No window when either bound is missing or both are equal.
    """
    start, end = profile.quiet_start, profile.quiet_end
    if start is None or end is None or start == end:
        return None
    zone = user_zone(profile)
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
    if start < end:
        inside, end_day = start <= clock < end, local.date()
    elif clock >= start:  # evening part of a window wrapping midnight: ends tomorrow
        inside, end_day = True, local.date() + timedelta(days=1)
    else:  # early-morning part (or outside): ends today
        inside, end_day = clock < end, local.date()
    if not inside:
        return None
    ends = _at(end_day, end, zone)
    # A DST jump can put the wall-clock end in the past; deliver now rather than never.
    return ends if ends > now else None


def local_day_bounds(profile: Profile, now: datetime) -> tuple[datetime, datetime]:
    """UTC instants [start, end) of the user's local calendar day containing ``now``."""
    zone = user_zone(profile)
    today = now.astimezone(zone).date()
    return _at(today, time(0), zone), _at(today + timedelta(days=1), time(0), zone)


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
        return json.dumps(candidate.data, default=_json_default, allow_nan=False, sort_keys=True)
    except ValueError as exc:  # NaN or infinity: PostgreSQL's jsonb rejects them
        raise ValueError(
            f"candidate of type {candidate.type!r} has a NaN or infinite number in its data"
        ) from exc


def _require_aware(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")


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
        _require_aware(cand.computed_for, "Candidate.computed_for")
        if cand.expires_at is not None:
            _require_aware(cand.expires_at, "Candidate.expires_at")
        if not is_allowed(profile, cand.type):
            dropped += 1
            continue
        key = (uid, cand.dedup_key)
        if key not in kept or cand.priority > kept[key].priority:
            kept[key] = cand
    return kept, dropped


def _user_columns(
    user_ids: Sequence[UUID],
    profiles: Mapping[UUID, Profile],
    now: datetime,
    policy: DeliveryPolicy,
) -> list[list[Any]]:
    """Column arrays of the users' temporary table: id, day start/end, deliver_after, cap."""
    ids: list[UUID] = []
    starts: list[datetime] = []
    ends: list[datetime] = []
    after: list[datetime] = []
    caps: list[int] = []
    for uid in dict.fromkeys(user_ids):  # unique, order kept
        profile = profiles.get(uid)
        if profile is None:  # no candidates possible (checked): only resolution applies
            start, end, held, cap = now, now, None, policy.daily_cap
        else:
            start, end = local_day_bounds(profile, now)
            held = quiet_hours_end(profile, now)
            cap = policy.daily_cap if profile.daily_cap is None else profile.daily_cap
        ids.append(uid)
        starts.append(start)
        ends.append(end)
        after.append(held or now)
        caps.append(cap)
    return [ids, starts, ends, after, caps]


def _candidate_columns(kept: Mapping[tuple[UUID, str], Candidate]) -> list[list[Any]]:
    """Column arrays of the candidates' temporary table, in its column order."""
    columns: list[list[Any]] = [[] for _ in range(10)]
    for (uid, key), cand in kept.items():
        row = (
            uid,
            cand.type,
            cand.priority.label,
            int(cand.priority),
            cand.title,
            cand.message,
            _data_json(cand),
            key,
            cand.computed_for,
            cand.expires_at,
        )
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    return columns


_CREATE_TEMP = (
    sql.SQL(
        "CREATE TEMP TABLE {u} (user_id uuid PRIMARY KEY, day_start timestamptz NOT NULL,"
        " day_end timestamptz NOT NULL, deliver_after timestamptz NOT NULL,"
        " daily_cap integer NOT NULL) ON COMMIT DROP"
    ).format(u=_USERS),
    sql.SQL(
        "CREATE TEMP TABLE {c} (user_id uuid NOT NULL, type text NOT NULL,"
        " priority text NOT NULL, priority_rank smallint NOT NULL, title text NOT NULL,"
        " message text NOT NULL, data jsonb NOT NULL, dedup_key text NOT NULL,"
        " computed_for timestamptz NOT NULL, expires_at timestamptz,"
        # Filled by the steps: the live suggestion, and what happened to the candidate.
        " live_id uuid, suppressed boolean NOT NULL DEFAULT false, floor_rank smallint,"
        " inserted boolean NOT NULL DEFAULT false, changed boolean NOT NULL DEFAULT false,"
        " PRIMARY KEY (user_id, dedup_key)) ON COMMIT DROP"
    ).format(c=_CANDS),
)

# Arrays go as binary parameters (%b): the text format escapes every element with a regular
# expression, which for a batch's titles, messages and JSON was a fifth of a sweep's time.
_LOAD_USERS = sql.SQL(
    "INSERT INTO {u} SELECT * FROM unnest(%b::uuid[], %b::timestamptz[], %b::timestamptz[],"
    " %b::timestamptz[], %b::integer[])"
).format(u=_USERS)

_LOAD_CANDIDATES = sql.SQL(
    "INSERT INTO {c} (user_id, type, priority, priority_rank, title, message, data, dedup_key,"
    " computed_for, expires_at)"
    " SELECT * FROM unnest(%b::uuid[], %b::text[], %b::text[], %b::smallint[], %b::text[],"
    " %b::text[], %b::text[]::jsonb[], %b::text[], %b::timestamptz[], %b::timestamptz[])"
).format(c=_CANDS)

# Locks in hash order, the same in every transaction, so two batches sharing users never
# deadlock; a hash collision merely serialises two unrelated users.
_LOCK_USERS = sql.SQL(
    "SELECT count(pg_advisory_xact_lock(%(cls)s, k)) FROM"
    " (SELECT DISTINCT hashtext(user_id::text) AS k FROM {u} ORDER BY k) AS q"
).format(u=_USERS)

# The statements joining the engine's tables to the batch also bound user_id by the batch's
# lowest and highest id: without it the planner scans the suggestions index from its start
# for every batch, and a sweep's storage grows with batches x stored suggestions.
_FIND_LIVE = sql.SQL(
    "UPDATE {c} AS c SET live_id = s.id FROM {s}.suggestions AS s"
    " WHERE s.user_id = c.user_id AND s.dedup_key = c.dedup_key"
    " AND s.status IN ('open', 'delivered') AND s.user_id BETWEEN %(lo)s AND %(hi)s"
)

# For subjects without a live suggestion: the cooldown after a dismissal (or action), and the
# rank already notified for the same subject recently closed (the flapping guard).
_MARK_HISTORY = sql.SQL(
    "UPDATE {c} AS c SET"
    " suppressed = EXISTS (SELECT 1 FROM {s}.suggestions AS s"
    "   WHERE s.user_id = c.user_id AND s.dedup_key = c.dedup_key"
    "   AND s.status IN ('dismissed', 'acted') AND s.status_changed_at > %(since)s),"
    " floor_rank = (SELECT max(s.notified_rank) FROM {s}.suggestions AS s"
    "   WHERE s.user_id = c.user_id AND s.dedup_key = c.dedup_key"
    "   AND s.status IN ('resolved', 'expired') AND s.status_changed_at > %(since)s)"
    " WHERE c.live_id IS NULL"
)

# Only rows whose content differs are written: a re-run touches nothing, and computed_for
# stays the moment the current content was first computed.
_UPDATE_LIVE = sql.SQL(
    "WITH upd AS ("
    " UPDATE {s}.suggestions AS s SET type = c.type, priority = c.priority,"
    "  priority_rank = c.priority_rank, title = c.title, message = c.message, data = c.data,"
    "  computed_for = c.computed_for, expires_at = c.expires_at, updated_at = %(now)s"
    " FROM {c} AS c"
    " WHERE s.id = c.live_id AND s.status IN ('open', 'delivered')"
    "  AND (s.type, s.priority_rank, s.title, s.message, s.data, s.expires_at)"
    "   IS DISTINCT FROM (c.type, c.priority_rank, c.title, c.message, c.data, c.expires_at)"
    " RETURNING s.id)"
    " UPDATE {c} AS c SET changed = true FROM upd WHERE c.live_id = upd.id"
)


def _kinds(rows: str, where: str = "true") -> str:
    """SQL of a jsonb array of [type, priority, count] over ``rows`` (for the metrics)."""
    return ("coalesce((SELECT jsonb_agg(jsonb_build_array(k.type, k.priority, k.n)) FROM"
            f" (SELECT type, priority, count(*) AS n FROM {rows} WHERE {where}"
            " GROUP BY 1, 2) AS k), '[]'::jsonb)")


# A candidate already past its expiry is never created. ON CONFLICT guards the partial unique
# index should another writer have created the subject meanwhile.
_INSERT_NEW = sql.SQL(
    "WITH ins AS ("
    " INSERT INTO {s}.suggestions (user_id, type, priority, priority_rank, title, message, data,"
    "  dedup_key, computed_for, created_at, updated_at, expires_at, status, status_changed_at,"
    "  notified_rank)"
    " SELECT c.user_id, c.type, c.priority, c.priority_rank, c.title, c.message, c.data,"
    "  c.dedup_key, c.computed_for, %(now)s, %(now)s, c.expires_at, 'open', %(now)s,"
    "  c.floor_rank"
    " FROM {c} AS c"
    " WHERE c.live_id IS NULL AND NOT c.suppressed"
    "  AND (c.expires_at IS NULL OR c.expires_at > %(now)s)"
    " ON CONFLICT (user_id, dedup_key) WHERE status IN ('open', 'delivered') DO NOTHING"
    " RETURNING id, user_id, dedup_key),"
    " marked AS (UPDATE {c} AS c SET live_id = ins.id, inserted = true FROM ins"
    " WHERE c.user_id = ins.user_id AND c.dedup_key = ins.dedup_key"
    " RETURNING c.type, c.priority)"
    " SELECT (SELECT count(*) FROM marked), " + _kinds("marked")
)

_CANCEL_PENDING = (
    " UPDATE {s}.outbox AS o SET cancelled_at = %(now)s FROM closed"
    " WHERE o.suggestion_id = closed.id AND o.delivered_at IS NULL AND o.cancelled_at IS NULL"
)

_RESOLVE_GONE = sql.SQL(
    "WITH closed AS ("
    " UPDATE {s}.suggestions AS s SET status = 'resolved', status_changed_at = %(now)s,"
    "  updated_at = %(now)s"
    " FROM {u} AS u"
    " WHERE s.user_id = u.user_id AND s.status IN ('open', 'delivered')"
    "  AND s.user_id BETWEEN %(lo)s AND %(hi)s"
    "  AND NOT EXISTS (SELECT 1 FROM {c} AS c"
    "   WHERE c.user_id = s.user_id AND c.dedup_key = s.dedup_key)"
    " RETURNING s.id, s.type, s.priority),"
    " cancelled AS (" + _CANCEL_PENDING + ")"
    " SELECT (SELECT count(*) FROM closed), " + _kinds("closed")
)

_EXPIRE_DUE = sql.SQL(
    "WITH closed AS ("
    " UPDATE {s}.suggestions AS s SET status = 'expired', status_changed_at = %(now)s,"
    "  updated_at = %(now)s"
    " FROM {u} AS u"
    " WHERE s.user_id = u.user_id AND s.status IN ('open', 'delivered')"
    "  AND s.user_id BETWEEN %(lo)s AND %(hi)s AND s.expires_at <= %(now)s"
    " RETURNING s.id, s.type, s.priority),"
    " cancelled AS (" + _CANCEL_PENDING + ")"
    " SELECT (SELECT count(*) FROM closed), " + _kinds("closed")
)


def _payload(event: str) -> str:
    """SQL building a notification's payload (the suggestion as the app shows it) from ``s``.

    Timestamps are rendered in UTC so the payload does not depend on the session time zone.
    """

    def ts(column: str) -> str:
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

    return (
        "jsonb_build_object('id', s.id, 'user_id', s.user_id, 'event', " + event + ","
        " 'type', s.type, 'priority', s.priority, 'title', s.title, 'message', s.message,"
        " 'data', s.data, 'dedup_key', s.dedup_key, 'status', s.status,"
        f" 'computed_for', {ts('s.computed_for')}, 'created_at', {ts('s.created_at')},"
        f" 'updated_at', {ts('s.updated_at')}, 'expires_at', {ts('s.expires_at')})"
    )


# A notification held by quiet hours must say what is true when it is finally sent.
_REFRESH_PENDING = sql.SQL(
    "UPDATE {s}.outbox AS o SET payload = " + _payload("o.event") + " FROM {s}.suggestions AS s"
    " JOIN {c} AS c ON c.live_id = s.id"
    " WHERE c.changed AND o.suggestion_id = s.id"
    " AND o.delivered_at IS NULL AND o.cancelled_at IS NULL"
)

# Notifications of the batch, most important first per user so they get the daily cap's slots.
# `used` counts the user's outbox rows already created this local day; critical ones count
# too but are never refused. A refused (capped) rank is still recorded in notified_rank: the
# notification is skipped, not postponed to a moment when it would be stale. An older pending
# notification of the same suggestion is superseded, so a held 'created' and a later
# 'escalated' never both go out.
_NOTIFY = sql.SQL(
    "WITH elig AS ("
    " SELECT s.id, s.user_id, s.type, s.priority, s.priority_rank, u.deliver_after,"
    "  u.daily_cap,"
    "  CASE WHEN c.inserted THEN 'created' ELSE 'escalated' END AS event,"
    "  (SELECT count(*) FROM {s}.outbox AS o WHERE o.user_id = s.user_id"
    "   AND o.created_at >= u.day_start AND o.created_at < u.day_end) AS used,"
    "  row_number() OVER (PARTITION BY s.user_id"
    "   ORDER BY s.priority_rank DESC, s.created_at, s.dedup_key) AS rn"
    " FROM {c} AS c"
    " JOIN {s}.suggestions AS s ON s.id = c.live_id"
    " JOIN {u} AS u ON u.user_id = c.user_id"
    " WHERE s.status IN ('open', 'delivered')"
    "  AND s.priority_rank > coalesce(s.notified_rank, 0)),"
    " decided AS ("
    " SELECT elig.*, (priority_rank = 4 OR used + rn <= daily_cap) AS allowed FROM elig),"
    " ins AS ("
    " INSERT INTO {s}.outbox (suggestion_id, user_id, event, priority, payload, created_at,"
    "  deliver_after)"
    " SELECT d.id, d.user_id, d.event, d.priority, " + _payload("d.event") + ", %(now)s,"
    "  d.deliver_after"
    " FROM decided AS d JOIN {s}.suggestions AS s ON s.id = d.id"
    " WHERE d.allowed"
    " ON CONFLICT ON CONSTRAINT outbox_once DO NOTHING"
    " RETURNING deliver_after),"
    " superseded AS ("
    " UPDATE {s}.outbox AS o SET cancelled_at = %(now)s FROM decided AS d"
    " WHERE d.allowed AND o.suggestion_id = d.id"
    "  AND o.delivered_at IS NULL AND o.cancelled_at IS NULL"
    "  AND (o.event, o.priority) IS DISTINCT FROM (d.event, d.priority)),"
    " marked AS ("
    " UPDATE {s}.suggestions AS s SET notified_rank = d.priority_rank FROM decided AS d"
    " WHERE s.id = d.id)"
    " SELECT (SELECT count(*) FROM decided WHERE event = 'escalated'),"
    "  (SELECT count(*) FROM decided WHERE NOT allowed),"
    "  (SELECT count(*) FROM ins),"
    "  (SELECT count(*) FROM ins WHERE deliver_after > %(now)s),"
    " " + _kinds("decided", "event = 'escalated'")
)

_DROP_TEMP = sql.SQL("DROP TABLE {c}, {u}").format(c=_CANDS, u=_USERS)


async def _count(
    conn: psycopg.AsyncConnection[Any], query: sql.Composed, params: Mapping[str, Any]
) -> int:
    """Run a statement ending in ``SELECT count(*)``; return that count."""
    cur = await conn.execute(query, params)
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def _count_kinds(
    conn: psycopg.AsyncConnection[Any], query: sql.Composed, params: Mapping[str, Any]
) -> tuple[int, list[tuple[str, str, int]]]:
    """Run a statement returning (count, [type, priority, n] array); return both."""
    cur = await conn.execute(query, params)
    row = await cur.fetchone()
    if not row:
        return 0, []
    return int(row[0]), [(str(t), str(p), int(n)) for t, p, n in row[1]]


async def apply_candidates(
    conn: psycopg.AsyncConnection[Any],
    *,
    schema: str,
    user_ids: Sequence[UUID],
    candidates: Sequence[Candidate],
    profiles: Mapping[UUID, Profile],
    now: datetime,
    policy: DeliveryPolicy = DeliveryPolicy(),
) -> ApplyResult:
    """Bring the stored suggestions of ``user_ids`` in line with this sweep's ``candidates``.

    In one transaction, for the whole batch: create or update one live suggestion per
    (user, dedup_key); resolve the users' live suggestions absent from ``candidates``; expire
    the users' live suggestions whose ``expires_at`` is not after ``now``; and write the
    notifications due (outbox rows), respecting quiet hours and the daily cap. ``user_ids``
    must hold every swept user, including those without candidates (their live suggestions
    are resolved); every user with candidates needs a profile. ``now`` is timezone-aware.
    Idempotent: the same call again changes nothing and writes no outbox row.

    Returns the counts of what was done (see :class:`ApplyResult`).
    """
    _require_aware(now, "now")
    swept = set(user_ids)
    kept, dropped = _select_candidates(swept, candidates, profiles)
    s = sql.Identifier(schema)
    params: dict[str, Any] = {"now": now, "since": now - policy.cooldown, "cls": USER_LOCK_CLASS,
                              "lo": min(swept, default=None), "hi": max(swept, default=None)}
    kinds: dict[str, list[tuple[str, str, int]]] = {}
    async with conn.transaction():
        for create in _CREATE_TEMP:
            await conn.execute(create)
        await conn.execute(_LOAD_USERS, _user_columns(user_ids, profiles, now, policy))
        await conn.execute(_LOAD_CANDIDATES, _candidate_columns(kept))
        await conn.execute(sql.SQL("ANALYZE {}, {}").format(_USERS, _CANDS))
        await conn.execute(_LOCK_USERS, params)
        await conn.execute(_FIND_LIVE.format(c=_CANDS, s=s), params)
        await conn.execute(_MARK_HISTORY.format(c=_CANDS, s=s), params)
        cur = await conn.execute(
            sql.SQL("SELECT count(*) FILTER (WHERE suppressed) FROM {}").format(_CANDS)
        )
        suppressed = int((await cur.fetchone() or (0,))[0])
        cur = await conn.execute(_UPDATE_LIVE.format(c=_CANDS, s=s), params)
        updated = cur.rowcount
        created, kinds["created"] = await _count_kinds(
            conn, _INSERT_NEW.format(c=_CANDS, s=s), params)
        resolved, kinds["resolved"] = await _count_kinds(
            conn, _RESOLVE_GONE.format(c=_CANDS, u=_USERS, s=s), params)
        expired, kinds["expired"] = await _count_kinds(
            conn, _EXPIRE_DUE.format(u=_USERS, s=s), params)
        if updated:  # only a changed suggestion can make a held notification stale
            await conn.execute(_REFRESH_PENDING.format(c=_CANDS, s=s), params)
        cur = await conn.execute(_NOTIFY.format(c=_CANDS, u=_USERS, s=s), params)
        row: Sequence[Any] = await cur.fetchone() or (0, 0, 0, 0, [])
        escalated, capped, notified, held = (int(v) for v in row[:4])
        kinds["escalated"] = [(str(t), str(p), int(n)) for t, p, n in row[4]]
        # Explicit, so a caller's enclosing transaction can apply several batches.
        await conn.execute(_DROP_TEMP)
    # Counted once this call's transaction is done: a rolled-back batch counts nothing.
    for transition, counts in kinds.items():
        metrics.observe_suggestions(transition, counts)
    result = ApplyResult(
        created=created,
        updated=updated,
        escalated=escalated,
        resolved=resolved,
        expired=expired,
        suppressed_cooldown=suppressed,
        suppressed_preferences=dropped,
        notified=notified,
        held_quiet_hours=held,
        capped=capped,
    )
    log.info("applied suggestions for %d users: %s", len(swept), result)
    return result


# --------------------------------------------------------------------------------------------
# User actions and listing
# --------------------------------------------------------------------------------------------


async def _close(
    conn: psycopg.AsyncConnection[Any],
    schema: str,
    suggestion_id: UUID,
    now: datetime,
    status: SuggestionStatus,
) -> bool:
    """Move a live suggestion to a final ``status``; cancel its unsent notifications."""
    _require_aware(now, "now")
    s = sql.Identifier(schema)
    params = {"id": suggestion_id, "now": now, "status": status, "cls": USER_LOCK_CLASS}
    async with conn.transaction():
        # The same per-user lock as the sweep: the dismissal is not lost under its update.
        await conn.execute(
            sql.SQL(
                "SELECT pg_advisory_xact_lock(%(cls)s, hashtext(user_id::text))"
                " FROM {s}.suggestions WHERE id = %(id)s"
            ).format(s=s),
            params,
        )
        query = sql.SQL(
            "WITH closed AS ("
            " UPDATE {s}.suggestions SET status = %(status)s, status_changed_at = %(now)s,"
            "  updated_at = %(now)s"
            " WHERE id = %(id)s AND status IN ('open', 'delivered') RETURNING id),"
            " cancelled AS (" + _CANCEL_PENDING + ")"
            " SELECT count(*) FROM closed"
        ).format(s=s)
        return await _count(conn, query, params) == 1


async def dismiss(
    conn: psycopg.AsyncConnection[Any], schema: str, suggestion_id: UUID, now: datetime
) -> bool:
    """The traveler dismissed a suggestion: it is not suggested again within the cooldown.

    Returns True if a live suggestion was dismissed, False if it was absent or already closed.
    """
    return await _close(conn, schema, suggestion_id, now, "dismissed")


async def mark_acted(
    conn: psycopg.AsyncConnection[Any], schema: str, suggestion_id: UUID, now: datetime
) -> bool:
    """The traveler acted on a suggestion: closed, and (like a dismissal) not repeated within
    the cooldown while the data catches up with what they did.

    Returns True if a live suggestion was marked, False if it was absent or already closed.
    """
    return await _close(conn, schema, suggestion_id, now, "acted")


_COLUMNS = (
    "id, user_id, type, priority, title, message, data, dedup_key, computed_for, created_at,"
    " updated_at, expires_at, status, status_changed_at, notified_rank"
)


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
    )


async def list_suggestions(
    conn: psycopg.AsyncConnection[Any],
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
    where: list[sql.Composable] = [sql.SQL("true")]
    params: dict[str, Any] = {"limit": limit}
    if user_id is not None:
        where.append(sql.SQL("user_id = %(user_id)s"))
        params["user_id"] = user_id
    if statuses:
        where.append(sql.SQL("status = ANY(%(statuses)s::text[])"))
        params["statuses"] = statuses
    if since is not None:
        _require_aware(since, "since")
        where.append(sql.SQL("updated_at >= %(since)s"))
        params["since"] = since
    query = sql.SQL(
        "SELECT " + _COLUMNS + " FROM {s}.suggestions WHERE {where}"
        " ORDER BY updated_at DESC, id LIMIT %(limit)s"
    ).format(s=sql.Identifier(schema), where=sql.SQL(" AND ").join(where))
    cur = await conn.execute(query, params)
    return [_record(row) for row in await cur.fetchall()]
