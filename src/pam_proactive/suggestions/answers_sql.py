"""The SQL of a traveler's answers to a suggestion: snooze, dismiss with a reason, useful.

Placeholders: ``{s}`` the engine schema. The answers themselves are database functions
(migration 0013_traveler_answers), the one implementation that Supabase apps call too through
``migrate --supabase``'s wrappers: each takes the sweep's per-user lock, so an answer and a
sweep of the same traveler never interleave. The engine calls them without a traveler
(``p_user`` NULL): its API checks ownership before.
"""

from __future__ import annotations

from pam_proactive.db.connection import Statement, StatementSet

# Snoozing a live suggestion snoozes its subject (user + dedup_key); snoozing it again moves
# the end; its unsent notifications are cancelled. Returns the snooze's id, its end and the
# notifications held, or no row when the suggestion is absent or no longer live.
_SNOOZE = Statement(
    "answers.snooze",
    "SELECT snooze_id, until, held FROM {s}.answer_snooze(%(id)s, %(until)s, %(now)s, NULL)",
)

# A dismissal (close_suggestion, the one rule for closing) keeping the traveler's reason and
# note with the suggestion's type, priority, subject and numbers. True when a live suggestion
# was dismissed.
_DISMISS = Statement(
    "answers.dismiss",
    "SELECT {s}.answer_dismiss(%(id)s, %(reason)s, %(note)s, %(now)s, NULL)",
)

# "Useful", on a suggestion in any status (it stays as it is): NULL when absent, true when
# recorded, false when already rated useful.
_USEFUL = Statement(
    "answers.useful",
    "SELECT {s}.answer_useful(%(id)s, %(now)s, NULL)",
)

# The live snoozes of some subjects, for the suggestions' explanations.
_LIVE_SNOOZES = Statement(
    "answers.live_snoozes",
    "SELECT user_id, dedup_key, id, created_at, until, priority FROM {s}.snoozes"
    " WHERE ended_at IS NULL AND user_id = ANY(%(users)s::uuid[])"
    " AND dedup_key = ANY(%(keys)s::text[])"
)

# A traveler's snoozes and feedback, for the privacy export and erasure.
_EXPORT_SNOOZES = Statement(
    "answers.export_snoozes",
    "SELECT to_jsonb(n) FROM {s}.snoozes AS n WHERE n.user_id = %(user_id)s ORDER BY n.id"
)
_EXPORT_FEEDBACK = Statement(
    "answers.export_feedback",
    "SELECT to_jsonb(f) FROM {s}.feedback AS f WHERE f.user_id = %(user_id)s ORDER BY f.id"
)
_ERASE_FEEDBACK = Statement(
    "answers.erase_feedback", "DELETE FROM {s}.feedback WHERE user_id = %(user_id)s"
)
_ERASE_SNOOZES = Statement(
    "answers.erase_snoozes", "DELETE FROM {s}.snoozes WHERE user_id = %(user_id)s"
)


class AnswerStatements(StatementSet):
    """The answers' statements; ``AnswerStatements.for_schema(schema)`` binds them for one engine
    schema (names label ``pam_query_seconds{statement=...}``)."""

    snooze = _SNOOZE
    dismiss = _DISMISS
    useful = _USEFUL
    live_snoozes = _LIVE_SNOOZES
    export_snoozes = _EXPORT_SNOOZES
    export_feedback = _EXPORT_FEEDBACK
    erase_feedback = _ERASE_FEEDBACK
    erase_snoozes = _ERASE_SNOOZES
