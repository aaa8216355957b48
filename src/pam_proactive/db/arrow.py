"""Reads straight into Arrow through adbc-driver-postgresql (used by
:meth:`Database.copy_arrow`; nothing else imports it).

The driver runs a query as ``COPY (query) TO STDOUT (FORMAT BINARY)`` and decodes the binary
rows in C++: measured on 20,000 demo travelers (bench/read_transports.py) it costs the client
a third of the CPU of psycopg's COPY (whose per-row messages alone cost more than the
driver's whole read) and a fifth of psycopg's rows converted value by value. It is
blocking, so each read runs in a worker thread on a connection of its own (at most
``PAM_READ_CONCURRENCY`` of them, opened on demand, with the engine's session settings as
the pool's). Few on purpose: a sweep's reads only need to stay ahead of its detectors, which
use one core, and more reads at once take that core (see ``docs/configuration.md``).

The query arrives with its values already merged in as literals: the driver prepares it
unnamed to learn its columns, then runs the COPY, within one transaction per read behind a
transaction pooler (on a direct connection, outside any); no named prepared statement, no
session state, so it works behind a transaction pooler. A read that
outlives its caller's timeout is cancelled on the server (the statement's ``cancel``) and
its connection dropped.

The driver is used through adbc-driver-manager's own objects (database, connection,
statement), not its DB-API layer: that layer imports every dataframe library it finds
installed (Polars: 65 ms, ``pyarrow.dataset``: 11 ms) where these need 5 ms, and the
first read of a sweep waits for that import.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from psycopg.conninfo import make_conninfo

if TYPE_CHECKING:  # the driver loads with the first read (Arrow is loaded by then)
    import adbc_driver_manager
    import pyarrow as pa

class ArrowReadError(Exception):
    """A failed read of :class:`ArrowReaders`: its SQLSTATE and primary message only (the
    driver's own message quotes the query, values included, so it is never kept); without
    a SQLSTATE, ``connection_failed`` tells a lost or refused connection from a driver
    error. ``connection.refused`` turns it into the engine's error."""

    def __init__(self, sqlstate: str | None, primary: str | None,
                 connection_failed: bool) -> None:
        super().__init__(f"[{sqlstate or '?????'}]")
        self.sqlstate = sqlstate
        self.primary = primary
        self.connection_failed = connection_failed

    @classmethod
    def of(cls, exc: adbc_driver_manager.Error) -> ArrowReadError:
        """The error to raise for the driver's ``exc``."""
        from adbc_driver_manager import OperationalError

        found = {(k.decode() if isinstance(k, bytes) else k): v for k, v in exc.details or ()}
        primary = found.get("PG_DIAG_MESSAGE_PRIMARY")
        text = primary.decode(errors="replace") if isinstance(primary, bytes) else primary
        return cls(exc.sqlstate, text, exc.sqlstate is None and isinstance(exc, OperationalError))


class ArrowReaders:
    """Blocking ADBC connections for :meth:`read`, at most ``size`` at once."""

    def __init__(self, conninfo: str, session: dict[str, Any], size: int,
                 connect_timeout: float, pooler_timeout_ms: int | None) -> None:
        # libpq settings of the engine's connections (application_name, and on a direct
        # connection statement_timeout, work_mem, plan_cache_mode as startup options);
        # behind a transaction pooler, ``pooler_timeout_ms`` is set in each read's
        # transaction instead.
        self._conninfo = make_conninfo(
            conninfo, connect_timeout=max(1, round(connect_timeout)),
            **{k: v for k, v in session.items() if k in ("application_name", "options")})
        self._timeout_ms = pooler_timeout_ms
        self._idle: queue.SimpleQueue[_Session] = queue.SimpleQueue()
        self._slots = asyncio.Semaphore(size)
        self._lock = threading.Lock()
        self._closed = False

    async def read(self, text: str) -> pa.Table:
        """The rows of the query ``text`` (values merged in) as an Arrow table."""
        async with self._slots:
            running: list[Any] = []  # the worker's statement, once it has one
            work = asyncio.ensure_future(asyncio.to_thread(self._read, text, running))
            try:
                return await asyncio.shield(work)
            except asyncio.CancelledError:
                # A timeout or a cancelled caller: stop the server's work (the worker then
                # fails and drops its session) without waiting for a worker that may hang.
                if running:
                    with contextlib.suppress(Exception):
                        running[0].cancel()
                work.add_done_callback(_consume)
                raise

    def _read(self, text: str, running: list[Any]) -> pa.Table:
        import adbc_driver_manager

        conn = self._take()
        try:
            with adbc_driver_manager.AdbcStatement(conn.connection) as statement:
                running.append(statement)
                table = _run(conn.connection, statement, text, self._timeout_ms)
        except adbc_driver_manager.Error as exc:
            _close(conn)
            raise ArrowReadError.of(exc) from None  # its message quotes the values
        except BaseException:
            _close(conn)
            raise
        self._give(conn)
        return table

    def close(self) -> None:
        """Close every idle connection; those in use close when their read ends."""
        with self._lock:
            self._closed = True
        while True:
            try:
                _close(self._idle.get_nowait())
            except queue.Empty:
                return

    def _take(self) -> _Session:
        import adbc_driver_manager
        import adbc_driver_postgresql

        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        database = None
        try:
            database = adbc_driver_postgresql.connect(self._conninfo)
            # A new connection is in autocommit mode (ADBC's default).
            return _Session(database, adbc_driver_manager.AdbcConnection(database))
        except adbc_driver_manager.Error as exc:
            if database is not None:
                with contextlib.suppress(Exception):
                    database.close()
            raise ArrowReadError.of(exc) from None

    def _give(self, conn: _Session) -> None:
        with self._lock:
            if not self._closed:
                self._idle.put(conn)
                return
        _close(conn)


@dataclass(frozen=True, slots=True)
class _Session:
    """One server session: the driver's database (its settings) and its one connection."""

    database: adbc_driver_manager.AdbcDatabase
    connection: adbc_driver_manager.AdbcConnection

    def close(self) -> None:
        try:
            self.connection.close()
        finally:
            self.database.close()


def _run(conn: adbc_driver_manager.AdbcConnection,
         statement: adbc_driver_manager.AdbcStatement, text: str,
         timeout_ms: int | None) -> pa.Table:
    # One transaction per read: the driver prepares the query unnamed, describes it, then
    # runs the COPY, in separate exchanges; a transaction pooler hands a server session per
    # transaction, so outside one a later exchange may reach a session that never saw the
    # first ("prepared statement "" does not exist", seen through pgbouncer). Turning
    # autocommit off sends BEGIN, on again COMMIT (plain queries): no transaction is left
    # open between reads. A direct connection is one server session throughout: there
    # the transaction only costs two round trips (~1 ms of a one-traveler read), so it
    # is skipped; its statement_timeout is a startup option.
    if timeout_ms is None:
        return _query(statement, text)
    conn.set_autocommit(False)
    # Behind a pooler a session takes no startup options: the timeout is the transaction's.
    statement.set_sql_query(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
    statement.execute_update()
    table = _query(statement, text)
    conn.set_autocommit(True)
    return table


def _query(statement: adbc_driver_manager.AdbcStatement, text: str) -> pa.Table:
    """The rows of ``text`` run on ``statement``, read to the end as one table (the driver's
    errors, read or not, raised as its own ``adbc_driver_manager.Error``)."""
    from adbc_driver_manager import _reader

    statement.set_sql_query(text)
    stream, _ = statement.execute_query()
    return _reader.AdbcRecordBatchReader._import_from_c(stream.address).read_all()


def _consume(work: asyncio.Future[Any]) -> None:
    """Mark an abandoned read's outcome as seen (it was translated or dropped already)."""
    if not work.cancelled():
        work.exception()


def _close(conn: _Session) -> None:
    with contextlib.suppress(Exception):
        conn.close()
