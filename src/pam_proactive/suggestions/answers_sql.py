"""The SQL of a traveler's answers to a suggestion: snooze, dismiss with a reason, useful.

Placeholders: ``{s}`` the engine schema. Each runs after ``store.LOCK_OWNER`` (the sweep's
per-user lock), so an answer and a sweep of the same traveler never interleave.
"""

from __future__ import annotations

from pam_proactive.db.connection import Statement
from pam_proactive.suggestions.store_sql import CANCEL_PENDING

# Snoozing a live suggestion snoozes its subject (user + dedup_key); snoozing it again moves
# the end. Its unsent notifications are cancelled, not postponed: the snooze's end writes one
# 'resumed' notification with what is true then (store_sql.END_SNOOZES), so nothing stale is
# sent and nothing is sent twice. Returns the snooze's id, its end and the notifications held.
SNOOZE = Statement(
    "answers.snooze",
    "WITH s AS ("
    " SELECT id, user_id, dedup_key, type, priority, priority_rank FROM {s}.suggestions"
    " WHERE id = %(id)s AND status IN ('open', 'delivered')),"
    " sn AS ("
    " INSERT INTO {s}.snoozes (user_id, dedup_key, suggestion_id, type, priority,"
    "  priority_rank, created_at, until)"
    " SELECT user_id, dedup_key, id, type, priority, priority_rank, %(now)s, %(until)s FROM s"
    " ON CONFLICT (user_id, dedup_key) WHERE ended_at IS NULL DO UPDATE SET"
    "  until = EXCLUDED.until, suggestion_id = EXCLUDED.suggestion_id,"
    "  priority = EXCLUDED.priority, priority_rank = EXCLUDED.priority_rank"
    " RETURNING id, until),"
    " closed AS (SELECT id FROM s),"
    " cancelled AS (" + CANCEL_PENDING + " RETURNING o.id)"
    " SELECT sn.id, sn.until, (SELECT count(*) FROM cancelled) FROM sn"
)

# The live snoozes of some subjects, for the suggestions' explanations.
LIVE_SNOOZES = Statement(
    "answers.live_snoozes",
    "SELECT user_id, dedup_key, id, created_at, until, priority FROM {s}.snoozes"
    " WHERE ended_at IS NULL AND user_id = ANY(%(users)s::uuid[])"
    " AND dedup_key = ANY(%(keys)s::text[])"
)

_FEEDBACK_COLUMNS = (
    " (suggestion_id, user_id, dedup_key, type, priority, priority_rank, data, verdict, reason,"
    " note, created_at)"
)

# A dismissal (store.CLOSE_ONE) that also keeps the traveler's reason with the suggestion's
# type, priority, subject and numbers. Returns 1 when a live suggestion was dismissed.
# The traveler's reason for a dismissal, kept once the suggestion was closed (by
# store.CLOSE_ONE, the one rule for closing, in the same transaction) with what it said.
KEEP_DISMISSAL = Statement(
    "answers.keep_dismissal",
    "INSERT INTO {s}.feedback" + _FEEDBACK_COLUMNS +
    " SELECT id, user_id, dedup_key, type, priority, priority_rank, data, 'dismissed',"
    "  %(reason)s, %(note)s, %(now)s FROM {s}.suggestions"
    " WHERE id = %(id)s AND status = 'dismissed'"
    " ON CONFLICT (suggestion_id, verdict) DO NOTHING",
)

# "Useful", on a suggestion in any status (it stays as it is). Returns (found, recorded): a
# second rating of the same suggestion records nothing.
USEFUL = Statement(
    "answers.useful",
    "WITH s AS ("
    " SELECT id, user_id, dedup_key, type, priority, priority_rank, data FROM {s}.suggestions"
    " WHERE id = %(id)s),"
    " kept AS ("
    " INSERT INTO {s}.feedback" + _FEEDBACK_COLUMNS +
    " SELECT id, user_id, dedup_key, type, priority, priority_rank, data, 'useful', NULL, NULL,"
    "  %(now)s FROM s"
    " ON CONFLICT (suggestion_id, verdict) DO NOTHING RETURNING id)"
    " SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM kept)"
)

# A traveler's snoozes and feedback, for the privacy export and erasure.
EXPORT_SNOOZES = Statement(
    "answers.export_snoozes",
    "SELECT to_jsonb(n) FROM {s}.snoozes AS n WHERE n.user_id = %(user_id)s ORDER BY n.id"
)
EXPORT_FEEDBACK = Statement(
    "answers.export_feedback",
    "SELECT to_jsonb(f) FROM {s}.feedback AS f WHERE f.user_id = %(user_id)s ORDER BY f.id"
)
ERASE_FEEDBACK = Statement(
    "answers.erase_feedback", "DELETE FROM {s}.feedback WHERE user_id = %(user_id)s"
)
ERASE_SNOOZES = Statement(
    "answers.erase_snoozes", "DELETE FROM {s}.snoozes WHERE user_id = %(user_id)s"
)
