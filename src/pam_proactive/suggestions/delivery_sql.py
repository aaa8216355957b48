"""The delivery's SQL, one named :class:`Statement` each (the name is its metrics key).

Placeholder: ``{s}`` the engine schema. Leases and circuits use the database's clock
(``clock_timestamp()``): they are about processes and receivers as they really are, while
``%(now)s`` is the engine's (possibly simulated) time that schedules notifications.
"""

from __future__ import annotations

from pam_proactive.db.connection import Statement, StatementSet
from pam_proactive.suggestions.digest_sql import ITEM_LIVE, ITEM_ORDER

_RECORDED_CHANNELS = Statement(
    "delivery.recorded_channels", "SELECT channels FROM {s}.delivery_channels")

# Records the channels unless some are recorded already; returns the recorded ones, always
# one row. The no-op DO UPDATE (not DO NOTHING plus a SELECT) is what returns a row recorded
# by another process's first delivery committed after this statement began: its SELECT would
# read the statement's snapshot, without that row, and return nothing.
_RECORD_CHANNELS_ONCE = Statement(
    "delivery.record_channels_once",
    "INSERT INTO {s}.delivery_channels AS d (channels) VALUES (%(channels)s::text[])"
    " ON CONFLICT (singleton) DO UPDATE SET channels = d.channels RETURNING d.channels",
)

_SET_CHANNELS = Statement(
    "delivery.set_channels",
    "INSERT INTO {s}.delivery_channels (channels) VALUES (%(channels)s::text[])"
    " ON CONFLICT (singleton) DO UPDATE SET channels = EXCLUDED.channels,"
    " recorded_at = clock_timestamp()",
)

# Each circuit of ours that is open: the first claim after its cool-down takes the probe
# (pushing open_until one cool-down further, so no other worker probes at the same time);
# every other open circuit blocks its channel. Returns (channel, probing) for open circuits.
_CIRCUITS = Statement(
    "delivery.circuits",
    "WITH probe AS (UPDATE {s}.channel_circuits"
    " SET open_until = clock_timestamp() + %(cooldown)s::interval, changed_at = clock_timestamp()"
    " WHERE channel = ANY(%(names)s::text[]) AND failures >= %(threshold)s"
    "  AND open_until <= clock_timestamp()"
    " RETURNING channel)"
    " SELECT c.channel, c.channel IN (SELECT channel FROM probe)"
    " FROM {s}.channel_circuits AS c"
    " WHERE c.channel = ANY(%(names)s::text[]) AND c.failures >= %(threshold)s",
)

# Due rows nobody holds (no row lock, no unexpired lease) whose channels `missing` here (no
# credentials, circuit open) have all accepted them already; digest items are not claimed
# (their digest is). Live rows get this claim's lease; rows whose suggestion is no longer live
# are cancelled unsent. A digest is live while one of its items is: its payload's items are
# re-read from them (digest_sql.ITEM_LIVE), so what was closed since it was gathered is left
# out, and a digest with none left is cancelled unsent.
_CLAIM = Statement(
    "delivery.claim",
    "WITH due AS ("
    " SELECT o.id, o.suggestion_id FROM {s}.outbox AS o"
    " WHERE o.delivered_at IS NULL AND o.cancelled_at IS NULL AND o.dead_at IS NULL"
    "  AND o.deliver_after <= %(now)s AND NOT o.digest_item"
    "  AND (o.leased_until IS NULL OR o.leased_until <= clock_timestamp())"
    "  AND o.channels_done @> %(missing)s::text[]"
    " ORDER BY o.deliver_after, o.id"
    " LIMIT %(limit)s"
    " FOR UPDATE SKIP LOCKED),"
    " judged AS ("
    " SELECT due.id, CASE WHEN due.suggestion_id IS NULL THEN dg.items IS NOT NULL"
    "  ELSE coalesce(s.status IN ('open', 'delivered')"
    "   AND (s.expires_at IS NULL OR s.expires_at > %(now)s), false) END AS live, dg.items"
    " FROM due LEFT JOIN {s}.suggestions AS s ON s.id = due.suggestion_id"
    " LEFT JOIN LATERAL (SELECT jsonb_agg(i.payload ORDER BY " + ITEM_ORDER + ") AS items"
    "  FROM {s}.outbox AS i JOIN {s}.suggestions AS si ON si.id = i.suggestion_id"
    "  WHERE due.suggestion_id IS NULL AND i.digest_id = due.id AND i.cancelled_at IS NULL"
    "  AND " + ITEM_LIVE + ") AS dg ON true)"
    " UPDATE {s}.outbox AS o"
    " SET leased_until = CASE WHEN j.live THEN clock_timestamp() + %(lease)s::interval END,"
    "  lease_token = CASE WHEN j.live THEN %(token)s::uuid END,"
    "  cancelled_at = CASE WHEN j.live THEN NULL ELSE %(now)s END,"
    "  payload = CASE WHEN j.items IS NULL THEN o.payload ELSE o.payload"
    "   || jsonb_build_object('count', jsonb_array_length(j.items), 'items', j.items) END"
    " FROM judged AS j WHERE o.id = j.id"
    " RETURNING o.id, o.suggestion_id, o.user_id, o.event, o.priority, o.payload, o.created_at,"
    "  o.deliver_after, o.attempts, o.tries, o.channels_done, o.message_id, j.live",
)

