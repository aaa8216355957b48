"""Fail fast when the database is not there: one connection attempt with a short timeout.

A pool opened on a refused address retries in the background until its timeout (the query
timeout, 30 s by default); a person typing a command, or a worker starting, deserves libpq's
reason within seconds instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pam_proactive.errors import DatabaseUnreachableError


def with_connect_timeout(conninfo: str, seconds: int) -> str:
    """``conninfo`` with libpq's ``connect_timeout`` set, unless it already sets one: every
    connection made with it (pool, migrations, doctor, seed) gives up after ``seconds``."""
    if "connect_timeout" in conninfo_to_dict(conninfo):
        return conninfo
    return make_conninfo(conninfo, connect_timeout=seconds)


async def check_reachable(conninfo: str, kwargs: Mapping[str, Any], seconds: int) -> None:
    """Return once one connection succeeds within ``seconds``; otherwise raise
    :class:`DatabaseUnreachableError` with libpq's reason (host and port, never a password)."""
    options = {**kwargs, "connect_timeout": seconds}
    try:
        conn = await asyncio.wait_for(psycopg.AsyncConnection.connect(conninfo, **options),
                                      timeout=seconds + 1)
    except TimeoutError:
        raise DatabaseUnreachableError(
            f"cannot connect to the database: no answer within {seconds} s. Check DATABASE_URL "
            "(or --database-url) and that the server is up and reachable") from None
    except psycopg.OperationalError as exc:
        raise unreachable(exc) from None
    await conn.close()


def unreachable(exc: psycopg.OperationalError) -> DatabaseUnreachableError:
    """The error of a first connection that failed, with libpq's reason."""
    return DatabaseUnreachableError(
        f"cannot connect to the database: {reason(exc)}. Check DATABASE_URL "
        "(or --database-url): host, port, role, password, and that the server is up")


def reason(exc: psycopg.OperationalError) -> str:
    """libpq's connection failure as one line."""
    text = " ".join(str(exc).split()).removeprefix("connection failed: ")
    # libpq's own hint ("Is the server running on that host...?") repeats ours.
    text = text.split(" Is the server running")[0]
    return text.rstrip(".") or type(exc).__name__
