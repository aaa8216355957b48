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
import itertools
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, TypeVar, cast, overload

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.pq import ExecStatus
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from pam_proactive.config import Settings
from pam_proactive.db.arrow import ArrowReadError, ArrowReaders
from pam_proactive.db.metrics import QueryMetrics
from pam_proactive.errors import (
    ConfigurationError,
    DataSourceError,
    SchemaError,
    TransientDataSourceError,
)
from pam_proactive.observability.metrics import track_pool

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R", bound=tuple[Any, ...])  # a NamedTuple row type
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
        self.conninfo = conninfo
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
        self._arrow: ArrowReaders | None = None  # opened by the first copy_arrow

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
        if self._arrow is not None:
            self._arrow.close()

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

    def admin(self, *, bounded: bool = True
              ) -> AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]:
        """A short-lived autocommit connection of its own, outside the pool: see
        :func:`admin_connection`."""
        return admin_connection(self.conninfo, self.settings, bounded=bounded)

    @asynccontextmanager
    async def listen(self, channel: str) -> AsyncIterator[Listener]:
        """LISTEN on ``channel`` on a dedicated connection outside the pool (a pooled one
        would be handed to other work, and its notifications with it), closed when the block
        ends. Works on a direct connection or a session pooler; behind a transaction pooler
        (PAM_TRANSACTION_POOLER, Supabase's port 6543) notifications never arrive, so it
        raises :class:`ConfigurationError` naming the setting. Connection failures raise
        :class:`DatabaseUnreachableError`; database errors while listening leave translated
        like every statement's (:func:`refused`)."""
        if self.settings.uses_transaction_pooler:
            raise ConfigurationError(
                "LISTEN/NOTIFY does not work behind a transaction pooler: set DATABASE_URL to "
                "a direct connection (port 5432) or a session pooler, or PAM_TRANSACTION_POOLER"
                "=false if the URL is not one")
        async with admin_connection(self.conninfo, self.settings) as conn:
            listener = Listener(conn, channel)
            await listener.start()
            yield listener

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
        except psycopg.Error as exc:
            raise refused(exc, f"statement {tx.statement if tx else name!r}") from exc

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

    @overload
    async def fetch(self, name: str, query: str | sql.Composed, params: Params = (), *,
                    row_type: None = None) -> list[tuple[Any, ...]]: ...

    @overload
    async def fetch(self, name: str, query: str | sql.Composed, params: Params = (), *,
                    row_type: type[R]) -> list[R]: ...

    async def fetch(self, name: str, query: str | sql.Composed, params: Params = (), *,
                    row_type: type[Any] | None = None) -> list[Any]:
        """Run a read statement, retrying transient errors within ``PAM_RETRY_MAX_SECONDS``
        (:class:`RetryBudget`); return all rows as tuples, or as ``row_type`` (a NamedTuple
        whose fields are the statement's column names, in order: :func:`named_rows`).

        ``name`` identifies the statement in metrics and logs; parameter values never appear.
        """
        return await self._read((name,), lambda: self._fetch_once(query, params, row_type))

    async def fetch_together(self, statements: Sequence[tuple[str, str | sql.Composed]],
                             params: Params = (),
                             row_types: Sequence[type[Any] | None] = (), *,
                             generic_plans: Sequence[bool] = ()) -> list[list[Any]]:
        """The rows of several read statements (``(name, query)`` pairs, e.g.
        :class:`BoundStatement`) that take the same ``params``, each as :meth:`fetch` gives
        them, sent together on one connection in one round trip (libpq's pipeline mode: each
        statement's Parse, Bind and Execute, then one Sync), instead of one connection and
        one round trip per statement: for the small batches, whose reads are mostly fixed
        costs (``data/columnar/read.py``).

        The statements run in one implicit transaction with no session state (unnamed, or
        prepared by psycopg after a few uses where prepared statements are allowed), so this
        works behind a transaction pooler. Retried as a whole like :meth:`fetch`;
        errors are translated naming the first statement that failed (the pipeline skips
        those after it). Each statement is timed under its name, with the time of the whole
        round trip (the statements' results arrive together). ``row_types``: per statement,
        in order, a row type as :meth:`fetch` takes it, or None for tuples (missing: tuples).

        ``generic_plans``: per statement, in order, whether it runs with its prepared
        statement's generic plan (missing: False; prepared at its first use on a connection,
        not after psycopg's few), rather than the custom plan the session asks for
        (:func:`connection_kwargs`: planned anew at each call): for reads whose
        planning costs more than their execution (one traveler's, ``data/columnar/read.py``).
        Set by ``plan_cache_mode`` for this transaction only (the pooled connection keeps
        its settings); those statements are sent after the others (their results still come
        back in order). Ignored without prepared statements (behind a transaction pooler:
        each call would plan its generic plan anew) and without pipelines (a libpq older
        than 14)."""
        types = [*row_types, *[None] * (len(statements) - len(row_types))]
        if not psycopg.AsyncPipeline.is_supported():  # a libpq older than 14
            return list(await asyncio.gather(*(
                self.fetch(name, query, params, row_type=t)
                for (name, query), t in zip(statements, types, strict=True))))
        names = tuple(name for name, _ in statements)
        failed = [names[0]]
        generic = ([*generic_plans, *[False] * (len(statements) - len(generic_plans))]
                   if not self.settings.uses_transaction_pooler else [False] * len(statements))
        return await self._read(
            names, lambda: self._together_once(statements, params, types, failed, generic),
            failed)

    async def copy_arrow(self, name: str, query: str | sql.Composed, params: Params = ()
                         ) -> pa.Table:
        """The rows of a read statement as one Arrow table, for the column-wise reads
        (``data/columnar/read.py``): adbc-driver-postgresql runs it as ``COPY (query) TO
        STDOUT (FORMAT BINARY)`` and decodes it in C++ (no Python object per value). Retried,
        timed under ``name`` and translated like :meth:`fetch`.

        COPY takes no bind parameters: psycopg merges ``params`` into the text client-side
        as quoted literals (``mogrify``, never string formatting). The driver runs the text
        with an unnamed statement and a plain COPY within one transaction (db/arrow.py),
        relying on no session state: it works behind a transaction pooler
        (``tests/data/test_columnar_read.py`` goes through pgbouncer)."""
        return await self._read((name,), lambda: self._arrow_once(query, params))

    async def _read(self, names: Sequence[str], once: Callable[[], Awaitable[T]],
                    failed: Sequence[str] = ()) -> T:
        """``once()``'s result: the read of the statements ``names``, retried, timed (each
        under its name) and translated; ``failed``, filled by ``once`` when it fails, holds the
        name of the statement that failed (by default the first)."""
        retry = RetryBudget.for_settings(self.settings)
        while True:
            started = time.perf_counter()
            try:
                result = await asyncio.wait_for(once(), timeout=self.settings.query_timeout + 5)
            except (*TRANSIENT_ERRORS, TimeoutError, ArrowReadError) as exc:
                name = failed[0] if failed else names[0]
                self.metrics.record(name, time.perf_counter() - started, ok=False)
                if isinstance(exc, ArrowReadError) and not transient(exc):
                    raise refused(exc, f"query {name!r}") from exc
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
            except psycopg.Error as exc:
                name = failed[0] if failed else names[0]
                self.metrics.record(name, time.perf_counter() - started, ok=False)
                raise refused(exc, f"query {name!r}") from exc
            elapsed = time.perf_counter() - started
            for name in names:
                self.metrics.record(name, elapsed)
            return result

    async def _arrow_once(self, query: str | sql.Composed, params: Params) -> pa.Table:
        async with self._pool.connection() as conn, psycopg.AsyncClientCursor(conn) as cur:
            # Only the connection's adaptation context (encoding): no round trip.
            text = cur.mogrify(query, params)
        if self._arrow is None:
            self._arrow = ArrowReaders(self.conninfo, connection_kwargs(self.settings),
                                       self.settings.read_concurrency,
                                       self.settings.connect_timeout,
                                       int(self.settings.query_timeout * 1000)
                                       if self.settings.uses_transaction_pooler else None)
        return await self._arrow.read(text)

    async def _fetch_once(self, query: str | sql.Composed, params: Params,
                          row_type: type[Any] | None) -> list[Any]:
        # Binary results: dates, floats and arrays parse faster than their text forms.
        async with self._pool.connection() as conn, conn.cursor(binary=True) as cur:
            if row_type is not None:
                cur.row_factory = named_rows(row_type)
            await cur.execute(query, params)
            return await cur.fetchall() if _has_rows(cur) else []

    async def _together_once(self, statements: Sequence[tuple[str, str | sql.Composed]],
                             params: Params, row_types: Sequence[type[Any] | None],
                             failed: list[str], generic: Sequence[bool]) -> list[list[Any]]:
        # The statements with custom plans first: the setting, once made, holds until the
        # transaction ends (the Sync), for the Bind of each statement sent after it.
        order = sorted(range(len(statements)), key=generic.__getitem__)
        async with self._pool.connection() as conn:
            sent: list[psycopg.AsyncCursor[Any]] = []  # in the order sent
            cursors: dict[int, psycopg.AsyncCursor[Any]] = {}  # by statement
            try:
                async with conn.pipeline():
                    made = False  # the setting
                    for k in order:
                        if generic[k] and not made:
                            await conn.cursor().execute(_GENERIC_PLANS)
                            made = True
                        sent.append(cur := conn.cursor(binary=True))
                        cursors[k] = cur
                        if (row_type := row_types[k]) is not None:
                            cur.row_factory = named_rows(row_type)
                        # A generic plan is prepared at its first use on a connection, not
                        # psycopg's fifth: until then each call would plan it anew.
                        await cur.execute(statements[k][1], params,
                                          prepare=True if generic[k] else None)
            except BaseException:
                # Results come in order, and a failed statement aborts those after it: the
                # first statement without a result is the one that failed.
                done = sum(1 for _ in itertools.takewhile(lambda c: c.pgresult is not None,
                                                          sent))
                failed[0] = statements[order[min(done, len(order) - 1)]][0]
                raise
            return [await cur.fetchall() if _has_rows(cur) else []
                    for cur in (cursors[k] for k in range(len(statements)))]


