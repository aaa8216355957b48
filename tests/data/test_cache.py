"""The context cache: TTL on the injected clock, bound, invalidation, stale copies in an outage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from conftest import MakeDatabase, settings_for
from pam_proactive.data.integration import ProactiveDataIntegrator
from pam_proactive.db.connection import Database
from pam_proactive.errors import DatabaseUnavailableError
from planting import Planter

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


async def test_ttl_bound_and_invalidation(make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    with Planter(uri, "seed") as p:
        users = [p.user() for _ in range(3)]
        p.expense(users[0], 10, "food", NOW.date())
    cfg = settings_for("seed", cache_ttl=300, cache_max_entries=2)
    async with Database(uri, cfg) as db:
        api = ProactiveDataIntegrator(db, cfg)
        await api.get_monthly_spending(users[0], NOW)
        assert api.cache.stats()["cache_misses"] == 1
        await api.get_monthly_spending(users[0], NOW + timedelta(seconds=299))
        assert api.cache.stats()["cache_hits"] == 1
        with Planter(uri, "seed") as p:
            p.expense(users[0], 5, "food", NOW.date())
        # Still within the TTL: the cached figure; after invalidation, the new one.
        assert await api.get_monthly_spending(users[0], NOW + timedelta(seconds=10)) == 10.0
        assert api.invalidate_user(users[0]) is True
        assert await api.get_monthly_spending(users[0], NOW + timedelta(seconds=10)) == 15.0
        # Past the TTL (on the clock passed in) and before the entry (a replay): misses.
        misses = api.cache.stats()["cache_misses"]
        await api.get_monthly_spending(users[0], NOW + timedelta(seconds=400))
        await api.get_monthly_spending(users[0], NOW - timedelta(seconds=1))
        assert api.cache.stats()["cache_misses"] == misses + 2
        await api.get_contexts(users, NOW)
        stats = api.cache.stats()
        assert stats["cache_size"] == 2 and stats["cache_evictions"] >= 1


async def test_outage_serves_stale_copies_or_raises(pg_server: str,
                                                    make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    with Planter(uri, "seed") as p:
        known, unknown = p.user(), p.user()
        p.expense(known, 42, "food", NOW.date())
    cfg = settings_for("seed", retry_max_seconds=0.5, query_timeout=3, pool_min_size=0)
    db = Database(uri, cfg)
    await db.open()
    api = ProactiveDataIntegrator(db, cfg)
    await api.get_monthly_spending(known, NOW)
    dbname = conninfo_to_dict(uri)["dbname"]
    admin = pg_server
    try:
        # A real outage: every connection killed and the database gone from its name.
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                         " WHERE datname = %s", (dbname,))
        later = NOW + timedelta(hours=2)  # past the TTL: the database must be asked
        ctx = await api.get_comprehensive_user_context(known, later)
        assert ctx.data_quality.stale is True and ctx.financial.month_spent == 42.0
        assert api.cache.stats()["cache_stale_served"] == 1
        fresh = api.cache.get(known, NOW)
        assert fresh is not None and fresh.data_quality.stale is False  # cache not polluted
        with pytest.raises(DatabaseUnavailableError, match="unreachable"):
            await api.get_comprehensive_user_context(unknown, later)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')
        await db.close()
