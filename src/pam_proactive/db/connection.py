"""One async connection pool per process, with timing, retries and the right session settings.

Every statement of the engine goes through :class:`Database`: reads with
:meth:`Database.fetch`, writes in :meth:`Database.transaction` (or
:meth:`Database.run_in_transaction`, which retries the whole transaction on transient
errors). Each statement is timed under its name in :class:`QueryMetrics`.

Direct connections get ``statement_timeout`` and ``application_name`` as startup options.
Supabase's transaction pooler (port 6543) accepts neither prepared statements nor session
settings, so there prepared statements are off, reads are timed out client-side, and each
transaction starts with ``SET LOCAL statement_timeout`` (a transaction-scoped setting, which
the pooler allows).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, fields
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from pam_proactive.config import Settings
from pam_proactive.db.metrics import QueryMetrics
from pam_proactive.errors import DataSourceError, SchemaError, TransientDataSourceError
from pam_proactive.observability.metrics import track_pool

log = logging.getLogger(__name__)

T = TypeVar("T")
Params = Sequence[Any] | dict[str, Any]

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
        # them to disk. Prepared statements are planned for each call's parameters: a
        # generic plan, made once for a sweep's contiguous batches, walks the whole id
        # range of a watcher's few scattered travelers (one statement went from 0.2 ms to
        # 170 ms with it at 20,000 travelers).
        kwargs["options"] = (
            f"-c statement_timeout={timeout_ms} -c work_mem={settings.work_mem_mb}MB"
            " -c plan_cache_mode=force_custom_plan")
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
        """Open the pool. A server that refuses or does not answer a first connection within
        ``PAM_CONNECT_TIMEOUT`` raises :class:`DatabaseUnreachableError` at once (not retried);
        a pool that still cannot fill raises :class:`TransientDataSourceError`."""
        from pam_proactive.db.reachability import check_reachable

        conninfo, kwargs = self._pool.conninfo, self._pool.kwargs
        if isinstance(conninfo, str) and isinstance(kwargs, dict):  # always, from __init__
            await check_reachable(conninfo, kwargs, self.settings.connect_timeout)
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

    @asynccontextmanager
    async def transaction(self, name: str) -> AsyncIterator[Transaction]:
        """One transaction on a borrowed connection, committed when the block ends.

        Every statement run through the yielded :class:`Transaction` is timed in
        :attr:`metrics` under its own name, and so is the commit (``<name>.commit``). The
        statement timeout holds behind the transaction pooler too. Database errors leave
        as :class:`TransientDataSourceError` (connection lost, timeout, serialization
        failure, deadlock: worth retrying), :class:`SchemaError` or
        :class:`DataSourceError`, naming the statement; other exceptions pass unchanged.
        """
        tx: Transaction | None = None
        try:
            async with self._pool.connection() as conn:
                began = conn.transaction()
                await began.__aenter__()
                tx = Transaction(self, conn, name)
                try:
                    if self.settings.uses_transaction_pooler:
                        await tx.execute(f"{name}.timeout", sql.SQL(
                            "SET LOCAL statement_timeout = {}").format(
                                sql.Literal(int(self.settings.query_timeout * 1000))))
                    yield tx
                except BaseException as exc:
                    await began.__aexit__(type(exc), exc, exc.__traceback__)
                    raise
                started = time.perf_counter()
                tx.statement = f"{name}.commit"
                await began.__aexit__(None, None, None)
                self.metrics.record(tx.statement, time.perf_counter() - started)
        except (*TRANSIENT_ERRORS, TimeoutError) as exc:
            where = tx.statement if tx is not None else name
            raise TransientDataSourceError(
                f"statement {where!r} failed ({type(exc).__name__}); the transaction was "
                "rolled back: retry it, and check the database is reachable") from exc
        except pg_errors.UndefinedTable as exc:
            raise SchemaError(
                f"statement {tx.statement if tx else name!r}: {exc.diag.message_primary}. "
                "Run `pam-proactive migrate`, then `pam-proactive doctor`") from exc
        except psycopg.Error as exc:
            raise DataSourceError(
                f"statement {tx.statement if tx else name!r} failed: {type(exc).__name__} "
                f"{describe(exc)}") from exc

    async def run_in_transaction(
        self,
        name: str,
        work: Callable[[Transaction], Awaitable[T]],
        *,
        on_retry: Callable[[int], None] | None = None,
    ) -> T:
        """Run ``work(tx)`` in :meth:`transaction` ``name``; on a transient error, roll back
        and run it again from the start, with backoff, for up to ``PAM_RETRY_MAX_SECONDS``
        (:class:`RetryBudget`).

        ``work`` must be safe to repeat (its effects are rolled back, but it runs again).
        ``on_retry(attempt)`` is called before each retry. Returns what ``work`` returned;
        raises :class:`TransientDataSourceError` once the budget is used up.
        """
        retry = RetryBudget.for_settings(self.settings)
        while True:
            try:
                async with self.transaction(name) as tx:
                    return await work(tx)
            except TransientDataSourceError as exc:
                delay = retry.next_delay()
                if delay is None:
                    raise TransientDataSourceError(
                        f"transaction {name!r} failed after {retry.spent()}: {exc}") from exc
                log.warning("retrying a transaction", extra={"statement": name,
                                                             "attempt": retry.attempts})
                if on_retry is not None:
                    on_retry(retry.attempts)
                await asyncio.sleep(delay)

    def pool_stats(self) -> dict[str, int]:
        """psycopg_pool's counters (pool_size, pool_available, requests_waiting, ...)."""
        return dict(self._pool.get_stats())

    async def fetch(
        self, name: str, query: str | sql.Composed, params: Sequence[Any] | dict[str, Any] = ()
    ) -> list[tuple[Any, ...]]:
        """Run a read statement, retrying transient errors within ``PAM_RETRY_MAX_SECONDS``
        (:class:`RetryBudget`); return all rows as tuples.

        ``name`` identifies the statement in metrics and logs; parameter values never appear.
        """
        retry = RetryBudget.for_settings(self.settings)
        while True:
            started = time.perf_counter()
            try:
                rows = await asyncio.wait_for(
                    self._fetch_once(query, params), timeout=self.settings.query_timeout + 5
                )
            except (*TRANSIENT_ERRORS, TimeoutError) as exc:
                self.metrics.record(name, time.perf_counter() - started, ok=False)
                delay = retry.next_delay()
                if delay is None:
                    raise TransientDataSourceError(
                        f"query {name!r} failed after {retry.spent()} "
                        f"({type(exc).__name__}); check the database is reachable"
                    ) from exc
                log.warning("retrying a query", extra={"statement": name,
                                                       "attempt": retry.attempts})
                await asyncio.sleep(delay)
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

    async def _fetch_once(
        self, query: str | sql.Composed, params: Sequence[Any] | dict[str, Any]
    ) -> list[tuple[Any, ...]]:
        # Binary results: dates, floats and arrays parse faster than their text forms.
        async with self._pool.connection() as conn, conn.cursor(binary=True) as cur:
            await cur.execute(query, params)
            return await cur.fetchall() if cur.description else []


