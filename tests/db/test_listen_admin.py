"""Connections outside the pool go through the connector too: ``Database.listen`` on a
dedicated connection, ``admin_connection``/``Database.admin`` for DDL and the CLI's helpers,
with psycopg errors translated once."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import pytest
from psycopg import sql

from conftest import MakeDatabase, settings_for
from pam_proactive.config import Settings
from pam_proactive.db.connection import Database, admin_connection
from pam_proactive.errors import (
    ConfigurationError,
    DatabaseUnreachableError,
    DataSourceError,
    SchemaError,
)

OpenDatabase = Callable[[str, Settings], Awaitable[Database]]


async def test_listen_receives_what_is_notified_on_its_channel(
        make_database: MakeDatabase, open_database: OpenDatabase) -> None:
    uri = await make_database("seed")
    db = await open_database(uri, settings_for(database_url=uri))
    async with db.listen('odd "channel"') as listener:
        assert not listener.closed
        async with db.transaction("test.notify") as tx:
            await tx.execute("test.notify", sql.SQL("SELECT pg_notify({}, 'one')").format(
                sql.Literal('odd "channel"')))
            await tx.execute("test.notify_other", "SELECT pg_notify('other', 'two')")
        got = [p async for p in listener.payloads(timeout=2.0, stop_after=1)]
        assert got == ["one"]
        assert [p async for p in listener.payloads(timeout=0.2)] == []
    assert listener.closed


async def test_listen_behind_a_transaction_pooler_names_the_setting() -> None:
    settings = settings_for(database_url="postgresql://u@db.example:6543/postgres")
    db = Database(settings.database_url or "", settings)
    with pytest.raises(ConfigurationError, match=r"DATABASE_URL.*PAM_TRANSACTION_POOLER"):
        async with db.listen("anything"):
            pass


async def test_admin_is_autocommit_with_the_engine_session_settings(
        make_database: MakeDatabase, open_database: OpenDatabase) -> None:
    uri = await make_database("seed")
    settings = settings_for(database_url=uri, query_timeout=7.0)
    db = await open_database(uri, settings)
    async with db.admin() as conn:
        assert conn.autocommit
        cur = await conn.execute("SELECT current_setting('statement_timeout'),"
                                 " current_setting('application_name')")
        assert await cur.fetchone() == ("7s", "pam-proactive")
        await conn.execute("CREATE TABLE public.admin_made (x int)")
    async with db.admin(bounded=False) as conn:
        cur = await conn.execute("SELECT current_setting('statement_timeout'),"
                                 " to_regclass('public.admin_made') IS NOT NULL")
        assert await cur.fetchone() == ("0", True)  # committed, no timeout


async def test_admin_errors_are_translated_once(make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    settings = settings_for(database_url=uri)
    with pytest.raises(SchemaError, match=r"admin connection: relation .* does not exist"):
        async with admin_connection(uri, settings) as conn:
            await conn.execute("SELECT 1 FROM public.no_such_table")
    with pytest.raises(DataSourceError,
                       match=r"admin connection failed: DivisionByZero \[22012\]$"):
        async with admin_connection(uri, settings) as conn:
            await conn.execute("SELECT 1 / 0")


async def test_admin_on_a_closed_port_fails_fast() -> None:
    with socket.socket() as s:  # a free port number, released: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    uri = f"postgresql://postgres@127.0.0.1:{port}/x?connect_timeout=2"
    with pytest.raises(DatabaseUnreachableError, match="cannot connect to the database:"):
        await asyncio.wait_for(_open_admin(uri), timeout=5)


async def _open_admin(uri: str) -> None:
    async with admin_connection(uri, settings_for(database_url=uri)):
        pass