# After a drain that emptied many rows out of the queue: the claim is planned from the
# outbox's statistics, and statistics taken while those rows were pending (a first sweep's
# ANALYZE) make it scan both tables whole for a handful of due rows until autovacuum
# catches up (270 ms instead of 0.1 ms per claim at 20,000 travelers).
_ANALYZE_OUTBOX = Statement("delivery.analyze", "ANALYZE {s}.outbox")

_RECORD_ATTEMPTS = Statement(
    "delivery.record_attempts",
    "INSERT INTO {s}.deliveries (outbox_id, channel, attempt, ok, http_status, error, at)"
    " SELECT * FROM unnest(%s::bigint[], %s::text[], %s::integer[], %s::boolean[],"
    " %s::integer[], %s::text[], %s::timestamptz[])",
)

# Each claimed row's outcome, only while this claim still holds its lease (a claim whose lease
# ran out lost the row to another worker: its attempts are recorded, its outcome is not).
# `ok` is the comma-joined channels that accepted it now; last_error keeps the most recent
# error, also once delivered (the full history is in deliveries).
_RECORD_OUTCOMES = Statement(
    "delivery.record_outcomes",
    "UPDATE {s}.outbox AS o SET attempts = o.attempts + v.n, tries = o.tries + 1,"
    " last_error = coalesce(v.err, o.last_error),"
    " channels_done = ARRAY(SELECT DISTINCT c FROM unnest(o.channels_done"
    "  || string_to_array(v.ok, ',')) AS c ORDER BY 1),"
    " delivered_at = CASE WHEN v.delivered THEN %(now)s END,"
    " dead_at = CASE WHEN v.dead THEN %(now)s END,"
    " deliver_after = coalesce(v.retry_at, o.deliver_after),"
    " leased_until = NULL, lease_token = NULL"
    " FROM unnest(%(ids)s::bigint[], %(n)s::integer[], %(err)s::text[], %(ok)s::text[],"
    "  %(delivered)s::boolean[], %(dead)s::boolean[], %(retry_at)s::timestamptz[])"
    "  AS v(id, n, err, ok, delivered, dead, retry_at)"
    " WHERE o.id = v.id AND o.lease_token = %(token)s::uuid"
    " RETURNING o.id",
)

# One row per channel of the batch. `reset`: the batch had a success, so the count of
# consecutive failures restarts from the failures that ended after it; otherwise the batch's
# failures add up. At the threshold the circuit opens for a cool-down; a count of 0 closes it.
# A healthy channel's row is not rewritten by every batch (the WHERE): workers do not queue on
# it while all goes well.
_RECORD_CIRCUITS = Statement(
    "delivery.record_circuits",
    "WITH v AS (SELECT * FROM unnest(%(names)s::text[], %(reset)s::boolean[],"
    "  %(failed)s::integer[]) AS v(channel, reset, failed))"
    " INSERT INTO {s}.channel_circuits AS c (channel, failures, open_until, changed_at)"
    " SELECT v.channel, v.failed,"
    "  CASE WHEN v.failed >= %(threshold)s"
    "   THEN clock_timestamp() + %(cooldown)s::interval END, clock_timestamp()"
    " FROM v"
    " ON CONFLICT (channel) DO UPDATE SET"
    " failures = (SELECT v.failed + CASE WHEN v.reset THEN 0 ELSE c.failures END"
    "  FROM v WHERE v.channel = EXCLUDED.channel),"
    " open_until = (SELECT CASE"
    "  WHEN v.failed + CASE WHEN v.reset THEN 0 ELSE c.failures END = 0 THEN NULL"
    "  WHEN v.failed + CASE WHEN v.reset THEN 0 ELSE c.failures END >= %(threshold)s"
    "   THEN clock_timestamp() + %(cooldown)s::interval"
    "  ELSE c.open_until END FROM v WHERE v.channel = EXCLUDED.channel),"
    " changed_at = clock_timestamp()"
    " WHERE c.failures > 0 OR EXCLUDED.failures > 0",
)

