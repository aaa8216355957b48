"""Delivery benchmark: 10,000 notifications to a real webhook receiver on loopback that
answers in 200 ms and fails 5 % of requests with a 500.

A throwaway embedded PostgreSQL gets 10,000 due outbox rows at once (a burst), or ``--rate``
rows a second (a steady load below the receiver's capacity); ``--workers``
delivery loops (each as a worker's drain: claim with a lease, send outside any transaction,
record) run until every row is delivered, or ``--max-seconds`` pass. Meanwhile a sampler
reads ``pg_locks`` and ``pg_stat_activity`` every 20 ms.

Prints: throughput (rows delivered per second of wall time), the end-to-end delivery lag of
each row (from its creation to the successful attempt: p50, p99, max), attempts and
retries, the receiver's counts (verified signatures, deliveries per webhook-id), the peak
number of locks held by the engine's sessions, and the longest open transaction.

The retry schedule is compressed after its first step (``--schedule``: 5 s as in production,
then seconds instead of minutes and hours) so that the run ends by itself: the 5 % failed
rows are retried 5 s later as in production, which is what the p99 measures.

Usage: ``python bench/delivery.py [--rows 10000] [--rate 0] [--concurrency 32] [--workers 2]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from pam_proactive.config import load_settings
from pam_proactive.db.embedded import database_uri, embedded_server, ensure_database
from pam_proactive.engine import Engine, open_engine, run_migrations
from pam_proactive.jobs.pipeline.delivery import channels, retry_policy
from pam_proactive.suggestions.delivery import DeliveryReport, drain_due, set_channels

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the tests' receiver process, shared

from receiver import start as start_receiver  # noqa: E402
from receiver import stop as stop_receiver  # noqa: E402

SECRET = "whsec_" + "YmVuY2htYXJrLXNlY3JldC1vZi10aGUtZGVsaXZlcnk="

# The burst: one suggestion and one due notification per row, payloads like real ones.
INSERT_ROWS = """
WITH s AS (
  INSERT INTO pam_proactive.suggestions (user_id, type, priority, priority_rank, title, message,
    data, dedup_key, computed_for, notified_rank)
  SELECT gen_random_uuid(), 'maintenance_overdue', 'high', 3, 'Oil change overdue',
    'Your oil change is 500 miles overdue.', '{"overdue_miles": 500}',
    'maintenance_overdue:' || g, now(), 3
  FROM generate_series(%(first)s::integer, %(last)s::integer) AS g
  RETURNING id, user_id, type, priority, title, message, data, dedup_key)
INSERT INTO pam_proactive.outbox (suggestion_id, user_id, event, priority, payload)
SELECT id, user_id, 'created', priority, jsonb_build_object('id', id, 'user_id', user_id,
  'event', 'created', 'type', type, 'priority', priority, 'title', title, 'message', message,
  'data', data, 'dedup_key', dedup_key)
FROM s
"""

LAG = """
SELECT extract(epoch FROM d.at - o.created_at)
FROM pam_proactive.outbox AS o JOIN pam_proactive.deliveries AS d
  ON d.outbox_id = o.id AND d.ok
"""

# Locks held by the engine's sessions (not the sampler's), and their oldest transaction.
SAMPLE = """
SELECT (SELECT count(*) FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid
        WHERE l.granted AND a.application_name = 'pam-proactive'
          AND l.locktype IN ('relation', 'tuple', 'transactionid')),
       (SELECT coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)), 0)
        FROM pg_stat_activity WHERE application_name = 'pam-proactive'
          AND xact_start IS NOT NULL AND state <> 'idle')
