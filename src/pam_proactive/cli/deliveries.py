"""`pam-proactive deliveries`: list, inspect and replay notifications; record the channels.

Output is plain lines (safe to pipe and grep), one JSON document with ``--format json`` or
JSON lines with ``--format jsonl``. Rows show ids, states and errors only, never a payload:
payloads carry traveler text.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from pam_proactive.cli.options import (
    Command,
    DatabaseUrl,
    DataDir,
    Format,
    Now,
    OneLineErrors,
    Preset,
    fail,
    parse_now,
    run_guarded,
    settings_from,
)
from pam_proactive.cli.render import Column, minute, print_data, print_table

if TYPE_CHECKING:
    from pam_proactive.suggestions.dead_letters import AttemptRow, OutboxRow, State

console = Console()

app = typer.Typer(cls=OneLineErrors, no_args_is_help=True, add_completion=False,
                  help="Notifications in the outbox: list, inspect and replay dead or "
                  "chosen ones; record the engine's channels.")

def _line(row: OutboxRow) -> str:
    when = row.dead_at if row.dead_at is not None else row.deliver_after
    return (f"{row.id:>8}  {row.state:<9}  {row.priority:<8}  {row.event:<9}  "
            f"tries {row.tries}  {when.isoformat()}  {row.message_id}  "
            f"{row.last_error or '-'}")


# At 80 columns the webhook-id goes first, then the error (wrapped at its spaces before that).
_LIST_COLUMNS = (Column("id", right=True), Column("state"), Column("priority"), Column("event"),
                 Column("tries", right=True), Column("when (UTC)"),
                 Column("webhook-id", drop=2), Column("last error", drop=1, text=True))


def _list_row(row: OutboxRow) -> list[str]:
    when = row.dead_at if row.dead_at is not None else row.deliver_after
    return [str(row.id), row.state, row.priority, row.event, str(row.tries), minute(when),
            row.message_id, row.last_error or "-"]


def _attempt_line(a: AttemptRow) -> str:
    status = a.http_status if a.http_status is not None else "-"
    return (f"  #{a.attempt:<3} {a.channel:<10} {'ok' if a.ok else 'failed':<6} "
            f"status {status}  {a.at.isoformat()}  {a.error or '-'}")


@app.command("list", cls=Command)
def list_command(
    dead: Annotated[bool, typer.Option("--dead", help="past their last attempt")] = False,
    pending: Annotated[bool, typer.Option("--pending", help="waiting to be sent")] = False,
    failing: Annotated[bool, typer.Option(
        "--failing", help="pending after a failed attempt")] = False,
    limit: Annotated[int, typer.Option("--limit", metavar="N", min=1, help="rows at most")
                     ] = 100,
    output: Format = "table", database_url: DatabaseUrl = None, preset: Preset = None,
    data_dir: DataDir = None,
) -> None:
    """List dead (the default), pending or failing notifications."""
    from pam_proactive.engine import open_engine
    from pam_proactive.suggestions.dead_letters import list_rows

    chosen = [s for s, on in (("dead", dead), ("pending", pending), ("failing", failing)) if on]
    if len(chosen) > 1:
        fail("choose one of --dead, --pending, --failing")
    state: State = "dead"
    if chosen == ["pending"]:
        state = "pending"
    elif chosen == ["failing"]:
        state = "failing"
    settings = settings_from(database_url, preset, data_dir)

    async def go() -> list[OutboxRow]:
        async with open_engine(settings, migrate_first=True) as engine:
            return await list_rows(engine.db, settings.engine_schema, state, limit)

    found = run_guarded(go())
    if output != "table":
        print_data([row.to_json() for row in found], output)
    else:
        if found:
            print_table(console, f"{state} notifications", _LIST_COLUMNS,
                        [_list_row(row) for row in found])
        print(f"{len(found)} {state} notification(s)" + (" (--limit reached)"
                                                          if len(found) == limit else ""))


@app.command("inspect", cls=Command)
def inspect_command(
    outbox_id: Annotated[int, typer.Argument(metavar="ID", help="the outbox row's id", min=1)],
    output: Format = "table", database_url: DatabaseUrl = None, preset: Preset = None,
    data_dir: DataDir = None,
) -> None:
    """One notification's state and every attempt made for it."""
    from pam_proactive.engine import open_engine
    from pam_proactive.suggestions.dead_letters import inspect

    settings = settings_from(database_url, preset, data_dir)

    async def go() -> tuple[OutboxRow, list[AttemptRow]] | None:
        async with open_engine(settings, migrate_first=True) as engine:
            return await inspect(engine.db, settings.engine_schema, outbox_id)

    found = run_guarded(go())
    if found is None:
        fail(f"no outbox row {outbox_id}", 1)
    row, attempts = found
    if output != "table":
        data: dict[str, Any] = {**row.to_json(), "attempts": [a.to_json() for a in attempts]}
        print_data(data, output)
        return
    print(_line(row))
    print(f"  channels done: {', '.join(row.channels_done) or 'none'}; attempts ever: "
          f"{row.attempts}" + (f"; replayed {row.replayed_at.isoformat()}"
                               if row.replayed_at else ""))
    for a in attempts:
        print(_attempt_line(a))


