"""The lifecycle store's SQL, one named :class:`Statement` each (the name is its metrics key).

Placeholders: ``{s}`` the engine schema, ``{u}`` and ``{c}`` the temporary tables of one
:func:`~pam_proactive.suggestions.store.apply_candidates` call (users, candidates).
"""

from __future__ import annotations

from typing import ClassVar

from psycopg import sql

from pam_proactive.db.connection import Statement, StatementSet

_CREATE_USERS = Statement(
    "store.create_users",
    "CREATE TEMP TABLE {u} (user_id uuid PRIMARY KEY, day_start timestamptz NOT NULL,"
        " day_end timestamptz NOT NULL, deliver_after timestamptz NOT NULL,"
        " daily_cap integer NOT NULL,"
        # The daily digest (suggestions/digest.py): bit r set when priority rank r waits for
        # it; this digest's moment and local day, and the next day's (today's already sent).
        " digest_mask integer NOT NULL, digest_at timestamptz NOT NULL, digest_day date NOT NULL,"
        " digest_next_at timestamptz NOT NULL, digest_next_day date NOT NULL) ON COMMIT DROP",
)

# The batch's travelers' own digest choices (NULL columns: the engine's default).
_DIGEST_CHOICES = Statement(
    "store.digest_choices",
    "SELECT user_id, digest, digest_hour, digest_priorities FROM {s}.user_preferences"
    " WHERE user_id = ANY(%(ids)s::uuid[])",
)

_CREATE_CANDIDATES = Statement(
    "store.create_candidates",
    "CREATE TEMP TABLE {c} (user_id uuid NOT NULL, type text NOT NULL,"
        " priority text NOT NULL, priority_rank smallint NOT NULL, title text NOT NULL,"
        " message text NOT NULL, data jsonb NOT NULL, dedup_key text NOT NULL,"
        " computed_for timestamptz NOT NULL, expires_at timestamptz, subjects jsonb NOT NULL,"
        # Filled by the steps: the live suggestion, and what happened to the candidate.
        " live_id uuid, suppressed boolean NOT NULL DEFAULT false, floor_rank smallint,"
        " silenced boolean NOT NULL DEFAULT false,"
        " inserted boolean NOT NULL DEFAULT false, changed boolean NOT NULL DEFAULT false,"
        " PRIMARY KEY (user_id, dedup_key)) ON COMMIT DROP",
)

# Arrays go as binary parameters (%b): the text format escapes every element with a regular
# expression, which for a batch's titles, messages and JSON was a fifth of a sweep's time.
_LOAD_USERS = Statement(
    "store.load_users",
    "INSERT INTO {u} SELECT * FROM unnest(%b::uuid[], %b::timestamptz[], %b::timestamptz[],"
    " %b::timestamptz[], %b::integer[], %b::integer[], %b::timestamptz[], %b::date[],"
    " %b::timestamptz[], %b::date[])"
)

_LOAD_CANDIDATES = Statement(
    "store.load_candidates",
    "INSERT INTO {c} (user_id, type, priority, priority_rank, title, message, data, dedup_key,"
    " computed_for, expires_at, subjects)"
    " SELECT * FROM unnest(%b::uuid[], %b::text[], %b::text[], %b::smallint[], %b::text[],"
    " %b::text[], %b::text[]::jsonb[], %b::text[], %b::timestamptz[], %b::timestamptz[],"
    " %b::text[]::jsonb[])"
)

# Locks in hash order, the same in every transaction, so two batches sharing users never
# deadlock; a hash collision merely serialises two unrelated users.
_LOCK_USERS = Statement(
    "store.lock_users",
    "SELECT count(pg_advisory_xact_lock(%(cls)s, k)) FROM"
    " (SELECT DISTINCT hashtext(user_id::text) AS k FROM {u} ORDER BY k) AS q"
)

# The statements joining the engine's tables to the batch also bound user_id by the batch's
# lowest and highest id: without it the planner scans the suggestions index from its start
# for every batch, and a sweep's storage grows with batches x stored suggestions.
_FIND_LIVE = Statement(
    "store.find_live",
    "UPDATE {c} AS c SET live_id = s.id FROM {s}.suggestions AS s"
    " WHERE s.user_id = c.user_id AND s.dedup_key = c.dedup_key"
    " AND s.status IN ('open', 'delivered') AND s.user_id BETWEEN %(lo)s AND %(hi)s"
)

