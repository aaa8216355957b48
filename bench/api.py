"""Benchmark: requests per second and p50/p99 latency of the HTTP API under concurrent load.

On a fresh embedded database seeded with ``--users`` travelers and swept once (so they have
suggestions), the API is served by uvicorn in this process, sharing the engine; a load
generator in a separate process (httpx, ``--concurrency`` connections on loopback) sends
``--requests`` requests per endpoint, or stops after ``--seconds``, to random users. The
baseline, in the same run, makes the same calls in-process without HTTP, with the same
concurrency. Rate limiting is off for the run (PAM_RATE_LIMIT_PER_MINUTE=0).

    python bench/api.py --users 100000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from uuid import UUID

from _common import NOW, parser, run, seeded_engine

TOKEN = "bench-operator-token-0123456789"
ENDPOINTS: dict[str, str] = {
    "health": "/health",  # no database: the HTTP stack's own cost
    "suggestions": "/v1/users/{id}/suggestions?status=open",
    "context": "/v1/users/{id}/context?now=" + NOW.isoformat().replace("+", "%2B"),
}


def summary(latencies: list[float], seconds: float, errors: int) -> dict[str, float]:
    """Requests per second and latency percentiles in milliseconds."""
    ordered = sorted(latencies)
    q = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else \
        [ordered[0] if ordered else 0.0] * 99
    return {"requests": len(latencies), "errors": errors, "seconds": seconds,
            "rps": len(latencies) / seconds if seconds else 0.0,
            "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000}


async def drive(call: Callable[[UUID], Awaitable[bool]], ids: list[UUID], requests: int,
                concurrency: int, seconds: float) -> dict[str, float]:
    """Run ``requests`` calls on random ids from ``concurrency`` workers, at most
    ``seconds`` long; return :func:`summary`."""
    rng = random.Random(1)
    latencies: list[float] = []
    errors = 0
    remaining = requests
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal remaining, errors
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            started = time.perf_counter()
            ok = await call(rng.choice(ids))
            latencies.append(time.perf_counter() - started)
            errors += not ok

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return summary(latencies, time.perf_counter() - started, errors)


class Connection:
    """One keep-alive HTTP/1.1 connection: a minimal client, far cheaper per request than a
    general one, so the generator measures the server rather than itself."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        """Send one GET; return its status code (0 when the connection failed)."""
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            assert self.reader is not None
            self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n"
                              f"Authorization: Bearer {TOKEN}\r\n\r\n".encode())
            head = await self.reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await self.reader.readexactly(length)
            return status
        except (OSError, asyncio.IncompleteReadError, ValueError):
            if self.writer is not None:
                self.writer.close()
            self.reader = self.writer = None
            return 0


async def generate(args: argparse.Namespace) -> None:
    """The load generator process: prints one JSON summary per endpoint."""
    from urllib.parse import urlsplit

    ids = [UUID(line) for line in Path(args.ids_file).read_text().split()]
    where = urlsplit(args.url)
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(args.concurrency):
        pool.put_nowait(Connection(where.hostname or "127.0.0.1", where.port or 80))
    only = args.only.split(",") if args.only else list(ENDPOINTS)
    for name, template in ENDPOINTS.items():
        if name not in only:
            continue

        async def call(uid: UUID, template: str = template) -> bool:
            conn = await pool.get()
            try:
                return await conn.get(template.format(id=uid)) == 200
            finally:
                pool.put_nowait(conn)

        await drive(call, ids, min(200, args.requests), args.concurrency, 10)  # warm-up
        result = await drive(call, ids, args.requests, args.concurrency, args.seconds)
        print(json.dumps({"endpoint": name, **result}), flush=True)


async def main(args: argparse.Namespace) -> None:
    import uvicorn
    from pydantic import SecretStr

    from pam_proactive.api import repository
    from pam_proactive.api.app import create_app
    from pam_proactive.jobs.pipeline.sweeps import sweep

    async with seeded_engine(args.users, args.seed, args.batch_size) as engine:
        started = time.perf_counter()
        report = await sweep(engine, NOW, deliver=False)
        print(f"swept {report.users:,} users in {time.perf_counter() - started:.1f} s: "
              f"{sum(report.by_priority.values()):,} suggestions")
        ids = await engine.data.get_all_active_users()
        settings = engine.settings.model_copy(update={"api_token": SecretStr(TOKEN),
                                                      "rate_limit_per_minute": 0.0})

        # Baseline: the same calls in-process, no HTTP.
        async def direct_suggestions(uid: UUID) -> bool:
            await repository.list_user_suggestions(engine, uid, ("open",), 100)
            return True

        async def direct_context(uid: UUID) -> bool:
            await engine.data.get_comprehensive_user_context(uid, NOW)
            return True

        baseline = {}
        for name, call in (("suggestions", direct_suggestions), ("context", direct_context)):
            engine.data.cache.clear()  # each phase starts cold, the HTTP one too
            await drive(call, ids, min(200, args.requests), args.concurrency, 10)
            baseline[name] = await drive(call, ids, args.requests, args.concurrency,
                                         args.seconds)

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        server = uvicorn.Server(uvicorn.Config(create_app(settings, engine=engine),
                                               log_level="warning", access_log=False,
                                               timeout_keep_alive=60))
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            await asyncio.sleep(0.05)
        engine.data.cache.clear()
        with tempfile.NamedTemporaryFile("w", suffix=".ids") as f:
            f.write("\n".join(str(u) for u in ids))
            f.flush()
            proc = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--generate", "--url", url, "--ids-file", f.name,
                "--requests", str(args.requests), "--concurrency", str(args.concurrency),
                "--seconds", str(args.seconds), *(["--only", args.only] if args.only else []),
                stdout=subprocess.PIPE)
            out, _ = await proc.communicate()
        server.should_exit = True
        await serving
        cache = engine.data.cache.stats()

    print(f"\n{len(ids):,} active users; concurrency {args.concurrency}; "
          f"up to {args.requests:,} requests or {args.seconds:.0f} s per endpoint; "
          f"context cache hit rate {cache['cache_hit_rate']:.2f}")
    print(f"{'endpoint':<12} {'path':<9} {'requests':>9} {'errors':>7} {'req/s':>9} "
          f"{'p50 ms':>8} {'p99 ms':>8}")
    for line in out.decode().splitlines():
        http = json.loads(line)
        name = http["endpoint"]
        for label, r in (("http", http), ("direct", baseline.get(name))):
            if r is None:
                continue
            print(f"{name:<12} {label:<9} {r['requests']:>9,} {r['errors']:>7} "
                  f"{r['rps']:>9,.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f}")


def cli() -> argparse.ArgumentParser:
    p = parser(__doc__ or "")
    p.add_argument("--requests", type=int, default=5_000, help="requests per endpoint")
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--seconds", type=float, default=60.0, help="time bound per endpoint")
    p.add_argument("--only", help="comma-separated endpoints (health, suggestions, context)")
    p.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--ids-file", help=argparse.SUPPRESS)
    return p


if __name__ == "__main__":
    arguments: Any = cli().parse_args()
    run(generate(arguments) if arguments.generate else main(arguments))
