"""One async connection pool per process, with timing, retries and the right session settings.

Direct connections get ``statement_timeout`` and ``application_name`` as startup options.
Supabase's transaction pooler (port 6543) accepts neither prepared statements nor session
settings, so there prepared statements are off and the timeout is enforced client-side.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from pam_proactive.config import Settings
from pam_proactive.db.metrics import QueryMetrics
from pam_proactive.errors import DataSourceError, SchemaError, TransientDataSourceError
from pam_proactive.observability.metrics import track_pool

log = logging.getLogger(__name__)

APPLICATION_NAME = "pam-proactive"

TRANSIENT_ERRORS = (
    psycopg.OperationalError,
    pg_errors.SerializationFailure,
    pg_errors.DeadlockDetected,
    PoolTimeout,
)


def connection_kwargs(settings: Settings) -> dict[str, Any]:
    """libpq/psycopg keyword arguments for every connection of the engine."""
    kwargs: dict[str, Any] = {"application_name": APPLICATION_NAME, "autocommit": True}
    if settings.uses_transaction_pooler:
        kwargs["prepare_threshold"] = None
    else:
        timeout_ms = int(settings.query_timeout * 1000)
        # The batch statements sort a whole batch's rows per user; the default 4 MB spills
        # them to disk.
        kwargs["options"] = (
            f"-c statement_timeout={timeout_ms} -c work_mem={settings.work_mem_mb}MB")
    return kwargs


class Database:
    """The process's pool plus query metrics. Create once per process, ``open()`` once."""

    def __init__(self, conninfo: str, settings: Settings) -> None:
        self.settings = settings
        self.metrics = QueryMetrics(settings.slow_query_seconds)
        self._pool = AsyncConnectionPool(
            conninfo,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
            kwargs=connection_kwargs(settings),
            timeout=settings.query_timeout,
            open=False,
            name="pam-proactive",
        )
        track_pool(self.pool_stats)  # the pool gauges of /metrics

    async def open(self) -> None:
        """Open the pool; raises :class:`TransientDataSourceError` if unreachable."""
        try:
            await self._pool.open(wait=True, timeout=self.settings.query_timeout)
        except PoolTimeout as exc:
            raise TransientDataSourceError(
                "cannot connect to the database: check DATABASE_URL and that the server is up"
            ) from exc

    async def close(self) -> None:
        """Close the pool and every connection."""
        await self._pool.close()

    async def __aenter__(self) -> Database:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """Borrow a connection (autocommit; use ``conn.transaction()`` to group writes)."""
        async with self._pool.connection() as conn:
            yield conn

    def pool_stats(self) -> dict[str, int]:
        """psycopg_pool's counters (pool_size, pool_available, requests_waiting, ...)."""
        return dict(self._pool.get_stats())

    async def fetch(
        self, name: str, query: str | sql.Composed, params: Sequence[Any] | dict[str, Any] = ()
    ) -> list[tuple[Any, ...]]:
        """Run a read statement with retries on transient errors; return all rows as tuples.

        ``name`` identifies the statement in metrics and logs; parameter values never appear.
        """
        attempts = self.settings.max_retries + 1
        for attempt in range(1, attempts + 1):
            started = time.perf_counter()
            try:
                rows = await asyncio.wait_for(
                    self._fetch_once(query, params), timeout=self.settings.query_timeout + 5
                )
            except (*TRANSIENT_ERRORS, TimeoutError) as exc:
                self.metrics.record(name, time.perf_counter() - started, ok=False)
                if attempt == attempts:
                    raise TransientDataSourceError(
                        f"query {name!r} failed after {attempts} attempts "
                        f"({type(exc).__name__}); check the database is reachable"
                    ) from exc
                await asyncio.sleep(backoff(attempt))
                continue
            except pg_errors.UndefinedTable as exc:
                self.metrics.record(name, time.perf_counter() - started, ok=False)
                raise SchemaError(
                    f"query {name!r}: {exc.diag.message_primary}. Run `pam-proactive migrate`, "
                    "then `pam-proactive doctor`"
                ) from exc
            except psycopg.Error as exc:
                self.metrics.record(name, time.perf_counter() - started, ok=False)
                raise DataSourceError(
                    f"query {name!r} failed: {type(exc).__name__} {describe(exc)}"
                ) from exc
            self.metrics.record(name, time.perf_counter() - started)
            return rows
        raise AssertionError("unreachable")  # pragma: no cover

    async def _fetch_once(
        self, query: str | sql.Composed, params: Sequence[Any] | dict[str, Any]
    ) -> list[tuple[Any, ...]]:
        # Binary results: dates, floats and arrays parse faster than their text forms.
        async with self._pool.connection() as conn, conn.cursor(binary=True) as cur:
            await cur.execute(query, params)
            return await cur.fetchall() if cur.description else []


# SQLSTATE classes whose messages name objects, not values: schema problems, privileges,
# connection and resource errors. Others (data exceptions, constraint violations) quote the
# offending values, which may be traveler data, so only their code is shown.
_DESCRIBED_CLASSES = ("08", "28", "3D", "3F", "42", "53", "57")


def describe(exc: psycopg.Error) -> str:
    """A log-safe description of a database error: its SQLSTATE, and its message only when
    that cannot carry row values."""
    state = exc.sqlstate or "?????"
    if state[:2] in _DESCRIBED_CLASSES and exc.diag.message_primary:
        return f"[{state}] {exc.diag.message_primary}"
    return f"[{state}]"


def backoff(attempt: int) -> float:
    """Seconds to wait before retry ``attempt + 1``: exponential with jitter, capped at 5 s."""
    return min(5.0, 0.1 * 2.0 ** (attempt - 1)) * (0.5 + random.random() / 2)
