"""The SQL of job runs, ranges, cleanup and health snapshots (``{s}``: the engine schema).

Leases use the database clock (``clock_timestamp()``), never a run's ``as_of``: a replayed
run evaluates a past moment, but its workers live now.
"""

from __future__ import annotations

from pam_proactive.db.connection import Statement, StatementSet

_RUN_COLUMNS = (
    "r.id, r.job, r.slot, r.as_of, r.runner, r.status, r.started_at, r.finished_at,"
    " r.ranges, r.ranges_failed, r.ranges_skipped, r.users, r.created, r.escalated,"
    " r.resolved, r.expired, r.errors, r.detail"
)

# The claim of a slot: the winner gets the id back, a duplicate gets nothing.
_INSERT_RUN = """
INSERT INTO {s}.job_runs (job, slot, as_of, runner, ranges)
VALUES (%(job)s, %(slot)s, %(as_of)s, %(runner)s, %(ranges)s)
ON CONFLICT ON CONSTRAINT job_runs_once DO NOTHING
RETURNING id
"""

_INSERT_RANGES = """
INSERT INTO {s}.job_ranges (run_id, seq, lo, hi)
SELECT %(run)s, n - 1, lo, hi FROM unnest(%(lo)s::uuid[], %(hi)s::uuid[])
  WITH ORDINALITY AS b(lo, hi, n)
"""

_RUN_BY_SLOT = (f"SELECT {_RUN_COLUMNS} FROM {{s}}.job_runs r"
               " WHERE r.job = %(job)s AND r.slot = %(slot)s")
_RUN_BY_ID = f"SELECT {_RUN_COLUMNS} FROM {{s}}.job_runs r WHERE r.id = %(run)s"

_RECENT_RUNS = f"""
SELECT {_RUN_COLUMNS} FROM {{s}}.job_runs r
WHERE %(job)s::text IS NULL OR r.job = %(job)s
ORDER BY r.started_at DESC, r.id DESC LIMIT %(limit)s
"""

# Each job's latest finished run (a readiness check compares its slot with the job's period).
_LAST_FINISHED = f"""
SELECT DISTINCT ON (r.job) {_RUN_COLUMNS} FROM {{s}}.job_runs r
WHERE r.status <> 'running' ORDER BY r.job, r.slot DESC
"""

# Other running runs of the job: alive ones (touched within the lease) block a scheduled
# trigger from starting an overlapping run; dead ones are superseded by a newer slot.
_OTHER_RUNNING = """
SELECT id, slot, touched_at > clock_timestamp() - make_interval(secs => %(lease)s::float8) AS alive
FROM {s}.job_runs WHERE job = %(job)s AND status = 'running' AND slot <> %(slot)s
ORDER BY slot
"""

_SKIP_OPEN_RANGES = """
UPDATE {s}.job_ranges SET status = 'skipped', finished_at = clock_timestamp(),
  error = 'superseded by a newer run of the job'
WHERE run_id = %(run)s AND status IN ('pending', 'running')
"""

# Claim one range: a given one (a Celery task) or the first claimable of the given runs (the
# in-process runners, which share work through SKIP LOCKED). A running range is claimable
# when its lease ran out, or always with `takeover` (Celery redelivers a task only when its
# worker was lost). Past the attempt limit the range is failed instead of run again. A retry
# after a transient error presents its previous token (`resume`): not a new attempt.
_CLAIM_RANGE = """
WITH target AS (
  SELECT g.run_id, g.seq,
    (%(resume)s::uuid IS NOT NULL AND g.claim = %(resume)s::uuid) AS resuming,
    g.attempts >= %(max_attempts)s AS exhausted
  FROM {s}.job_ranges g JOIN {s}.job_runs r ON r.id = g.run_id
  WHERE r.status = 'running' AND g.run_id = ANY(%(runs)s::bigint[])
    AND (%(seq)s::integer IS NULL OR g.seq = %(seq)s)
    AND (g.status = 'pending' OR (g.status = 'running' AND (%(takeover)s
         OR g.claimed_at < clock_timestamp() - make_interval(secs => %(lease)s::float8))))
  ORDER BY g.run_id, g.seq LIMIT 1 FOR UPDATE OF g SKIP LOCKED),
claimed AS (
  UPDATE {s}.job_ranges g SET
    status = CASE WHEN t.exhausted AND NOT t.resuming THEN 'failed' ELSE 'running' END,
    error = CASE WHEN t.exhausted AND NOT t.resuming
                 THEN 'gave up after ' || g.attempts || ' attempts (each lost its worker)'
                 ELSE g.error END,
    finished_at = CASE WHEN t.exhausted AND NOT t.resuming THEN clock_timestamp() END,
    attempts = g.attempts + CASE WHEN t.exhausted OR t.resuming THEN 0 ELSE 1 END,
    claim = %(claim)s, claimed_at = clock_timestamp()
  FROM target t WHERE g.run_id = t.run_id AND g.seq = t.seq
  RETURNING g.run_id, g.seq, g.lo, g.hi, g.status, g.attempts),
touched AS (
  UPDATE {s}.job_runs r SET touched_at = clock_timestamp() FROM claimed c WHERE r.id = c.run_id)
SELECT c.run_id, c.seq, c.lo, c.hi, c.status, c.attempts, r.job, r.slot, r.as_of
FROM claimed c JOIN {s}.job_runs r ON r.id = c.run_id
"""

