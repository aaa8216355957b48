"""Benchmark: the transports of a batch's sources into frames (data/columnar/read.py).

Reads every batch of the seeded travelers at NOW with each transport, alternating them
round by round, and prints per transport the client CPU seconds (time.process_time, this
process: its threads included) and the wall seconds of one pass over all batches (the best
round of each), and the server's CPU seconds of that pass:

- ``psycopg``: ``read_frames`` through psycopg (binary fetch, a Python object per value, then
  columns: the transport of small batches);
- ``csv``: psycopg ``COPY ... TO STDOUT (FORMAT CSV)`` parsed by pyarrow.csv;
- ``binary-bytes``: ``COPY ... TO STDOUT (FORMAT BINARY)`` bytes only, not parsed (a floor
  for any parser of the binary format fed by psycopg: it pays the same per-row messages);
- ``adbc``: ``read_frames`` through ADBC (``Database.copy_arrow``: adbc-driver-postgresql,
  each query bound client-side and run in a worker thread: its C++ reader of binary COPY
  gives Arrow).

    python bench/read_transports.py --users 20000 --batch-size 2000 --rounds 3
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
from psycopg import sql

from _common import NOW, parser, run, seeded_engine, server_cpu_seconds
from pam_proactive.config import load_settings
from pam_proactive.data.columnar.frames import (
    SCHEMAS,
    Frame,
    empty,
    frame_of_arrow,
)
from pam_proactive.data.columnar.read import UNROLLED, read_frames
from pam_proactive.data.queries import BatchStatements
from pam_proactive.data.users import read_users
from pam_proactive.db.connection import BoundStatement, Database
from pam_proactive.db.embedded import database_uri, embedded_server
from pam_proactive.engine import Engine, open_engine

Pass = Callable[[list[Any]], Awaitable[int]]


def sources(st: BatchStatements) -> list[tuple[str, BoundStatement]]:
    """(frame key, statement) of every source, as read_frames reads them."""
    return [("expenses", st.expenses), ("budgets", st.budgets), ("trips", st.trips),
            ("events", st.events), ("fuel", st.fuel), ("maintenance", st.maintenance),
            ("vehicles", st.vehicles), ("after_now", st.recorded_after_now)]


def csv_frame(data: bytes, key: str) -> Frame:
    """PostgreSQL CSV (ISO dates, UTC, NULL unquoted, '' quoted) of source ``key`` parsed by
    pyarrow.csv: the CSV transport measured here (exact: it passed the equality tests of
    tests/data/test_columnar_read.py before ADBC was chosen)."""
    schema = SCHEMAS[key]
    if not data:
        return empty(schema)
    table = pa_csv.read_csv(
        pa.py_buffer(data), read_options=pa_csv.ReadOptions(column_names=list(schema)),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            column_types={n: d.arrow for n, d in schema.items()},
            null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False,
            true_values=["t"], false_values=["f"]))
    return frame_of_arrow(table.columns, schema)  # named and typed already; the expenses flat


def _flat(statement: BoundStatement) -> BoundStatement:
    """The expenses' statement one row per expense (CSV has no arrays): its arrays unnested
    in order."""
    return BoundStatement(statement.name, sql.SQL(
        "SELECT e.i, u.category, u.amount, u.\"offset\", u.expense_id, u.description FROM ({}) e"
        " CROSS JOIN LATERAL unnest(e.category, e.amount, e.\"offset\", e.expense_id,"
        " e.description) WITH ORDINALITY AS u(category, amount, \"offset\", expense_id,"
        " description, n) ORDER BY e.i, u.n").format(statement.query))


# The text formats the CSV transport needs, for the transaction only (pooler-safe).
_FORMATS = ("SELECT set_config('datestyle', 'ISO, YMD', true),"
            " set_config('timezone', 'UTC', true), set_config('extra_float_digits', '1', true)")


def transports(db: Database, st: BatchStatements) -> dict[str, Pass]:
    async def psycopg(batch: list[Any]) -> int:
        frames = await read_frames(db, st, batch, NOW, arrow=False)
        assert frames is not None
        return frames.expenses.height

    async def copy(statement: BoundStatement, params: dict[str, Any], form: str) -> bytes:
        parts: list[bytes] = []
        async with db.connection() as conn, conn.transaction(), conn.cursor() as cur:
            await cur.execute(_FORMATS)
            async with cur.copy(sql.SQL("COPY ({}) TO STDOUT (FORMAT {})").format(
                    statement.query, sql.SQL(form)), params) as stream:
                async for block in stream:
                    parts.append(bytes(block))
        return b"".join(parts)

    async def csv(batch: list[Any]) -> int:
        users = await read_users(db, st, batch, NOW)
        assert users is not None
        texts = await asyncio.gather(*(copy(_flat(s) if key in UNROLLED else s, users.params,
                                            "CSV") for key, s in sources(st)))
        frames = [csv_frame(t, key) for (key, _), t in zip(sources(st), texts, strict=True)]
        return frames[0].height

    async def binary_bytes(batch: list[Any]) -> int:
        users = await read_users(db, st, batch, NOW)
        assert users is not None
        data = await asyncio.gather(*(copy(s, users.params, "BINARY") for _, s in sources(st)))
        return sum(len(d) for d in data)

    async def adbc(batch: list[Any]) -> int:
        frames = await read_frames(db, st, batch, NOW, arrow=True)
        assert frames is not None
        return frames.expenses.height

    return {"psycopg": psycopg, "csv": csv, "binary-bytes": binary_bytes, "adbc": adbc}


@asynccontextmanager
async def engine_on(data_dir: Path | None, users: int, seed: int, batch_size: int
                    ) -> AsyncIterator[Engine]:
    """An engine on a freshly seeded server, or on the database ``bench`` of a server
    already seeded in ``data_dir`` (to measure again without seeding again)."""
    if data_dir is None:
        async with seeded_engine(users, seed, batch_size) as engine:
            yield engine
        return
    with embedded_server(data_dir) as server:
        uri = database_uri(server, "bench")
        settings = load_settings(database_url=uri, batch_size=batch_size, pool_max_size=6)
        async with open_engine(settings, conninfo=uri) as engine:
            yield engine


async def main(users: int, seed: int, batch_size: int, rounds: int,
               data_dir: Path | None) -> None:
    async with engine_on(data_dir, users, seed, batch_size) as engine:
        db = engine.db
        uri = db.conninfo
        st = BatchStatements.for_schema(engine.settings.engine_schema)
        ids = [r[0] for r in await db.fetch(
            "ids", sql.SQL("SELECT user_id FROM {}.traveler_users ORDER BY user_id").format(
                sql.Identifier(engine.settings.engine_schema)))]
        batches = [ids[k : k + batch_size] for k in range(0, len(ids), batch_size)]
        passes = transports(db, st)
        best: dict[str, tuple[float, float, float, int]] = {}
        for _ in range(rounds):
            for name, one in passes.items():
                server, cpu, wall = server_cpu_seconds(uri), time.process_time(), \
                    time.perf_counter()
                rows = 0
                for batch in batches:
                    rows += await one(batch)
                figures = (time.process_time() - cpu, time.perf_counter() - wall,
                           server_cpu_seconds(uri) - server, rows)
                if name not in best or figures[0] < best[name][0]:
                    best[name] = figures
        print(f"{len(ids):,} users, {len(batches)} batches of {batch_size:,}, best of "
              f"{rounds} rounds (client CPU s = this process, threads included)")
        print(f"{'transport':<14}{'client CPU s':>14}{'wall s':>10}{'server CPU s':>14}"
              f"{'rows/bytes':>14}")
        for name, (cpu, wall, server, rows) in best.items():
            print(f"{name:<14}{cpu:>14.2f}{wall:>10.2f}{server:>14.2f}{rows:>14,}")


if __name__ == "__main__":
    p = parser(__doc__ or "")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--data-dir", type=Path, default=None,
                   help="a server already seeded (database 'bench'): no seeding")
    a = p.parse_args()
    run(main(a.users, a.seed, a.batch_size, a.rounds, a.data_dir))
