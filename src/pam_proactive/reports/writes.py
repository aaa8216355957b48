"""The one place the reports open a write transaction (to become ``Database.transaction``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from pam_proactive.db.connection import TRANSIENT_ERRORS, Database, describe
from pam_proactive.errors import DataSourceError, TransientDataSourceError


@asynccontextmanager
async def transaction(db: Database, name: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A pooled connection inside one transaction, committed on exit; database errors become
    :class:`TransientDataSourceError` (worth retrying) or :class:`DataSourceError`, naming
    ``name`` and never a value."""
    try:
        async with db.connection() as conn, conn.transaction():
            yield conn
    except TRANSIENT_ERRORS as exc:
        raise TransientDataSourceError(
            f"write {name!r} failed ({type(exc).__name__}); it was rolled back, retry it"
        ) from exc
    except pg_errors.UndefinedTable as exc:
        raise DataSourceError(
            f"write {name!r}: {exc.diag.message_primary}. Run `pam-proactive migrate`"
        ) from exc
    except psycopg.Error as exc:
        raise DataSourceError(f"write {name!r} failed: {type(exc).__name__} {describe(exc)}"
                              ) from exc
