"""The delivery's SQL, one named :class:`Statement` each (the name is its metrics key).

Placeholder: ``{s}`` the engine schema.
"""

from __future__ import annotations

from pam_proactive.db.connection import Statement

CLAIM = Statement(
    "delivery.claim",
    "SELECT o.id, o.suggestion_id, o.user_id, o.event, o.priority, o.payload, o.created_at,"
    " o.deliver_after, o.attempts,"
    " (s.status IN ('open', 'delivered') AND (s.expires_at IS NULL OR s.expires_at > %(now)s))"
    "  AS live,"
    " ARRAY(SELECT DISTINCT d.channel FROM {s}.deliveries AS d WHERE d.outbox_id = o.id AND d.ok)"
    "  AS done"
    " FROM {s}.outbox AS o JOIN {s}.suggestions AS s ON s.id = o.suggestion_id"
    " WHERE o.delivered_at IS NULL AND o.cancelled_at IS NULL AND o.deliver_after <= %(now)s"
    "  AND o.attempts < %(give_up)s"
    " ORDER BY o.deliver_after, o.id"
    " LIMIT %(limit)s"
    " FOR UPDATE OF o SKIP LOCKED",
)

# After a drain that emptied many rows out of the queue: the claim is planned from the
# outbox's statistics, and statistics taken while those rows were pending (a first sweep's
# ANALYZE) make it scan both tables whole for a handful of due rows until autovacuum
# catches up (270 ms instead of 0.1 ms per claim at 20,000 travelers).
ANALYZE_OUTBOX = Statement("delivery.analyze", "ANALYZE {s}.outbox")

CANCEL_STALE = Statement(
    "delivery.cancel_stale",
    "UPDATE {s}.outbox SET cancelled_at = %s WHERE id = ANY(%s::bigint[])",
)

RECORD_ATTEMPTS = Statement(
    "delivery.record_attempts",
    "INSERT INTO {s}.deliveries (outbox_id, channel, attempt, ok, http_status, error, at)"
    " SELECT * FROM unnest(%s::bigint[], %s::text[], %s::integer[], %s::boolean[],"
    " %s::integer[], %s::text[], %s::timestamptz[])",
)

# A failed row waits until `retry_at` before a later run tries it again; last_error keeps the
# most recent error, also once the row is delivered (the full history is in deliveries).
RECORD_OUTCOMES = Statement(
    "delivery.record_outcomes",
    "UPDATE {s}.outbox AS o SET attempts = o.attempts + v.n,"
    " last_error = coalesce(v.err, o.last_error),"
    " delivered_at = CASE WHEN v.ok THEN %(now)s END,"
    " deliver_after = CASE WHEN v.ok THEN o.deliver_after ELSE %(retry_at)s END"
    " FROM unnest(%(ids)s::bigint[], %(n)s::integer[], %(ok)s::boolean[], %(err)s::text[])"
    "  AS v(id, n, ok, err)"
    " WHERE o.id = v.id",
)

MARK_DELIVERED = Statement(
    "delivery.mark_delivered",
    "UPDATE {s}.suggestions SET status = 'delivered', status_changed_at = %s"
    " WHERE id = ANY(%s::uuid[]) AND status = 'open'",
)
