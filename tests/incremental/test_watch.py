"""The watcher on a real database and the real clock: a write becomes a stored suggestion
within seconds, by polling and by LISTEN/NOTIFY, and the watcher survives losing every
connection (as in a database restart) and catches up on what was written meanwhile."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import psycopg
import pytest

from conftest import MakeDatabase, settings_for
from pam_proactive.db.triggers import trigger_sql
from pam_proactive.engine import Engine, open_engine
from pam_proactive.errors import TransientDataSourceError
from pam_proactive.jobs.pipeline.batches import add_lag_observer, remove_lag_observer
from pam_proactive.jobs.watcher.watch import Watcher, channel_name
from planting import Planter


def _traveler(uri: str) -> UUID:
    today = datetime.now(UTC).date()
    with Planter(uri, "seed") as p:
        uid = p.user(timezone="America/Denver")
        p.trip(uid, "Austin, TX", "Denver, CO", today - timedelta(days=9),
               today - timedelta(days=7), 900, status="completed",
               created_at=datetime.now(UTC) - timedelta(days=9))
    return uid


def _add_event(uri: str, uid: UUID) -> None:
    with psycopg.connect(uri, autocommit=True) as conn:  # created_at: the server's now()
        conn.execute(b"INSERT INTO calendar_events (user_id, title, start_date, end_date,"
                     b" location_name) VALUES (%s, 'Rally', now() + interval '5 days',"
                     b" now() + interval '5 days 3 hours', 'Quartzsite, AZ')", (uid,))


async def _suggested(engine: Engine, uid: UUID, timeout: float) -> float | None:
    """Seconds until the traveler's event suggestion is stored, or None."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            rows = await engine.db.fetch(
                "test_suggested", "SELECT count(*) FROM pam_proactive.suggestions"
                " WHERE user_id = %s AND type = 'event_travel_planning'", (uid,))
        except TransientDataSourceError:  # the test's own connections were killed too
            rows = []
        if rows == [(1,)]:
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    return None


async def _running(engine: Engine, listen: bool) -> AsyncIterator[Watcher]:
    watcher = Watcher(engine, listen=listen)
    stop = asyncio.Event()
    task = asyncio.create_task(watcher.run(stop))
    try:
        # The first tick is the full pass; a write from then on is read by a later tick
        # (and a listening watcher listens before its first read).
        while watcher.ticks < (1 if listen else 2):
            await asyncio.sleep(0.05)
        yield watcher
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@pytest.mark.parametrize("listen", [False, True], ids=["poll", "listen"])
async def test_a_write_is_suggested_within_seconds(make_database: MakeDatabase,
                                                   listen: bool) -> None:
    uri = await make_database("seed")
    uid = _traveler(uri)
    if listen:
        with psycopg.connect(uri, autocommit=True) as conn:
            conn.execute(trigger_sql("seed", "pam_proactive",
                                     channel_name("pam_proactive")).encode())
    lags: list[float] = []
    add_lag_observer(lags.append)
    settings = settings_for("seed", watch_interval=1.0 if not listen else 30.0,
                            watch_debounce=0.1)
    try:
        async with open_engine(settings, conninfo=uri) as engine:
            async for _watcher in _running(engine, listen):
                _add_event(uri, uid)
                # Listen mode polls only every 30 s here: only the notification can be this fast.
                waited = await _suggested(engine, uid, 5.0 if listen else 10.0)
                assert waited is not None
                # The lag is observed once the batch is stored and delivered, just after the
                # suggestion becomes visible; one per change column the row touched.
                for _ in range(100):
                    if lags:
                        break
                    await asyncio.sleep(0.05)
                assert 1 <= len(lags) <= 2 and all(0 <= lag < 5.0 for lag in lags)
                stopping = time.monotonic()
            # A listening watcher stops at once, not at the end of its 30 s wait.
            assert time.monotonic() - stopping < 5.0
    finally:
        remove_lag_observer(lags.append)


async def test_watcher_survives_losing_its_connections_and_catches_up(
        make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    uid = _traveler(uri)
    settings = settings_for("seed", watch_interval=0.5, watch_debounce=0.1)
    async with open_engine(settings, conninfo=uri) as engine:
        async for watcher in _running(engine, listen=False):
            dbname = psycopg.conninfo.conninfo_to_dict(uri)["dbname"]
            with psycopg.connect(uri, autocommit=True) as conn:
                # Every connection of the engine to this database dies at once, as in a
                # restart; the row written right after must still be suggested.
                conn.execute(b"SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                             b" WHERE datname = %s AND pid <> pg_backend_pid()", (dbname,))
            _add_event(uri, uid)
            assert await _suggested(engine, uid, 20.0) is not None
            assert watcher.ticks >= 3
