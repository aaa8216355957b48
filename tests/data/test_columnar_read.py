"""The column-wise read (``data/columnar/read.py``) gives the frames the row path gives:
``read_frames`` equals the oracle's ``frames_from_rows(fetch_rows(...))`` (tests/oracle: the
batch statements' psycopg rows, converted value by value) for the same ids and moment, on the
demo population, on generated travelers, on awkward values (NULL, NaN, infinities, extreme
floats, quotes and line breaks in text), for unknown ids and through a real transaction-mode
pooler (pgbouncer); through either transport (ADBC, or psycopg for small batches)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import MakeDatabase, create_database, settings_for
from frame_equality import assert_same_frame, assert_same_rows
from generated import plant, user_data
from oracle.per_object import fetch_rows, frames_from_rows
from pam_proactive.data.columnar.columns import FLOAT64, INT32, INT64, STRING
from pam_proactive.data.columnar.frames import (
    SCHEMAS,
    BatchFrames,
    frame_of_columns,
)
from pam_proactive.data.columnar.read import (
    ROWS_MAX_TRAVELERS,
    read_frames,
    to_frame,
    unrolled,
)
from pam_proactive.data.queries import BatchStatements
from pam_proactive.db.arrow import ArrowReadError
from pam_proactive.db.connection import Database, refused
from pam_proactive.demo import seed_demo_data
from pam_proactive.errors import DataSourceError, SchemaError, TransientDataSourceError
from planting import Planter

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
TODAY = NOW.date()
# after_now has no ORDER BY (its counts are read per user and source, never in order).
UNORDERED = ("after_now",)


def assert_same_frames(old: BatchFrames, new: BatchFrames) -> int:
    """``new`` equals ``old`` frame by frame (dtypes, values through every accessor, NaN
    as NaN; the :data:`UNORDERED` ones as sets of rows); returns the rows compared."""
    assert new.now == old.now and new.users == old.users
    assert_same_frame(new.people, old.people)
    compared = 0
    for key, schema in SCHEMAS.items():
        a, b = getattr(old, key), getattr(new, key)
        assert {n: c.dtype for n, c in b.columns.items()} == dict(schema), key
        if key in UNORDERED:
            assert_same_rows(b, a)
        else:
            assert_same_frame(b, a)
        compared += a.height
    # The read's expenses are in the order the assembly relies on: by user, then day.
    ex = new.expenses
    keys = list(zip(ex.get_column("i").to_list(), ex.get_column("offset").to_list(),
                    strict=True))
    assert keys == sorted(keys)
    return compared


# read_frames' transport: ADBC, psycopg, or its choice by batch size.
TRANSPORTS = pytest.mark.parametrize("arrow", [True, False, None],
                                     ids=["adbc", "psycopg", "by-size"])


async def both(db: Database, ids: list[Any], now: datetime, arrow: bool | None = None
               ) -> tuple[BatchFrames | None, BatchFrames | None]:
    """(row path's frames, column-wise read's frames through ``arrow``) of ``ids`` at
    ``now``."""
    st = BatchStatements.for_schema(db.settings.engine_schema)
    rows = await fetch_rows(db, st, ids, now)
    old = None if rows is None else frames_from_rows(rows.users, rows.todays, now,
                                                     rows.fetched)
    return old, await read_frames(db, st, ids, now, arrow=arrow)


async def compare(uri: str, ids: list[Any], now: datetime, batch_size: int = 250,
                  arrow: bool | None = None, **overrides: object) -> int:
    """Compare both reads over ``ids`` in batches; returns the rows compared."""
    db = Database(uri, settings_for("seed", **overrides))
    await db.open()
    compared = 0
    try:
        for start in range(0, len(ids), batch_size):
            old, new = await both(db, ids[start : start + batch_size], now, arrow)
            assert old is not None and new is not None
            compared += assert_same_frames(old, new)
    finally:
        await db.close()
    return compared


async def seeded(make_database: MakeDatabase, now: datetime, users: int) -> tuple[str, list[Any]]:
    uri = await make_database("seed")
    async with await psycopg.AsyncConnection.connect(uri) as conn:
        await seed_demo_data(conn, users=users, seed=11, now=now,
                             engine_schema=settings_for("seed").engine_schema)
        cur = await conn.execute("SELECT id FROM profiles ORDER BY id")
        ids = [r[0] for r in await cur.fetchall()]
    return uri, ids


@pytest.mark.parametrize("now", [NOW, datetime(2026, 1, 2, 15, 0, tzinfo=UTC)],
                         ids=lambda d: d.isoformat())
@TRANSPORTS
async def test_demo_population_same_frames_as_the_row_path(make_database: MakeDatabase,
                                                          now: datetime, arrow: bool | None
                                                          ) -> None:
    uri, ids = await seeded(make_database, now, 400)
    # Batches on both sides of the transport's threshold.
    small = ids[: 3 * ROWS_MAX_TRAVELERS]
    assert await compare(uri, small, now, ROWS_MAX_TRAVELERS, arrow) > 1_000
    # One traveler at a time, as the context endpoint reads (psycopg: generic plans).
    assert await compare(uri, ids[:20], now, 1, arrow) > 100
    assert await compare(uri, ids, now, 250, arrow) > 10_000  # the population says something


def test_generated_travelers_same_frames_as_the_row_path(pg_server: str) -> None:
    uri = asyncio.run(create_database(pg_server, "seed"))

    @settings(max_examples=20, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(user_data, min_size=1, max_size=9))
    def check(users: list[dict[str, Any]]) -> None:
        with Planter(uri, "seed") as p:
            ids = [plant(p, data) for data in users]
        for arrow in (True, False):
            asyncio.run(compare(uri, ids, NOW, arrow=arrow))

    check()


@TRANSPORTS
async def test_awkward_stored_values_same_frames(make_database: MakeDatabase,
                                                 arrow: bool | None) -> None:
    uri = await make_database("seed")
    texts = ["", "a,b", 'say "hi"', "two\nlines", "cr\r\nlf", "\\N", "NULL", "é 🚐 ☕", " "]
    with Planter(uri, "seed") as p:
        uid = p.user(timezone="Not/AZone")
        for k, text in enumerate(texts):
            day = TODAY - timedelta(days=k)
            p.expense(uid, 12.5, text or "food", day, description=text)
            p.event(uid, text or "x", NOW + timedelta(days=k, microseconds=123_457),
                    location=text or None, all_day=k % 2 == 0)
        p.expense(uid, float("nan"), "fuel", TODAY, description=None)
        p.expense(uid, 99_999_999.99, "fuel", TODAY - timedelta(days=3))
        p.expense(uid, -99_999_999.99, "fuel", TODAY + timedelta(days=400))
        p.expense(uid, 0.01, "", TODAY - timedelta(days=8))
        p.budget(uid, "", float("nan"))
        p.budget(uid, "total", 99_999_999.99, period="yearly")
        p.trip(uid, "A, \"B\"", "C\nD", None, None, None, route_data="{not json\n")
        p.trip(uid, "", "E", TODAY, TODAY, 0.0, route_data={"origin": {"lat": 1e300,
                                                                         "lng": "x"}})
        p.fill(uid, TODAY, float("nan"), None, cost=float("nan"))
        p.fill(uid, TODAY - timedelta(days=1), 99_999_999.99, 2_147_483_647, cost=0.0)
        p.maintenance(uid, "oil change", TODAY, None, next_due_mileage=-2_147_483_648)
        p.vehicle(uid, tank_gallons=float("nan"), odometer_miles=None, name="",
                  registration_expires=date(9999, 12, 31), insurance_expires=date(1, 1, 1))
        other = p.user(timezone=None)
        p.expense(other, 1.0, "food", TODAY, created_at=NOW + timedelta(seconds=1))
        p.fill(other, TODAY, 5.0, 100.0, created_at=NOW + timedelta(days=1))
        p.vehicle(other, tank_gallons=None, mpg=None)
    assert await compare(uri, [uid, other], NOW, arrow=arrow) > 30


# Every dtype's awkward values, straight from SQL (the traveler tables' numeric(10,2) columns
# cannot hold infinities or 1e308): the CSV transport must give what the row path gives.
_EDGES = """
SELECT * FROM (VALUES
  (1, 'b1', NULL::text, 'NaN'::float8, 'monthly', DATE '2026-01-01', NULL::date, 80.0::float8),
  (1, 'b2', '', 'Infinity', '', DATE '0001-01-01', DATE '9999-12-31', '-Infinity'),
  (2, '', 'a,"b"' || chr(10) || 'c', 1.7976931348623157e308, NULL, DATE '2000-02-29',
   NULL, 5e-324),
  (2, 'NULL', '\\N', -0.0, 'x', DATE '1970-01-01', NULL, 0.30000000000000004),
  (3, 'b5', 'é', -1.7976931348623157e308, ' ', DATE '2026-11-25', NULL, NULL)
) v(i, budget_id, category, amount_limit, period, start_date, end_date, alert_threshold_pct)
ORDER BY 1, 2
"""
_EDGE_EVENTS = """
SELECT * FROM (VALUES
  (1, 'e1', 't', TIMESTAMPTZ '2026-11-25 18:00:00.000001+11', NULL::timestamptz, true,
   NULL::text, ''),
  (2, 'e2', '', TIMESTAMPTZ '1900-01-01 00:00:00+00', TIMESTAMPTZ '2100-06-30 23:59:59.999999Z',
   false, 'x', NULL),
  (3, 'e3', NULL, NULL, NULL, NULL, 'y', 'z')
) v(i, event_id, title, starts_at, ends_at, all_day, event_type, location_name)
ORDER BY 1
"""


@pytest.mark.parametrize("pooled", [False, True], ids=["direct", "pooler"])
async def test_extreme_values_cross_the_transport_exactly(
    make_database: MakeDatabase, transaction_pooler: Callable[[str], str], pooled: bool
) -> None:
    direct = await make_database("seed")
    uri = transaction_pooler(direct) if pooled else direct
    db = Database(uri, settings_for("seed", database_url=uri, transaction_pooler=pooled))
    await db.open()
    try:
        empties: dict[str, list[Any]] = {key: [] for key in SCHEMAS}
        for key, query in (("budgets", _EDGES), ("events", _EDGE_EVENTS)):
            rows = await db.fetch("edges", query)
            expected = getattr(frames_from_rows([], [], NOW, {**empties, key: rows}), key)
            got = to_frame(await db.copy_arrow("edges", query), key)
            assert_same_frame(got, expected)
            assert got.height == len(rows) >= 3
        floats = to_frame(await db.copy_arrow("edges", _EDGES), "budgets").get_column(
            "alert_threshold_pct").to_list()
        assert math.isinf(floats[1]) and floats[2] == 5e-324 and floats[3] == 0.1 + 0.2
        # Values are merged in client-side as quoted literals, whatever they hold.
        tricky = "x'); DROP TABLE profiles; --\\"
        echoed = await db.copy_arrow("echo", "SELECT %(v)s::text AS v, %(n)s::int AS n",
                                     {"v": tricky, "n": 7})
        assert echoed.to_pylist() == [{"v": tricky, "n": 7}]
    finally:
        await db.close()


@TRANSPORTS
async def test_no_known_user_gives_none_and_unknown_ids_are_left_out(
    make_database: MakeDatabase, arrow: bool | None
) -> None:
    from uuid import uuid4

    uri = await make_database("seed")
    with Planter(uri, "seed") as p:
        known = p.user()
        p.expense(known, 20.0, "food", TODAY)
    db = Database(uri, settings_for("seed"))
    await db.open()
    try:
        st = BatchStatements.for_schema(db.settings.engine_schema)
        assert await read_frames(db, st, [], NOW, arrow=arrow) is None
        assert await read_frames(db, st, [uuid4(), uuid4()], NOW, arrow=arrow) is None
        old, new = await both(db, [uuid4(), known, uuid4()], NOW, arrow)
        assert old is not None and new is not None
        assert [u.user_id for u in new.users] == [known] and new.expenses.height == 1
        assert_same_frames(old, new)
        # Each source is timed under its statement's name, as Database.fetch's are.
        timed = db.metrics.snapshot()["statements"]
        assert {"expenses", "budgets", "trips", "calendar_events", "fuel_log",
                "maintenance_records", "vehicles", "recorded_after_now"} <= set(timed)
        # A source's missing view is the same SchemaError as the row path's, naming the
        # first statement to fail of the two reading it (the reads run concurrently).
        async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
            await conn.execute("ALTER VIEW pam_proactive.traveler_fuel_fills RENAME TO gone")
        with pytest.raises(SchemaError,
                           match=r"'(fuel_log|recorded_after_now)'.*traveler_fuel_fills"):
            await read_frames(db, st, [known], NOW, arrow=arrow)
    finally:
        await db.close()


async def test_through_a_transaction_pooler_same_frames(
    make_database: MakeDatabase, transaction_pooler: Callable[[str], str]
) -> None:
    direct, ids = await seeded(make_database, NOW, 120)
    pooled = transaction_pooler(direct)
    # Several rounds on a small pool: the reads' transactions land on different server
    # sessions, and none may depend on another's settings.
    for arrow in (True, False):
        compared = await compare(pooled, ids * 2, NOW, batch_size=60, arrow=arrow,
                                 database_url=pooled, transaction_pooler=True,
                                 pool_max_size=2)
        assert compared > 3_000
    # One traveler at a time (generic plans, set for the pipeline's transaction only).
    assert await compare(pooled, ids[:10] * 2, NOW, batch_size=1, arrow=False,
                         database_url=pooled, transaction_pooler=True, pool_max_size=2) > 50


def test_to_frame_takes_any_names_and_the_schema_dtypes() -> None:
    for key, schema in SCHEMAS.items():
        empty = pa.table({f"c{k}": pa.array([], pa.string()) for k in range(len(schema))})
        frame = to_frame(empty, key)
        assert frame.height == 0 and {n: c.dtype for n, c in frame.columns.items()} == schema
    table = pa.table({"a": pa.array([2], pa.int64()), "b": ["fuel_log"],
                      "count": pa.array([9], pa.int64())})
    frame = to_frame(table, "after_now")
    assert list(frame.columns) == ["i", "source", "rows"]
    assert list(frame.iter_rows()) == [(2, "fuel_log", 9)]
    assert [c.dtype for c in frame.columns.values()] == [INT32, STRING, INT64]


def test_to_frame_casts_a_custom_views_text_numerics_strictly() -> None:
    # A custom view's numeric comes from ADBC as text: read as the number it is (NaN and
    # infinities kept), as the row path reads it; a text that is no number is an error.
    texts = ["12.50", "NaN", "-Infinity", "1e5", None]
    no_day = pa.array([None] * 5, pa.date32())
    columns = [pa.array([1, 1, 2, 2, 3], pa.int64()), ["r1", "r2", "r3", "r4", "r5"],
               ["v"] * 5, ["oil"] * 5, no_day, texts, no_day, texts]
    table = pa.table(columns, names=[f"c{k}" for k in range(len(columns))])
    frame = to_frame(table, "maintenance")
    miles = frame.get_column("mileage_miles")
    assert miles.dtype is FLOAT64 and miles.null_count() == 1
    assert_same_frame(frame, frame_of_columns([c.to_pylist() for c in table.columns],
                                              SCHEMAS["maintenance"]))
    for bad in ("x", "", " 1", "1_0"):
        with pytest.raises(pa.ArrowInvalid):
            to_frame(table.set_column(5, "c5", pa.array([bad] * 5)), "maintenance")
    with pytest.raises(pa.ArrowInvalid):  # a position beyond INT32
        to_frame(table.set_column(0, "c0", pa.array([2**31] * 5, pa.int64())), "maintenance")


def test_to_frame_unrolls_the_expense_arrays_as_the_row_path() -> None:
    rows = [(1, ["food", None], [12.5, None], [0, -8], ["e1", None], [None, "x"]),
            (3, ["fuel"], [float("nan")], [-1], ["e2"], ["y"])]
    names = list(SCHEMAS["expenses"])
    table = pa.table({name: [row[k] for row in rows] for k, name in enumerate(names)})
    table = table.set_column(0, "i", pa.array([1, 3], pa.int64()))
    table = table.set_column(3, "offset", pa.array([[0, -8], [-1]], pa.list_(pa.int32())))
    frame = to_frame(table, "expenses")
    assert_same_frame(frame, frame_of_columns(unrolled(rows, len(names)),
                                              SCHEMAS["expenses"]))
    assert frame.get_column("i").to_list() == [1, 1, 3]
    uneven = table.set_column(5, "description", pa.array([["x"], ["y"]]))
    with pytest.raises(ValueError, match="unequal lengths"):
        to_frame(uneven, "expenses")


@pytest.mark.parametrize("pooled", [False, True], ids=["direct", "pooler"])
async def test_the_statement_timeout_holds_and_a_timed_out_read_is_retried_then_refused(
    make_database: MakeDatabase, transaction_pooler: Callable[[str], str], pooled: bool
) -> None:
    direct = await make_database("seed")
    uri = transaction_pooler(direct) if pooled else direct
    db = Database(uri, settings_for("seed", database_url=uri, transaction_pooler=pooled,
                                    query_timeout=0.3, retry_max_seconds=1.0))
    await db.open()
    try:
        with pytest.raises(TransientDataSourceError, match="'sleepy'"):
            await db.copy_arrow("sleepy", "SELECT pg_sleep(3) AS s")
        assert db.metrics.snapshot()["statements"]["sleepy"]["errors"] >= 2  # retried
        # The readers are still good after the cancelled reads.
        table = await db.copy_arrow("after", "SELECT 1::int AS one")
        assert table.to_pylist() == [{"one": 1}]
    finally:
        await db.close()


async def test_at_most_read_concurrency_column_wise_reads_at_once(
    make_database: MakeDatabase
) -> None:
    # Six reads asked at once, two slots: two connections serve them all, and no read ever
    # sees more than two of them running on the server.
    uri = await make_database("seed")
    db = Database(uri, settings_for("seed", database_url=uri, read_concurrency=2,
                                    pool_max_size=4))
    await db.open()
    probe = ("SELECT pg_backend_pid() AS pid, (SELECT count(*) FROM pg_stat_activity"
             " WHERE state = 'active' AND query LIKE '%%concurrency-probe%%'"
             " AND pid <> pg_backend_pid()) + 1 AS running, pg_sleep(0.15) IS NULL AS slept,"
             " 'concurrency-probe' AS marker")
    try:
        tables = await asyncio.gather(*(db.copy_arrow("probe", probe) for _ in range(6)))
    finally:
        await db.close()
    rows = [t.to_pylist()[0] for t in tables]
    assert len({r["pid"] for r in rows}) == 2
    assert max(r["running"] for r in rows) == 2


def test_failed_arrow_reads_are_translated_as_psycopg_errors_are_without_values() -> None:
    def error(state: str | None, primary: str | None, lost: bool = False) -> Exception:
        return refused(ArrowReadError(state, primary, lost), "query 'q'")

    assert isinstance(error("57014", "canceling statement due to statement timeout"),
                      TransientDataSourceError)
    assert isinstance(error("40001", "could not serialize access"), TransientDataSourceError)
    assert isinstance(error(None, None, lost=True), TransientDataSourceError)
    missing = error("42P01", 'relation "pam_proactive.traveler_fuel_fills" does not exist')
    assert isinstance(missing, SchemaError) and "traveler_fuel_fills" in str(missing)
    bad = error("22P02", 'invalid input syntax for type uuid: "secret-value"')
    assert type(bad) is DataSourceError and "22P02" in str(bad) and "secret" not in str(bad)
    assert type(error(None, None)) is DataSourceError  # a driver error: not retried