# Only the current holder (its claim token) finishes a range, and only once.
_FINISH_RANGE = """
WITH done AS (
  UPDATE {s}.job_ranges SET status = %(status)s, finished_at = clock_timestamp(),
    users = %(users)s, created = %(created)s, escalated = %(escalated)s,
    resolved = %(resolved)s, expired = %(expired)s, errors = %(errors)s,
    detail = %(detail)s::jsonb, error = %(error)s
  WHERE run_id = %(run)s AND seq = %(seq)s AND claim = %(claim)s AND status = 'running'
  RETURNING run_id),
touched AS (
  UPDATE {s}.job_runs r SET touched_at = clock_timestamp() FROM done WHERE r.id = done.run_id)
SELECT count(*) FROM done
"""

# Give a range back (a runner stopping in the middle of it): pending again, attempt undone.
_RELEASE_RANGE = """
UPDATE {s}.job_ranges SET status = 'pending', claim = NULL, claimed_at = NULL,
  attempts = greatest(attempts - 1, 0)
WHERE run_id = %(run)s AND seq = %(seq)s AND claim = %(claim)s AND status = 'running'
"""

# The last range to finish finalises the run; run after the range's own commit, so the last
# committer always sees every range finished. Idempotent: a finished run is not touched.
_FINALIZE_RUN = """
WITH totals AS (
  SELECT run_id, count(*) AS ranges,
    count(*) FILTER (WHERE status = 'failed') AS failed,
    count(*) FILTER (WHERE status = 'skipped') AS skipped,
    coalesce(sum(users), 0) AS users, coalesce(sum(created), 0) AS created,
    coalesce(sum(escalated), 0) AS escalated, coalesce(sum(resolved), 0) AS resolved,
    coalesce(sum(expired), 0) AS expired, coalesce(sum(errors), 0) AS errors,
    (array_agg(detail))[1] AS first_detail
  FROM {s}.job_ranges WHERE run_id = %(run)s GROUP BY run_id
  HAVING count(*) FILTER (WHERE status IN ('pending', 'running')) = 0)
UPDATE {s}.job_runs r SET
  status = CASE WHEN t.failed = t.ranges THEN 'failed'
                WHEN t.failed > 0 OR t.skipped > 0 OR t.errors > 0 THEN 'partial'
                ELSE 'ok' END,
  finished_at = clock_timestamp(), touched_at = clock_timestamp(), ranges = t.ranges,
  ranges_failed = t.failed, ranges_skipped = t.skipped, users = t.users, created = t.created,
  escalated = t.escalated, resolved = t.resolved, expired = t.expired,
  errors = t.errors + t.failed,
  -- One range: its detail as is; several: each numeric counter summed.
  detail = CASE WHEN t.ranges = 1 THEN t.first_detail ELSE coalesce((
    SELECT jsonb_object_agg(e.key, e.total) FROM (
      SELECT d.key, sum(d.value::text::numeric) AS total
      FROM {s}.job_ranges g, jsonb_each(g.detail) AS d
      WHERE g.run_id = t.run_id AND jsonb_typeof(d.value) = 'number' GROUP BY d.key) AS e),
    '{{}}') END
FROM totals t WHERE r.id = t.run_id AND r.status = 'running'
RETURNING """ + _RUN_COLUMNS

# Runs of the given jobs still running, newest slot first per job (the in-process runner
# helps with them; a stale older one is superseded).
_RUNNING_RUNS = """
SELECT id, job, slot FROM {s}.job_runs WHERE status = 'running' AND job = ANY(%(jobs)s)
ORDER BY slot DESC
"""

