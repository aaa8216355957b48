"""The batch SQL: one statement per entity for a whole batch of users.

Every statement reads the engine's ``traveler_*`` views (never the traveler tables directly), so
it is written once for every preset. Users come in as two parallel arrays, ``ids`` and
``today`` (each user's local date at ``now``), so each user's periods follow their own
timezone. Rows created after ``now`` and dated after the user's ``today`` are ignored, which
is what makes a past moment replayable.
"""

from __future__ import annotations

from pam_proactive.data.rows import UserRow
from pam_proactive.db.connection import Statement, StatementSet

# Users as (user_id, today, i) rows, i the user's 1-based position in the batch; shared by
# every per-entity statement. Rows come back keyed by i, not by the uuid: an integer is far
# cheaper than a UUID to parse and hash on the client, for every row of the batch.
#
# Every statement also bounds the entity's user_id by the batch's lowest and highest id
# (``lo``, ``hi``). The join alone lets the planner hash the whole table for every batch, so a
# sweep cost batches x table size; a keyset page's ids are contiguous, and the range turns
# that into an index range scan of the batch's own rows.
_USERS = """WITH u AS (SELECT * FROM unnest(%(ids)s::uuid[], %(today)s::date[])
           WITH ORDINALITY AS u(user_id, today, i))"""

# users_by_id's columns are the fields of its row type, in order (read by name).
_USER_COLUMNS = ", ".join(UserRow._fields)

# Rows recorded after ``now`` (by created_at): ignored by every statement below, counted
# by recorded_after_now per user and source so that a replayed moment reports them as
# recorded-after-now rather than as a missing source. In live use hardly any row is after now,
# so each branch is a short range scan of the created_at index.
_AFTER_NOW_SOURCES = (("expenses", "traveler_expenses"), ("budgets", "traveler_budgets"),
                      ("trips", "traveler_trips"), ("calendar_events", "traveler_events"),
                      ("fuel_log", "traveler_fuel_fills"),
                      ("maintenance_records", "traveler_maintenance"))


# The expenses' scanned window per user (``p.scan_from``) and the scan itself (``expenses``):
# the window reaches back 97 days and to the first day of the third month before the current
# one (the spending trend's prior months), or to the start of the year for users with a
# yearly budget.
_EXPENSE_WINDOW = """,
p AS (
    SELECT u.user_id, u.i, u.today,
           least(CASE WHEN EXISTS (SELECT 1 FROM {s}.traveler_budgets b
                                   WHERE b.user_id = u.user_id AND b.period = 'yearly')
                      THEN date_trunc('year', u.today::timestamp)::date
                      ELSE date_trunc('week', u.today::timestamp)::date END,
                 u.today - 97,
                 (date_trunc('month', u.today::timestamp) - interval '3 months')::date)
             AS scan_from
    FROM u
)"""
_EXPENSE_SCAN = """FROM p
JOIN {s}.traveler_expenses x ON x.user_id = p.user_id AND x.spent_on >= p.scan_from
WHERE x.user_id BETWEEN %(lo)s::uuid AND %(hi)s::uuid
  AND (x.created_at IS NULL OR x.created_at <= %(now)s)"""