# For subjects without a live suggestion: the cooldown after a dismissal (or action), longer
# for a type the traveler answered not_useful (adaptation level 1 and up: x its value), the
# silence of a subject answered `wrong` while its numbers are the same (subject_fingerprint),
# and the rank already notified for the same subject recently closed (the flapping guard).
_MARK_HISTORY = Statement(
    "store.mark_history",
    "UPDATE {c} AS c SET"
    " suppressed = EXISTS (SELECT 1 FROM {s}.suggestions AS s"
    "   WHERE s.user_id = c.user_id AND s.dedup_key = c.dedup_key"
    "   AND s.status IN ('dismissed', 'acted') AND s.status_changed_at > %(now)s"
    "   - %(cooldown)s::interval * coalesce((SELECT a.value FROM {s}.adaptations AS a"
    "    WHERE %(adapt)s AND a.user_id = c.user_id AND a.type = c.type"
    "    AND a.kind = 'not_useful' AND a.dedup_key = '' AND a.level >= 1), 1)),"
    " silenced = %(adapt)s AND EXISTS (SELECT 1 FROM {s}.adaptations AS a"
    "   WHERE a.user_id = c.user_id AND a.kind = 'wrong' AND a.dedup_key = c.dedup_key"
    "   AND a.level >= 1 AND a.fingerprint = {s}.subject_fingerprint(c.data)),"
    " floor_rank = (SELECT max(s.notified_rank) FROM {s}.suggestions AS s"
    "   WHERE s.user_id = c.user_id AND s.dedup_key = c.dedup_key"
    "   AND s.status IN ('resolved', 'expired') AND s.status_changed_at > %(since)s)"
    " WHERE c.live_id IS NULL"
)

# Only rows whose content differs are written: a re-run touches nothing, and computed_for
# stays the moment the current content was first computed.
_UPDATE_LIVE = Statement(
    "store.update_live",
    "WITH upd AS ("
    " UPDATE {s}.suggestions AS s SET type = c.type, priority = c.priority,"
    "  priority_rank = c.priority_rank, title = c.title, message = c.message, data = c.data,"
    "  computed_for = c.computed_for, expires_at = c.expires_at, subjects = c.subjects,"
    "  updated_at = %(now)s"
    " FROM {c} AS c"
    " WHERE s.id = c.live_id AND s.status IN ('open', 'delivered')"
    "  AND (s.type, s.priority_rank, s.title, s.message, s.data, s.expires_at, s.subjects)"
    "   IS DISTINCT FROM (c.type, c.priority_rank, c.title, c.message, c.data, c.expires_at,"
    "   c.subjects)"
    " RETURNING s.id)"
    " UPDATE {c} AS c SET changed = true FROM upd WHERE c.live_id = upd.id"
)

def kinds(rows: str, where: str = "true") -> str:
    """SQL of a jsonb array of [type, priority, count] over ``rows`` (for the metrics)."""
    return ("coalesce((SELECT jsonb_agg(jsonb_build_array(k.type, k.priority, k.n)) FROM"
            f" (SELECT type, priority, count(*) AS n FROM {rows} WHERE {where}"
            " GROUP BY 1, 2) AS k), '[]'::jsonb)")