# fetch_together's generic_plans: a transaction-local setting, a statement of the pipeline.
_GENERIC_PLANS = "SELECT set_config('plan_cache_mode', 'force_generic_plan', true)"


def _has_rows(cur: psycopg.AsyncCursor[Any]) -> bool:
    """Whether ``cur``'s current result has rows to fetch, as ``cur.description`` tells but
    without making its ``Column`` per column (~2.5 us each, ten per statement: a tenth of a
    one-traveler read's client CPU went there)."""
    res = cur.pgresult
    return res is not None and (res.nfields > 0 or res.status == ExecStatus.TUPLES_OK)


def refused(exc: psycopg.Error | PoolTimeout | TimeoutError | ArrowReadError, what: str
            ) -> DataSourceError:
    """The engine's error for a database error of ``what`` ("query 'x'", "statement 'x'"):
    :class:`TransientDataSourceError` for those worth retrying, :class:`SchemaError` for a
    missing table, :class:`DataSourceError` otherwise; messages never quote row values."""
    if isinstance(exc, ArrowReadError):  # as the psycopg error of its SQLSTATE would be
        name = type(exc).__name__
        if transient(exc):
            return TransientDataSourceError(
                f"{what} failed ({name}); check the database is reachable")
        if exc.sqlstate == pg_errors.UndefinedTable.sqlstate:
            return SchemaError(f"{what}: {exc.primary}. Run `pam-proactive migrate`, "
                               "then `pam-proactive doctor`")
        return DataSourceError(f"{what} failed: {name} {_described(exc.sqlstate, exc.primary)}")
    if isinstance(exc, (*TRANSIENT_ERRORS, TimeoutError)):
        return TransientDataSourceError(
            f"{what} failed ({type(exc).__name__}); check the database is reachable")
    if isinstance(exc, pg_errors.UndefinedTable):
        return SchemaError(f"{what}: {exc.diag.message_primary}. Run `pam-proactive migrate`, "
                           "then `pam-proactive doctor`")
    assert isinstance(exc, psycopg.Error)  # PoolTimeout and TimeoutError are transient
    return DataSourceError(f"{what} failed: {type(exc).__name__} {describe(exc)}")


