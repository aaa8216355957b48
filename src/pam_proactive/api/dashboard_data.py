"""The dashboard's data: engine health, job runs, query and cache performance, suggestions over
time, fleet health, recent suggestions — as one JSON-ready dict.

Tables another part of the engine may not have created yet (``job_runs``, ``fleet_reports``)
give empty series rather than errors. Nothing personal is returned: types, priorities,
statuses, counts, timings and whole user ids (no names, places, amounts, titles or messages).
Long lists are pages (:func:`page`): a bounded slice with its offset, size and total.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from pam_proactive.api.dashboard_statements import DashboardStatements
from pam_proactive.api.limits import DASHBOARD_MAX_OFFSET, DASHBOARD_PAGE_ROWS
from pam_proactive.db.connection import BoundStatement
from pam_proactive.engine import Engine
from pam_proactive.errors import PamError
from pam_proactive.suggestions import relevance as rel

WINDOW_DAYS = 30
RELEVANCE_WEEKS = 8
RUNS_LIMIT = 200
FLEET_LIMIT = 30
PRIORITIES = ("critical", "high", "medium", "low")


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def page(items: list[dict[str, Any]], offset: int, total: int) -> dict[str, Any]:
    """One page of a list: its ``items``, where it starts (``offset``, rows), the page size
    (``limit``, rows) and how many rows the whole list holds (``total``)."""
    return {"items": items, "offset": offset, "limit": DASHBOARD_PAGE_ROWS, "total": total}


def _offset(offset: int) -> int:
    """``offset`` within the dashboard's bound (the HTTP layer refuses others first)."""
    if not 0 <= offset <= DASHBOARD_MAX_OFFSET:
        raise ValueError(f"a dashboard page starts at 0 to {DASHBOARD_MAX_OFFSET} rows in")
    return offset


def _series(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """(day, key, count) rows as chart series: ``{"labels": days, "series": {key: counts}}``."""
    days = sorted({r[0] for r in rows})
    index = {d: i for i, d in enumerate(days)}
    series: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    for day, key, count in rows:
        series[str(key)][index[day]] = int(count)
    return {"labels": days, "series": dict(sorted(series.items()))}


def _by_priority(data: dict[str, Any]) -> dict[str, Any]:
    """The priority series in severity order (critical first)."""
    series = data["series"]
    data["series"] = {p: series[p] for p in PRIORITIES if p in series}
    return data


class _Reader:
    """Runs the dashboard's statements on the engine's schema, through the timed ``fetch``."""

    def __init__(self, engine: Engine) -> None:
        self.db = engine.db
        self.schema = engine.settings.engine_schema
        self.q = DashboardStatements.for_schema(self.schema)

    async def rows(self, statement: BoundStatement, params: dict[str, Any] | None = None
                   ) -> list[tuple[Any, ...]]:
        return await self.db.fetch(*statement, params or {})

    async def tables(self) -> tuple[bool, bool]:
        (row,) = await self.db.fetch(*self.q.tables, {
            "job_runs": f"{self.schema}.job_runs",
            "fleet_reports": f"{self.schema}.fleet_reports"})
        return bool(row[0]), bool(row[1])


def _engine_health(engine: Engine, reachable: bool) -> dict[str, Any]:
    snapshot = engine.db.metrics.snapshot()
    # Where the time goes: total time (count x mean) first.
    statements = sorted(snapshot["statements"].items(),
                        key=lambda kv: (-kv[1]["count"] * kv[1]["mean_ms"], kv[0]))[:10]
    cache = engine.data.cache.stats()
    pool = engine.db.pool_stats()
    return {
        "database": "reachable" if reachable else "unreachable",
        "pool": {"size": pool.get("pool_size", 0), "max": pool.get("pool_max", 0),
                 "in_use": pool.get("pool_size", 0) - pool.get("pool_available", 0),
                 "waiting": pool.get("requests_waiting", 0)},
        "queries": {k: snapshot[k] for k in ("queries_executed", "query_errors",
                                             "average_query_ms", "p95_query_ms",
                                             "slow_queries")},
        "statements": {"labels": [name for name, _ in statements],
                       "mean_ms": [s["mean_ms"] for _, s in statements],
                       "p95_ms": [s["p95_ms"] for _, s in statements]},
        "cache": {"hits": cache["cache_hits"], "misses": cache["cache_misses"],
                  "evictions": cache["cache_evictions"], "size": cache["cache_size"],
                  "hit_rate": cache["cache_hit_rate"]},
    }


async def _job_runs(reader: _Reader, present: bool) -> dict[str, Any]:
    """The newest :data:`RUNS_LIMIT` runs of the window (the last ``days`` days of runs),
    oldest first, and how many runs the window holds (``total``)."""
    if not present:
        return {"available": False, "runs": [], "total": 0, "days": WINDOW_DAYS}
    rows = await reader.rows(reader.q.job_runs, {"days": WINDOW_DAYS, "limit": RUNS_LIMIT})
    runs = [{"job": job, "status": status, "started_at": _iso(started), "seconds": seconds,
             "users": users} for job, status, started, seconds, users, _ in reversed(rows)]
    return {"available": True, "runs": runs, "total": int(rows[0][5]) if rows else 0,
            "days": WINDOW_DAYS}


async def _fleet(reader: _Reader, present: bool, critical_offset: int) -> dict[str, Any]:
    if not present:
        return {"available": False, "history": [], "critical": page([], critical_offset, 0)}
    history = await reader.rows(reader.q.fleet_history, {"limit": FLEET_LIMIT})
    critical = await reader.rows(reader.q.fleet_critical, {
        "limit": DASHBOARD_PAGE_ROWS, "offset": critical_offset})
    return {
        "available": True,
        "history": [{"computed_for": _iso(at), "critical": c, "vehicles": v, "score": score}
                    for at, c, v, score in reversed(history)],
        "critical": page([{"user": u, "score": score, "findings": n}
                          for _, u, score, n in critical if u is not None],
                         critical_offset, int(critical[0][0])),
    }


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.0f} %"


