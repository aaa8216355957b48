"""The reports' SQL: insights and fleet reports, each statement named and bound once per
engine schema. Writes take whole batches as parallel arrays (``unnest``), one statement per
table per batch, and use no temporary tables or session state (Supabase's pooler)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from pam_proactive.db.connection import Statement, StatementSet


class FleetReportRow(NamedTuple):
    """A stored fleet report with its alert, if any (``latest_report``, ``report_by_id``):
    the columns are named after these fields, read by name."""

    report_id: int
    computed_for: datetime
    run_id: int | None
    fleet_score: float
    vehicles: int
    critical: int
    threshold: int
    overdue_by_task: dict[str, int]
    report: dict[str, Any]  # skipped and error counts, weights, expired documents
    created_at: datetime
    # The alert's columns are all NULL when the report has no alert: read them only when
    # alert_id is set (then they hold the types below).
    alert_id: int | None
    previous_critical: int
    alert_critical: int
    sent_at: datetime | None
    attempts: int
    last_error: str | None
    deliver_after: datetime | None
    dead_at: datetime | None


_REPORT_COLUMNS = """r.id AS report_id, r.computed_for, r.run_id, r.fleet_score, r.vehicles,
       r.critical, r.threshold, r.overdue_by_task, r.report, r.created_at,
       a.id AS alert_id, a.previous_critical, a.critical AS alert_critical, a.sent_at,
       a.attempts, a.last_error, a.deliver_after, a.dead_at"""


class ReportStatements(StatementSet):
    """The reports' statements; ``ReportStatements.for_schema(schema)`` binds them for one
    engine schema."""

    # Replaces the row of the same (user, kind, period start), unless the stored one was
    # computed for a later moment (replaying the past never overwrites a newer figure).
    upsert_insights = Statement("insights.upsert", """
INSERT INTO {s}.insights AS i (user_id, kind, period_start, period_end, "values", computed_for)
SELECT * FROM unnest(%(users)s::uuid[], %(kinds)s::text[], %(starts)s::date[], %(ends)s::date[],
                     %(values)s::jsonb[], %(computed)s::timestamptz[])
ON CONFLICT (user_id, kind, period_start) DO UPDATE
SET period_end = EXCLUDED.period_end, "values" = EXCLUDED."values",
    computed_for = EXCLUDED.computed_for, updated_at = now()
WHERE i.computed_for <= EXCLUDED.computed_for
""")

    get_insights = Statement("get_insights", """
SELECT user_id, kind, period_start, period_end, "values", computed_for, updated_at
FROM {s}.insights
WHERE user_id = %(user_id)s AND (%(kind)s::text IS NULL OR kind = %(kind)s::text)
ORDER BY period_start DESC, kind
LIMIT %(limit)s
""")

    # Serialises report writers: the previous report's critical count is read, and the alert
    # decided, with no other report being written at the same time.
    lock_fleet = Statement("fleet.lock", "SELECT pg_advisory_xact_lock(%(key)s)")

    report_by_run = Statement(
        "fleet.report_by_run", "SELECT id FROM {s}.fleet_reports WHERE run_id = %(run_id)s")

    insert_report = Statement("fleet.insert_report", """
INSERT INTO {s}.fleet_reports (computed_for, run_id, fleet_score, vehicles, critical,
                               threshold, overdue_by_task, report)
VALUES (%(computed_for)s, %(run_id)s, %(fleet_score)s, %(vehicles)s, %(critical)s,
        %(threshold)s, %(overdue_by_task)s, %(report)s)
RETURNING id
""")

    insert_vehicles = Statement("fleet.insert_vehicles", """
INSERT INTO {s}.fleet_vehicles (report_id, user_id, vehicle_id, health_score, items)
SELECT %(report_id)s, * FROM unnest(%(users)s::uuid[], %(vehicle_ids)s::text[],
                                    %(scores)s::integer[], %(items)s::jsonb[])
""")

    # The report before one: by the moment it describes, then by insertion.
    previous_critical = Statement("fleet.previous_critical", """
SELECT critical FROM {s}.fleet_reports
WHERE (computed_for, id) < (%(computed_for)s, %(id)s)
ORDER BY computed_for DESC, id DESC
LIMIT 1
""")

    insert_alert = Statement("fleet.insert_alert", """
INSERT INTO {s}.fleet_alerts (report_id, previous_critical, critical, payload, deliver_after)
VALUES (%(report_id)s, %(previous)s, %(critical)s, %(payload)s, %(now)s)
ON CONFLICT (report_id) DO NOTHING
""")

    # Due alerts nobody holds (no row lock, no unexpired lease; all of them, or one report's),
    # given this claim's lease: the transaction commits before anything is sent. Leases use the
    # database's clock (processes as they really are), deliver_after the engine's time.
    claim_alerts = Statement("fleet.claim_alerts", """
UPDATE {s}.fleet_alerts AS a
SET leased_until = clock_timestamp() + %(lease)s::interval, lease_token = %(token)s::uuid
WHERE a.id IN (
    SELECT id FROM {s}.fleet_alerts
    WHERE sent_at IS NULL AND dead_at IS NULL AND deliver_after <= %(now)s
      AND (leased_until IS NULL OR leased_until <= clock_timestamp())
      AND (%(report_id)s::bigint IS NULL OR report_id = %(report_id)s::bigint)
    ORDER BY deliver_after, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED)
RETURNING a.id, a.payload, a.attempts
""")

    # Each claimed alert's attempt, only while this claim still holds its lease (a claim whose
    # lease ran out lost the alert to another process). Sent, retried at retry_at, or dead.
    record_alerts = Statement("fleet.record_alerts", """
UPDATE {s}.fleet_alerts AS a
SET attempts = a.attempts + 1, http_status = v.status, last_error = v.err,
    sent_at = CASE WHEN v.ok THEN v.at END,
    dead_at = CASE WHEN v.dead THEN %(now)s END,
    deliver_after = coalesce(v.retry_at, a.deliver_after),
    leased_until = NULL, lease_token = NULL
FROM unnest(%(ids)s::bigint[], %(status)s::integer[], %(err)s::text[], %(ok)s::boolean[],
            %(dead)s::boolean[], %(retry_at)s::timestamptz[], %(at)s::timestamptz[])
     AS v(id, status, err, ok, dead, retry_at, at)
WHERE a.id = v.id AND a.lease_token = %(token)s::uuid
RETURNING a.id
""")

    # Dead operator alerts (last scheduled attempt failed): the operator channel's dead count.
    dead_alerts = Statement("fleet.dead_alerts", """
SELECT count(*) FROM {s}.fleet_alerts WHERE dead_at IS NOT NULL AND sent_at IS NULL
""")

    latest_report = Statement("latest_report", f"""
SELECT {_REPORT_COLUMNS}
FROM {{s}}.fleet_reports r LEFT JOIN {{s}}.fleet_alerts a ON a.report_id = r.id
WHERE %(at)s::timestamptz IS NULL OR r.computed_for <= %(at)s::timestamptz
ORDER BY r.computed_for DESC, r.id DESC
LIMIT 1
""")

    report_by_id = Statement("report_by_id", f"""
SELECT {_REPORT_COLUMNS}
FROM {{s}}.fleet_reports r LEFT JOIN {{s}}.fleet_alerts a ON a.report_id = r.id
WHERE r.id = %(id)s
""")

    report_vehicles = Statement("report_vehicles", """
SELECT user_id, vehicle_id, health_score, items FROM {s}.fleet_vehicles
WHERE report_id = %(id)s ORDER BY user_id
""")