"""


def receiver_stats(url: str) -> dict[str, int]:
    with urllib.request.urlopen(url.replace("/hook", "/stats"), timeout=5) as response:
        stats: dict[str, int] = json.loads(response.read())
        return stats


async def sample_locks(uri: str, stop: asyncio.Event, peaks: dict[str, float]) -> None:
    async with await psycopg.AsyncConnection.connect(uri, autocommit=True,
                                                     application_name="bench-sampler") as conn:
        while not stop.is_set():
            cur = await conn.execute(SAMPLE)
            row = await cur.fetchone()
            if row is not None:
                peaks["locks"] = max(peaks["locks"], float(row[0]))
                peaks["transaction_seconds"] = max(peaks["transaction_seconds"], float(row[1]))
            peaks["samples"] += 1
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.02)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def main(ns: argparse.Namespace) -> None:
    proc, url = start_receiver("--delay", str(ns.delay), "--error-rate", str(ns.error_rate),
                               "--secret", SECRET)
    try:
        with tempfile.TemporaryDirectory(prefix="pam-bench-") as tmp, embedded_server(
                Path(tmp) / "pgdata", delete=True) as server:
            ensure_database(server, "bench")
            uri = database_uri(server, "bench")
            settings = load_settings(
                database_url=uri, webhook_url=url, webhook_secret=SECRET, channels="webhook",
                delivery_concurrency=ns.concurrency, delivery_retry_schedule=ns.schedule,
                pool_max_size=ns.workers + 2, circuit_failures=1000)
            await run_migrations(settings, uri, create_reference_tables=True)
            if not ns.rate:  # a burst: every row due at once
                with psycopg.connect(uri, autocommit=True) as conn:
                    conn.execute(INSERT_ROWS.encode(), {"first": 1, "last": ns.rows})
                    conn.execute(b"VACUUM ANALYZE")
            async with open_engine(settings, conninfo=uri) as engine:
                await set_channels(engine.db, settings.engine_schema, ["webhook"])
                await run_workers(engine, uri, url, ns)
    finally:
        stop_receiver(proc)


async def run_workers(engine: Engine, uri: str, url: str, ns: argparse.Namespace) -> None:
    own, policy = channels(engine), retry_policy(engine)
    stop = asyncio.Event()
    peaks = {"locks": 0.0, "transaction_seconds": 0.0, "samples": 0.0}
    totals: list[DeliveryReport] = []
    started = time.perf_counter()
    deadline = started + ns.max_seconds

    async def pending() -> int:
        rows = await engine.db.fetch("bench.pending", "SELECT count(*) FROM pam_proactive.outbox"
                                     " WHERE delivered_at IS NULL AND dead_at IS NULL")
        return int(rows[0][0])

    produced = asyncio.Event()

    async def producer() -> None:
        """--rate rows a second, in tenths of a second, until --rows are written."""
        if not ns.rate:
            produced.set()
            return
        async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
            chunk, first = max(1, round(ns.rate / 10)), 1
            tick = time.perf_counter()
            while first <= ns.rows:
                last = min(ns.rows, first + chunk - 1)
                await conn.execute(INSERT_ROWS.encode(), {"first": first, "last": last})
                first = last + 1
                tick += 0.1
                await asyncio.sleep(max(0.0, tick - time.perf_counter()))
        produced.set()

    async def worker() -> None:
        while time.perf_counter() < deadline:
            report = await drain_due(engine.db, "pam_proactive", own, datetime.now(UTC),
                                     batch=ns.batch, policy=policy)
            totals.append(report)
            if report.picked == 0:
                if produced.is_set() and await pending() == 0:
                    return
                await asyncio.sleep(0.2)  # nothing due: new rows or retries come later

    sampler = asyncio.create_task(sample_locks(uri, stop, peaks))
    await asyncio.gather(producer(), *(worker() for _ in range(ns.workers)))
    seconds = time.perf_counter() - started
    stop.set()
    await sampler
    lags = [float(r[0]) for r in await engine.db.fetch("bench.lag", LAG)]
    left = await pending()
    stats = receiver_stats(url)
    attempts = sum(r.attempts for r in totals)
    arrival = f"{ns.rate:g} rows/s" if ns.rate else "a burst"
    print(f"rows {ns.rows:,} ({arrival}), receiver {ns.delay * 1000:.0f} ms, "
          f"{ns.error_rate:.0%} errors, concurrency {ns.concurrency}, {ns.workers} workers, "
          f"claims of {ns.batch}")
    print(f"delivered {len(lags):,} in {seconds:.1f} s: {len(lags) / seconds:.1f} rows/s; "
          f"left undelivered {left}")
    print(f"attempts {attempts:,} ({attempts - len(lags):,} failed and retried)")
    if lags:
        print(f"end-to-end lag (from creation to the accepted attempt): "
              f"p50 {statistics.median(lags):.1f} s, p99 {percentile(lags, 0.99):.1f} s, "
              f"max {max(lags):.1f} s")
    print(f"receiver: {stats}")
    print(f"peak locks held by the engine's sessions: {peaks['locks']:.0f}; longest open "
          f"transaction {peaks['transaction_seconds'] * 1000:.0f} ms "
          f"({peaks['samples']:.0f} samples)")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=10_000)
    p.add_argument("--delay", type=float, default=0.2, help="receiver answer time, seconds")
    p.add_argument("--error-rate", type=float, default=0.05)
    p.add_argument("--concurrency", type=int, default=32, help="PAM_DELIVERY_CONCURRENCY")
    p.add_argument("--workers", type=int, default=2, help="delivery loops at once")
    p.add_argument("--batch", type=int, default=250, help="rows per claim")
    p.add_argument("--schedule", default="5s,10s,20s,40s,80s,160s,320s")
    p.add_argument("--rate", type=float, default=0,
                   help="rows written per second (0: all at once, a burst)")
    p.add_argument("--max-seconds", type=float, default=900)
    asyncio.run(main(p.parse_args()))