# A candidate already past its expiry is never created. ON CONFLICT guards the partial unique
# index should another writer have created the subject meanwhile. Returns the count and the
# counts by type and priority.
_INSERT_NEW = Statement(
    "store.insert_new",
    "WITH ins AS ("
    " INSERT INTO {s}.suggestions (user_id, type, priority, priority_rank, title, message, data,"
    "  dedup_key, computed_for, created_at, updated_at, expires_at, status, status_changed_at,"
    "  notified_rank, subjects)"
    " SELECT c.user_id, c.type, c.priority, c.priority_rank, c.title, c.message, c.data,"
    "  c.dedup_key, c.computed_for, %(now)s, %(now)s, c.expires_at, 'open', %(now)s,"
    "  c.floor_rank, c.subjects"
    " FROM {c} AS c"
    " WHERE c.live_id IS NULL AND NOT c.suppressed AND NOT c.silenced"
    "  AND (c.expires_at IS NULL OR c.expires_at > %(now)s)"
    " ON CONFLICT (user_id, dedup_key) WHERE status IN ('open', 'delivered') DO NOTHING"
    " RETURNING id, user_id, dedup_key),"
    " marked AS (UPDATE {c} AS c SET live_id = ins.id, inserted = true FROM ins"
    " WHERE c.user_id = ins.user_id AND c.dedup_key = ins.dedup_key"
    " RETURNING c.type, c.priority)"
    " SELECT (SELECT count(*) FROM marked), " + kinds("marked")
)

CANCEL_PENDING = (
    " UPDATE {s}.outbox AS o SET cancelled_at = %(now)s FROM closed"
    " WHERE o.suggestion_id = closed.id AND o.delivered_at IS NULL AND o.cancelled_at IS NULL"
)

_RESOLVE_GONE = Statement(
    "store.resolve_gone",
    "WITH closed AS ("
    " UPDATE {s}.suggestions AS s SET status = 'resolved', status_changed_at = %(now)s,"
    "  updated_at = %(now)s"
    " FROM {u} AS u"
    " WHERE s.user_id = u.user_id AND s.status IN ('open', 'delivered')"
    "  AND s.user_id BETWEEN %(lo)s AND %(hi)s"
    # A sweep of some detectors (types) resolves only what those detectors could return.
    "  AND (%(types)s::text[] IS NULL OR s.type = ANY(%(types)s::text[]))"
    "  AND NOT EXISTS (SELECT 1 FROM {c} AS c"
    "   WHERE c.user_id = s.user_id AND c.dedup_key = s.dedup_key)"
    " RETURNING s.id, s.type, s.priority),"
    " cancelled AS (" + CANCEL_PENDING + ")"
    " SELECT (SELECT count(*) FROM closed), " + kinds("closed")
)

_EXPIRE_DUE = Statement(
    "store.expire_due",
    "WITH closed AS ("
    " UPDATE {s}.suggestions AS s SET status = 'expired', status_changed_at = %(now)s,"
    "  updated_at = %(now)s"
    " FROM {u} AS u"
    " WHERE s.user_id = u.user_id AND s.status IN ('open', 'delivered')"
    "  AND s.user_id BETWEEN %(lo)s AND %(hi)s AND s.expires_at <= %(now)s"
    " RETURNING s.id, s.type, s.priority),"
    " cancelled AS (" + CANCEL_PENDING + ")"
    " SELECT (SELECT count(*) FROM closed), " + kinds("closed")
)


def payload(event: str) -> str:
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


# The batch's live suggestions of the kinds some relation names (suggestions.relations), as
# they stand once created, updated, resolved and expired: the relations are decided from them,
# whichever detectors this sweep ran.
_LIVE_RELATED = Statement(
    "store.live_related",
    "SELECT s.id, s.user_id, s.type, s.dedup_key, s.subjects, s.held_by"
    " FROM {s}.suggestions AS s JOIN {u} AS u ON u.user_id = s.user_id"
    " WHERE s.status IN ('open', 'delivered') AND s.user_id BETWEEN %(lo)s AND %(hi)s"
    "  AND s.type = ANY(%(related)s::text[])"
)

# Held back (held_by set) or released (cleared): only rows whose holder changes are written.
# A notification of a newly held suggestion not sent yet (quiet hours) is cancelled: its
# holder tells the traveler; it is not sent again on release at the rank it was written for.
_SET_HELD = Statement(
    "store.set_held",
    "WITH v AS (SELECT * FROM unnest(%(held_ids)s::uuid[], %(holder_ids)s::uuid[])"
    "  AS v(id, holder)),"
    " upd AS ("
    " UPDATE {s}.suggestions AS s SET held_by = v.holder, updated_at = %(now)s FROM v"
    " WHERE s.id = v.id AND s.held_by IS DISTINCT FROM v.holder"
    " RETURNING s.id, s.held_by, s.type, s.priority),"
    " cancelled AS ("
    " UPDATE {s}.outbox AS o SET cancelled_at = %(now)s FROM upd"
    " WHERE upd.held_by IS NOT NULL AND o.suggestion_id = upd.id"
    "  AND o.delivered_at IS NULL AND o.cancelled_at IS NULL)"
    " SELECT (SELECT count(*) FROM upd WHERE held_by IS NOT NULL),"
    "  (SELECT count(*) FROM upd WHERE held_by IS NULL),"
    " " + kinds("upd", "held_by IS NOT NULL") + ", " + kinds("upd", "held_by IS NULL")
)

