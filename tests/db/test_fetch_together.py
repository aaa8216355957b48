"""Reads sent together (``Database.fetch_together``: one connection, one round trip, libpq's
pipeline mode): the same rows as one ``fetch`` per statement, directly and through a real
transaction-mode pooler; a failing statement named, not retried unless transient; each
statement timed under its name."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

import psycopg
import pytest

from conftest import MakeDatabase, settings_for
from pam_proactive.config import Settings
from pam_proactive.db.connection import Database
from pam_proactive.errors import DataSourceError, SchemaError, TransientDataSourceError

OpenDatabase = Callable[[str, Settings], Awaitable[Database]]

# Statements taking the same parameters, of every kind of value the batch reads load
# (binary results: dates, timestamps, floats with NaN and infinities, numerics, uuids,
# arrays, text with quotes), one returning no rows, one not using every parameter.
_STATEMENTS = (
    ("t.values", """
SELECT k, %(day)s::date + k AS day, %(at)s::timestamptz + k * interval '1 hour' AS at,
       (ARRAY['NaN', 'Infinity', '-0', '1e308', '0.1']::float8[])[k] AS x,
       (k * 1.25)::numeric(10, 2) AS n, md5(k::text)::uuid AS id,
       ARRAY[k, k + 1] AS pair, %(text)s || k AS note