def _relevance(rows: list[rel.Relevance]) -> dict[str, Any]:
    """Each type's figures over the weeks (a table) and its relevance rate per ISO week (a
    chart: null where nothing was answered)."""
    weeks = sorted({r.week for r in rows if r.week is not None})
    index = {w: i for i, w in enumerate(weeks)}
    series: dict[str, list[float | None]] = {}
    for r in rows:
        if r.week is not None:
            series.setdefault(r.type, [None] * len(weeks))[index[r.week]] = r.relevance_rate
    return {
        "target": rel.TARGET,
        "types": [{"type": r.type, "delivered": r.delivered, "answered": r.answered,
                   "acted": r.acted, "useful": r.useful,
                   "dismissed": sum(r.dismissed.values()), "wrong": r.dismissed["wrong"],
                   "snoozed": r.snoozed, "relevance": _percent(r.relevance_rate),
                   "wrong_rate": _percent(r.wrong_rate)}
                  for r in rows if r.week is None],
        "weeks": {"labels": weeks, "series": dict(sorted(series.items()))},
    }


def empty_data(now: datetime) -> dict[str, Any]:
    """The dashboard's shape with nothing in it (zeros, empty series; the database shown as
    unknown): the page rendered before the caller has shown the operator token."""
    return {
        "generated_at": now.isoformat(),
        "health": {"database": "unknown",
                   "pool": {"size": 0, "max": 0, "in_use": 0, "waiting": 0},
                   "queries": {"queries_executed": 0, "query_errors": 0,
                               "average_query_ms": 0.0, "p95_query_ms": 0.0,
                               "slow_queries": 0},
                   "statements": {"labels": [], "mean_ms": [], "p95_ms": []},
                   "cache": {"hits": 0, "misses": 0, "evictions": 0, "size": 0,
                             "hit_rate": 0.0}},
        "jobs": {"available": False, "runs": [], "total": 0, "days": WINDOW_DAYS},
        "fleet": {"available": False, "history": [], "critical": page([], 0, 0)},
        "suggestions": {"by_type": _series([]), "by_priority": _series([]), "statuses": {},
                        "recent": page([], 0, 0)},
        "outbox": {"pending": 0, "delivered": 0, "failing": 0, "dead": 0},
        "relevance": _relevance([]),
    }


async def dashboard_data(engine: Engine, now: datetime, *, recent_offset: int = 0,
                         critical_offset: int = 0) -> dict[str, Any]:
    """Everything the dashboard shows, as of ``now`` (the generation time shown), with the
    page of recent suggestions starting ``recent_offset`` rows in and that of critical
    vehicles ``critical_offset`` rows in (each 0 to :data:`DASHBOARD_MAX_OFFSET`, else
    ``ValueError``). Raises :class:`PamError` subclasses only if the database fails mid-way;
    an unreachable database before any statement gives the health section alone, marked
    unreachable."""
    recent_offset, critical_offset = _offset(recent_offset), _offset(critical_offset)
    reader = _Reader(engine)
    try:
        jobs_present, fleet_present = await reader.tables()
    except PamError:
        return {**empty_data(now), "health": _engine_health(engine, False)}
    days = {"days": WINDOW_DAYS}
    by_type = await reader.rows(reader.q.suggestions_by_type, days)
    by_priority = await reader.rows(reader.q.suggestions_by_priority, days)
    statuses = await reader.rows(reader.q.suggestion_statuses)
    recent = await reader.rows(reader.q.recent_suggestions,
                               {"limit": DASHBOARD_PAGE_ROWS, "offset": recent_offset})
    ((pending, delivered, failing, dead),) = await reader.rows(reader.q.outbox_state)
    relevance = await rel.recent_weeks(engine.db, engine.settings.engine_schema, now,
                                       RELEVANCE_WEEKS)
    return {
        "generated_at": now.isoformat(),
        "health": _engine_health(engine, True),
        "jobs": await _job_runs(reader, jobs_present),
        "fleet": await _fleet(reader, fleet_present, critical_offset),
        "suggestions": {
            "by_type": _series(by_type),
            "by_priority": _by_priority(_series(by_priority)),
            "statuses": {status: int(n) for status, n in statuses},
            "recent": page([{"user": u, "type": t, "priority": p, "status": s,
                             "created_at": _iso(c), "updated_at": _iso(up)}
                            for u, t, p, s, c, up in recent],
                           recent_offset, sum(int(n) for _, n in statuses)),
        },
        "outbox": {"pending": int(pending), "delivered": int(delivered), "failing": int(failing),
                   "dead": int(dead)},
        "relevance": _relevance(relevance),
    }
