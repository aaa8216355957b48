"""Everything works through a real transaction-mode pooler (pgbouncer), as behind Supabase's
port 6543: no prepared statements, no session settings, a different server session per
transaction."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg import errors as pg_errors
from typer.testing import CliRunner

from conftest import MakeDatabase, settings_for
from pam_proactive.cli.main import app
from pam_proactive.db.connection import Database
from pam_proactive.engine import open_engine, run_migrations
from pam_proactive.errors import DatabaseUnreachableError, TransientDataSourceError
from pam_proactive.jobs.pipeline.sweeps import sweep
from planting import Planter

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize("preset", ["seed", "wheels-wins-live"])
async def test_migrate_sweep_and_doctor_through_the_pooler(
    make_database: MakeDatabase, transaction_pooler: Callable[[str], str], preset: str
) -> None:
    direct = await make_database(preset, migrate_engine=False)
    pooled = transaction_pooler(direct)
    settings = settings_for(preset, database_url=pooled, transaction_pooler=True,
                            pool_max_size=3)
    assert settings.uses_transaction_pooler
    applied = await run_migrations(settings, pooled)
    assert f"preset:{preset}" in applied and await run_migrations(settings, pooled) == []
    with Planter(direct, preset) as p:
        user = p.user()
        p.budget(user, "food", 100)
        p.expense(user, 120, "food", NOW.date())
    async with open_engine(settings, conninfo=pooled) as engine:
        # Enough repetitions that psycopg would have prepared statements by default.
        for _ in range(6):
            ctx = await engine.data.get_comprehensive_user_context(user, NOW)
            engine.data.invalidate_user(user)
        assert ctx.financial.month_spent == 120.0
        first = await sweep(engine, NOW, user_ids=[user])
        again = await sweep(engine, NOW, user_ids=[user])
    assert first.lifecycle["created"] == 1 and first.by_type["budget_exceeded"] == 1
    assert dict(again.lifecycle) == {}
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["doctor", "--database-url", pooled, "--preset", preset],
        env={"PAM_TRANSACTION_POOLER": "true"})
    assert result.exit_code == 0, result.output


async def test_the_pooler_rejects_direct_mode_settings(
    make_database: MakeDatabase, transaction_pooler: Callable[[str], str]
) -> None:
    # Proof that the pooler above is strict: session options at startup are refused.
    pooled = transaction_pooler(await make_database("seed"))
    with pytest.raises(psycopg.OperationalError, match="options"):
        await psycopg.AsyncConnection.connect(pooled, options="-c statement_timeout=1000")
    direct_mode = settings_for("seed", database_url=pooled, transaction_pooler=False,
                               query_timeout=2)
    # Refused at the first connection, with libpq's reason, without waiting for the pool.
    with pytest.raises(DatabaseUnreachableError, match="unsupported startup parameter"):
        await Database(pooled, direct_mode).open()


async def test_writes_keep_their_statement_timeout_behind_the_pooler(
    make_database: MakeDatabase, transaction_pooler: Callable[[str], str]
) -> None:
    pooled = transaction_pooler(await make_database("seed"))
    settings = settings_for("seed", database_url=pooled, transaction_pooler=True,
                            query_timeout=1, retry_max_seconds=0)
    async with Database(pooled, settings) as db:
        started = time.perf_counter()
        with pytest.raises(TransientDataSourceError, match=r"'slow\.sleep'") as caught:
            async with db.transaction("slow") as tx:
                await tx.execute("slow.sleep", "SELECT pg_sleep(5)")
        # The server cancelled it at 1 s (SET LOCAL), not the client-side limit at 6 s.
        assert isinstance(caught.value.__cause__, pg_errors.QueryCanceled)
        assert time.perf_counter() - started < 4
        assert db.metrics.snapshot()["statements"]["slow.sleep"]["errors"] == 1
        # Transaction-scoped: nothing leaks into the pooler's shared server sessions.
        assert await db.fetch("show", "SHOW statement_timeout") == [("0",)]
        async with db.transaction("quick") as tx:
            assert await tx.fetch("show", "SHOW statement_timeout") == [("1s",)]