_MARK_DELIVERED = Statement(
    "delivery.mark_delivered",
    "UPDATE {s}.suggestions SET status = 'delivered', status_changed_at = %s"
    " WHERE id = ANY(%s::uuid[]) AND status = 'open'",
)

# --- dead letters: listing, inspecting, replaying ---------------------------------------------

_ROW = (
    "SELECT o.id, o.message_id, o.event, o.priority, o.created_at, o.deliver_after, o.tries,"
    " o.attempts, o.last_error, o.channels_done, o.dead_at, o.delivered_at, o.cancelled_at,"
    " o.replayed_at, o.leased_until > clock_timestamp() AS leased"
    " FROM {s}.outbox AS o"
)
DEAD = "o.dead_at IS NOT NULL AND o.delivered_at IS NULL AND o.cancelled_at IS NULL"
_PENDING = "o.dead_at IS NULL AND o.delivered_at IS NULL AND o.cancelled_at IS NULL"

_LIST_DEAD = Statement("delivery.list_dead", _ROW + " WHERE " + DEAD
                      + " ORDER BY o.id LIMIT %(limit)s")
_LIST_PENDING = Statement("delivery.list_pending", _ROW + " WHERE " + _PENDING
                         + " ORDER BY o.deliver_after, o.id LIMIT %(limit)s")
_LIST_FAILING = Statement("delivery.list_failing", _ROW + " WHERE " + _PENDING
                         + " AND o.tries > 0 ORDER BY o.deliver_after, o.id LIMIT %(limit)s")
_ONE_ROW = Statement("delivery.inspect", _ROW + " WHERE o.id = %(id)s")
_ATTEMPTS_OF = Statement(
    "delivery.attempts_of",
    "SELECT channel, attempt, ok, http_status, error, at FROM {s}.deliveries"
    " WHERE outbox_id = %(id)s ORDER BY id",
)

# A replay makes a row due now with a fresh schedule: dead rows are retried; delivered rows
# are sent again through every channel. Rows being sent (leased) and cancelled rows are left.
_REPLAY = (
    "UPDATE {s}.outbox AS o SET dead_at = NULL, tries = 0, deliver_after = %(now)s,"
    " channels_done = CASE WHEN o.delivered_at IS NULL THEN o.channels_done ELSE '{{}}' END,"
    " delivered_at = NULL, replayed_at = %(now)s"
    " WHERE o.cancelled_at IS NULL"
    " AND (o.leased_until IS NULL OR o.leased_until <= clock_timestamp())"
)
_REPLAY_DEAD = Statement("delivery.replay_dead", _REPLAY + " AND " + DEAD + " RETURNING o.id")
_REPLAY_IDS = Statement("delivery.replay_ids",
                       _REPLAY + " AND o.id = ANY(%(ids)s::bigint[]) RETURNING o.id")

# Dead rows per recorded channel that has not accepted them (0 for a healthy channel, so that
# the gauge and its alert clear).
_DEAD_BY_CHANNEL = Statement(
    "delivery.dead_by_channel",
    "SELECT ch, count(o.id)"
    " FROM unnest(coalesce((SELECT channels FROM {s}.delivery_channels), '{{}}')) AS ch"
    " LEFT JOIN {s}.outbox AS o ON " + DEAD + " AND NOT (ch = ANY(o.channels_done))"
    " GROUP BY ch ORDER BY ch",
)


class DeliveryStatements(StatementSet):
    """The delivery's statements;
    ``DeliveryStatements.for_schema(schema)`` binds them for one engine schema (names label
    ``pam_query_seconds{statement=...}``)."""

    recorded_channels = _RECORDED_CHANNELS
    record_channels_once = _RECORD_CHANNELS_ONCE
    set_channels = _SET_CHANNELS
    circuits = _CIRCUITS
    claim = _CLAIM
    analyze_outbox = _ANALYZE_OUTBOX
    record_attempts = _RECORD_ATTEMPTS
    record_outcomes = _RECORD_OUTCOMES
    record_circuits = _RECORD_CIRCUITS
    mark_delivered = _MARK_DELIVERED
    list_dead = _LIST_DEAD
    list_pending = _LIST_PENDING
    list_failing = _LIST_FAILING
    one_row = _ONE_ROW
    attempts_of = _ATTEMPTS_OF
    replay_dead = _REPLAY_DEAD
    replay_ids = _REPLAY_IDS
    dead_by_channel = _DEAD_BY_CHANNEL
