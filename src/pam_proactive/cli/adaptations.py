"""`pam-proactive adaptations list|reset`: what travelers' dismissal reasons changed, and the
operator's reversal (the same database function as the traveler's)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer
from rich.console import Console

from pam_proactive.cli.options import (
    Command,
    DatabaseUrl,
    DataDir,
    Format,
    OneLineErrors,
    Preset,
    fail,
    run_guarded,
    settings_from,
)
from pam_proactive.cli.render import Column, print_data, print_table

if TYPE_CHECKING:
    from pam_proactive.suggestions import adaptation

console = Console()

app = typer.Typer(cls=OneLineErrors, no_args_is_help=True, add_completion=False,
                  help="Per-traveler adaptations from dismissal reasons: list, reset.")

_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

UserOption = Annotated[str | None, typer.Option("--user", metavar="ID",
                                                 help="A traveler's id (UUID).")]


def _user(text: str | None) -> UUID | None:
    if text is None:
        return None
    try:
        return UUID(text)
    except ValueError:
        fail(f"--user: {text!r} is not a UUID")


_COLUMNS = (Column("user"), Column("type"), Column("kind", drop=2), Column("level", right=True),
            Column("value", right=True, drop=3), Column("answers", right=True, drop=4),
            Column("since", drop=1), Column("state", text=True, drop=5))


def _row(a: adaptation.Adaptation) -> list[str]:
    state = "in force" if a.in_force else f"reset by {a.reset_by or '-'}"
    return [str(a.user_id), a.type, a.kind, str(a.level), str(a.value), str(a.answers),
            a.since.date().isoformat() if a.since else "-", state]


@app.command("list", cls=Command)
def list_command(
    user: UserOption = None,
    reset_too: Annotated[bool, typer.Option("--all", help="Reset ones too.")] = False,
    limit: Annotated[int, typer.Option("--limit", metavar="N", min=1,
                                       help="Rows at most.")] = 100,
    output: Format = "table",
    database_url: DatabaseUrl = None, preset: Preset = None, data_dir: DataDir = None,
) -> None:
    """List the adaptations in force (of one traveler with --user), latest change first."""
    from pam_proactive.engine import open_engine
    from pam_proactive.suggestions import adaptation

    uid = _user(user)
    settings = settings_from(database_url, preset, data_dir)

    async def go() -> list[adaptation.Adaptation]:
        async with open_engine(settings, migrate_first=True) as engine:
            return await adaptation.list_adaptations(
                engine.db, engine.settings.engine_schema, uid, include_reset=reset_too,
                limit=limit)

    found: list[adaptation.Adaptation] = run_guarded(go())
    if output != "table":
        print_data([{"user_id": str(a.user_id), **a.as_json()} for a in found], output)
        return
    if not found:
        print("no adaptations" + ("" if reset_too else " in force"))
        return
    print_table(console, "adaptations", _COLUMNS, [_row(a) for a in found])


@app.command("reset", cls=Command)
def reset_command(
    user: UserOption = None,
    type_: Annotated[str | None, typer.Option(
        "--type", metavar="TYPE", help="One suggestion type (default: every type).")] = None,
    database_url: DatabaseUrl = None, preset: Preset = None, data_dir: DataDir = None,
) -> None:
    """Reverse a traveler's adaptations (of one type with --type), as the operator: the usual
    rules apply again and the answers given until now no longer count."""
    from pam_proactive.engine import open_engine
    from pam_proactive.suggestions import adaptation

    uid = _user(user)
    if uid is None:
        fail("--user: give the traveler whose adaptations to reset")
    if type_ is not None and not _TYPE.match(type_):
        fail(f"--type: {type_!r} is not a suggestion type such as fuel_low")
    settings = settings_from(database_url, preset, data_dir)

    async def go() -> int:
        async with open_engine(settings, migrate_first=True) as engine:
            return await adaptation.reset(engine.db, engine.settings.engine_schema, uid,
                                          type_, datetime.now(UTC), "operator")

    count = run_guarded(go())
    print(f"reset {count} adaptation{'s' if count != 1 else ''} in force"
          + (f" of {type_}" if type_ else ""))


def register(root: typer.Typer) -> None:
    """Add ``adaptations`` to the root command."""
    root.add_typer(app, name="adaptations")
