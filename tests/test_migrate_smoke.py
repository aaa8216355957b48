"""Migrations apply on both presets, record themselves, and are idempotent."""

from __future__ import annotations

import psycopg
import pytest

from conftest import PRESETS, MakeDatabase
from pam_proactive.db.migrate import VIEW_NAMES, migrate


@pytest.mark.parametrize("preset", PRESETS)
async def test_migrate_is_idempotent_and_installs_every_view(
    make_database: MakeDatabase, preset: str
) -> None:
    uri = await make_database(preset)
    async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
        again = await migrate(conn, schema="pam_proactive", preset=preset)
        assert again == []
        cur = await conn.execute(
            "SELECT table_name FROM information_schema.views WHERE table_schema = 'pam_proactive'"
        )
        views = {r[0] for r in await cur.fetchall()}
        assert set(VIEW_NAMES) <= views
        for view in VIEW_NAMES:
            await conn.execute(f"SELECT * FROM pam_proactive.{view} LIMIT 1")
        cur = await conn.execute("SELECT version FROM pam_proactive.schema_migrations")
        versions = {r[0] for r in await cur.fetchall()}
        assert {"0001", "preset"} <= versions
