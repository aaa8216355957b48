"""Storing and reading per-user pattern insights (``insights`` table of the engine schema)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from pam_proactive.analysis.dates import require_aware
from pam_proactive.analysis.insights import KINDS, insights_by_user
from pam_proactive.context import UserContext
from pam_proactive.data.users import parse_user_id
from pam_proactive.engine import Engine
from pam_proactive.reports.statements import ReportStatements


@dataclass(frozen=True, slots=True)
class InsightRecord:
    """One stored insight: ``values`` (numbers) describe [period_start, period_end], the
    user's local dates, as computed for ``computed_for``."""

    user_id: UUID
    kind: str
    period_start: date
    period_end: date
    values: dict[str, Any]
    computed_for: datetime
    updated_at: datetime


def _statements(engine: Engine) -> ReportStatements:
    return ReportStatements.for_schema(engine.settings.engine_schema)


async def store_insights(engine: Engine, contexts: Mapping[UUID, UserContext], now: datetime
                         ) -> int:
    """Compute every insight of ``contexts`` and store them with one statement: the row of
    the same user, kind and period start is replaced, not duplicated (unless it was computed
    for a later moment than ``now``). Opted-out travelers get none. Returns the rows written."""
    require_aware(now)
    found = insights_by_user(contexts, engine.detector_settings)
    columns: dict[str, list[Any]] = {k: [] for k in
                                     ("users", "kinds", "starts", "ends", "values", "computed")}
    for user_id, insights in found.items():
        for insight in insights:
            columns["users"].append(user_id)
            columns["kinds"].append(insight.kind)
            columns["starts"].append(insight.period_start)
            columns["ends"].append(insight.period_end)
            columns["values"].append(json.dumps(insight.values, sort_keys=True))
            columns["computed"].append(now)
    if not columns["users"]:
        return 0
    async with engine.db.transaction("upsert_insights") as tx:
        return max(await tx.execute(*_statements(engine).upsert_insights,
                                    columns), 0)


async def get_insights(engine: Engine, user_id: object, *, kind: str | None = None,
                       limit: int = 100) -> list[InsightRecord]:
    """A user's stored insights, latest period first (optionally of one ``kind``)."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown insight kind {kind!r}; use one of {', '.join(KINDS)}")
    uid = parse_user_id(user_id)
    rows = await engine.db.fetch(*_statements(engine).get_insights,
                                 {"user_id": uid, "kind": kind, "limit": limit})
    return [InsightRecord(r[0], r[1], r[2], r[3], dict(r[4]), r[5], r[6]) for r in rows]
