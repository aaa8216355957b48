"""Resolve which database to use: DATABASE_URL, or the embedded server started on demand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from psycopg import sql

from pam_proactive.config import Settings
from pam_proactive.db.connection import admin_connection
from pam_proactive.db.embedded import DEFAULT_DBNAME, database_uri, embedded_server, ensure_database
from pam_proactive.db.reachability import with_connect_timeout
from pam_proactive.errors import ConfigurationError


@contextmanager
def database_conninfo(settings: Settings) -> Iterator[str]:
    """Yield the connection string to use; starts and later stops the embedded server if needed.

    It carries ``connect_timeout`` (``PAM_CONNECT_TIMEOUT``), so that every connection made
    with it fails within seconds when the server is not there.
    """
    if settings.database_url:
        yield with_connect_timeout(settings.database_url, settings.connect_timeout)
        return
    with embedded_server(settings.resolved_data_dir()) as server_uri:
        ensure_database(server_uri, DEFAULT_DBNAME)
        yield with_connect_timeout(database_uri(server_uri, DEFAULT_DBNAME),
                                   settings.connect_timeout)


# The demo seeds the embedded default database itself, so that `sweep` and `context` run
# afterwards see the demo travelers.
DEMO_DBNAME = DEFAULT_DBNAME


async def reset_demo_database(conninfo: str, settings: Settings) -> str:
    """A clean database for `demo`; returns its connection string.

    On the embedded server the default database is dropped and recreated. On a database given by
    URL nothing is dropped: the demo refuses to run unless it holds no travelers yet.
    """
    if settings.database_url:
        async with admin_connection(conninfo, settings) as conn:
            cur = await conn.execute("SELECT to_regclass('public.profiles') IS NOT NULL")
            row = await cur.fetchone()
            if row and row[0]:
                cur = await conn.execute("SELECT EXISTS (SELECT 1 FROM public.profiles)")
                has_rows = await cur.fetchone()
                if has_rows and has_rows[0]:
                    raise ConfigurationError(
                        "DATABASE_URL (or --database-url) points at a database that already "
                        "has travelers; the demo only seeds an empty one. Leave the URL out to "
                        "use the embedded server, point it at an empty database, or add "
                        "travelers with `pam-proactive seed --seed 43`.")
        return conninfo
    server_uri = database_uri(conninfo, "postgres")
    async with admin_connection(server_uri, settings) as conn:
        await conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(DEMO_DBNAME)))
        await conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DEMO_DBNAME)))
    return database_uri(server_uri, DEMO_DBNAME)