class BatchStatements(StatementSet):
    """The batch statements; ``BatchStatements.for_schema(schema)`` binds them for one engine
    schema. Entity statements are named after the source they read (``audit_read``)."""

    # Which of the engine's traveler views exist (the health report).
    health_views = Statement(
        "health_views",
        "SELECT table_name::text FROM information_schema.views"
        " WHERE table_schema = %(schema)s AND table_name = ANY(%(views)s)")

    users_by_id = Statement("users_by_id", f"""
SELECT {_USER_COLUMNS}
FROM {{s}}.traveler_users WHERE user_id = ANY(%(ids)s::uuid[])
""")

    # Keyset pagination: stable under concurrent inserts, no OFFSET scans.
    active_user_page = Statement("active_user_page", """
SELECT user_id FROM {s}.traveler_users
WHERE status = 'active' AND NOT opted_out AND user_id > %(after)s::uuid
ORDER BY user_id LIMIT %(limit)s
""")

    # The sweep includes opted-out users so that their live suggestions are resolved.
    sweep_user_page = Statement("sweep_user_page", """
SELECT user_id FROM {s}.traveler_users
WHERE status = 'active' AND user_id > %(after)s::uuid AND user_id <= %(upto)s::uuid
ORDER BY user_id LIMIT %(limit)s
""")

    # The expenses of the scanned window (``_EXPENSE_WINDOW``), for the column-wise reads
    # (data/columnar/read.py: columns of frames.EXPENSES, one row per user, each column but
    # ``i`` an array with one element per expense, unrolled by the reader); the id only for the
    # last 7 days, the description for the duplicate rule. Ordered by user, then day and id,
    # so that a batch's frame (and every sum taken over it) is the same at each read. Arrays,
    # not a row per expense: the client's cost of a binary COPY is mostly per row (ADBC, 9,480
    # travelers' 483k expenses: 0.28 s of client CPU as rows, 0.19 s as arrays unrolled by
    # Polars; server alike).
    expenses = Statement("expenses", _USERS + _EXPENSE_WINDOW + """
SELECT p.i,
       array_agg(x.category ORDER BY x.spent_on, x.expense_id) AS category,
       array_agg(x.amount ORDER BY x.spent_on, x.expense_id) AS amount,
       array_agg(x.spent_on - p.today ORDER BY x.spent_on, x.expense_id) AS "offset",
       array_agg(CASE WHEN x.spent_on > p.today - 7 THEN x.expense_id END
                 ORDER BY x.spent_on, x.expense_id) AS expense_id,
       array_agg(x.description ORDER BY x.spent_on, x.expense_id) AS description
""" + _EXPENSE_SCAN + """
GROUP BY p.i
ORDER BY p.i
""")

    budgets = Statement("budgets", _USERS + """
SELECT u.i, b.budget_id, b.category, b.amount_limit, b.period, b.start_date, b.end_date,
       b.alert_threshold_pct
FROM u JOIN {s}.traveler_budgets b ON b.user_id = u.user_id
WHERE b.user_id BETWEEN %(lo)s::uuid AND %(hi)s::uuid
  AND b.start_date <= u.today AND (b.end_date IS NULL OR b.end_date >= u.today)
  AND (b.created_at IS NULL OR b.created_at <= %(now)s)
ORDER BY u.i, b.budget_id
""")

    # Rows are data.rows.TripRow (read by name: each column is named after its field).
    # Coordinates are pulled out of route_data in SQL only when it is a JSON object; a JSON
    # string (text-encoded JSON, as some clients store it) comes back as text to be parsed in
    # Python.
    trips = Statement("trips", _USERS + """
SELECT u.i, t.trip_id, t.status, t.origin, t.destination, t.start_date, t.end_date,
       t.distance_miles, t.estimated_cost,
       r.rd #>> ARRAY['origin', 'lat'] AS origin_lat,
       r.rd #>> ARRAY['origin', 'lng'] AS origin_lng,
       r.rd #>> ARRAY['destination', 'lat'] AS destination_lat,
       r.rd #>> ARRAY['destination', 'lng'] AS destination_lng,
       CASE WHEN jsonb_typeof(t.route_data) = 'string' THEN t.route_data #>> ARRAY[]::text[] END
         AS route_text,
       jsonb_typeof(t.route_data) AS route_type
FROM u JOIN {s}.traveler_trips t ON t.user_id = u.user_id
CROSS JOIN LATERAL (SELECT CASE WHEN jsonb_typeof(t.route_data) = 'object'
                               THEN t.route_data END AS rd) r
WHERE t.user_id BETWEEN %(lo)s::uuid AND %(hi)s::uuid
  AND (t.created_at IS NULL OR t.created_at <= %(now)s)
  AND (t.end_date IS NULL OR t.end_date >= u.today - 365)
ORDER BY u.i, t.start_date NULLS LAST, t.trip_id
""")

    events = Statement("calendar_events", _USERS + """
SELECT u.i, c.event_id, c.title, c.starts_at, c.ends_at, c.all_day, c.event_type,
       c.location_name
FROM u JOIN {s}.traveler_events c ON c.user_id = u.user_id
WHERE c.user_id BETWEEN %(lo)s::uuid AND %(hi)s::uuid
  AND c.starts_at >= %(now)s - interval '1 day' AND c.starts_at < %(now)s + interval '30 days'
  AND (c.created_at IS NULL OR c.created_at <= %(now)s)
ORDER BY u.i, c.starts_at, c.event_id
""")

    # Fills dated after the user's today come too: a fill-up cannot lie ahead, so the assembly
    # skips and counts them (``fuel_date_future``) rather than ignoring them silently.
    fuel = Statement("fuel_log", _USERS + """
SELECT u.i, f.fill_id, f.filled_on, f.odometer_miles, f.gallons, f.total_cost, f.is_full
FROM u JOIN {s}.traveler_fuel_fills f ON f.user_id = u.user_id
WHERE f.user_id BETWEEN %(lo)s::uuid AND %(hi)s::uuid
  AND f.filled_on > u.today - 400
  AND (f.created_at IS NULL OR f.created_at <= %(now)s)
ORDER BY u.i, f.filled_on, f.odometer_miles NULLS FIRST, f.fill_id
""")

    # Latest record per (vehicle, task): a scheduled service (not performed yet) is the task's
    # current state; otherwise the most recent service supersedes the older ones.
    maintenance = Statement("maintenance_records", _USERS + """
SELECT DISTINCT ON (u.i, m.vehicle_id, m.task)
       u.i, m.record_id, m.vehicle_id, m.task, m.performed_on, m.mileage_miles,
       m.next_due_date, m.next_due_mileage_miles
FROM u JOIN {s}.traveler_maintenance m ON m.user_id = u.user_id
WHERE m.user_id BETWEEN %(lo)s::uuid AND %(hi)s::uuid
  AND (m.performed_on IS NULL OR m.performed_on <= u.today)
  AND (m.created_at IS NULL OR m.created_at <= %(now)s)
  AND m.task IS NOT NULL AND m.task <> ''
ORDER BY u.i, m.vehicle_id, m.task, m.performed_on DESC NULLS FIRST, m.record_id DESC
""")

    vehicles = Statement("vehicles", _USERS + """
SELECT DISTINCT ON (u.i)
       u.i, v.vehicle_id, v.name, v.vehicle_type, v.fuel_type, v.tank_gallons, v.mpg,
       v.odometer_miles, v.registration_expires, v.insurance_expires
FROM u JOIN {s}.traveler_vehicles v ON v.user_id = u.user_id
WHERE v.user_id BETWEEN %(lo)s::uuid AND %(hi)s::uuid
ORDER BY u.i, v.is_primary DESC, v.vehicle_id
""")

    recorded_after_now = Statement("recorded_after_now", _USERS + """
SELECT u.i, x.source, count(*)
FROM u JOIN (
""" + "\n    UNION ALL\n".join(
    f"    SELECT '{name}'::text AS source, user_id FROM {{s}}.{view}"
    " WHERE created_at > %(now)s AND user_id BETWEEN %(lo)s::uuid AND %(hi)s::uuid"
    for name, view in _AFTER_NOW_SOURCES) + """
) x ON x.user_id = u.user_id
GROUP BY u.i, x.source
""")

    # Users with something going on: recent spending, trips or events, or plans ahead.
    monitored_users = Statement("monitored_users", """
SELECT u.user_id FROM {s}.traveler_users u
WHERE u.status = 'active' AND NOT u.opted_out AND u.user_id > %(after)s::uuid
  AND (EXISTS (SELECT 1 FROM {s}.traveler_expenses e WHERE e.user_id = u.user_id
               AND e.spent_on BETWEEN %(since)s AND %(today)s)
       OR EXISTS (SELECT 1 FROM {s}.traveler_trips t WHERE t.user_id = u.user_id
               AND t.status IN ('planned', 'active'))
       OR EXISTS (SELECT 1 FROM {s}.traveler_events c WHERE c.user_id = u.user_id
               AND c.starts_at BETWEEN %(now)s AND %(now)s + interval '30 days'))
ORDER BY u.user_id LIMIT %(limit)s
""")

    planned_trip_users = Statement("planned_trip_users", """
SELECT DISTINCT t.user_id FROM {s}.traveler_trips t
WHERE t.status IN ('planned', 'active') AND t.start_date BETWEEN %(today)s AND %(until)s
  AND (t.created_at IS NULL OR t.created_at <= %(now)s)
ORDER BY t.user_id
""")