# A notification held by quiet hours must say what is true when it is finally sent.
_REFRESH_PENDING = Statement(
    "store.refresh_pending",
    "UPDATE {s}.outbox AS o SET payload = " + payload("o.event") + " FROM {s}.suggestions AS s"
    " JOIN {c} AS c ON c.live_id = s.id"
    " WHERE c.changed AND o.suggestion_id = s.id"
    " AND o.delivered_at IS NULL AND o.cancelled_at IS NULL"
)

# Notifications of the batch, most important first per user so they get the daily cap's slots.
# `used` counts the user's outbox rows already created this local day; critical ones count
# too but are never refused. A refused (capped) rank is still recorded in notified_rank: the
# notification is skipped, not postponed to a moment when it would be stale. An older pending
# notification of the same suggestion is superseded, so a held 'created' and a later
# 'escalated' never both go out. A suggestion held back by another (held_by) is not notified;
# one released by this batch (%(released)s, possibly of a type this sweep did not run) is,
# as 'created' when nothing was ever notified for it. Cancelled rows were never sent: they
# take no slot of the cap. A suggestion holding others back competes for the cap's slots at
# the highest priority of what it carries (a medium reminder that says to buy fuel is as
# urgent as the high fuel_low it holds), though it is notified at its own.
# The daily digest: a notification whose rank (that same highest one) the traveler's digest
# takes (u.digest_mask) is a digest item, due at the traveler's digest moment (the next day's
# when today's digest already exists); it takes no slot of the cap (the digest takes one).
_NOTIFY = Statement(
    "store.notify",
    "WITH base AS ("
    " SELECT s.id, s.user_id, s.type, s.priority, s.priority_rank, s.created_at, s.dedup_key,"
    "  u.deliver_after, u.daily_cap,"
    "  CASE WHEN c.inserted OR s.notified_rank IS NULL THEN 'created' ELSE 'escalated' END"
    "   AS event,"
    # too_early: a first, non-urgent notification is held whole days (the time of day, so
    # quiet hours, kept), never past the subject's deadline less the notice.
    "  CASE WHEN %(adapt)s AND s.priority_rank < 3"
    "   AND (c.inserted OR s.notified_rank IS NULL) THEN"
    "   (SELECT greatest(0, least(a.value, floor(extract(epoch FROM"
    "     {s}.subject_deadline(s.data, s.expires_at) - %(notice)s::interval"
    "     - u.deliver_after) / 86400)))::integer"
    "    FROM {s}.adaptations AS a WHERE a.user_id = s.user_id AND a.type = s.type"
    "    AND a.kind = 'too_early' AND a.dedup_key = '' AND a.level >= 1)"
    "   END AS hold_days,"
    "  (SELECT count(*) FROM {s}.outbox AS o WHERE o.user_id = s.user_id"
    "   AND o.created_at >= u.day_start AND o.created_at < u.day_end"
    "   AND o.cancelled_at IS NULL AND NOT o.digest_item) AS used,"
    "  greatest(s.priority_rank, (SELECT max(h.priority_rank)"
    "   FROM {s}.suggestions AS h WHERE h.held_by = s.id"
    "   AND h.status IN ('open', 'delivered'))) AS rank_due,"
    "  u.digest_mask, EXISTS (SELECT 1 FROM {s}.outbox AS g WHERE g.event = 'digest'"
    "   AND g.user_id = s.user_id AND g.digest_day = u.digest_day) AS digest_sent,"
    "  u.digest_at, u.digest_day, u.digest_next_at, u.digest_next_day"
    " FROM (SELECT live_id AS id, inserted FROM {c} WHERE live_id IS NOT NULL"
    "  UNION SELECT r.id, false FROM unnest(%(released)s::uuid[]) AS r(id)) AS c"
    " JOIN {s}.suggestions AS s ON s.id = c.id"
    " JOIN {u} AS u ON u.user_id = s.user_id"
    " WHERE s.status IN ('open', 'delivered') AND s.held_by IS NULL"
    "  AND s.priority_rank > coalesce(s.notified_rank, 0)"
    # A snoozed subject is not notified: _END_SNOOZES, run just before, ended every snooze
    # that is over or broken by an escalation, so any snooze left is still in force.
    "  AND NOT EXISTS (SELECT 1 FROM {s}.snoozes AS sn WHERE sn.user_id = s.user_id"
    "   AND sn.dedup_key = s.dedup_key AND sn.ended_at IS NULL)),"
    # not_useful level 2 (adaptation): the type's non-urgent notifications go to the digest
    # only, whatever priorities the traveler's digest takes (a digest at their hour even when
    # they turned the digest off: they said these pings were not useful on their own).
    " typed AS ("
    " SELECT base.*, ((digest_mask >> rank_due) & 1 = 1 OR (%(adapt)s AND priority_rank < 3"
    "  AND {s}.digest_only(user_id, type))) AS to_digest FROM base),"
    " elig AS ("
    " SELECT typed.*, row_number() OVER (PARTITION BY user_id, to_digest"
    "   ORDER BY rank_due DESC, created_at, dedup_key) AS rn FROM typed),"
    " decided AS ("
    " SELECT elig.*, (to_digest OR priority_rank = 4 OR used + rn <= daily_cap) AS allowed,"
    "  CASE WHEN NOT to_digest THEN deliver_after"
    "   WHEN digest_sent THEN digest_next_at ELSE digest_at END AS due_at,"
    "  CASE WHEN NOT to_digest THEN NULL"
    "   WHEN digest_sent THEN digest_next_day ELSE digest_day END AS due_day"
    " FROM elig),"
    " ins AS ("
    " INSERT INTO {s}.outbox (suggestion_id, user_id, event, priority, payload, created_at,"
    "  deliver_after, digest_item, digest_day)"
    " SELECT d.id, d.user_id, d.event, d.priority, " + payload("d.event") + ", %(now)s,"
    "  d.due_at + make_interval(days => coalesce(d.hold_days, 0)), d.to_digest,"
    # A held digest item goes in the digest of the day its hold ends.
    "  d.due_day + coalesce(d.hold_days, 0)"
    " FROM decided AS d JOIN {s}.suggestions AS s ON s.id = d.id"
    " WHERE d.allowed"
    " ON CONFLICT ON CONSTRAINT outbox_once DO NOTHING"
    " RETURNING suggestion_id, deliver_after, digest_item),"
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
    # Held by quiet hours (the user's deliver_after), digest items, and, apart, by too_early
    # holds.
    "  (SELECT count(*) FROM ins JOIN decided AS d ON d.id = ins.suggestion_id"
    "   WHERE d.deliver_after > %(now)s AND NOT ins.digest_item),"
    "  (SELECT count(*) FROM ins WHERE digest_item),"
    " " + kinds("decided", "event = 'escalated'") + ","
    "  (SELECT count(*) FROM ins JOIN decided AS d ON d.id = ins.suggestion_id"
    "   WHERE d.hold_days > 0)"
)

