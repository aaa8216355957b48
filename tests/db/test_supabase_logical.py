"""The supabase_realtime publication's change stream carries a sweep's suggestion for its
traveler: read with logical decoding (the built-in pgoutput plugin, as Supabase Realtime's
Postgres Changes reads it) on a server of its own started with wal_level=logical, so the
session's shared test server keeps its settings."""

from __future__ import annotations

import struct
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from conftest import settings_for
from pam_proactive.db.embedded import database_uri, embedded_server, ensure_database
from pam_proactive.db.migrate import migrate
from pam_proactive.engine import open_engine
from pam_proactive.jobs.pipeline.sweeps import sweep
from planting import Planter
from supabase_fixture import install_supabase

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def logical_server() -> Iterator[str]:
    """An embedded server restarted once with wal_level=logical (a restart-only setting) and
    synchronous commits (embedded_server turns them off at each start: turned on again)."""
    with tempfile.TemporaryDirectory(prefix="pam-logical-") as tmp:
        data = Path(tmp) / "pgdata"
        with embedded_server(data) as uri, psycopg.connect(uri, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET wal_level = logical")
        with embedded_server(data, delete=True) as uri:
            with psycopg.connect(uri, autocommit=True) as conn:
                # Decoding reads flushed WAL only: asynchronous commits may not be there yet.
                conn.execute("ALTER SYSTEM SET synchronous_commit = on")
                conn.execute("SELECT pg_reload_conf()")
            yield uri


def relations_and_inserts(messages: list[bytes]) -> tuple[dict[int, str], list[tuple[str, bytes]]]:
    """From pgoutput (protocol 1) messages: relation id -> schema.table, and each insert as
    (schema.table, its tuple's bytes)."""
    relations: dict[int, str] = {}
    inserts: list[tuple[int, bytes]] = []
    for m in messages:
        if m[:1] == b"R":
            (rel,) = struct.unpack("!I", m[1:5])
            namespace, name = m[5:].split(b"\0")[:2]
            relations[rel] = f"{namespace.decode()}.{name.decode()}"
        elif m[:1] == b"I":
            (rel,) = struct.unpack("!I", m[1:5])
            inserts.append((rel, m[5:]))
    return relations, [(relations[r], t) for r, t in inserts]


async def test_a_sweeps_suggestion_is_in_the_publications_stream(logical_server: str) -> None:
    ensure_database(logical_server, "supabase_logical")
    uri = database_uri(logical_server, "supabase_logical")
    install_supabase(uri)
    async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
        await migrate(conn, schema="pam_proactive", preset="seed", supabase=True,
                      create_reference_tables=True)
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("SELECT pg_create_logical_replication_slot('pam_test', 'pgoutput')")
    try:
        with Planter(uri, "seed") as p:
            a, b = p.user(), p.user()
            for user in (a, b):
                p.budget(user, "food", 100)
                p.expense(user, 120, "food", NOW.date())
        async with open_engine(settings_for("seed"), conninfo=uri) as engine:
            await sweep(engine, NOW, user_ids=[a, b])
        with psycopg.connect(uri, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT data FROM pg_logical_slot_get_binary_changes('pam_test', NULL, NULL,"
                " 'proto_version', '1', 'publication_names', 'supabase_realtime')").fetchall()
    finally:
        with psycopg.connect(uri, autocommit=True) as conn:
            conn.execute("SELECT pg_drop_replication_slot('pam_test')")
    relations, inserts = relations_and_inserts([bytes(r[0]) for r in rows])
    # Only the published tables: the traveler rows the sweep read, its own bookkeeping
    # (job state, deliveries) are not in the stream.
    assert set(relations.values()) <= {f"pam_proactive.{t}" for t in
                                       ("suggestions", "outbox", "insights", "user_preferences")}
    suggestion_rows = [t for rel, t in inserts if rel == "pam_proactive.suggestions"]
    assert len(suggestion_rows) == 2
    for user in (a, b):
        assert sum(str(user).encode() in t for t in suggestion_rows) == 1
        assert any(str(user).encode() in t for rel, t in inserts if rel == "pam_proactive.outbox")