def transient(exc: ArrowReadError) -> bool:
    """Whether a failed Arrow read is worth retrying, as the psycopg error of its SQLSTATE
    would be (:data:`TRANSIENT_ERRORS`); without one, when its connection failed."""
    if exc.sqlstate is None:
        return exc.connection_failed
    try:
        return issubclass(pg_errors.lookup(exc.sqlstate), TRANSIENT_ERRORS)
    except KeyError:
        return False


@asynccontextmanager
async def admin_connection(conninfo: str, settings: Settings, *, bounded: bool = True
                           ) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A short-lived autocommit connection of its own, outside the pool, for DDL, migrations,
    LISTEN and the CLI's helpers (doctor, seeding, triggers), closed when the block ends.

    It has the engine's session settings (:func:`connection_kwargs`); ``bounded=False`` drops
    the statement timeout (bulk loads that take longer than one query may). A refused first
    connection raises :class:`DatabaseUnreachableError`; psycopg errors leaving the block are
    translated by :func:`refused`, once (errors the block catches itself stay its own)."""
    from pam_proactive.db.reachability import unreachable

    kwargs = connection_kwargs(settings)
    if not bounded:
        kwargs.pop("options", None)
    try:
        conn = await psycopg.AsyncConnection.connect(conninfo, **kwargs)
    except psycopg.OperationalError as exc:
        raise unreachable(exc) from None
    try:
        async with conn:
            yield conn
    except psycopg.Error as exc:
        raise refused(exc, "admin connection") from exc


class Listener:
    """Notifications of one channel on a dedicated connection (:meth:`Database.listen`)."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], channel: str) -> None:
        self._conn = conn
        self.channel = channel

    async def start(self) -> None:
        """Send LISTEN for the channel (quoted as an identifier)."""
        await self._conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))

    @property
    def closed(self) -> bool:
        """True once the connection is lost or closed: listen again with a new one."""
        return bool(self._conn.closed)

    async def payloads(self, timeout: float | None = None, stop_after: int | None = None
                       ) -> AsyncIterator[str]:
        """Payloads of the notifications arriving in the next ``timeout`` seconds (None: until
        ``stop_after`` have arrived, or forever)."""
        try:
            async for note in self._conn.notifies(timeout=timeout, stop_after=stop_after):
                yield note.payload
        except psycopg.Error as exc:
            raise refused(exc, f"LISTEN {self.channel!r}") from exc