# The batch's live snoozes that end now (see suggestions/answers.py): broken by a priority above
# the snoozed one ('escalated': _NOTIFY then notifies it as any escalation), or over with the
# subject still live at the snoozed priority or above ('resumed': one notification, event
# 'resumed', tied to the snooze so it is written once; quiet hours hold it, the daily cap does
# not refuse it: the traveler asked for it), lower ('improved') or gone. A resumed or improved
# suggestion's rank counts as notified, so _NOTIFY does not notify it again.
_END_SNOOZES = Statement(
    "store.end_snoozes",
    "WITH due AS ("
    " SELECT sn.id AS snooze_id, s.id, u.deliver_after,"
    "  CASE WHEN s.priority_rank > sn.priority_rank THEN 'escalated'"
    "   WHEN sn.until > %(now)s THEN NULL"
    "   WHEN s.id IS NULL THEN 'gone'"
    "   WHEN s.priority_rank < sn.priority_rank THEN 'improved'"
    "   ELSE 'resumed' END AS outcome"
    " FROM {s}.snoozes AS sn JOIN {u} AS u ON u.user_id = sn.user_id"
    " LEFT JOIN {s}.suggestions AS s ON s.user_id = sn.user_id"
    "  AND s.dedup_key = sn.dedup_key AND s.status IN ('open', 'delivered')"
    " WHERE sn.ended_at IS NULL AND sn.user_id BETWEEN %(lo)s AND %(hi)s"
    "  AND (%(types)s::text[] IS NULL OR sn.type = ANY(%(types)s::text[]))),"
    " ended AS ("
    " UPDATE {s}.snoozes AS sn SET ended_at = %(now)s, outcome = d.outcome FROM due AS d"
    " WHERE sn.id = d.snooze_id AND d.outcome IS NOT NULL),"
    " ins AS ("
    " INSERT INTO {s}.outbox (suggestion_id, user_id, event, priority, payload, created_at,"
    "  deliver_after, snooze_id)"
    " SELECT s.id, s.user_id, 'resumed', s.priority, " + payload("'resumed'") + ", %(now)s,"
    "  d.deliver_after, d.snooze_id"
    " FROM due AS d JOIN {s}.suggestions AS s ON s.id = d.id WHERE d.outcome = 'resumed'"
    # Held back by another about the same cause: that one tells the traveler (relations).
    "  AND s.held_by IS NULL"
    " ON CONFLICT ON CONSTRAINT outbox_once DO NOTHING RETURNING 1),"
    " marked AS ("
    " UPDATE {s}.suggestions AS s SET notified_rank = s.priority_rank FROM due AS d"
    " WHERE s.id = d.id AND d.outcome IN ('resumed', 'improved')"
    "  AND s.priority_rank > coalesce(s.notified_rank, 0))"
    " SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM due WHERE outcome = 'escalated')"
)

