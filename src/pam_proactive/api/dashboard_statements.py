"""The dashboard's SQL: one statement per chart or table, over the engine's own tables.

Windows are anchored on the newest row (not the wall clock), so a demo swept at any ``--now``
shows its history. Nothing here reads traveler tables: only types, priorities, statuses,
counts, timings and user ids leave the database. Lists are pages: ``%(limit)s`` and
``%(offset)s`` are bounded by the caller (api.limits), and each list's total comes with it
(a window count, or the status counts for the suggestions).
"""

from __future__ import annotations

from pam_proactive.db.connection import Statement, StatementSet
from pam_proactive.suggestions import delivery_sql

# Which optional tables exist (job_runs: scheduled jobs; fleet_reports: fleet reports).
_TABLES_PRESENT = (
    "SELECT to_regclass(%(job_runs)s) IS NOT NULL, to_regclass(%(fleet_reports)s) IS NOT NULL")


def _per_day(column: str) -> str:
    return (
        "WITH anchor AS (SELECT max(created_at) AS hi FROM {s}.suggestions)"
        " SELECT to_char(date_trunc('day', s.created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD'),"
        " s." + column + ", count(*)"
        " FROM {s}.suggestions AS s, anchor"
        " WHERE s.created_at > anchor.hi - make_interval(days => %(days)s)"
        " GROUP BY 1, 2 ORDER BY 1, 2")


_SUGGESTIONS_BY_TYPE = _per_day("type")
_SUGGESTIONS_BY_PRIORITY = _per_day("priority")

_SUGGESTION_STATUSES = "SELECT status, count(*) FROM {s}.suggestions GROUP BY 1"

# Pending: waiting for a first attempt or a retry; failing: those whose last attempt failed;
# dead: past the last scheduled attempt (the predicate shared with the dead-letter commands).
_OUTBOX_STATE = (
    "SELECT count(*) FILTER (WHERE o.delivered_at IS NULL AND o.cancelled_at IS NULL"
    "  AND o.dead_at IS NULL),"
    " count(*) FILTER (WHERE o.delivered_at IS NOT NULL),"
    " count(*) FILTER (WHERE o.delivered_at IS NULL AND o.cancelled_at IS NULL"
    "  AND o.dead_at IS NULL AND o.tries > 0),"
    " count(*) FILTER (WHERE " + delivery_sql.DEAD + ")"
    " FROM {s}.outbox AS o")

# Whole user ids (a prefix of a time-ordered id is a timestamp, shared by many travelers); no
# title or message (they may name places). The total is the sum of suggestion_statuses.
_RECENT_SUGGESTIONS = (
    "SELECT user_id::text, type, priority, status, created_at, updated_at"
    " FROM {s}.suggestions ORDER BY updated_at DESC, id"
    " LIMIT %(limit)s OFFSET %(offset)s")

# The newest runs of the window (newest first) and how many the window holds.
_JOB_RUNS = (
    "WITH anchor AS (SELECT max(started_at) AS hi FROM {s}.job_runs)"
    " SELECT r.job, r.status, r.started_at,"
    " extract(epoch FROM coalesce(r.finished_at, r.touched_at) - r.started_at)::float8,"
    " r.users, count(*) OVER ()"
    " FROM {s}.job_runs AS r, anchor"
    " WHERE r.started_at > anchor.hi - make_interval(days => %(days)s)"
    " ORDER BY r.started_at DESC, r.id DESC LIMIT %(limit)s")

_FLEET_HISTORY = (
    "SELECT computed_for, critical, vehicles, fleet_score FROM {s}.fleet_reports"
    " ORDER BY computed_for DESC, id DESC LIMIT %(limit)s")

# A page of the vehicles of the latest report scoring below its threshold, worst first, after
# how many there are in all: (total, user, score, findings) rows, or one (total, NULL, NULL,
# NULL) row when the page is past the last (so the total always comes back).
_FLEET_CRITICAL = (
    "WITH latest AS (SELECT id, threshold FROM {s}.fleet_reports"
    "  ORDER BY computed_for DESC, id DESC LIMIT 1),"
    " below AS (SELECT v.user_id, v.health_score, jsonb_array_length(v.items) AS findings"
    "  FROM {s}.fleet_vehicles AS v JOIN latest ON v.report_id = latest.id"
    "  WHERE v.health_score < latest.threshold),"
    " page AS (SELECT * FROM below ORDER BY health_score, user_id"
    "  LIMIT %(limit)s OFFSET %(offset)s)"
    " SELECT total.n, page.user_id::text, page.health_score, page.findings"
    " FROM (SELECT count(*) AS n FROM below) AS total LEFT JOIN page ON true"
    " ORDER BY page.health_score, page.user_id")


class DashboardStatements(StatementSet):
    """The dashboard's statements; ``DashboardStatements.for_schema(schema)`` binds them for
    one engine schema (names label ``pam_query_seconds{statement=...}``)."""

    tables = Statement("dashboard_tables", _TABLES_PRESENT)
    suggestions_by_type = Statement("dashboard_suggestions_by_type", _SUGGESTIONS_BY_TYPE)
    suggestions_by_priority = Statement("dashboard_suggestions_by_priority",
                                        _SUGGESTIONS_BY_PRIORITY)
    suggestion_statuses = Statement("dashboard_suggestion_statuses", _SUGGESTION_STATUSES)
    outbox_state = Statement("dashboard_outbox_state", _OUTBOX_STATE)
    recent_suggestions = Statement("dashboard_recent_suggestions", _RECENT_SUGGESTIONS)
    job_runs = Statement("dashboard_job_runs", _JOB_RUNS)
    fleet_history = Statement("dashboard_fleet_history", _FLEET_HISTORY)
    fleet_critical = Statement("dashboard_fleet_critical", _FLEET_CRITICAL)
