"""A batch's sources read straight into columns: each source's batch statement as an Arrow
table (:meth:`Database.copy_arrow`: adbc-driver-postgresql's C++ decoding of a binary COPY),
taken over by Polars without a Python object per value.

Each source is its batch statement of ``data/queries.py`` unchanged (same filters, same
order: by ``i`` then the statement's keys), the expenses by ``expense_rows`` (one row per
expense). Why this transport: bench/read_transports.py, 20,000 demo travelers in batches of
2,000, client CPU seconds of a full read (best of 3, two runs): the row path (psycopg fetch
+ frames_from_rows) 6.4-7.2, psycopg COPY CSV parsed by pyarrow 4.0-5.2 (psycopg's per-row
COPY messages alone, binary, unparsed: 3.7-4.0), ADBC 1.5-1.7.

The frames equal :func:`frames.frames_from_rows` of the row path for the same ids and
moment (``tests/data/test_columnar_read.py``), except the expenses' order within a user,
which the aggregate statement leaves to the plan.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime

import polars as pl
import pyarrow as pa

from pam_proactive.data.columnar.frames import SCHEMAS, BatchFrames, people_frame
from pam_proactive.data.queries import BatchStatements
from pam_proactive.data.users import read_users
from pam_proactive.db.connection import Database
from pam_proactive.logs import audit_read


def to_frame(table: pa.Table, key: str) -> pl.DataFrame:
    """The frame of source ``key`` (a key of :data:`frames.SCHEMAS`) from the Arrow table of
    its statement (its columns in schema order, under any names): renamed to the schema and
    cast to its dtypes (``i`` comes as bigint, numerics of a custom view as text)."""
    schema = SCHEMAS[key]
    frame = pl.from_arrow(table.rename_columns(list(schema)), rechunk=False)
    assert isinstance(frame, pl.DataFrame)  # a Table always gives a DataFrame
    return frame.cast(pl.Schema(schema))


async def read_frames(db: Database, statements: BatchStatements, user_ids: Iterable[object],
                      now: datetime) -> BatchFrames | None:
    """The frames of the batch of ``user_ids`` as of ``now`` (one read per source, run
    concurrently); None when none of the ids is a known user. Each source's read is audited
    under its statement's name, as the row path does (counts only; the expenses count
    expense rows, not users)."""
    batch = await read_users(db, statements, user_ids, now)
    if batch is None:
        return None
    st = statements
    # (frame key, statement, audited source name), in the row path's order.
    sources = (("expenses", st.expense_rows, st.expense_rows.name),
               ("budgets", st.budgets, st.budgets.name),
               ("trips", st.trips, st.trips.name),
               ("events", st.events, st.events.name),
               ("fuel", st.fuel, st.fuel.name),
               ("maintenance", st.maintenance, st.maintenance.name),
               ("vehicles", st.vehicles, st.vehicles.name),
               ("after_now", st.recorded_after_now, None))
    tables = await asyncio.gather(*(db.copy_arrow(*statement, batch.params)
                                    for _, statement, _ in sources))
    frames: dict[str, pl.DataFrame] = {}
    for (key, _, audited), table in zip(sources, tables, strict=True):
        frames[key] = to_frame(table, key)
        if audited is not None:
            audit_read(audited, frames[key].height)  # who read how many rows, never what
    return BatchFrames(now=now, users=tuple(batch.users), people=people_frame(batch.todays),
                       **frames)


__all__ = ["read_frames", "to_frame"]