# Per-traveler adaptation (suggestions/adaptation.py) from the batch's dismissal reasons since
# each row's reset: not_useful levels from the answers within the window (never lowered but
# by a reset), too_early holds (step x answers within the window, up to the maximum), and
# the latest `wrong` fingerprint per subject. Only rows whose content changes are written.
# Returns the rows written.
_ADAPT = Statement(
    "store.adapt",
    "WITH f AS ("
    " SELECT f.user_id, f.type, f.reason AS kind,"
    "  CASE WHEN f.reason = 'wrong' THEN f.dedup_key ELSE '' END AS dedup_key,"
    "  f.data, f.created_at"
    " FROM {s}.feedback AS f JOIN {u} AS u ON u.user_id = f.user_id"
    " LEFT JOIN {s}.adaptations AS a ON a.user_id = f.user_id AND a.type = f.type"
    "  AND a.kind = f.reason"
    "  AND a.dedup_key = CASE WHEN f.reason = 'wrong' THEN f.dedup_key ELSE '' END"
    " WHERE f.verdict = 'dismissed' AND f.reason IN ('not_useful', 'too_early', 'wrong')"
    # The offer is answered by acting on or dismissing it, whatever the reason: never adapted.
    "  AND f.type <> 'adaptation_offer'"
    "  AND f.user_id BETWEEN %(lo)s AND %(hi)s AND f.created_at <= %(now)s"
    "  AND (a.reset_at IS NULL OR f.created_at > a.reset_at)),"
    " counted AS ("
    " SELECT user_id, type, kind, dedup_key, count(*)::integer AS answers,"
    "  count(*) FILTER (WHERE created_at > %(now)s - %(window)s::interval) AS recent,"
    "  (array_agg({s}.subject_fingerprint(data) ORDER BY created_at DESC))[1] AS fingerprint"
    " FROM f GROUP BY 1, 2, 3, 4),"
    " computed AS ("
    " SELECT k.*, CASE k.kind"
    "  WHEN 'not_useful' THEN CASE WHEN k.recent >= %(l3)s THEN 3 WHEN k.recent >= %(l2)s"
    "   THEN 2 WHEN k.recent >= %(l1)s THEN 1 ELSE 0 END"
    "  WHEN 'too_early' THEN CASE WHEN least(k.recent * %(step)s, %(max_hold)s) > 0"
    "   THEN 1 ELSE 0 END"
    "  ELSE 1 END AS new_level,"
    "  CASE WHEN k.kind = 'too_early' THEN least(k.recent * %(step)s, %(max_hold)s)::integer"
    "   ELSE 0 END AS new_value"
    " FROM counted AS k),"
    " wanted AS ("
    " SELECT k.user_id, k.type, k.kind, k.dedup_key, k.answers,"
    "  greatest(coalesce(a.level, 0), k.new_level) AS level,"
    "  CASE WHEN k.kind = 'not_useful'"
    "   THEN CASE WHEN greatest(coalesce(a.level, 0), k.new_level) >= 1"
    "    THEN %(factor)s::integer ELSE 0 END"
    "   ELSE greatest(coalesce(a.value, 0), k.new_value) END AS value,"
    "  CASE WHEN k.kind = 'wrong' THEN k.fingerprint END AS fingerprint,"
    "  a.level AS old_level, a.value AS old_value, a.answers AS old_answers,"
    "  a.fingerprint AS old_fingerprint, a.since AS old_since, a.offered_at AS old_offered"
    " FROM computed AS k LEFT JOIN {s}.adaptations AS a ON a.user_id = k.user_id"
    "  AND a.type = k.type AND a.kind = k.kind AND a.dedup_key = k.dedup_key),"
    " written AS ("
    " INSERT INTO {s}.adaptations AS a (user_id, type, kind, dedup_key, level, value, answers,"
    "  fingerprint, since, updated_at, offered_at)"
    " SELECT w.user_id, w.type, w.kind, w.dedup_key, w.level, w.value, w.answers,"
    "  w.fingerprint,"
    "  CASE WHEN coalesce(w.old_level, 0) = 0 THEN %(now)s ELSE w.old_since END, %(now)s,"
    # The offer's moment: when level 3 is first reached (made once: see _OFFERS).
    "  CASE WHEN w.kind = 'not_useful' AND w.level >= 3"
    "   THEN coalesce(w.old_offered, %(now)s) END"
    " FROM wanted AS w WHERE w.level > 0"
    "  AND (w.level, w.value, w.answers, w.fingerprint) IS DISTINCT FROM"
    "  (w.old_level, w.old_value, w.old_answers, w.old_fingerprint)"
    " ON CONFLICT (user_id, type, kind, dedup_key) DO UPDATE SET level = EXCLUDED.level,"
    "  value = EXCLUDED.value, answers = EXCLUDED.answers,"
    "  fingerprint = EXCLUDED.fingerprint, since = EXCLUDED.since,"
    "  updated_at = EXCLUDED.updated_at, offered_at = EXCLUDED.offered_at"
    " RETURNING 1)"
    " SELECT count(*) FROM written"
)

