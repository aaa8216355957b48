"""The relevance figures' SQL: one statement over the engine's tables (``{s}``).

Every answer and outcome becomes one event (type, moment, what, suggestion) in
[``since``, ``until``); events are counted per suggestion type and ISO week (UTC, weeks start
on Monday), plus one row per type over the whole window (``week`` NULL).
"""

from __future__ import annotations

from pam_proactive.db.connection import Statement, StatementSet

REASON_COLUMNS = ("not_useful", "wrong", "already_done", "too_early", "other", "unspecified")

_WINDOW = "{at} >= %(since)s AND {at} < %(until)s"


def _in(at: str) -> str:
    return _WINDOW.format(at=at)


_RELEVANCE = Statement(
    "relevance.by_type_week",
    "WITH ev (type, at, what, sid) AS ("
    # A notification delivered (every channel, or released to the app without channels).
    " SELECT s.type, o.delivered_at, 'delivered', s.id FROM {s}.outbox AS o"
    " JOIN {s}.suggestions AS s ON s.id = o.suggestion_id WHERE " + _in("o.delivered_at") +
    " UNION ALL"
    " SELECT type, status_changed_at, 'acted', id FROM {s}.suggestions"
    " WHERE status = 'acted' AND " + _in("status_changed_at") +
    " UNION ALL"
    # Dismissals before feedback existed, or without a reason, count as 'unspecified'.
    " SELECT s.type, s.status_changed_at, 'dismissed:' || coalesce(f.reason, 'unspecified'),"
    "  s.id FROM {s}.suggestions AS s LEFT JOIN {s}.feedback AS f"
    "  ON f.suggestion_id = s.id AND f.verdict = 'dismissed'"
    " WHERE s.status = 'dismissed' AND " + _in("s.status_changed_at") +
    " UNION ALL"
    " SELECT type, created_at, 'useful', suggestion_id FROM {s}.feedback"
    " WHERE verdict = 'useful' AND " + _in("created_at") +
    " UNION ALL"
    " SELECT type, created_at, 'snoozed', suggestion_id FROM {s}.snoozes"
    " WHERE " + _in("created_at") +
    " UNION ALL"
    # Expired without any answer: no feedback, no snooze.
    " SELECT s.type, s.status_changed_at, 'expired_unread', s.id FROM {s}.suggestions AS s"
    " WHERE s.status = 'expired' AND " + _in("s.status_changed_at") +
    "  AND NOT EXISTS (SELECT 1 FROM {s}.feedback AS f WHERE f.suggestion_id = s.id)"
    "  AND NOT EXISTS (SELECT 1 FROM {s}.snoozes AS n WHERE n.suggestion_id = s.id))"
    " SELECT type, week,"
    "  count(DISTINCT sid) FILTER (WHERE what = 'delivered'),"
    "  count(DISTINCT sid) FILTER (WHERE what = 'acted'),"
    "  count(DISTINCT sid) FILTER (WHERE what = 'useful'),"
    "  count(DISTINCT sid) FILTER (WHERE what = 'snoozed'),"
    "  count(DISTINCT sid) FILTER (WHERE what = 'expired_unread'),"
    + ",".join(f"  count(*) FILTER (WHERE what = 'dismissed:{r}')" for r in REASON_COLUMNS) +
    ",  count(DISTINCT sid) FILTER (WHERE what IN ('acted', 'useful')"
    "   OR what LIKE 'dismissed:%%') AS answered,"
    "  count(DISTINCT sid) FILTER (WHERE what IN ('acted', 'useful')) AS relevant"
    " FROM (SELECT ev.*,"
    "  to_char(date_trunc('week', at AT TIME ZONE 'UTC'), 'IYYY-\"W\"IW') AS week FROM ev) AS e"
    " GROUP BY GROUPING SETS ((type, week), (type))"
    " ORDER BY type, week NULLS FIRST"
)


class RelevanceStatements(StatementSet):
    """The relevance figures' statement;
    ``RelevanceStatements.for_schema(schema)`` binds them for one engine schema (names label
    ``pam_query_seconds{statement=...}``)."""

    relevance = _RELEVANCE