def in_schema(text: str, schema: str) -> sql.Composed:
    """``text`` with every ``{s}`` bound to ``schema`` as a quoted identifier."""
    return sql.SQL(text).format(s=sql.Identifier(schema))


S = TypeVar("S")


def schema_statements(cls: type[S], schema: str, texts: Mapping[str, object]) -> S:
    """An instance of the dataclass ``cls`` whose every field holds the statement text
    ``texts[FIELD_NAME]`` (the field's name in capitals) composed with :func:`in_schema`.

    A statements module declares its texts as constants and one dataclass of fields named
    after them, then calls this with its ``globals()``: a field without a text fails here,
    at composition, not at the first query."""
    composed: dict[str, sql.Composed] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        text = texts.get(f.name.upper())
        if not isinstance(text, str):
            raise TypeError(f"{cls.__name__}.{f.name}: no statement text {f.name.upper()}")
        composed[f.name] = in_schema(text, schema)
    return cls(**composed)


@dataclass(frozen=True, slots=True)
class Statement:
    """A named SQL statement: ``name`` identifies it in metrics and logs; ``text`` may hold
    ``{placeholders}`` for identifiers (schema, tables), bound with :meth:`bind`."""

    name: str
    text: str

    def bind(self, **identifiers: sql.Composable) -> tuple[str, sql.Composed]:
        """(name, composed query) with the identifiers filled in, for ``tx.execute(*...)``."""
        return self.name, sql.SQL(self.text).format(**identifiers)


