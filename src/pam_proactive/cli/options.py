"""Options every command accepts, how they become settings, and how errors are printed.

Every error is one line on stderr naming what the user typed (the flag or the variable) and
what to do. Exit codes: 2 for bad input (a flag, a setting, a user id), 1 for a failure while
running (database unreachable, unknown traveler, doctor found errors).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar
from uuid import UUID

import psycopg
import typer
from rich.console import Console
from rich.markup import escape

# typer 0.29 vendors click (pinned in pyproject); its usage errors live here.
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from pam_proactive.analysis.bounds import clock_problem
from pam_proactive.config import Settings, load_settings_with_flags
from pam_proactive.db.connection import describe
from pam_proactive.db.reachability import reason
from pam_proactive.errors import ConfigurationError, InvalidUserIdError, PamError

T = TypeVar("T")

# soft_wrap: an error stays one line however narrow the terminal or the pipe (rich wraps
# non-terminal output at 80 columns otherwise).
err_console = Console(stderr=True, soft_wrap=True, highlight=False)

BAD_INPUT = 2
FAILED = 1
# --now this close to the wall clock is not a replay.
_REPLAY_SLACK = timedelta(minutes=5)

DatabaseUrl = Annotated[str | None, typer.Option(
    "--database-url", help="PostgreSQL URL; overrides DATABASE_URL / SUPABASE_DB_URL.")]
Preset = Annotated[str | None, typer.Option(
    "--preset", help="Schema preset: seed or wheels-wins-live (overrides PAM_PRESET).")]
DataDir = Annotated[Path | None, typer.Option(
    "--data-dir", help="Embedded PostgreSQL data directory (overrides PAM_DATA_DIR).")]
Now = Annotated[str | None, typer.Option(
    "--now", help="The clock as ISO-8601 (default: the current time); replays a past moment.")]

# The flag behind each settings field a command can override, to name it in errors.
_FLAGS = {"database_url": "--database-url", "preset": "--preset", "data_dir": "--data-dir"}


def settings_from(database_url: str | None, preset: str | None, data_dir: Path | None,
                  **extra: object) -> Settings:
    """Settings from the environment with the command-line overrides applied; a bad value
    exits 2 with one line naming the flag or the variable."""
    try:
        return load_settings_with_flags(
            {"database_url": database_url, "preset": preset, "data_dir": data_dir, **extra},
            _FLAGS)
    except ConfigurationError as exc:
        fail(str(exc))


def parse_now(text: str | None) -> datetime:
    """``--now`` as an aware datetime (naive input is read as UTC); default: current time."""
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--now {text}: should be ISO-8601, e.g. 2026-11-25T12:00:00+00:00")
    problem = clock_problem(moment)  # the API's ?now rule: calendar arithmetic stays sane
    if problem is not None:
        fail(f"--now {text}: {problem}")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_user_ids(values: Sequence[str], what: str) -> list[UUID]:
    """The ids as UUIDs, duplicates dropped; one that is not a UUID exits 2 naming it."""
    bad = []
    ids: dict[UUID, None] = {}
    for value in values:
        try:
            ids[UUID(value)] = None
        except ValueError:
            bad.append(value)
    if bad:
        fail(f"{what} {', '.join(bad)}: not a user id; user ids are UUIDs (profiles.id), "
             "e.g. 0b7c2f4e-1d2a-4c1b-9e7f-3a5d6c8b9e01")
    return list(ids)


def past_now_warning(now: datetime, real_now: datetime | None = None) -> None:
    """Warn on stderr when ``--now`` is in the past: rows recorded after it are ignored."""
    real = real_now or datetime.now(UTC)
    if now < real - _REPLAY_SLACK:
        err_console.print(
            f"note: --now is {_ago(real - now)} ago; rows recorded (created_at) after it are "
            "ignored, so data added since then does not count")


def _ago(delta: timedelta) -> str:
    minutes = delta.total_seconds() / 60
    if minutes < 120:
        return f"{minutes:.0f} minutes"
    if minutes < 48 * 60:
        return f"{minutes / 60:.0f} hours"
    return f"{minutes / 1440:,.0f} days"


def fail(message: str, code: int = BAD_INPUT) -> NoReturn:
    """Print ``error: <message>`` as one line on stderr and exit with ``code``."""
    print_error(message)
    raise typer.Exit(code)


def print_error(message: str) -> None:
    """``error: <message>`` as one line on stderr."""
    err_console.print(f"[bold red]error:[/] {escape(_one_line(message))}")


def run_guarded(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine; an error of the engine or of the database becomes one line on stderr
    and exit code 1 (2 for a malformed user id): never a traceback."""
    try:
        return asyncio.run(coro)
    except InvalidUserIdError as exc:
        fail(str(exc), BAD_INPUT)
    except PamError as exc:
        fail(str(exc), FAILED)
    except psycopg.OperationalError as exc:  # a direct connection (migrate, doctor, seed)
        fail(f"cannot connect to the database: {reason(exc)}. Check DATABASE_URL (or "
             "--database-url) and that the server is up", FAILED)
    except psycopg.Error as exc:
        # describe() keeps only messages that cannot quote row values.
        fail(f"the database refused: {type(exc).__name__} {describe(exc)}", FAILED)


class OneLineErrors(TyperGroup):
    """The command group, with click's usage errors (bad flag value, unknown option, missing
    argument) printed as one line instead of a usage box."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        """Run the command line; in standalone mode exit with its code."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode,
                                windows_expand_args, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args,
                                **extra)
        except NoArgsIsHelpError as exc:
            print(exc.format_message())
            sys.exit(0)
        except UsageError as exc:
            where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
            print_error(exc.format_message() + where)
            sys.exit(BAD_INPUT)
        except ClickException as exc:
            print_error(exc.format_message())
            sys.exit(exc.exit_code)
        except typer.Abort:
            err_console.print("aborted")
            sys.exit(FAILED)
        sys.exit(code if isinstance(code, int) else 0)


def _one_line(text: str) -> str:
    text = text.replace("Value error, ", "").replace("Input should", "should")
    text = text.replace("a valid integer, unable to parse string as an integer", "a whole number")
    return " ".join(text.split())
