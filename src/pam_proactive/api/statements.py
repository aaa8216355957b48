"""The API's own SQL: readiness, ownership, privacy export and erasure, and stream polling.

Every statement is composed for the engine schema once (:meth:`ApiStatements.for_schema`);
values are always parameters. Traveler tables are only ever read (through the preset's views).
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from pam_proactive.db.connection import schema_statements

# Columns of a suggestion as the API returns it (the store's SuggestionRecord order).
SUGGESTION_COLUMNS = (
    "id, user_id, type, priority, title, message, data, dedup_key, computed_for, created_at,"
    " updated_at, expires_at, status, status_changed_at, notified_rank, held_by"
)
SUGGESTION_WIDTH = 16  # columns in SUGGESTION_COLUMNS

PING = "SELECT 1"

MIGRATIONS_APPLIED = "SELECT version, checksum FROM {s}.schema_migrations"

USER_EXISTS = "SELECT EXISTS (SELECT 1 FROM {s}.traveler_users WHERE user_id = %(user_id)s)"

SUGGESTION_OWNER = "SELECT user_id FROM {s}.suggestions WHERE id = %(id)s"

# Whether the optional insights table exists (another component creates it).
INSIGHTS_TABLE = "SELECT to_regclass(format('%%I.insights', %(schema)s::text)) IS NOT NULL"

EXPORT_SUGGESTIONS = (
    "SELECT " + SUGGESTION_COLUMNS + " FROM {s}.suggestions WHERE user_id = %(user_id)s"
    " ORDER BY created_at, id LIMIT %(limit)s"
)

EXPORT_OUTBOX = (
    "SELECT id, suggestion_id, event, priority, payload, created_at, deliver_after,"
    " delivered_at, cancelled_at, attempts, last_error, digest_id"
    " FROM {s}.outbox WHERE user_id = %(user_id)s ORDER BY id LIMIT %(limit)s"
)

EXPORT_DELIVERIES = (
    "SELECT d.id, d.outbox_id, d.channel, d.attempt, d.ok, d.http_status, d.error, d.at"
    " FROM {s}.deliveries AS d JOIN {s}.outbox AS o ON o.id = d.outbox_id"
    " WHERE o.user_id = %(user_id)s ORDER BY d.id LIMIT %(limit)s"
)

EXPORT_PREFERENCES = (
    "SELECT user_id, opted_out, disabled_types, timezone, currency, quiet_start, quiet_end,"
    " daily_cap, digest, digest_hour, digest_priorities, updated_at"
    " FROM {s}.user_preferences WHERE user_id = %(user_id)s"
)

# A traveler's preferences (defaults when none stored), and their change: the engine schema's
# functions (migration 0010), the same ones Supabase's my_preferences/update_my_preferences
# call, so both validate alike.
GET_PREFERENCES = "SELECT {s}.preferences_of(%(user_id)s)"
UPDATE_PREFERENCES = "SELECT {s}.update_preferences(%(user_id)s, %(changes)s::jsonb)"

# The export's LIMIT: NULL (no limit) for the CLI, the API's row bound + 1 to notice a cut.
EXPORT_INSIGHTS = ("SELECT to_jsonb(i) FROM {s}.insights AS i WHERE i.user_id = %(user_id)s"
                   " LIMIT %(limit)s")

# Taken by every writer of one user's suggestions (store.USER_LOCK_CLASS), so an erasure and
# a sweep of the same user run one after the other.
LOCK_USER = "SELECT pg_advisory_xact_lock(%(cls)s, hashtext(%(user_id)s::text))"

# Deliveries go with their outbox rows, outbox rows with their suggestions (ON DELETE
# CASCADE); the explicit deletes count what went and catch rows without a parent.
ERASE_DELIVERIES = (
    "DELETE FROM {s}.deliveries AS d USING {s}.outbox AS o"
    " WHERE o.id = d.outbox_id AND o.user_id = %(user_id)s"
)
ERASE_OUTBOX = "DELETE FROM {s}.outbox WHERE user_id = %(user_id)s"
ERASE_SUGGESTIONS = "DELETE FROM {s}.suggestions WHERE user_id = %(user_id)s"
ERASE_PREFERENCES = "DELETE FROM {s}.user_preferences WHERE user_id = %(user_id)s"
ERASE_INSIGHTS = "DELETE FROM {s}.insights WHERE user_id = %(user_id)s"

# The stream's starting point: changes committed after this snapshot are new.
STREAM_SNAPSHOT = (
    "SELECT pg_snapshot_xmax(s)::text, ARRAY(SELECT pg_snapshot_xip(s)::text)"
    " FROM pg_current_snapshot() AS s"
)

# Every change committed since the previous poll, exactly once: rows stamped at or after the
# previous snapshot's xmax, or by a transaction in progress at the previous snapshot (it may
# have committed since). The snapshot is read in the same statement, so the rows returned are
# exactly those visible to it; the next poll starts from it.
STREAM_POLL = (
    "WITH snap AS (SELECT pg_current_snapshot() AS s)"
    " SELECT pg_snapshot_xmax(snap.s)::text, ARRAY(SELECT pg_snapshot_xip(snap.s)::text), c.*"
    " FROM snap LEFT JOIN LATERAL ("
    "  SELECT " + SUGGESTION_COLUMNS + ", change_xid::text AS xid, change_kind"
    "  FROM {s}.suggestions"
    "  WHERE (change_xid >= %(xmax)s::xid8 OR change_xid = ANY(%(pending)s::xid8[]))"
    "   AND user_id = ANY(%(users)s::uuid[])"
    "  ORDER BY change_xid, id) AS c ON true"
)


@dataclass(frozen=True, slots=True)
class ApiStatements:
    """The API's statements composed for one engine schema."""

    migrations_applied: sql.Composed
    user_exists: sql.Composed
    suggestion_owner: sql.Composed
    export_suggestions: sql.Composed
    export_outbox: sql.Composed
    export_deliveries: sql.Composed
    export_preferences: sql.Composed
    get_preferences: sql.Composed
    update_preferences: sql.Composed
    export_insights: sql.Composed
    erase_deliveries: sql.Composed
    erase_outbox: sql.Composed
    erase_suggestions: sql.Composed
    erase_preferences: sql.Composed
    erase_insights: sql.Composed
    stream_poll: sql.Composed

    @classmethod
    def for_schema(cls, schema: str) -> ApiStatements:
        """Every statement composed with ``schema`` as a quoted identifier."""
        return schema_statements(cls, schema, globals())
