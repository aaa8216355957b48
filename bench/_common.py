"""Shared benchmark setup: a throwaway embedded PostgreSQL seeded with demo travelers."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Coroutine, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import psycopg

from pam_proactive.config import Settings, load_settings
from pam_proactive.db.embedded import database_uri, embedded_server, ensure_database
from pam_proactive.db.embedded import server_cpu_seconds as embedded_cpu_seconds
from pam_proactive.demo import seed_demo_data
from pam_proactive.engine import Engine, open_engine, run_migrations

T = TypeVar("T")

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


def sizes(text: str) -> list[int]:
    """A comma-separated list of population sizes (``20000,100000``)."""
    try:
        found = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}") from exc
    if not found or min(found) < 1:
        raise argparse.ArgumentTypeError(f"need sizes >= 1: {text!r}")
    return found


def parser(description: str, *, many_sizes: bool = False) -> argparse.ArgumentParser:
    """Arguments every benchmark takes; with ``many_sizes``, ``--users`` is a list of sizes,
    each run on its own database in turn."""
    p = argparse.ArgumentParser(description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    if many_sizes:
        p.add_argument("--users", type=sizes, default=[20_000],
                       help="demo travelers to seed, comma-separated sizes (20000,100000)")
    else:
        p.add_argument("--users", type=int, default=100_000, help="demo travelers to seed")
    p.add_argument("--batch-size", type=int, default=2_000, help="users per batch")
    p.add_argument("--seed", type=int, default=7)
    return p


@asynccontextmanager
async def seeded_engine(users: int, seed: int, batch_size: int) -> AsyncIterator[Engine]:
    """An engine on a fresh embedded database with ``users`` demo travelers at NOW."""
    with tempfile.TemporaryDirectory(prefix="pam-bench-") as tmp, embedded_server(
        Path(tmp) / "pgdata", delete=True
    ) as server:
        ensure_database(server, "bench")
        uri = database_uri(server, "bench")
        settings: Settings = load_settings(database_url=uri, batch_size=batch_size,
                                           pool_max_size=6)
        await run_migrations(settings, uri, create_reference_tables=True)
        started = time.perf_counter()
        async with await psycopg.AsyncConnection.connect(uri) as conn:
            await seed_demo_data(conn, users=users, seed=seed, now=NOW,
                                 engine_schema=settings.engine_schema)
        with psycopg.connect(uri, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        print(f"seeded {users:,} users in {time.perf_counter() - started:.1f} s")
        async with open_engine(settings, conninfo=uri) as engine:
            yield engine


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a benchmark coroutine; its result."""
    return asyncio.run(coro)


def server_cpu_seconds(uri: str) -> float:
    """CPU seconds used so far by the benchmarks' local server (see
    :func:`pam_proactive.db.embedded.server_cpu_seconds`)."""
    with psycopg.connect(uri) as conn:
        return embedded_cpu_seconds(conn)


def digest(found: Iterable[Any]) -> str:
    """A short digest of candidates in order (user, type, dedup_key, priority, title,
    message, data, expiry): equal digests mean the same suggestions, word for word."""
    h = hashlib.sha256()
    for c in found:
        h.update(json.dumps([c.user_id, c.type, c.dedup_key, c.priority.label, c.title,
                             c.message, c.data, str(c.expires_at)], sort_keys=True).encode())
    return h.hexdigest()[:16]


def percentiles(values: list[float]) -> tuple[float, float]:
    """p50 and p99 of ``values`` (interpolated between the nearest ranks)."""
    if len(values) < 2:
        return (values[0], values[0]) if values else (0.0, 0.0)
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98]


async def context_latencies(engine: Engine, ids: Iterable[Any]) -> list[float]:
    """Wall ms of one traveler's context (``get_contexts([id], NOW, use_cache=False)``) for
    each of ``ids`` in turn; exits when one has no context (the population changed)."""
    ms: list[float] = []
    for uid in ids:
        began = time.perf_counter()
        contexts = await engine.data.get_contexts([uid], NOW, use_cache=False)
        ms.append((time.perf_counter() - began) * 1000)
        if len(contexts) != 1:
            raise SystemExit("a latency id has no context: the population changed")
    return ms
