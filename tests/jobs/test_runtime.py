"""Synchronous callers (Celery tasks) share one loop and one pool per process."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from conftest import create_database, settings_for
from pam_proactive.engine import Engine
from pam_proactive.jobs.pipeline.sweeps import sweep
from pam_proactive.jobs.scheduling.runtime import ProcessRuntime
from planting import Planter

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


def test_one_pool_and_loop_across_synchronous_calls(pg_server: str) -> None:
    uri = asyncio.run(create_database(pg_server, "seed"))
    with Planter(uri, "seed") as p:
        user = p.user()
        p.budget(user, "food", 100)
        p.expense(user, 120, "food", NOW.date())
    runtime = ProcessRuntime(settings_for("seed"), conninfo=uri)
    try:
        engines: list[Engine] = []
        loops: list[asyncio.AbstractEventLoop] = []

        async def work(engine: Engine) -> float:
            engines.append(engine)
            loops.append(asyncio.get_running_loop())
            return await engine.data.get_monthly_spending(user, NOW)

        assert [runtime.run(work) for _ in range(3)] == [120.0, 120.0, 120.0]
        assert len({id(e.db) for e in engines}) == 1 and len({id(lp) for lp in loops}) == 1
        report = runtime.run(lambda e: sweep(e, NOW, user_ids=[user]))
        assert report.by_type["budget_exceeded"] == 1 and report.lifecycle["created"] == 1
        assert runtime.engine().db is engines[0].db
        assert runtime.engine().db.pool_stats()["pool_size"] <= runtime.settings.pool_max_size
    finally:
        runtime.close()
        runtime.close()  # idempotent
