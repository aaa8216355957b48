"""Real processes: `pam-proactive watch` delivering to a real receiver process that is down
(connection refused), then hangs past the delivery timeout, then comes back, with short
real-time intervals. Nothing is lost or dead, nothing is accepted twice except a request
the receiver answered after the engine's timeout (the same webhook-id: deduplicated), a
dismissal meanwhile takes the normal write time, and once the receiver is back the retries
come due and are sent with no traveler writing anything (the watcher delivers when idle)."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg

from conftest import MakeDatabase, settings_for
from jobs.test_run_serves_api import free_port
from jobs.test_run_watch import _half_tank, _plan_trip, _wait
from pam_proactive.engine import open_engine
from pam_proactive.suggestions.delivery import message_id
from pam_proactive.suggestions.store import dismiss
from processes import cli_process, terminate
from receiver import SECRET, Receiver, start, stop


def _query(uri: str, text: str, params: Any = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(uri, autocommit=True) as conn:
        return conn.execute(text.encode(), params).fetchall()


def _settled(uri: str) -> bool:
    return _query(uri, "SELECT count(*) FROM pam_proactive.change_cursors"
                       " WHERE feed = 'watch' AND full_sweep_at IS NOT NULL") == [(1,)]


def _outbox(uri: str) -> list[tuple[Any, ...]]:
    """(suggestion id, message id, tries, delivered, cancelled, dead) of every row."""
    return _query(uri, "SELECT suggestion_id, message_id, tries, delivered_at IS NOT NULL,"
                       " cancelled_at IS NOT NULL, dead_at IS NOT NULL"
                       " FROM pam_proactive.outbox ORDER BY id")


async def test_watch_rides_out_a_stopped_then_hanging_receiver(
        make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    travelers: list[UUID] = [_half_tank(uri) for _ in range(4)]
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PAM_")},
           "DATABASE_URL": uri, "PAM_LOG_LEVEL": "WARNING", "PAM_WATCH_INTERVAL": "0.5",
           "PAM_WEBHOOK_URL": url, "PAM_WEBHOOK_SECRET": SECRET, "PAM_CHANNELS": "webhook",
           "PAM_DELIVERY_TIMEOUT": "0.5", "PAM_CIRCUIT_COOLDOWN": "1",
           "PAM_DELIVERY_RETRY_SCHEDULE": "1s,2s,2s,3s,3s,5s,5s,10s",  # 31 s in all
           "PAM_DIGEST": "false"}  # each notification on its own (test_digest.py: digests)
    receiver_proc = None
    with cli_process(["watch"], env) as proc:
        await asyncio.to_thread(_wait, lambda: _settled(uri), 90, proc, "start-up")
        # 1. The receiver is down (nothing listens): two travelers plan a trip.
        for uid in travelers[:2]:
            _plan_trip(uri, uid)
        await asyncio.to_thread(_wait, lambda: len(_outbox(uri)) >= 2 and all(
            r[2] >= 1 for r in _outbox(uri)), 30, proc, "failed first attempts")
        # 2. It comes back but hangs past the engine's timeout; two more trips.
        receiver_proc, _ = start("--port", str(port), "--delay", "2")
        receiver = Receiver(url)
        for uid in travelers[2:]:
            _plan_trip(uri, uid)
        await asyncio.to_thread(_wait, lambda: any(
            r[0] is not None for r in _query(uri, "SELECT max(tries) FROM pam_proactive.outbox"
                                                  " WHERE tries >= 2")), 30, proc,
            "attempts against the hanging receiver")
        # A traveler dismisses one of them meanwhile: the normal write time.
        await asyncio.to_thread(_wait, lambda: len(_outbox(uri)) >= 4, 30, proc,
                                "the later trips' notifications")
        [(target,)] = _query(uri, "SELECT o.suggestion_id FROM pam_proactive.outbox o"
                                  " WHERE o.user_id = %s ORDER BY o.id LIMIT 1", (travelers[3],))
        async with open_engine(settings_for("seed"), conninfo=uri) as engine:
            started = time.perf_counter()
            assert await dismiss(engine.db, "pam_proactive", target, datetime.now(UTC))
            took = time.perf_counter() - started
        assert took < 0.5, f"the dismissal waited {took:.2f}s"
        # 3. The receiver answers again. Nobody writes anything: the retries come due.
        receiver.delay = 0.0

        def all_done() -> bool:
            rows = _outbox(uri)
            return bool(rows) and all(d or c for _, _, _, d, c, _ in rows)

        await asyncio.to_thread(_wait, all_done, 60, proc, "every notification delivered")
        out = terminate(proc)
    assert proc.returncode == 0, out
    assert "Traceback" not in out
    try:
        rows = _outbox(uri)
        accepted = receiver.accepted()
        assert "unverified" not in accepted
        assert not any(dead for *_, dead in rows)
        live = {message_id(m) for s, m, _, _, cancelled, _ in rows if not cancelled}
        assert len(rows) >= 4 and len(live) == len(rows) - 1  # all but the dismissed one
        assert live <= set(accepted)  # nothing lost
        [(cancelled_msg,)] = [(m,) for s, m, *_ in rows if s == target]
        # At least once: a request answered 2xx after the engine's 0.5 s timeout is sent
        # again under the same webhook-id; every other notification arrived exactly once.
        attempts = _query(uri, "SELECT o.message_id, count(*) FILTER (WHERE d.ok),"
                               " count(*) FILTER (WHERE d.error LIKE 'timeout%%')"
                               " FROM pam_proactive.outbox o JOIN pam_proactive.deliveries d"
                               " ON d.outbox_id = o.id GROUP BY 1")
        assert all(ok <= 1 for _, ok, _ in attempts)
        timeouts = {message_id(m): t for m, _, t in attempts}
        assert all(n - 1 <= timeouts.get(m, 0) for m, n in accepted.items()), (
            accepted, timeouts)
        # The dismissed notification is never sent after the dismissal: no ok attempt.
        assert all(ok == 0 for m, ok, _ in attempts if m == cancelled_msg)
    finally:
        if receiver_proc is not None:
            stop(receiver_proc)
