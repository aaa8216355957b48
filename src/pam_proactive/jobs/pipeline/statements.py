"""The SQL of the evaluation pipeline's own selections (``{s}``: the engine schema)."""

from __future__ import annotations

from pam_proactive.db.connection import Statement, StatementSet

# A traveler job's change-feed cursor: the as_of of its latest earlier run that finished with
# every range done (a run with a failed or skipped range does not move it, so the next run
# re-reads that window), and of the latest such run that was a full pass.
_JOB_CURSOR = """
SELECT max(as_of),
  max(as_of) FILTER (WHERE coalesce((detail->>'full_pass')::numeric, 0) > 0)
FROM {s}.job_runs
WHERE job = %(job)s AND slot < %(slot)s AND status IN ('ok', 'partial')
  AND ranges_failed = 0 AND ranges_skipped = 0
"""

# The active travelers among ids (what a full sweep evaluates) not already evaluated, in the
# scope, for a moment after this evaluation's.
_FRESH_ACTIVE = """
SELECT u.user_id FROM {s}.traveler_users u
WHERE u.user_id = ANY(%(ids)s::uuid[]) AND u.status = 'active'
  AND NOT EXISTS (SELECT 1 FROM {s}.evaluation_state e
                  WHERE e.scope = %(scope)s AND e.user_id = u.user_id
                    AND e.evaluated_for > %(now)s)
"""

# Held for a whole evaluation of a watcher batch by the Celery task (see
# ``batches.evaluate_batch``). Its own lock class: the store, inside the evaluation, takes
# the per-user store lock on other connections.
EVALUATE_LOCK_CLASS = 0x706177
_EVALUATE_LOCK = """
SELECT count(pg_advisory_xact_lock(%(cls)s, k)) FROM
  (SELECT DISTINCT hashtext(u::text) AS k FROM unnest(%(ids)s::uuid[]) AS u ORDER BY k) AS q
"""


class PipelineStatements(StatementSet):
    """The pipeline's statements; ``PipelineStatements.for_schema(schema)`` binds them for one
    engine schema."""

    job_cursor = Statement("job_cursor", _JOB_CURSOR)
    fresh_active = Statement("watch_fresh_active", _FRESH_ACTIVE)
    evaluate_lock = Statement("watch_evaluate_lock", _EVALUATE_LOCK)
