"""Wiring: settings → database → data integrator, opened once per process."""

from __future__ import annotations

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
    detectors: DetectorSettings


async def run_migrations(settings: Settings, conninfo: str, *, supabase: bool = False,
                         broadcast: bool = False) -> list[str]:
    """Apply the engine's migrations and the preset's views (and, asked for, the Supabase
    access and broadcast SQL); return what was applied."""
    async with admin_connection(conninfo, settings) as conn:
        return await migrate(conn, schema=settings.engine_schema, preset=settings.preset,
                             supabase=supabase, broadcast=broadcast)


@asynccontextmanager
async def open_engine(
    settings: Settings, *, conninfo: str | None = None, migrate_first: bool = False
) -> AsyncIterator[Engine]:
    """Open the engine on ``conninfo`` (default: DATABASE_URL or the embedded server)."""
    if conninfo is None:
        with database_conninfo(settings) as resolved:
            async with open_engine(settings, conninfo=resolved, migrate_first=migrate_first) as e:
                yield e
        return
    if migrate_first:
        await run_migrations(settings, conninfo)
    db = Database(conninfo, settings)
    await db.open()
    try:
        data = ProactiveDataIntegrator(db, settings, DetectorSettings())
        yield Engine(settings, conninfo, db, data, data.detectors)
    finally:
        await db.close()