# The batch's outstanding offers to turn a type off (not_useful level 3, made at offered_at,
# neither accepted nor dismissed): each is a candidate of every sweep until answered, so that
# it stays live, and expires once (adaptation.OFFER_LIFETIME) instead of being made again.
_OFFERS = Statement(
    "store.offers",
    "SELECT a.user_id, a.type, a.answers, a.offered_at FROM {s}.adaptations AS a"
    " JOIN {u} AS u ON u.user_id = a.user_id"
    " WHERE %(adapt)s AND a.kind = 'not_useful' AND a.dedup_key = '' AND a.level >= 3"
    "  AND a.offered_at IS NOT NULL AND a.offer_answered_at IS NULL"
    "  AND a.user_id BETWEEN %(lo)s AND %(hi)s"
)

_DROP_TEMP = Statement("store.drop_temp", "DROP TABLE {c}, {u}")

_ANALYZE_TEMP = Statement("store.analyze_temp", "ANALYZE {c}, {u}")

_COUNT_SUPPRESSED = Statement(
    "store.count_suppressed",
    "SELECT count(*) FILTER (WHERE suppressed),"
    " count(*) FILTER (WHERE silenced AND NOT suppressed) FROM {c}"
)

# Closing one suggestion is one rule, the database function that Supabase apps call too
# (migration 0011_traveler_actions): the sweep's per-user lock (a traveler's answer is not lost
# under a sweep's update), close, cancel its unsent notifications.
_CLOSE_ONE = Statement(
    "store.close_one",
    "SELECT {s}.close_suggestion(%(id)s, %(status)s, %(now)s, %(user_id)s)",
)

