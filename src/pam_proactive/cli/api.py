"""`pam-proactive serve`, `export-user` and `forget-user`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import typer
from rich.console import Console

from pam_proactive.api import DEFAULT_HOST, DEFAULT_PORT
from pam_proactive.cli.options import (
    Command,
    DatabaseUrl,
    DataDir,
    Port,
    Preset,
    fail,
    run_guarded,
    settings_from,
)

if TYPE_CHECKING:
    from pam_proactive.config import Settings

console = Console(stderr=True)

Host = Annotated[str, typer.Option("--host", metavar="HOST",
                                   help="Address to listen on (loopback by default; "
                                   "another needs PAM_API_TOKEN).")]


def _user_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        fail(f"USER_ID: {text!r} is not a UUID (profiles.id)")


def serve(host: Host = DEFAULT_HOST, port: Port = DEFAULT_PORT,
          database_url: DatabaseUrl = None, preset: Preset = None,
          data_dir: DataDir = None) -> None:
    """Serve the HTTP API, the dashboard and /metrics until Ctrl-C (no scheduler: see
    `run`)."""
    from pam_proactive.api.server import check_bind, startup_notice
    from pam_proactive.api.server import serve as run_server
    from pam_proactive.errors import ConfigurationError

    settings = settings_from(database_url, preset, data_dir)
    try:
        check_bind(settings, host)
    except ConfigurationError as exc:
        fail(str(exc))
    # Migrated here, not only in the server's start-up: a database it refuses (traveler tables
    # that do not fit the preset) is then one line and exit 1, not uvicorn's traceback.
    run_guarded(_migrate(settings))
    console.print(startup_notice(settings, host, port))
    run_server(settings, host, port)


async def _migrate(settings: Settings) -> None:
    from pam_proactive.db.bootstrap import database_conninfo
    from pam_proactive.engine import run_migrations

    with database_conninfo(settings) as conninfo:
        await run_migrations(settings, conninfo, announce=True)


def export_user(user_id: str, database_url: DatabaseUrl = None, preset: Preset = None,
                data_dir: DataDir = None) -> None:
    """Print as JSON everything the engine stores about one traveler (GET .../export)."""
    from pam_proactive.api.repository import export_user as read_export
    from pam_proactive.api.serialize import to_jsonable
    from pam_proactive.engine import open_engine

    uid = _user_id(user_id)
    settings = settings_from(database_url, preset, data_dir)

    async def go() -> Any:
        async with open_engine(settings) as engine:
            return await read_export(engine, uid)

    data: Any = run_guarded(go())
    print(json.dumps(to_jsonable(data), sort_keys=True, indent=2))


def forget_user(user_id: str,
                yes: Annotated[bool, typer.Option("--yes", help="Do not ask to confirm.")] = False,
                database_url: DatabaseUrl = None, preset: Preset = None,
                data_dir: DataDir = None) -> None:
    """Erase everything the engine stores about one traveler; traveler tables are untouched."""
    from pam_proactive.api.repository import erase_user
    from pam_proactive.engine import open_engine

    uid = _user_id(user_id)
    settings = settings_from(database_url, preset, data_dir)
    if not yes and not typer.confirm(f"Erase the engine's data about {uid}?", err=True):
        fail("nothing erased", code=1)

    async def go() -> Any:
        async with open_engine(settings) as engine:
            return await erase_user(engine, uid)

    deleted: Any = run_guarded(go())
    print(json.dumps({"user_id": str(uid), "deleted": deleted}, sort_keys=True))


def register(app: typer.Typer) -> None:
    """Add the API's commands to the CLI."""
    app.command(cls=Command)(serve)
    app.command("export-user", cls=Command)(export_user)
    app.command("forget-user", cls=Command)(forget_user)
