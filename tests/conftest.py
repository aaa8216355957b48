"""Shared fixtures: one real embedded PostgreSQL server for the whole test session.

Each test module that needs a database asks ``make_database(preset)`` for a fresh one, with the
preset's traveler tables (the wheels-wins-live ones from its production-like DDL) and the engine
schema migrated, so tests never share rows.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from pam_proactive.config import Settings, load_settings
from pam_proactive.db.connection import Database
from pam_proactive.db.embedded import database_uri, embedded_server, ensure_database
from pam_proactive.db.migrate import migrate

FIXTURES = Path(__file__).parent / "fixtures"
PRESETS = ("seed", "wheels-wins-live")
_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """Server URI of a throwaway embedded PostgreSQL, deleted at the end of the session."""
    with tempfile.TemporaryDirectory(prefix="pam-test-") as tmp, embedded_server(
        Path(tmp) / "pgdata", delete=True
    ) as uri:
        yield uri


async def create_database(server_uri: str, preset: str, *, migrate_engine: bool = True) -> str:
    """Create a fresh database for ``preset``; return its URI."""
    name = f"t_{preset.replace('-', '_')}_{next(_counter)}"
    ensure_database(server_uri, name)
    uri = database_uri(server_uri, name)
    if preset == "wheels-wins-live":
        with psycopg.connect(uri, autocommit=True) as conn:
            conn.execute((FIXTURES / "wheels_wins_live.sql").read_text().encode())
    if migrate_engine:
        async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
            await migrate(conn, schema="pam_proactive", preset=preset)
    return uri


MakeDatabase = Callable[..., Awaitable[str]]


@pytest.fixture(scope="session")
def make_database(pg_server: str) -> MakeDatabase:
    """Factory: ``await make_database('seed')`` returns the URI of a fresh migrated database."""

    async def factory(preset: str, *, migrate_engine: bool = True) -> str:
        return await create_database(pg_server, preset, migrate_engine=migrate_engine)

    return factory


def settings_for(preset: str = "seed", **overrides: object) -> Settings:
    """Settings for tests: small batches so batching is exercised, short timeouts."""
    base: dict[str, object] = {"preset": preset, "batch_size": 7, "query_timeout": 10.0}
    base.update(overrides)
    return load_settings(**base)


@pytest.fixture
async def open_database() -> AsyncIterator[Callable[[str, Settings], Awaitable[Database]]]:
    """Factory opening a :class:`Database` on a URI; every one is closed after the test."""
    opened: list[Database] = []

    async def factory(uri: str, settings: Settings) -> Database:
        db = Database(uri, settings)
        await db.open()
        opened.append(db)
        return db

    yield factory
    for db in opened:
        await db.close()
