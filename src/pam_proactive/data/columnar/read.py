"""A batch's sources read straight into columns: PostgreSQL CSV (``COPY ... TO STDOUT``)
parsed by Arrow's multithreaded C++ reader, then handed to Polars (the only I/O of the
column-wise path).

Each source is its batch statement of ``data/queries.py`` unchanged (same filters, same
order: by ``i`` then the statement's keys), the expenses by ``expense_rows`` (one row per
expense), read with :meth:`Database.copy_csv`. Why CSV rather than rows: the row path builds
a Python object per value and Polars converts them back (see bench/read_transports.py for
the measured figures, docs in the report of issue 19); binary COPY would need a parser of
its own, and ADBC a second connection stack outside the pool (its own retries, timeouts and
pooler handling). CSV is exact here: floats come as their shortest exact text, NULL as an
unquoted empty field and '' quoted (the formats :meth:`Database.copy_csv` fixes).

The frames equal :func:`frames.frames_from_rows` of the row path for the same ids and
moment (``tests/data/test_columnar_read.py``), except the expenses' order within a user,
which the aggregate statement leaves to the plan.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from datetime import datetime

import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv

from pam_proactive.data.columnar.frames import SCHEMAS, BatchFrames, empty, people_frame
from pam_proactive.data.loader import read_users
from pam_proactive.data.queries import BatchStatements
from pam_proactive.db.connection import Database
from pam_proactive.logs import audit_read

# Polars dtype -> the Arrow type the CSV column is parsed as (then taken over as is).
_ARROW: Mapping[type[pl.DataType], pa.DataType] = {
    pl.Int32: pa.int32(), pl.Int64: pa.int64(), pl.Float64: pa.float64(),
    pl.String: pa.string(), pl.Date: pa.date32(), pl.Boolean: pa.bool_(),
    pl.Datetime: pa.timestamp("us", tz="UTC"),  # the only Datetime of SCHEMAS: us, UTC
}

# Text is quoted when it holds a delimiter, a quote or a line break: values may span lines.
_PARSE = pa_csv.ParseOptions(newlines_in_values=True)


def _options(schema: Mapping[str, pl.DataType]
             ) -> tuple[pa_csv.ReadOptions, pa_csv.ConvertOptions]:
    names = list(schema)
    return (pa_csv.ReadOptions(column_names=names, block_size=8 << 20),
            pa_csv.ConvertOptions(
                column_types={n: _ARROW[type(d)] for n, d in schema.items()},
                null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False,
                true_values=["t"], false_values=["f"]))


_OPTIONS = {key: _options(schema) for key, schema in SCHEMAS.items()}


def parse_csv(data: bytes, key: str) -> pl.DataFrame:
    """The frame of source ``key`` (a key of :data:`frames.SCHEMAS`) from the CSV of its
    statement (no header; its columns in schema order)."""
    schema = SCHEMAS[key]
    if not data:
        return empty(schema)
    read, convert = _OPTIONS[key]
    table = pa_csv.read_csv(pa.py_buffer(data), read_options=read, parse_options=_PARSE,
                            convert_options=convert)
    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)  # a Table always gives a DataFrame
    return frame.cast(pl.Schema(schema))  # dtype-identical already: pins them


async def read_frames(db: Database, statements: BatchStatements, user_ids: Iterable[object],
                      now: datetime) -> BatchFrames | None:
    """The frames of the batch of ``user_ids`` as of ``now`` (one COPY per source, run
    concurrently on the pool); None when none of the ids is a known user. Each source's read
    is audited under its statement's name, as the row path does (counts only; the expenses
    count expense rows, not users)."""
    batch = await read_users(db, statements, user_ids, now)
    if batch is None:
        return None
    st = statements
    # (frame key, statement, audited source name), in the row path's order.
    sources = (("expenses", st.expense_rows, st.expenses.name),
               ("budgets", st.budgets, st.budgets.name),
               ("trips", st.trips, st.trips.name),
               ("events", st.events, st.events.name),
               ("fuel", st.fuel, st.fuel.name),
               ("maintenance", st.maintenance, st.maintenance.name),
               ("vehicles", st.vehicles, st.vehicles.name),
               ("after_now", st.recorded_after_now, None))
    texts = await asyncio.gather(*(db.copy_csv(*statement, batch.params)
                                   for _, statement, _ in sources))
    frames: dict[str, pl.DataFrame] = {}
    for (key, _, audited), text in zip(sources, texts, strict=True):
        frames[key] = parse_csv(text, key)
        if audited is not None:
            audit_read(audited, frames[key].height)  # who read how many rows, never what
    return BatchFrames(now=now, users=tuple(batch.users), people=people_frame(batch.todays),
                       **frames)


__all__ = ["parse_csv", "read_frames"]
