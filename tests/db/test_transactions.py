"""Writes through the instrumented connector: named statements timed, whole-transaction
retries on a real transient error, errors that name the statement."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from conftest import MakeDatabase, settings_for
from pam_proactive.config import Settings
from pam_proactive.db.connection import Database, Transaction
from pam_proactive.errors import DataSourceError, TransientDataSourceError

OpenDatabase = Callable[[str, Settings], Awaitable[Database]]


async def test_statements_and_commit_are_timed_by_name(
    make_database: MakeDatabase, open_database: OpenDatabase
) -> None:
    db = await open_database(await make_database("seed"), settings_for("seed"))
    async with db.transaction("demo_write") as tx:
        await tx.execute("demo.create", "CREATE TABLE public.t (v int)")
        inserted = await tx.execute("demo.insert", "INSERT INTO public.t SELECT * FROM"
                                    " generate_series(1, 3)")
        assert inserted == 3
        assert await tx.fetch_value("demo.sum", "SELECT sum(v) FROM public.t") == 6
    stats = db.metrics.snapshot()["statements"]
    assert {n: stats[n]["count"] for n in ("demo.create", "demo.insert", "demo.sum",
                                           "demo_write.commit")} == dict.fromkeys(
        ("demo.create", "demo.insert", "demo.sum", "demo_write.commit"), 1)
    assert await db.fetch("demo.count", "SELECT count(*) FROM public.t") == [(3,)]


async def test_a_failed_transaction_rolls_back_and_names_the_statement(
    make_database: MakeDatabase, open_database: OpenDatabase
) -> None:
    db = await open_database(await make_database("seed"), settings_for("seed"))
    with pytest.raises(DataSourceError, match=r"'demo\.bad'") as caught:
        async with db.transaction("demo_write") as tx:
            await tx.execute("demo.create", "CREATE TABLE public.t (v int)")
            await tx.execute("demo.bad", "INSERT INTO public.t VALUES ('not a number')")
    assert not isinstance(caught.value, TransientDataSourceError)
    assert "not a number" not in str(caught.value)  # row values never appear in errors
    assert db.metrics.snapshot()["statements"]["demo.bad"]["errors"] == 1
    assert await db.fetch("demo.exists", "SELECT to_regclass('public.t')") == [(None,)]


async def test_run_in_transaction_retries_the_whole_transaction(
    make_database: MakeDatabase, open_database: OpenDatabase
) -> None:
    db = await open_database(await make_database("seed"), settings_for("seed"))
    async with db.transaction("setup") as tx:
        await tx.execute("demo.create", "CREATE TABLE public.t (v int)")
    tries: list[int] = []
    retried: list[int] = []

    async def work(tx: Transaction) -> int:
        tries.append(1)
        await tx.execute("demo.insert", "INSERT INTO public.t VALUES (1)")
        if len(tries) == 1:  # the first attempt loses its connection: a real transient error
            await tx.execute("demo.kill", "SELECT pg_terminate_backend(pg_backend_pid())")
        return len(tries)

    assert await db.run_in_transaction("demo_retry", work, on_retry=retried.append) == 2
    assert retried == [1]
    assert await db.fetch("demo.count", "SELECT count(*) FROM public.t") == [(1,)]  # once

    async def always_lost(tx: Transaction) -> None:
        await tx.execute("demo.kill", "SELECT pg_terminate_backend(pg_backend_pid())")

    with pytest.raises(TransientDataSourceError,
                       match=r"'demo_lost' failed after \d+ attempts over [\d.]+ s "
                             r"\(PAM_RETRY_MAX_SECONDS=2\)"):
        await db.run_in_transaction("demo_lost", always_lost)


async def test_other_errors_are_not_retried(
    make_database: MakeDatabase, open_database: OpenDatabase
) -> None:
    db = await open_database(await make_database("seed"), settings_for("seed"))
    calls: list[int] = []

    async def work(tx: Transaction) -> None:
        calls.append(1)
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        await db.run_in_transaction("demo_value", work)
    assert calls == [1]


async def test_statements_are_planned_for_each_call(
    make_database: MakeDatabase, open_database: OpenDatabase
) -> None:
    # A generic plan of a batch statement, made for a sweep's contiguous ids, would walk the
    # whole id range for a watcher's few scattered travelers.
    db = await open_database(await make_database("seed"), settings_for("seed"))
    for _ in range(7):  # past psycopg's prepare threshold: the statement is prepared
        assert await db.fetch("show", "SHOW plan_cache_mode") == [("force_custom_plan",)]