def named_rows(row_type: type[R]
               ) -> Callable[[psycopg.AsyncCursor[Any]], Callable[[Sequence[Any]], R]]:
    """A psycopg row factory making ``row_type`` (a NamedTuple) of each row. The statement's
    column names must be the fields, in order, or it raises :class:`TypeError` naming both:
    a reordered select list fails at its first run instead of filling the wrong fields."""
    fields: tuple[str, ...] = getattr(row_type, "_fields")  # noqa: B009 (NamedTuple API)
    make: Callable[[Sequence[Any]], R] = getattr(row_type, "_make")  # noqa: B009

    def factory(cur: psycopg.AsyncCursor[Any]) -> Callable[[Sequence[Any]], R]:
        names = tuple(c.name for c in cur.description or ())
        if names != fields:
            raise TypeError(f"{row_type.__name__}: the statement returns columns {names}, "
                            f"not the fields {fields}")
        return make

    return factory


class BoundStatement(NamedTuple):
    """A statement ready to run: its metric name and its query with identifiers filled in,
    unpacked into a call (``db.fetch(*bound, params)``, ``tx.execute(*bound, params)``)."""

    name: str
    query: sql.Composed


@dataclass(frozen=True, slots=True)
class Statement:
    """A named SQL statement: ``name`` identifies it in metrics and logs
    (``pam_query_seconds{statement=...}``); ``text`` may hold ``{placeholders}`` for
    identifiers (``{s}``: the engine schema), bound with :meth:`bind`.

    Declared as a class attribute of a :class:`StatementSet`, it reads as itself on the
    class and as its :class:`BoundStatement` on an instance bound for one schema."""

    name: str
    text: str

    def bind(self, **identifiers: sql.Composable) -> BoundStatement:
        """(name, composed query) with the identifiers filled in, for ``tx.execute(*...)``."""
        return BoundStatement(self.name, sql.SQL(self.text).format(**identifiers))

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Statement: ...

    @overload
    def __get__(self, obj: StatementSet, owner: type[Any]) -> BoundStatement: ...

    def __get__(self, obj: StatementSet | None, owner: type[Any]) -> Statement | BoundStatement:
        return self if obj is None else obj.bound(self)


