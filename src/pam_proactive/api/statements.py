"""The API's own SQL: readiness, ownership, privacy export and erasure, and stream polling.

Every statement is bound for the engine schema once (:meth:`ApiStatements.for_schema`);
values are always parameters. Traveler tables are only ever read (through the preset's views).
"""

from __future__ import annotations

from pam_proactive.db.connection import Statement, StatementSet

# Columns of a suggestion as the API returns it (the store's SuggestionRecord order).
SUGGESTION_COLUMNS = (
    "id, user_id, type, priority, title, message, data, dedup_key, computed_for, created_at,"
    " updated_at, expires_at, status, status_changed_at, notified_rank, held_by"
)
SUGGESTION_WIDTH = 16  # columns in SUGGESTION_COLUMNS


class ApiStatements(StatementSet):
    """The API's statements; ``ApiStatements.for_schema(schema)`` binds them for one engine
    schema (names label ``pam_query_seconds{statement=...}``)."""

    ping = Statement("api_ping", "SELECT 1")
    # The /metrics scrape's liveness probe (pam_database_up).
    health_probe = Statement("health_probe", "SELECT 1")

    migrations_applied = Statement(
        "api_migrations", "SELECT version, checksum FROM {s}.schema_migrations")

    user_exists = Statement(
        "api_user_exists",
        "SELECT EXISTS (SELECT 1 FROM {s}.traveler_users WHERE user_id = %(user_id)s)")

    suggestion_owner = Statement(
        "api_suggestion_owner", "SELECT user_id FROM {s}.suggestions WHERE id = %(id)s")

    # Whether the optional insights table exists (another component creates it).
    insights_table = Statement(
        "api_insights_table",
        "SELECT to_regclass(format('%%I.insights', %(schema)s::text)) IS NOT NULL")

    export_suggestions = Statement("api_export_suggestions", (
        "SELECT " + SUGGESTION_COLUMNS + " FROM {s}.suggestions WHERE user_id = %(user_id)s"
        " ORDER BY created_at, id LIMIT %(limit)s"
    ))

    export_outbox = Statement("api_export_outbox", (
        "SELECT id, suggestion_id, event, priority, payload, created_at, deliver_after,"
        " delivered_at, cancelled_at, attempts, last_error, digest_id"
        " FROM {s}.outbox WHERE user_id = %(user_id)s ORDER BY id LIMIT %(limit)s"
    ))

    export_deliveries = Statement("api_export_deliveries", (
        "SELECT d.id, d.outbox_id, d.channel, d.attempt, d.ok, d.http_status, d.error, d.at"
        " FROM {s}.deliveries AS d JOIN {s}.outbox AS o ON o.id = d.outbox_id"
        " WHERE o.user_id = %(user_id)s ORDER BY d.id LIMIT %(limit)s"
    ))

    export_preferences = Statement("api_export_preferences", (
        "SELECT user_id, opted_out, disabled_types, timezone, currency, quiet_start, quiet_end,"
        " daily_cap, digest, digest_hour, digest_priorities, updated_at"
        " FROM {s}.user_preferences WHERE user_id = %(user_id)s"
    ))

    # A traveler's preferences (defaults when none stored), and their change: the engine
    # schema's functions (migration 0010), the same ones Supabase's my_preferences and
    # update_my_preferences call, so both validate alike.
    get_preferences = Statement("api_preferences", "SELECT {s}.preferences_of(%(user_id)s)")
    update_preferences = Statement(
        "api_update_preferences", "SELECT {s}.update_preferences(%(user_id)s, %(changes)s::jsonb)")

    # The export's LIMIT: NULL (no limit) for the CLI, the API's row bound + 1 to notice a cut.
    export_insights = Statement(
        "api_export_insights",
        "SELECT to_jsonb(i) FROM {s}.insights AS i WHERE i.user_id = %(user_id)s LIMIT %(limit)s")

    # Taken by every writer of one user's suggestions (store.USER_LOCK_CLASS), so an erasure
    # and a sweep of the same user run one after the other.
    lock_user = Statement(
        "api_erase_lock", "SELECT pg_advisory_xact_lock(%(cls)s, hashtext(%(user_id)s::text))")

    # Deliveries go with their outbox rows, outbox rows with their suggestions (ON DELETE
    # CASCADE); the explicit deletes count what went and catch rows without a parent.
    erase_deliveries = Statement("api_erase_deliveries", (
        "DELETE FROM {s}.deliveries AS d USING {s}.outbox AS o"
        " WHERE o.id = d.outbox_id AND o.user_id = %(user_id)s"
    ))
    erase_outbox = Statement(
        "api_erase_outbox", "DELETE FROM {s}.outbox WHERE user_id = %(user_id)s")
    erase_suggestions = Statement(
        "api_erase_suggestions", "DELETE FROM {s}.suggestions WHERE user_id = %(user_id)s")
    erase_preferences = Statement(
        "api_erase_user_preferences",
        "DELETE FROM {s}.user_preferences WHERE user_id = %(user_id)s")
    erase_insights = Statement(
        "api_erase_insights", "DELETE FROM {s}.insights WHERE user_id = %(user_id)s")

    # The stream's starting point: changes committed after this snapshot are new.
    stream_snapshot = Statement("api_stream_snapshot", (
        "SELECT pg_snapshot_xmax(s)::text, ARRAY(SELECT pg_snapshot_xip(s)::text)"
        " FROM pg_current_snapshot() AS s"
    ))

    # Every change committed since the previous poll, exactly once: rows stamped at or after
    # the previous snapshot's xmax, or by a transaction in progress at the previous snapshot
    # (it may have committed since). The snapshot is read in the same statement, so the rows
    # returned are exactly those visible to it; the next poll starts from it.
    stream_poll = Statement("api_stream_poll", (
        "WITH snap AS (SELECT pg_current_snapshot() AS s)"
        " SELECT pg_snapshot_xmax(snap.s)::text, ARRAY(SELECT pg_snapshot_xip(snap.s)::text),"
        " c.*"
        " FROM snap LEFT JOIN LATERAL ("
        "  SELECT " + SUGGESTION_COLUMNS + ", change_xid::text AS xid, change_kind"
        "  FROM {s}.suggestions"
        "  WHERE (change_xid >= %(xmax)s::xid8 OR change_xid = ANY(%(pending)s::xid8[]))"
        "   AND user_id = ANY(%(users)s::uuid[])"
        "  ORDER BY change_xid, id) AS c ON true"
    ))