FROM generate_series(1, 5) k ORDER BY k"""),
    ("t.none", "SELECT 1 AS one WHERE %(day)s::date < DATE '1900-01-01'"),
    ("t.count", "SELECT count(*) FROM generate_series(1, %(n)s)"),
    ("t.echo", "SELECT %(text)s::text AS text, %(n)s::int AS n"),
)
_PARAMS: dict[str, Any] = {"day": "2026-11-25", "at": "2026-11-25T18:00:00+00:00",
                           "text": "x'); DROP TABLE t; --\\", "n": 7}


def _same(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> bool:
    """Rows equal value for value, NaN equal to NaN."""
    return len(a) == len(b) and all(
        len(r) == len(s) and all(x == y or (isinstance(x, float) and math.isnan(x)
                                            and math.isnan(y)) for x, y in zip(r, s, strict=True))
        for r, s in zip(a, b, strict=True))


async def _database(make_database: MakeDatabase, transaction_pooler: Callable[[str], str],
                    open_database: OpenDatabase, pooled: bool, pool_max_size: int
                    ) -> Database:
    """An open database on a fresh seed database, through a transaction pooler when
    ``pooled``, with a pool of ``pool_max_size`` connections."""
    direct = await make_database("seed")
    uri = transaction_pooler(direct) if pooled else direct
    return await open_database(uri, settings_for("seed", database_url=uri,
                                                 transaction_pooler=pooled,
                                                 pool_max_size=pool_max_size))


@pytest.mark.parametrize("pooled", [False, True], ids=["direct", "pooler"])
async def test_the_rows_of_each_statement_as_fetch_gives_them(
    make_database: MakeDatabase, transaction_pooler: Callable[[str], str],
    open_database: OpenDatabase, pooled: bool
) -> None:
    # A pool of two: concurrent groups share server sessions through the pooler, and none
    # may depend on another's state.
    db = await _database(make_database, transaction_pooler, open_database, pooled, 2)
    alone = [await db.fetch(f"alone.{name}", query, _PARAMS) for name, query in _STATEMENTS]
    assert len(alone[0]) == 5 and alone[1] == [] and alone[2] == [(7,)]
    assert alone[3] == [(_PARAMS["text"], 7)]  # parameters bound, whatever they hold
    groups = await asyncio.gather(*(db.fetch_together(_STATEMENTS, _PARAMS)
                                    for _ in range(6)))
    for together in groups:
        assert len(together) == len(_STATEMENTS)
        for rows, expected in zip(together, alone, strict=True):
            assert _same(rows, expected)
    stats = db.metrics.snapshot()["statements"]
    assert {name: stats[name]["count"] for name, _ in _STATEMENTS} == dict.fromkeys(
        (name for name, _ in _STATEMENTS), 6)
    # One connection per group: six groups borrowed six, not six times four.
    before = db.pool_stats().get("requests_num", 0)
    await db.fetch_together(_STATEMENTS, _PARAMS)
    assert db.pool_stats()["requests_num"] - before == 1


@pytest.mark.parametrize("where", [0, 1, 3])
async def test_a_failing_statement_is_named_and_not_retried(
    make_database: MakeDatabase, open_database: OpenDatabase, where: int
) -> None:
    db = await open_database(await make_database("seed"), settings_for("seed"))
    statements = list(_STATEMENTS)
    # A data error whose message would quote the value: the message must not.
    statements[where] = ("t.bad", "SELECT 'secret-value'::int + %(n)s")
    with pytest.raises(DataSourceError, match=r"query 't\.bad'") as caught:
        await db.fetch_together(statements, _PARAMS)
    assert not isinstance(caught.value, TransientDataSourceError)
    assert "secret" not in str(caught.value)
    stats = db.metrics.snapshot()["statements"]
    assert stats["t.bad"] == {**stats["t.bad"], "count": 1, "errors": 1}  # tried once
    # A missing relation is a SchemaError naming the statement, as fetch's is.
    statements[where] = ("t.gone", "SELECT * FROM public.gone WHERE %(n)s > 0")
    with pytest.raises(SchemaError, match=r"'t\.gone'.*gone"):
        await db.fetch_together(statements, _PARAMS)
    # The connection went back to the pool in a good state.
    assert _same((await db.fetch_together(_STATEMENTS, _PARAMS))[3],
                 [(_PARAMS["text"], 7)])


async def test_a_timed_out_statement_is_retried_as_a_whole_then_refused(
    make_database: MakeDatabase, open_database: OpenDatabase
) -> None:
    db = await open_database(await make_database("seed"), settings_for(
        "seed", query_timeout=0.3, retry_max_seconds=1.0))
    statements = [*_STATEMENTS[:2], ("t.sleepy", "SELECT pg_sleep(3) FROM (SELECT %(n)s) s"),
                  *_STATEMENTS[2:]]
    with pytest.raises(TransientDataSourceError, match=r"'t\.sleepy'"):
        await db.fetch_together(statements, _PARAMS)
    assert db.metrics.snapshot()["statements"]["t.sleepy"]["errors"] >= 2  # retried
    assert (await db.fetch_together(_STATEMENTS, _PARAMS))[2] == [(7,)]


class _Echo(NamedTuple):
    text: str
    n: int


@pytest.mark.parametrize("pipelined", [True, False], ids=["pipeline", "libpq<14"])
async def test_row_types_and_the_fallback_without_pipelines(
    make_database: MakeDatabase, open_database: OpenDatabase,
    monkeypatch: pytest.MonkeyPatch, pipelined: bool
) -> None:
    # Without libpq's pipeline mode (libpq < 14) the statements are fetched one by one,
    # concurrently: the same rows, named where a row type is given.
    db = await open_database(await make_database("seed"), settings_for("seed"))
    if not pipelined:
        monkeypatch.setattr(psycopg.AsyncPipeline, "is_supported", classmethod(
            lambda cls: False))
    statements = [_STATEMENTS[3], _STATEMENTS[2], _STATEMENTS[3]]
    before = db.pool_stats().get("requests_num", 0)
    echoed, counted, plain = await db.fetch_together(statements, _PARAMS,
                                                     row_types=[_Echo])
    # One connection for the pipeline; one per statement without it.
    assert db.pool_stats()["requests_num"] - before == (1 if pipelined else 3)
    assert echoed == [_Echo(_PARAMS["text"], 7)] and echoed[0].n == 7
    assert counted == [(7,)] and plain == [(_PARAMS["text"], 7)]
    assert not isinstance(plain[0], _Echo)
    stats = db.metrics.snapshot()["statements"]
    assert stats["t.echo"]["count"] == 2 and stats["t.count"]["count"] == 1


@pytest.mark.parametrize("pooled", [False, True], ids=["direct", "pooler"])
async def test_generic_plans_for_the_statements_asked_and_the_pipeline_only(
    make_database: MakeDatabase, transaction_pooler: Callable[[str], str],
    open_database: OpenDatabase, pooled: bool
) -> None:
    # One connection: the reads after the pipeline run on the session it ran on.
    db = await _database(make_database, transaction_pooler, open_database, pooled, 1)
    mode = "SELECT current_setting('plan_cache_mode') WHERE %(n)s > 0"
    alone = [await db.fetch(f"alone.{name}", query, _PARAMS) for name, query in _STATEMENTS]
    session = await db.fetch("t.mode", mode, _PARAMS)
    if not pooled:  # the engine's sessions plan each call (db/connection.py)
        assert session == [("force_custom_plan",)]
    # Generic plans asked for the first statements and one mode reader, not the other: sent
    # after the others, but their rows come back in the order asked.
    statements = [*_STATEMENTS, ("t.generic", mode), ("t.custom", mode)]
    asked = [True, True, False, False, True, False]
    for _ in range(7):  # past psycopg's prepare threshold: prepared statements too
        together = await db.fetch_together(statements, _PARAMS, generic_plans=asked)
        for rows, expected in zip(together, alone, strict=False):
            assert _same(rows, expected)
        # Behind a transaction pooler there are no prepared statements: never generic.
        assert together[4] == ([("force_generic_plan",)] if not pooled else session)
        assert together[5] == session
        assert await db.fetch("t.mode", mode, _PARAMS) == session  # the pipeline's only
    # Only the caller's statements are timed, each once per call.
    stats = db.metrics.snapshot()["statements"]
    assert stats["t.generic"]["count"] == stats["t.custom"]["count"] == 7
    assert not any("set_config" in name for name in stats)


async def test_generic_plans_are_prepared_at_their_first_use(
    make_database: MakeDatabase, transaction_pooler: Callable[[str], str],
    open_database: OpenDatabase
) -> None:
    # One connection: the prepared statements read after the pipeline are its session's.
    db = await _database(make_database, transaction_pooler, open_database, False, 1)
    prepared = "SELECT statement FROM pg_prepared_statements WHERE %(n)s > 0"
    asked = [True, False, True, False]
    await db.fetch_together(_STATEMENTS, _PARAMS, generic_plans=asked)
    texts = [text for (text,) in await db.fetch("t.prepared", prepared, _PARAMS)]
    # The statements asked with generic plans, at once (psycopg's own threshold is 5 uses);
    # the others not yet. A statement's text is psycopg's, placeholders numbered.
    assert sorted(_marker(t) for t in texts) == ["t.count", "t.values"]


def _marker(text: str) -> str:
    """Which of :data:`_STATEMENTS` a prepared statement's text is (by a word of its own)."""
    found = [name for name, word in (("t.values", "md5"), ("t.none", "1900"),
                                     ("t.count", "count"), ("t.echo", "::int AS n"))
             if word in text]
    assert len(found) == 1, text
    return found[0]
