"""Options every command accepts, how they become settings, and how errors are printed.

Every error is one line on stderr naming what the user typed (the flag or the variable) and
what to do. Exit codes: 2 for bad input (a flag, a setting, a user id), 1 for a failure while
running (database unreachable, unknown traveler, doctor found errors).

This module is imported by every command module when the CLI starts, so that `--help` and
`--version` stay fast: it imports no database driver, settings model or engine at import
time; each is imported by the function that needs it.
"""

from __future__ import annotations

import sys
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn, TypeVar
from uuid import UUID

import typer
from rich.console import Console
from rich.markup import escape

# typer 0.29 vendors click (pinned in pyproject); its usage errors live here.
from typer._click.core import Context, Parameter
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

if TYPE_CHECKING:
    from pam_proactive.config import Settings

T = TypeVar("T")

# soft_wrap: an error stays one line however narrow the terminal or the pipe (rich wraps
# non-terminal output at 80 columns otherwise).
err_console = Console(stderr=True, soft_wrap=True, highlight=False)

BAD_INPUT = 2
FAILED = 1
# --now this close to the wall clock is not a replay.
_REPLAY_SLACK = timedelta(minutes=5)

DatabaseUrl = Annotated[str | None, typer.Option(
    "--database-url", metavar="URL",
    help="PostgreSQL URL; overrides DATABASE_URL / SUPABASE_DB_URL.")]
Preset = Annotated[str | None, typer.Option(
    "--preset", metavar="NAME",
    help="Schema preset: seed or wheels-wins-live (overrides PAM_PRESET).")]
DataDir = Annotated[Path | None, typer.Option(
    "--data-dir", metavar="DIR",
    help="Embedded PostgreSQL data directory (overrides PAM_DATA_DIR).")]
Now = Annotated[str | None, typer.Option(
    "--now", metavar="ISO",
    help="The clock as ISO-8601 with its UTC offset, e.g. 2026-11-25T12:00:00+00:00 "
         "(default: the current time); replays a past moment.")]
Port = Annotated[int, typer.Option("--port", metavar="PORT", min=0, max=65535,
                                   help="TCP port of the API and dashboard.")]

OutputFormat = Literal["table", "json", "jsonl"]
Format = Annotated[OutputFormat, typer.Option(
    "--format", metavar="table|json|jsonl",
    help="table (plain text with a header when piped), json (one document) or jsonl (one "
         "record a line).")]

# The flag behind each settings field a command can override, to name it in errors.
_FLAGS = {"database_url": "--database-url", "preset": "--preset", "data_dir": "--data-dir"}


def deprecated(old: str, new: str) -> None:
    """One line on stderr: ``old`` still works for this release; ``new`` replaces it."""
    err_console.print(f"note: {old} is deprecated and will be removed in the next release: "
                      f"use {new}", markup=False)


def renamed(value: T, old_value: T | None, old: str, new: str) -> T:
    """The value of a renamed flag: ``old_value`` (the deprecated spelling ``old``, with a
    note on stderr) when it was given, else ``value``."""
    if old_value is None:
        return value
    deprecated(old, new)
    return old_value


def settings_from(database_url: str | None, preset: str | None, data_dir: Path | None,
                  **extra: object) -> Settings:
    """Settings from the environment with the command-line overrides applied; a bad value
    exits 2 with one line naming the flag or the variable."""
    from pam_proactive.config import load_settings_with_flags
    from pam_proactive.errors import ConfigurationError

    try:
        return load_settings_with_flags(
            {"database_url": database_url, "preset": preset, "data_dir": data_dir, **extra},
            _FLAGS)
    except ConfigurationError as exc:
        fail(str(exc))


def parse_now(text: str | None) -> datetime:
    """``--now`` as an aware datetime; default: the current time. A moment without its UTC
    offset exits 2: reading it as UTC or as local time would silently shift a replay."""
    if text is None:
        return datetime.now(UTC)
    from pam_proactive.analysis.bounds import clock_problem

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--now {text}: should be ISO-8601, e.g. 2026-11-25T12:00:00+00:00")
    if moment.tzinfo is None:
        fail(f"--now {text}: give its UTC offset, e.g. {moment.isoformat()}+00:00 (or Z) "
             "for UTC")
    problem = clock_problem(moment)  # the API's ?now rule: calendar arithmetic stays sane
    if problem is not None:
        fail(f"--now {text}: {problem}")
    return moment


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
    import asyncio

    import psycopg

    from pam_proactive.db.connection import describe
    from pam_proactive.db.reachability import reason
    from pam_proactive.errors import InvalidUserIdError, PamError

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


def honest_metavars(params: list[Parameter]) -> list[Parameter]:
    """``params`` with no made-up metavar in the help: a flag (``--dry-run``, ``--help``)
    takes no value, so it shows none instead of typer's ``<bool>``; an option that takes a
    value shows the metavar it was declared with (see tests/cli/test_grammar.py)."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""
        elif isinstance(param, TyperArgument):
            # An argument is shown by its name (USER_ID); typer would add the
            # Python type beside it (<str>), which says nothing to the user.
            param.display_type_rich = _no_type  # type: ignore[method-assign]
    return params


def _no_type(ctx: Context) -> None:
    return None


class Command(TyperCommand):
    """Every ``pam-proactive`` command: honest metavars in its help."""

    def get_params(self, ctx: Context) -> list[Parameter]:
        """The command's parameters, help option included."""
        return honest_metavars(super().get_params(ctx))


class OneLineErrors(TyperGroup):
    """The command group, with click's usage errors (bad flag value, unknown option, missing
    argument) printed as one line instead of a usage box."""

    def get_params(self, ctx: Context) -> list[Parameter]:
        """The group's parameters (``--version``, ``--help``)."""
        return honest_metavars(super().get_params(ctx))

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
