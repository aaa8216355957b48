"""Resolve which database to use: DATABASE_URL, or the embedded server started on demand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pam_proactive.config import Settings
from pam_proactive.db.embedded import DEFAULT_DBNAME, database_uri, embedded_server, ensure_database


@contextmanager
def database_conninfo(settings: Settings) -> Iterator[str]:
    """Yield the connection string to use; starts and later stops the embedded server if needed."""
    if settings.database_url:
        yield settings.database_url
        return
    with embedded_server(settings.resolved_data_dir()) as server_uri:
        ensure_database(server_uri, DEFAULT_DBNAME)
        yield database_uri(server_uri, DEFAULT_DBNAME)