SS = TypeVar("SS", bound="StatementSet")


class StatementSet:
    """A namespace of :class:`Statement` class attributes, bound once per engine schema.

    ``Sub.for_schema(schema)`` is an instance whose every statement attribute is a
    :class:`BoundStatement` with ``{s}`` bound to ``schema`` as a quoted identifier (mypy checks
    the attribute names), and any other placeholder to the set's constant ``identifiers``
    (e.g. temporary table names). Texts are checked when the subclass is defined (an unknown
    placeholder or two statements of one name fail at import); one instance per schema and
    class is made, then reused."""

    statements: ClassVar[dict[str, Statement]] = {}
    # Constant identifiers besides ``{s}`` (e.g. a transaction's temporary table names), bound
    # with it in every statement of the set.
    identifiers: ClassVar[dict[str, sql.Composable]] = {}
    _instances: ClassVar[dict[str, Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found: dict[str, Statement] = {}
        for klass in reversed(cls.__mro__):
            found.update({k: v for k, v in vars(klass).items() if isinstance(v, Statement)})
        names = [st.name for st in found.values()]
        if len(set(names)) != len(names):
            raise TypeError(f"{cls.__name__}: two statements share a name")
        probe = sql.Identifier("schema")
        for attr, st in found.items():
            try:
                st.bind(s=probe, **cls.identifiers)
            except (KeyError, IndexError, ValueError) as exc:
                raise TypeError(f"{cls.__name__}.{attr}: bad placeholder in {st.name!r}: "
                                f"{exc!r}") from exc
        cls.statements = found
        cls._instances = {}

    def __init__(self, schema: str) -> None:
        self.schema = schema
        s = sql.Identifier(schema)
        self._bound = {st.name: st.bind(s=s, **self.identifiers)
                       for st in self.statements.values()}

    @classmethod
    def for_schema(cls: type[SS], schema: str) -> SS:
        """The statements bound for ``schema`` (made on the first call, then reused)."""
        found = cls._instances.get(schema)
        if found is None:
            found = cls._instances[schema] = cls(schema)
        return cast(SS, found)

    def bound(self, statement: Statement) -> BoundStatement:
        """``statement`` bound for this set's schema."""
        return self._bound[statement.name]


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
            return await cur.fetchall() if _has_rows(cur) else []

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
    return _described(exc.sqlstate, exc.diag.message_primary)


def _described(sqlstate: str | None, primary: str | None) -> str:
    state = sqlstate or "?????"
    if state[:2] in _DESCRIBED_CLASSES and primary:
        return f"[{state}] {primary}"
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
