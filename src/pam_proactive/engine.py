"""Wiring: settings → database → data integrator, opened once per process."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.config import Settings
from pam_proactive.data.integration import ProactiveDataIntegrator
from pam_proactive.db.bootstrap import database_conninfo
from pam_proactive.db.connection import Database, admin_connection
from pam_proactive.db.migrate import migrate


@dataclass(slots=True)
class Engine:
    """Everything a command or a worker process needs, created once."""

    settings: Settings
    conninfo: str
    db: Database
    data: ProactiveDataIntegrator
    detector_settings: DetectorSettings


async def run_migrations(settings: Settings, conninfo: str, *, supabase: bool = False,
                         broadcast: bool = False, create_reference_tables: bool = False,
                         announce: bool = False) -> list[str]:
    """Apply the engine's migrations and the preset's views (and, asked for, the seed
    preset's reference tables, the Supabase access and broadcast SQL); return what was
    applied. A database whose traveler tables do not fit the preset is refused
    (:class:`~pam_proactive.errors.PresetMismatchError`). With ``announce``, what was applied
    (if anything) is one line on stderr: a command that migrates as a side effect says so."""
    async with admin_connection(conninfo, settings) as conn:
        applied = await migrate(conn, schema=settings.engine_schema, preset=settings.preset,
                                supabase=supabase, broadcast=broadcast,
                                create_reference_tables=create_reference_tables)
    if announce and applied:
        print(migration_notice(settings, applied), file=sys.stderr, flush=True)
    return applied


def migration_notice(settings: Settings, applied: list[str]) -> str:
    """The stderr line of a command that migrated before its work."""
    return (f"note: migrated schema {settings.engine_schema} (preset {settings.preset}): applied "
            f"{', '.join(applied)}")


@asynccontextmanager
async def open_engine(
    settings: Settings, *, conninfo: str | None = None, migrate_first: bool = False,
    create_reference_tables: bool = False,
) -> AsyncIterator[Engine]:
    """Open the engine on ``conninfo`` (default: DATABASE_URL or the embedded server).

    ``migrate_first`` migrates the engine's own schema first (never traveler tables, unless
    ``create_reference_tables``: `run --demo` only), saying so on stderr when it applies
    anything, and refuses a database whose traveler tables do not fit the preset."""
    if conninfo is None:
        with database_conninfo(settings) as resolved:
            async with open_engine(settings, conninfo=resolved, migrate_first=migrate_first,
                                   create_reference_tables=create_reference_tables) as e:
                yield e
        return
    if migrate_first:
        await run_migrations(settings, conninfo, announce=True,
                             create_reference_tables=create_reference_tables)
    db = Database(conninfo, settings)
    await db.open()
    try:
        data = ProactiveDataIntegrator(db, settings, DetectorSettings())
        yield Engine(settings, conninfo, db, data, data.detector_settings)
    finally:
        await db.close()
