"""A batch's sources read straight into columns: each source's batch statement as an Arrow
table (:meth:`Database.copy_arrow`: adbc-driver-postgresql's C++ decoding of a binary COPY),
taken into columns without a Python object per value; small batches, where a read's fixed
cost dominates, through psycopg instead (:data:`ROWS_MAX_TRAVELERS`).

Each source is its batch statement of ``data/queries.py`` unchanged (same filters, same
order: by ``i`` then the statement's keys), the expenses as one row per user of
per-expense arrays, unrolled here into one row per expense. Why this transport:
bench/read_transports.py, 20,000 demo travelers in batches of 2,000, client CPU seconds of a
full read (best of 3, two runs): psycopg rows converted value by value 6.4-7.2, psycopg COPY
CSV parsed by pyarrow 4.0-5.2 (psycopg's per-row COPY messages alone, binary, unparsed:
3.7-4.0), ADBC 1.5-1.7.

The frames equal those the tests' per-object oracle makes of the statements' psycopg rows
for the same ids and moment (``tests/data/test_columnar_read.py``).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pam_proactive.analysis.dates import require_aware
from pam_proactive.data.columnar.frames import (
    SCHEMAS,
    BatchFrames,
    Frame,
    empty,
    frame_of_arrow,
    frame_of_columns,
    frame_of_rows,
    people_frame,
)
from pam_proactive.data.queries import BatchStatements
from pam_proactive.data.rows import UserRow
from pam_proactive.data.users import (
    BatchUsers,
    batch_texts,
    confirmed_users,
    guess_users,
    users_of,
)
from pam_proactive.db.connection import BoundStatement, Database
from pam_proactive.logs import audit_read


def to_frame(table: pa.Table, key: str) -> Frame:
    """The frame of source ``key`` (a key of :data:`frames.SCHEMAS`) from the Arrow table of
    its statement (its columns in schema order, under any names), cast to the schema's
    dtypes (:func:`frames.frame_of_arrow`: strict)."""
    schema = SCHEMAS[key]
    if not table.num_rows:
        return empty(schema)
    columns = table.columns
    if key in UNROLLED:
        columns = _flattened(columns)
    return frame_of_arrow(columns, schema)


def _flattened(columns: list[pa.ChunkedArray]) -> list[pa.ChunkedArray]:
    """The columns of a statement of :data:`UNROLLED` (``i``, then arrays of one length per
    row) one value per element of the arrays, ``i`` repeated: Arrow's flattening, no Python
    object per value (as :func:`unrolled` does for psycopg's rows). A NULL array, or arrays
    of unequal lengths in one row, are an error (an aggregate over a user's rows has
    neither)."""
    counts = [pc.list_value_length(c) for c in columns[1:]]
    if any(n.null_count for n in counts) or not all(n.equals(counts[0]) for n in counts[1:]):
        raise ValueError(f"arrays of {len(counts)} columns of unequal lengths, or NULL")
    i = np.repeat(columns[0].to_numpy(), counts[0].to_numpy())
    return [pa.chunked_array([i]), *(pc.list_flatten(c) for c in columns[1:])]


# Sources whose statement returns one row per user, every column but ``i`` an array of
# the user's rows in order (``BatchStatements.expenses``).
UNROLLED = frozenset({"expenses"})


def unrolled(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    """The ``width`` columns of the rows of a statement of :data:`UNROLLED`: one value per
    element of its arrays, ``i`` repeated (columns, not a tuple per element: a batch's
    expenses are thousands)."""
    columns: list[list[Any]] = [[] for _ in range(width)]
    for row in rows:
        n = len(row[1])
        if any(len(values) != n for values in row[2:]):
            raise ValueError(f"arrays of {len(row) - 1} columns of unequal lengths")
        columns[0].extend(itertools.repeat(row[0], n))
        for column, values in zip(columns[1:], row[1:], strict=True):
            column.extend(values)
    return columns


# Batches of at most this many known travelers read their sources through psycopg (a
# Python object per value), larger ones through
# ADBC: the same statements, the same frames. ADBC costs less per row but more per read
# (a worker thread, an ADBC connection, the mogrify, prepare and describe round trips).
# Measured per batch, wall / client CPU ms, psycopg (eight concurrent fetches, before the
# pipelines below) vs ADBC (bench/read_sizes.py, 2,200 demo travelers, a shared 2-core
# machine): 1 traveler 14.6 / 6.7 vs 28.1 / 11.4, 25: 17.1 /
# 9.7 vs 22.8 / 11.6, 50: 33.9 / 16.4 vs 36.1 / 15.1, 150: 95.2 / 46.6 vs 59.3 / 22.8.
#
# Through psycopg, the eight statements go as two pipelines of four
# (Database.fetch_together), each on its own connection, in one round trip each: a few
# travelers' statements cost round trips and planning, which one pipeline saves, and 25
# travelers' cost server work, which two server processes share. Measured per batch, wall
# median / client CPU ms, one pipeline, two, or eight concurrent fetches
# (bench/read_pipelines.py, 2,077 demo travelers, a shared 2-core machine, 3 x 400 reads
# alternating): 1 traveler 7.9 / 1.5, 7.3 / 1.8, 10.4 / 2.9; 25: 24.6 / 4.4, 17.7 / 4.2,
# 18.8 / 5.0. With one pipeline, client CPU ms psycopg vs ADBC (bench/read_sizes.py, as
# above): 25 travelers 9.6 vs 12.4, 50: 14.6 vs 15.6; so the threshold stays. With the
# frames as plain columns (columns.py; Polars' before), client CPU ms psycopg vs ADBC
# (bench/read_sizes.py, as above, two runs): 1 traveler 1.4-1.5 vs 4.0, 25: 3.1-3.2 vs
# 5.2-5.4, 50: 5.2-5.3 vs 6.2-6.3 (wall 14.7-22.4 vs 15.6-18.7), 150: 12.1-12.9 vs
# 9.9-10.7: it still stays.
#
# Such a batch whose users' zones are remembered (users.ZONES) sends users_by_id in the
# second pipeline rather than one round trip before both. Measured per batch, wall median /
# p99 / client CPU ms, zones remembered vs forgotten (bench/read_pipelines.py, 2,200 demo
# travelers, reads alternating, a loaded 2-core machine): 1 traveler 5.44 / 14.2 / 2.06 vs
# 6.39 / 17.0 / 2.43, 5: 9.64 / 18.7 / 2.93 vs 11.71 / 22.0 / 3.34, 25: 23.2 / 33.3 / 6.49
# vs 25.7 / 37.4 / 6.95.
ROWS_MAX_TRAVELERS = 25

# Batches of at most this many known travelers are read with their statements' generic
# plans (Database.fetch_together's generic_plans). The engine's sessions otherwise plan
# every statement anew at each call (db/connection.py, connection_kwargs: a generic plan
# suits a sweep's contiguous ids, not a few scattered ones), and for one traveler planning
# is most of the server's work: EXPLAIN ANALYZE, one demo traveler, planning 1.46 ms vs
# execution 0.42 ms over the nine statements. A single id (lo = hi) is a narrow range
# whatever the plan. Measured per statement, one traveler, median ms, prepared on one
# connection, custom vs generic plans (3,000 demo travelers): users_by_id 0.17 vs 0.06,
# expenses 0.56 vs 0.18, events 0.21 vs 0.07, fuel 0.20 vs 0.08; with generic plans at
# 20,000 and 100,000 demo travelers every statement but recorded_after_now (below) 0.05-0.17
# and 0.06-0.37 (a loaded 2-core machine). Not for more travelers: 25 random ones span a
# wide id range (lo, hi), for which the generic plans are worse (3,000 demo travelers:
# expenses 2.5 vs 6.0 ms, recorded_after_now 0.4 vs 23.5).
GENERIC_PLANS_MAX_TRAVELERS = 1

# Statements read with their custom plans even then: recorded_after_now's generic plan
# (six created_at ranges of unknown width, each filtered by user) scans far more as the
# tables grow: one traveler, median ms, 0.11 at 3,000 demo travelers, 7.96 at 20,000, 7.56 at
# 100,000, vs 0.40 with custom plans.
CUSTOM_PLANS = frozenset({BatchStatements.recorded_after_now.name})


def generic_plans(travelers: int, statements: Sequence[BoundStatement]) -> list[bool]:
    """Per statement of ``statements`` for a batch of ``travelers`` known users, whether
    it is read with its generic plan (:data:`GENERIC_PLANS_MAX_TRAVELERS`,
    :data:`CUSTOM_PLANS`)."""
    one = travelers <= GENERIC_PLANS_MAX_TRAVELERS
    return [one and name not in CUSTOM_PLANS for name, _ in statements]


async def read_frames(db: Database, statements: BatchStatements, user_ids: Iterable[object],
                      now: datetime, *, arrow: bool | None = None) -> BatchFrames | None:
    """The frames of the batch of ``user_ids`` as of ``now`` (one read per source, run
    concurrently); None when none of the ids is a known user. ``arrow``: read through ADBC
    (True) or psycopg (False); by default through ADBC above :data:`ROWS_MAX_TRAVELERS`
    known users (the same frames either way). Each source's read is audited under its
    statement's name (counts only; the expenses count expense rows, not users).

    A small batch whose users' zones this process remembers (``users.ZONES``) is read in
    one round of pipelines, ``users_by_id`` with the statements (their parameters need
    each user's local date, from the zone); if the users read are not exactly those
    remembered (an unknown or deleted id, a changed zone), that read is discarded and the
    batch read as any other: ``users_by_id``, then the statements."""
    require_aware(now)
    texts = batch_texts(user_ids)
    st = statements
    # (frame key, statement, audited source name).
    sources = (("expenses", st.expenses, st.expenses.name),
               ("budgets", st.budgets, st.budgets.name),
               ("trips", st.trips, st.trips.name),
               ("events", st.events, st.events.name),
               ("fuel", st.fuel, st.fuel.name),
               ("maintenance", st.maintenance, st.maintenance.name),
               ("vehicles", st.vehicles, st.vehicles.name),
               ("after_now", st.recorded_after_now, None))
    bound = [statement for _, statement, _ in sources]
    batch: BatchUsers | None = None
    got: list[Sequence[Any]] | None = None  # the statements' rows, when read by psycopg
    # The guess is made for the batches users.ASKED_ORDER_MAX allows (their order is known
    # beforehand), whatever this module's transport threshold: a guessed batch is read
    # through psycopg, as every batch of up to ROWS_MAX_TRAVELERS is.
    guess = None if arrow else guess_users(texts, now)
    if guess is not None:
        # Every user's zone is remembered, so its local date is known before the read:
        # users_by_id goes with the statements, in their round trip, rather than one
        # before them. Kept only if it confirms the guess (same users, same zones).
        second = [st.users_by_id, *bound[4:]]
        halves = await asyncio.gather(
            db.fetch_together(bound[:4], guess.batch.params,
                              generic_plans=generic_plans(len(texts), bound[:4])),
            db.fetch_together(second, guess.batch.params, row_types=[UserRow],
                              generic_plans=generic_plans(len(texts), second)))
        batch = confirmed_users(guess, halves[1][0], now)
        got = [*halves[0], *halves[1][1:]]
    if batch is None:
        got = None  # a discarded guess's rows
        batch = await users_of(db, statements, texts, now)
        if batch is None:
            return None
        if arrow is None:
            arrow = len(batch.users) > ROWS_MAX_TRAVELERS
        if not arrow:
            parts = await asyncio.gather(*(
                db.fetch_together(part, batch.params,
                                  generic_plans=generic_plans(len(batch.users), part))
                for part in (bound[:4], bound[4:])))
            got = [*parts[0], *parts[1]]
    frames: dict[str, Frame] = {}
    if got is not None:
        for (key, _, _), rows in zip(sources, got, strict=True):
            schema = SCHEMAS[key]
            frames[key] = (frame_of_columns(unrolled(rows, len(schema)), schema)
                           if key in UNROLLED else frame_of_rows(rows, schema))
    else:
        tables = await asyncio.gather(*(db.copy_arrow(*statement, batch.params)
                                        for statement in bound))
        for (key, _, _), table in zip(sources, tables, strict=True):
            frames[key] = to_frame(table, key)
    for key, _, audited in sources:
        if audited is not None:
            audit_read(audited, frames[key].height)  # who read how many rows, never what
    return BatchFrames(now=now, users=tuple(batch.users), people=people_frame(batch.todays),
                       **frames)


__all__ = ["CUSTOM_PLANS", "GENERIC_PLANS_MAX_TRAVELERS", "ROWS_MAX_TRAVELERS", "UNROLLED",
           "generic_plans", "read_frames", "to_frame", "unrolled"]