RECORD_COLUMNS = (
    "id, user_id, type, priority, title, message, data, dedup_key, computed_for, created_at,"
    " updated_at, expires_at, status, status_changed_at, notified_rank, held_by"
)

# Filters ({where}) are composed per call from the conditions below.
# A filter given as NULL is off: the statement is planned for each call's values
# (plan_cache_mode=force_custom_plan), so the planner drops the constant-true branches.
_LIST_SUGGESTIONS = Statement(
    "store.list_suggestions",
    "SELECT " + RECORD_COLUMNS + " FROM {s}.suggestions"
    " WHERE (%(user_id)s::uuid IS NULL OR user_id = %(user_id)s::uuid)"
    "   AND (%(statuses)s::text[] IS NULL OR status = ANY(%(statuses)s::text[]))"
    "   AND (%(since)s::timestamptz IS NULL OR updated_at >= %(since)s::timestamptz)"
    " ORDER BY updated_at DESC, id LIMIT %(limit)s",
)

# The sweep's own statements around apply_candidates.
_CURRENT_STATUSES = Statement(
    "sweep.statuses",
    "SELECT DISTINCT ON (user_id, dedup_key) user_id::text, dedup_key, status"
    " FROM {s}.suggestions WHERE user_id = ANY(%s::uuid[])"
    " ORDER BY user_id, dedup_key, updated_at DESC",
)

# Rows a sweep's batch may add to the engine's tables, or a delivery drain take out of the
# outbox's queue, before their planner statistics are refreshed: both change the tables
# faster than autovacuum samples them, and plans made for the old contents scan the whole
# outbox (for every candidate, or for every claim).
ANALYZE_AFTER_ROWS = 1_000

_ANALYZE_ENGINE_TABLES = Statement("sweep.analyze", "ANALYZE {s}.suggestions, {s}.outbox")


class StoreStatements(StatementSet):
    """The store's statements; ``StoreStatements.for_schema(schema)`` binds them for one engine
    schema (names label ``pam_query_seconds{statement=...}``)."""

    # The temporary tables of one apply_candidates call (dropped at commit): ``{u}``, ``{c}``.
    identifiers: ClassVar[dict[str, sql.Composable]] = {
        "u": sql.Identifier("pam_apply_users"), "c": sql.Identifier("pam_apply_candidates")}

    create_users = _CREATE_USERS
    digest_choices = _DIGEST_CHOICES
    create_candidates = _CREATE_CANDIDATES
    load_users = _LOAD_USERS
    load_candidates = _LOAD_CANDIDATES
    lock_users = _LOCK_USERS
    find_live = _FIND_LIVE
    mark_history = _MARK_HISTORY
    update_live = _UPDATE_LIVE
    insert_new = _INSERT_NEW
    resolve_gone = _RESOLVE_GONE
    expire_due = _EXPIRE_DUE
    live_related = _LIVE_RELATED
    set_held = _SET_HELD
    refresh_pending = _REFRESH_PENDING
    notify = _NOTIFY
    end_snoozes = _END_SNOOZES
    adapt = _ADAPT
    offers = _OFFERS
    drop_temp = _DROP_TEMP
    analyze_temp = _ANALYZE_TEMP
    count_suppressed = _COUNT_SUPPRESSED
    close_one = _CLOSE_ONE
    list_suggestions = _LIST_SUGGESTIONS
    current_statuses = _CURRENT_STATUSES
    analyze_engine_tables = _ANALYZE_ENGINE_TABLES