_RANGES_OF_RUN = """
SELECT seq, lo, hi, status, attempts, users, created, escalated, resolved, errors, error
FROM {s}.job_ranges WHERE run_id = %(run)s ORDER BY seq
"""

# -- cleanup_and_health_check ---------------------------------------------------------------

_EXPIRE_STALE = """
WITH closed AS (
  UPDATE {s}.suggestions SET status = 'expired', status_changed_at = %(now)s,
    updated_at = %(now)s
  WHERE status IN ('open', 'delivered') AND expires_at <= %(now)s
  RETURNING id),
cancelled AS (
  UPDATE {s}.outbox o SET cancelled_at = %(now)s FROM closed
  WHERE o.suggestion_id = closed.id AND o.delivered_at IS NULL AND o.cancelled_at IS NULL)
SELECT count(*) FROM closed
"""

_PRUNE_RUNS = """
WITH gone AS (DELETE FROM {s}.job_runs WHERE status <> 'running' AND finished_at < %(before)s
              RETURNING id)
SELECT count(*) FROM gone
"""

_PRUNE_SNAPSHOTS = """
WITH gone AS (DELETE FROM {s}.health_snapshots WHERE taken_at < %(before)s RETURNING id)
SELECT count(*) FROM gone
"""

# Sent or cancelled notifications past retention (their delivery attempts cascade); unsent
# ones are kept whatever their age.
_PRUNE_OUTBOX = """
WITH gone AS (
  DELETE FROM {s}.outbox WHERE (delivered_at IS NOT NULL AND delivered_at < %(before)s)
                            OR (cancelled_at IS NOT NULL AND cancelled_at < %(before)s)
  RETURNING id)
SELECT count(*) FROM gone
"""

_HEALTH_SNAPSHOT = """
INSERT INTO {s}.health_snapshots (taken_at, run_id, database_ok, live_suggestions,
                                  pending_outbox, failed_outbox, last_runs)
SELECT %(now)s, %(run)s, true,
  (SELECT count(*) FROM {s}.suggestions WHERE status IN ('open', 'delivered')),
  (SELECT count(*) FROM {s}.outbox WHERE delivered_at IS NULL AND cancelled_at IS NULL),
  (SELECT count(*) FROM {s}.outbox WHERE delivered_at IS NULL AND cancelled_at IS NULL
     AND attempts > 0),
  coalesce((SELECT jsonb_object_agg(job, jsonb_build_object('slot', slot, 'status', status,
                                                            'finished_at', finished_at))
            FROM (SELECT DISTINCT ON (job) job, slot, status, finished_at FROM {s}.job_runs
                  WHERE status <> 'running' ORDER BY job, slot DESC) AS last), '{{}}')
RETURNING live_suggestions, pending_outbox, failed_outbox
"""


class JobStatements(StatementSet):
    """The job runs' statements; ``JobStatements.for_schema(schema)`` binds them for one engine
    schema (names label ``pam_query_seconds{statement=...}``)."""

    insert_run = Statement("job_run_insert", _INSERT_RUN)
    insert_ranges = Statement("job_ranges_insert", _INSERT_RANGES)
    run_by_slot = Statement("job_run_by_slot", _RUN_BY_SLOT)
    run_by_id = Statement("job_run_by_id", _RUN_BY_ID)
    recent_runs = Statement("job_runs_recent", _RECENT_RUNS)
    last_finished = Statement("job_runs_last_finished", _LAST_FINISHED)
    other_running = Statement("job_runs_other", _OTHER_RUNNING)
    skip_open_ranges = Statement("job_ranges_skip", _SKIP_OPEN_RANGES)
    claim_range = Statement("job_range_claim", _CLAIM_RANGE)
    finish_range = Statement("job_range_finish", _FINISH_RANGE)
    release_range = Statement("job_range_release", _RELEASE_RANGE)
    finalize_run = Statement("job_run_finalize", _FINALIZE_RUN)
    running_runs = Statement("job_runs_running", _RUNNING_RUNS)
    ranges_of_run = Statement("job_ranges_of_run", _RANGES_OF_RUN)
    expire_stale = Statement("cleanup_expire", _EXPIRE_STALE)
    prune_runs = Statement("cleanup_runs", _PRUNE_RUNS)
    prune_snapshots = Statement("cleanup_snapshots", _PRUNE_SNAPSHOTS)
    prune_outbox = Statement("cleanup_outbox", _PRUNE_OUTBOX)
    health_snapshot = Statement("health_snapshot", _HEALTH_SNAPSHOT)