@app.command("replay", cls=Command)
def replay_command(
    dead: Annotated[bool, typer.Option("--dead", help="every dead notification")] = False,
    ids: Annotated[list[int] | None, typer.Option(
        "--id", metavar="N", help="an outbox row to send again (repeatable)")] = None,
    now: Now = None, database_url: DatabaseUrl = None, preset: Preset = None,
    data_dir: DataDir = None,
) -> None:
    """Send dead or chosen notifications again, once each, on a fresh retry schedule.

    They become due at --now; the next delivery run sends each once (a delivered one again,
    through every channel)."""
    from pam_proactive.engine import open_engine
    from pam_proactive.suggestions.dead_letters import replay

    if not dead and not ids:
        fail("say what to replay: --dead and/or --id N")
    settings = settings_from(database_url, preset, data_dir)
    moment = parse_now(now)

    async def go() -> list[int]:
        async with open_engine(settings, migrate_first=True) as engine:
            return await replay(engine.db, settings.engine_schema, moment, ids=ids or (),
                                dead=dead)

    done = run_guarded(go())
    left = sorted(set(ids or ()) - set(done))
    print(f"replayed {len(done)} notification(s)" + (f": {', '.join(map(str, done))}"
                                                     if done and len(done) <= 20 else ""))
    if left:
        print("not replayed (absent, cancelled or being sent): " + ", ".join(map(str, left)),
              file=sys.stderr)


@app.command("channels", cls=Command)
def channels_command(
    set_to: Annotated[str | None, typer.Option(
        "--set", metavar="CHANNELS", help="record the push channels, comma-separated as "
        "PAM_CHANNELS, or none (outbox only)")] = None,
    database_url: DatabaseUrl = None, preset: Preset = None, data_dir: DataDir = None,
) -> None:
    """Show the engine's recorded push channels, or record them with --set."""
    from pam_proactive.config import CHANNEL_NAMES, channel_list
    from pam_proactive.engine import open_engine
    from pam_proactive.suggestions.delivery import recorded_channels, set_channels

    chosen: tuple[str, ...] | None = None
    if set_to is not None:
        try:
            chosen = channel_list(set_to)
        except ValueError as exc:
            fail(f"--set {set_to}: {exc}")
        unknown = [n for n in chosen if n not in CHANNEL_NAMES]
        if unknown:
            fail(f"--set {set_to}: unknown channel {unknown[0]!r}: use "
                 f"{', '.join(CHANNEL_NAMES)} or none (outbox only)")
    settings = settings_from(database_url, preset, data_dir)

    async def go() -> tuple[str, ...] | None:
        async with open_engine(settings, migrate_first=True) as engine:
            if chosen is not None:
                return await set_channels(engine.db, settings.engine_schema, chosen)
            return await recorded_channels(engine.db, settings.engine_schema)

    recorded = run_guarded(go())
    if recorded is None:
        print("channels: not recorded (notifications wait in the outbox; record them with "
              "--set)")
    else:
        print("channels: " + (",".join(recorded) or "none (outbox only)"))


def register(root: typer.Typer) -> None:
    """Add ``deliveries`` to the root command."""
    root.add_typer(app, name="deliveries")
