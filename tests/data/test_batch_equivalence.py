"""Property: the batch form and the per-user form give the same context, on generated data."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import PRESETS, create_database, settings_for
from generated import plant, user_data
from pam_proactive.data.integration import ProactiveDataIntegrator
from pam_proactive.db.connection import Database
from planting import Planter

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


async def compare(uri: str, preset: str, ids: list[Any]) -> None:
    cfg = settings_for(preset, cache_ttl=0)
    db = Database(uri, cfg)
    await db.open()
    try:
        api = ProactiveDataIntegrator(db, cfg)
        batch = await api.get_contexts(ids, NOW)
        assert set(batch) == set(ids)
        for uid in ids:
            single = await api.get_comprehensive_user_context(uid, NOW)
            assert single == batch[uid]
    finally:
        await db.close()


@pytest.mark.parametrize("preset", PRESETS)
def test_batch_and_per_user_forms_agree(pg_server: str, preset: str) -> None:
    uri = asyncio.run(create_database(pg_server, preset))

    @settings(max_examples=15, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(user_data, min_size=1, max_size=9))
    def check(users: list[dict[str, Any]]) -> None:
        with Planter(uri, preset) as p:
            ids = [plant(p, data) for data in users]
        asyncio.run(compare(uri, preset, ids))

    check()

