"""Relevance, measured: what travelers did with each type of suggestion, per ISO week.

For each suggestion type and ISO week (UTC), counting suggestions (not notifications):

* ``delivered``: with a notification delivered that week;
* ``acted``, ``dismissed`` (by reason: not_useful, wrong, already_done, too_early, other, and
  ``unspecified`` for a dismissal without one), ``useful`` (rated useful), ``snoozed``;
* ``expired_unread``: expired that week without any answer (no feedback, no snooze);
* ``answered``: acted on, dismissed or rated useful; ``relevant``: acted on or rated useful;
* ``relevance_rate`` = relevant / answered and ``wrong_rate`` = dismissed as wrong / answered
  (None when nothing was answered). A snooze is not a verdict: it counts in neither.

The seed's target is a relevance rate of at least :data:`TARGET` (alerts.yml).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pam_proactive.analysis.dates import require_aware
from pam_proactive.db.connection import Database
from pam_proactive.observability import metrics
from pam_proactive.suggestions.relevance_sql import REASON_COLUMNS, RelevanceStatements

TARGET = 0.85  # the seed's "85%+ relevant suggestions"
WINDOW = timedelta(days=28)  # the rolling window of the /metrics gauges


@dataclass(frozen=True, slots=True)
class Relevance:
    """The counts of one suggestion type over one ISO week (``week`` like '2026-W49'), or over
    the whole window (``week`` None)."""

    type: str
    week: str | None
    delivered: int
    acted: int
    useful: int
    snoozed: int
    expired_unread: int
    dismissed: dict[str, int] = field(default_factory=dict)  # by reason
    answered: int = 0
    relevant: int = 0

    @property
    def relevance_rate(self) -> float | None:
        """(acted + rated useful) / answered; None when nothing was answered."""
        return self.relevant / self.answered if self.answered else None

    @property
    def wrong_rate(self) -> float | None:
        """Dismissed as wrong / answered; None when nothing was answered."""
        return self.dismissed.get("wrong", 0) / self.answered if self.answered else None

    def as_json(self) -> dict[str, Any]:
        """Plain JSON, rates included."""
        return {"type": self.type, "week": self.week, "delivered": self.delivered,
                "acted": self.acted, "useful": self.useful, "snoozed": self.snoozed,
                "expired_unread": self.expired_unread, "dismissed": dict(self.dismissed),
                "answered": self.answered, "relevant": self.relevant,
                "relevance_rate": self.relevance_rate, "wrong_rate": self.wrong_rate}


def week_start(moment: datetime) -> datetime:
    """00:00 UTC of the Monday of ``moment``'s ISO week."""
    day = moment.astimezone(UTC).date()
    monday = day - timedelta(days=day.weekday())
    return datetime(monday.year, monday.month, monday.day, tzinfo=UTC)


async def relevance(db: Database, schema: str, *, since: datetime, until: datetime
                    ) -> list[Relevance]:
    """The figures per type and week of [``since``, ``until``), then each type's totals
    (``week`` None, listed first per type)."""
    require_aware(since, "since")
    require_aware(until, "until")
    if until <= since:
        raise ValueError("until must be after since")
    rows = await db.fetch(*RelevanceStatements.for_schema(schema).relevance,
                          {"since": since, "until": until})
    found = []
    n = len(REASON_COLUMNS)
    for row in rows:
        dismissed = {r: int(v) for r, v in zip(REASON_COLUMNS, row[7:7 + n], strict=True)}
        found.append(Relevance(
            type=str(row[0]), week=row[1], delivered=int(row[2]), acted=int(row[3]),
            useful=int(row[4]), snoozed=int(row[5]), expired_unread=int(row[6]),
            dismissed=dismissed, answered=int(row[7 + n]), relevant=int(row[8 + n])))
    return found


async def recent_weeks(db: Database, schema: str, now: datetime, weeks: int
                       ) -> list[Relevance]:
    """:func:`relevance` of the last ``weeks`` ISO weeks, the current one included."""
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    require_aware(now, "now")
    since = week_start(now) - timedelta(weeks=weeks - 1)
    return await relevance(db, schema, since=since, until=now + timedelta(microseconds=1))


async def publish_metrics(db: Database, schema: str, now: datetime) -> list[Relevance]:
    """Set the relevance gauges of /metrics from the last :data:`WINDOW`; returns the totals."""
    rows = await relevance(db, schema, since=now - WINDOW, until=now + timedelta(microseconds=1))
    totals = [r for r in rows if r.week is None]
    metrics.set_relevance((r.type, r.delivered, r.answered, r.relevance_rate, r.wrong_rate)
                          for r in totals)
    return totals
