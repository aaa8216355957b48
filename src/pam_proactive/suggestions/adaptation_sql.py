"""The SQL of per-traveler adaptation outside the store's batch (see :mod:`adaptation`).

Placeholders: ``{s}`` the engine schema. The reversal is the database function
``reset_adaptations`` (migration 0015_adaptation), which Supabase apps call too through
``migrate --supabase``'s ``reset_my_adaptations``; the store's own statements (``adapt``,
``offers`` and the uses in ``mark_history`` and ``notify``) are ``store_sql.StoreStatements``.
"""

from __future__ import annotations

from pam_proactive.db.connection import Statement, StatementSet

COLUMNS = ("user_id, type, kind, dedup_key, level, value, answers, since, updated_at,"
           " offered_at, offer_answered_at, reset_at, reset_by")

# The type-wide adaptations in force of some travelers and types (for `why`).
_IN_FORCE = Statement(
    "adaptation.in_force",
    "SELECT " + COLUMNS + " FROM {s}.adaptations WHERE user_id = ANY(%(users)s::uuid[])"
    " AND type = ANY(%(types)s::text[]) AND dedup_key = '' AND level > 0"
    " ORDER BY user_id, type, kind",
)

# One traveler's adaptations (user_id NULL: everyone's); with all false, only those in force;
# with markers false, not the rows a reset wrote only to restart a count (never in force).
_LIST = Statement(
    "adaptation.list",
    "SELECT " + COLUMNS + " FROM {s}.adaptations"
    " WHERE (%(user_id)s::uuid IS NULL OR user_id = %(user_id)s::uuid)"
    " AND (level > 0 OR (%(all)s AND (since IS NOT NULL OR %(markers)s)))"
    " ORDER BY updated_at DESC, user_id, type, kind, dedup_key LIMIT %(limit)s",
)

_RESET = Statement(
    "adaptation.reset",
    "SELECT {s}.reset_adaptations(%(user_id)s, %(type)s, %(now)s, %(by)s)",
)

_ERASE = Statement(
    "adaptation.erase", "DELETE FROM {s}.adaptations WHERE user_id = %(user_id)s"
)


class AdaptationStatements(StatementSet):
    """The adaptation statements outside the store's batch;
    ``AdaptationStatements.for_schema(schema)`` binds them for one engine schema (names label
    ``pam_query_seconds{statement=...}``)."""

    in_force = _IN_FORCE
    list = _LIST
    reset = _RESET
    erase = _ERASE
