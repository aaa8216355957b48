"""The daily digest's SQL, one named :class:`Statement` each (the name is its metrics key).

Placeholder: ``{s}`` the engine schema. Items are outbox rows with ``digest_item`` set (written
by ``StoreStatements.notify``); a digest is an outbox row with event ``'digest'`` and no suggestion.
"""

from __future__ import annotations

from pam_proactive.db.connection import Statement, StatementSet

# Items waiting for a digest that is due, not yet gathered (the outbox_digest_waiting index).
_WAITING = (
    "o.digest_item AND o.digest_id IS NULL AND o.delivered_at IS NULL"
    " AND o.cancelled_at IS NULL AND o.deliver_after <= %(now)s"
)

# Up to %(limit)s travelers with items due, each locked with the sweep's per-user lock
# (store.USER_LOCK_CLASS) in hash order, as a sweep locks them: a sweep writing an item and a
# drain gathering that traveler's digest run one after the other, so no item is written for a
# day whose digest is already out. Returns the travelers' ids.
_LOCK_DUE = Statement(
    "digest.lock_due",
    "SELECT coalesce(array_agg(q.user_id), '{{}}'), count(pg_advisory_xact_lock(%(cls)s, q.k))"
    " FROM (SELECT d.user_id, hashtext(d.user_id::text) AS k FROM ("
    "  SELECT DISTINCT o.user_id FROM {s}.outbox AS o WHERE " + _WAITING +
    "  ORDER BY o.user_id LIMIT %(limit)s) AS d ORDER BY k) AS q",
)

# Live items of an item's payload as a digest lists them: most important first, then newest.
ITEM_ORDER = "si.priority_rank DESC, si.created_at DESC, i.id"
ITEM_LIVE = ("si.status IN ('open', 'delivered')"
             " AND (si.expires_at IS NULL OR si.expires_at > %(now)s)")

# For the locked travelers, in one statement: the items due whose suggestion is no longer live
# are cancelled (a closing that no sweep saw yet, e.g. an expiry); the others become ONE digest
# row per traveler (its local day: the latest of its items'), unique per traveler and day, and
# point to it. Items whose day's digest exists already (not possible under the lock; a guard so
# that nothing waits forever) move to the next day. Returns the digests written, the items
# gathered, and the items cancelled and moved.
_ASSEMBLE = Statement(
    "digest.assemble",
    "WITH due AS ("
    " SELECT i.id, i.user_id, i.digest_day, i.payload, si.priority_rank, si.created_at,"
    "  (" + ITEM_LIVE + ") AS live"
    " FROM {s}.outbox AS i JOIN {s}.suggestions AS si ON si.id = i.suggestion_id"
    " WHERE i.user_id = ANY(%(users)s::uuid[]) AND " + _WAITING.replace("o.", "i.") + "),"
    " stale AS ("
    " UPDATE {s}.outbox AS o SET cancelled_at = %(now)s FROM due"
    " WHERE o.id = due.id AND NOT due.live RETURNING o.id),"
    " per_user AS ("
    " SELECT user_id, max(digest_day) AS day, count(*) AS n, max(priority_rank) AS top,"
    "  jsonb_agg(payload ORDER BY priority_rank DESC, created_at DESC, id) AS items"
    " FROM due WHERE live GROUP BY user_id),"
    " ins AS ("
    " INSERT INTO {s}.outbox (suggestion_id, user_id, event, priority, payload, created_at,"
    "  deliver_after, digest_day)"
    " SELECT NULL, p.user_id, 'digest', (ARRAY['low', 'medium', 'high', 'critical'])[p.top],"
    "  jsonb_build_object('event', 'digest', 'user_id', p.user_id,"
    "   'digest_day', to_char(p.day, 'YYYY-MM-DD'), 'count', p.n, 'items', p.items),"
    "  %(now)s, %(now)s, p.day"
    " FROM per_user AS p"
    " ON CONFLICT (user_id, digest_day) WHERE event = 'digest' DO NOTHING"
    " RETURNING id, user_id),"
    " gathered AS ("
    " UPDATE {s}.outbox AS o SET digest_id = ins.id FROM due JOIN ins USING (user_id)"
    " WHERE o.id = due.id AND due.live RETURNING o.id),"
    " moved AS ("
    " UPDATE {s}.outbox AS o SET deliver_after = o.deliver_after + interval '1 day',"
    "  digest_day = o.digest_day + 1 FROM due"
    " WHERE o.id = due.id AND due.live AND due.user_id NOT IN (SELECT user_id FROM ins)"
    " RETURNING o.id)"
    " SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM gathered),"
    "  (SELECT count(*) FROM stale), (SELECT count(*) FROM moved)",
)

# A delivered digest's items are delivered with it (the relevance counts read them); their
# suggestions are then marked delivered like any other's. Items cancelled after the digest was
# claimed stay cancelled. Returns the items' suggestions.
_DELIVER_ITEMS = Statement(
    "digest.deliver_items",
    "UPDATE {s}.outbox AS i SET delivered_at = %(now)s"
    " WHERE i.digest_id = ANY(%(ids)s::bigint[]) AND i.delivered_at IS NULL"
    " AND i.cancelled_at IS NULL RETURNING i.suggestion_id",
)


class DigestStatements(StatementSet):
    """The digest's statements;
    ``DigestStatements.for_schema(schema)`` binds them for one engine schema (names label
    ``pam_query_seconds{statement=...}``)."""

    lock_due = _LOCK_DUE
    assemble = _ASSEMBLE
    deliver_items = _DELIVER_ITEMS
