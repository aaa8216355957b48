"""Options every command accepts, and how they become settings."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from pam_proactive.config import Settings, load_settings
from pam_proactive.errors import PamError

err_console = Console(stderr=True)

DatabaseUrl = Annotated[str | None, typer.Option(
    "--database-url", help="PostgreSQL URL; overrides DATABASE_URL / SUPABASE_DB_URL.")]
Preset = Annotated[str | None, typer.Option(
    "--preset", help="Schema preset: seed or wheels-wins-live (sets PAM_PRESET).")]
DataDir = Annotated[Path | None, typer.Option(
    "--data-dir", help="Embedded PostgreSQL data directory (when no database URL is set).")]
Now = Annotated[str | None, typer.Option(
    "--now", help="The clock as ISO-8601 (default: the current time); replays a past moment.")]


def settings_from(database_url: str | None, preset: str | None, data_dir: Path | None,
                  **extra: object) -> Settings:
    """Settings from the environment with the command-line overrides applied."""
    return load_settings(database_url=database_url, preset=preset, data_dir=data_dir, **extra)


def parse_now(text: str | None) -> datetime:
    """``--now`` as an aware datetime (naive input is read as UTC); default: current time."""
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--now: {text!r} is not ISO-8601, e.g. 2026-11-25T12:00:00+00:00")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print an error and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def run_guarded(coro: object) -> object:
    """Run a coroutine; a :class:`PamError` becomes a one-line message and exit code 1."""
    import asyncio

    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    except PamError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        sys.exit(1)