class Transaction:
    """The statements of one :meth:`Database.transaction`, each timed under its name.

    Not created directly. Statements get the engine's timeout: the server's
    ``statement_timeout``, and a client-side limit a little longer in case the server
    cannot answer.
    """

    def __init__(self, db: Database, conn: psycopg.AsyncConnection[Any], name: str) -> None:
        self._db = db
        self._conn = conn
        self.name = name
        self.statement = name  # the statement running, or last run (for error messages)

    async def execute(self, name: str, query: str | sql.Composed, params: Params = ()) -> int:
        """Run a statement; return its row count (rows inserted, updated, ...; -1 if none)."""
        async with self._cursor(name, query, params) as cur:
            return int(cur.rowcount)

    async def fetch(
        self, name: str, query: str | sql.Composed, params: Params = ()
    ) -> list[tuple[Any, ...]]:
        """Run a statement; return all its rows as tuples (none for a statement without)."""
        async with self._cursor(name, query, params) as cur:
            return await cur.fetchall() if cur.description else []

    async def fetch_value(self, name: str, query: str | sql.Composed, params: Params = ()) -> Any:
        """Run a statement; return the first column of its first row (None without rows)."""
        rows = await self.fetch(name, query, params)
        return rows[0][0] if rows else None

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[Transaction]:
        """A nested block (a savepoint) of this transaction, rolled back alone on error."""
        async with self._conn.transaction():
            yield self

    @asynccontextmanager
    async def _cursor(
        self, name: str, query: str | sql.Composed, params: Params
    ) -> AsyncIterator[psycopg.AsyncCursor[Any]]:
        self.statement = name
        started = time.perf_counter()
        ok = False
        try:
            async with self._conn.cursor() as cur:
                await asyncio.wait_for(
                    cur.execute(query, params), timeout=self._db.settings.query_timeout + 5)
                ok = True
                yield cur
        finally:
            self._db.metrics.record(name, time.perf_counter() - started, ok=ok)


@asynccontextmanager
async def within(target: Database | Transaction, name: str) -> AsyncIterator[Transaction]:
    """A transaction to run statements in: ``target``'s own new one when it is the
    :class:`Database`, or a savepoint of ``target`` when it is already a transaction."""
    if isinstance(target, Transaction):
        async with target.savepoint() as tx:
            yield tx
    else:
        async with target.transaction(name) as tx:
            yield tx


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


# A shorter bound for the work of one context (an HTTP request: its caller is better answered
# 503 with Retry-After than held for PAM_RETRY_MAX_SECONDS); None: the setting alone.
_RETRY_CAP: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "pam_retry_cap", default=None)


@contextmanager
def retry_cap(seconds: float) -> Iterator[None]:
    """Inside the block (and the tasks it starts), transient errors are retried for at most
    ``seconds``, or ``PAM_RETRY_MAX_SECONDS`` if that is shorter."""
    token = _RETRY_CAP.set(seconds)
    try:
        yield
    finally:
        _RETRY_CAP.reset(token)


class RetryBudget:
    """The waits between tries of work that failed transiently (connection lost, server
    restarting, pool timeout): :func:`backoff`'s exponential waits, until ``seconds`` have
    passed since the first failure (``PAM_RETRY_MAX_SECONDS``, default 30: a database restart
    takes a few seconds). One budget per piece of work; a success does not refill it."""

    @classmethod
    def for_settings(cls, settings: Settings) -> RetryBudget:
        """The budget of ``PAM_RETRY_MAX_SECONDS``, or of a shorter :func:`retry_cap`."""
        cap = _RETRY_CAP.get()
        seconds = settings.retry_max_seconds
        return cls(seconds if cap is None else min(seconds, cap))

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.attempts = 0  # failures so far
        self._first: float | None = None

    def next_delay(self) -> float | None:
        """Record a failure; return the seconds to wait before the next try, or None when the
        budget is spent (the caller gives up). The last wait is cut to end with the budget."""
        now = time.monotonic()
        if self._first is None:
            self._first = now
        self.attempts += 1
        left = self.seconds - (now - self._first)
        if left <= 0:
            return None
        return min(left, backoff(self.attempts))

    def spent(self) -> str:
        """The failures and the time they took, for the one-line error that gives up, naming
        the setting that bounds it."""
        elapsed = 0.0 if self._first is None else time.monotonic() - self._first
        bound = ("PAM_RETRY_MAX_SECONDS" if _RETRY_CAP.get() is None
                 else "retries of one request")
        return f"{self.attempts} attempts over {elapsed:.1f} s ({bound}={self.seconds:g})"
