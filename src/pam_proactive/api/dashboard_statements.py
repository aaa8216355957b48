"""The dashboard's SQL: one statement per chart or table, over the engine's own tables.

Windows are anchored on the newest row (not the wall clock), so a demo swept at any ``--now``
shows its history. Nothing here reads traveler tables: only types, priorities, statuses,
counts, timings and shortened user ids leave the database.
"""

from __future__ import annotations

from psycopg import sql

from pam_proactive.suggestions import delivery_sql

# Which optional tables exist (job_runs: scheduled jobs; fleet_reports: fleet reports).
TABLES_PRESENT = (
    "SELECT to_regclass(%(job_runs)s) IS NOT NULL, to_regclass(%(fleet_reports)s) IS NOT NULL")


def _per_day(column: str) -> sql.SQL:
    return sql.SQL(
        "WITH anchor AS (SELECT max(created_at) AS hi FROM {s}.suggestions)"
        " SELECT to_char(date_trunc('day', s.created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD'),"
        " s." + column + ", count(*)"
        " FROM {s}.suggestions AS s, anchor"
        " WHERE s.created_at > anchor.hi - make_interval(days => %(days)s)"
        " GROUP BY 1, 2 ORDER BY 1, 2")


SUGGESTIONS_BY_TYPE = _per_day("type")
SUGGESTIONS_BY_PRIORITY = _per_day("priority")

SUGGESTION_STATUSES = sql.SQL("SELECT status, count(*) FROM {s}.suggestions GROUP BY 1")

# Pending: waiting for a first attempt or a retry; failing: those whose last attempt failed;
# dead: past the last scheduled attempt (the predicate shared with the dead-letter commands).
OUTBOX_STATE = sql.SQL(
    "SELECT count(*) FILTER (WHERE o.delivered_at IS NULL AND o.cancelled_at IS NULL"
    "  AND o.dead_at IS NULL),"
    " count(*) FILTER (WHERE o.delivered_at IS NOT NULL),"
    " count(*) FILTER (WHERE o.delivered_at IS NULL AND o.cancelled_at IS NULL"
    "  AND o.dead_at IS NULL AND o.tries > 0),"
    " count(*) FILTER (WHERE " + delivery_sql.DEAD + ")"
    " FROM {s}.outbox AS o")

# User ids shortened to 8 hex digits; no title or message (they may name places).
RECENT_SUGGESTIONS = sql.SQL(
    "SELECT left(user_id::text, 8), type, priority, status, created_at, updated_at"
    " FROM {s}.suggestions ORDER BY updated_at DESC, id LIMIT %(limit)s")

JOB_RUNS = sql.SQL(
    "WITH anchor AS (SELECT max(started_at) AS hi FROM {s}.job_runs)"
    " SELECT r.job, r.status, r.started_at,"
    " extract(epoch FROM coalesce(r.finished_at, r.touched_at) - r.started_at)::float8,"
    " r.users"
    " FROM {s}.job_runs AS r, anchor"
    " WHERE r.started_at > anchor.hi - make_interval(days => %(days)s)"
    " ORDER BY r.started_at, r.id LIMIT %(limit)s")

FLEET_HISTORY = sql.SQL(
    "SELECT computed_for, critical, vehicles, fleet_score FROM {s}.fleet_reports"
    " ORDER BY computed_for DESC, id DESC LIMIT %(limit)s")

# Vehicles of the latest report scoring below its threshold, worst first.
FLEET_CRITICAL = sql.SQL(
    "WITH latest AS (SELECT id, threshold FROM {s}.fleet_reports"
    "  ORDER BY computed_for DESC, id DESC LIMIT 1)"
    " SELECT left(v.user_id::text, 8), v.health_score, jsonb_array_length(v.items)"
    " FROM {s}.fleet_vehicles AS v JOIN latest ON v.report_id = latest.id"
    " WHERE v.health_score < latest.threshold"
    " ORDER BY v.health_score, v.user_id LIMIT %(limit)s")
