"""`pam-proactive snooze`, `dismiss`, `acted`, `useful` (a traveler's answers, as the operator)
and `relevance` (the figures per type and ISO week)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, NoReturn
from uuid import UUID

import typer
from rich.console import Console

from pam_proactive.cli.options import (
    Command,
    DatabaseUrl,
    DataDir,
    Format,
    Preset,
    fail,
    run_guarded,
    settings_from,
)
from pam_proactive.cli.render import Column, print_data, print_table

if TYPE_CHECKING:
    from pam_proactive.suggestions import answers, relevance

console = Console()

_DURATION = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}

SuggestionId = Annotated[str, typer.Argument(metavar="SUGGESTION_ID",
                                             help="The suggestion's id (a UUID).")]


def _suggestion_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        fail(f"SUGGESTION_ID: {text!r} is not a UUID (suggestions.id)")


def parse_duration(text: str) -> timedelta:
    """``30m``, ``2h`` or ``3d`` as a duration; raises ValueError otherwise."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration: use minutes, hours or days (30m, 2h, 3d)")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def _closed(what: str) -> NoReturn:
    fail(f"the suggestion is absent or already closed: nothing {what}", code=1)


def snooze(suggestion_id: SuggestionId,
           for_: Annotated[str | None, typer.Option(
               "--for", metavar="30m|2h|3d",
               help="How long: 30m, 2h, 3d (at most 30 days).")] = None,
           until: Annotated[str | None, typer.Option(
               "--until", metavar="ISO",
               help="Until this moment (ISO-8601 with its offset).")] = None,
           database_url: DatabaseUrl = None, preset: Preset = None,
           data_dir: DataDir = None) -> None:
    """Snooze a live suggestion's subject: no notification until then; it is notified once at
    the end if still live and not improved; a rise in priority breaks the snooze."""
    from pam_proactive.engine import open_engine
    from pam_proactive.suggestions import answers

    sid = _suggestion_id(suggestion_id)
    now = datetime.now(UTC)
    try:
        end = answers.snooze_end(
            now, duration=None if for_ is None else parse_duration(for_),
            until=None if until is None else datetime.fromisoformat(until))
    except ValueError as exc:
        fail(f"--for/--until: {exc}")
    settings = settings_from(database_url, preset, data_dir)

    async def go() -> answers.Snoozed | None:
        async with open_engine(settings, migrate_first=True) as engine:
            return await answers.snooze(engine.db, engine.settings.engine_schema, sid, now, end)

    done = run_guarded(go())
    if done is None:
        _closed("snoozed")
    print(f"snoozed until {done.until.isoformat()} ({done.held} pending notifications held)")


def dismiss(suggestion_id: SuggestionId,
            reason: Annotated[str | None, typer.Option(
                "--reason", metavar="REASON",
                help="not_useful, wrong, already_done, too_early or other.")] = None,
            note: Annotated[str | None, typer.Option(
                "--note", metavar="TEXT",
                help="Free text, e.g. with --reason other (≤ 500 characters).")] = None,
            database_url: DatabaseUrl = None, preset: Preset = None,
            data_dir: DataDir = None) -> None:
    """Dismiss a live suggestion (with an optional reason), as the traveler would."""
    from pam_proactive.engine import open_engine
    from pam_proactive.suggestions import answers

    sid = _suggestion_id(suggestion_id)
    try:
        answers.check_note(reason, note)
    except ValueError as exc:
        fail(f"--reason/--note: {exc}")
    settings = settings_from(database_url, preset, data_dir)

    async def go() -> bool:
        async with open_engine(settings, migrate_first=True) as engine:
            return await answers.dismiss(engine.db, engine.settings.engine_schema, sid,
                                         datetime.now(UTC), reason, note)

    if not run_guarded(go()):
        _closed("dismissed")
    print("dismissed" + (f" ({reason})" if reason else ""))


def acted(suggestion_id: SuggestionId, database_url: DatabaseUrl = None,
          preset: Preset = None, data_dir: DataDir = None) -> None:
    """Mark a live suggestion acted upon, as the traveler would."""
    from pam_proactive.engine import open_engine
    from pam_proactive.suggestions import store

    sid = _suggestion_id(suggestion_id)
    settings = settings_from(database_url, preset, data_dir)

    async def go() -> bool:
        async with open_engine(settings, migrate_first=True) as engine:
            return await store.mark_acted(engine.db, engine.settings.engine_schema, sid,
                                          datetime.now(UTC))

    if not run_guarded(go()):
        _closed("marked")
    print("acted")


def useful(suggestion_id: SuggestionId, database_url: DatabaseUrl = None,
           preset: Preset = None, data_dir: DataDir = None) -> None:
    """Rate a suggestion useful, as the traveler would (it stays as it is)."""
    from pam_proactive.engine import open_engine
    from pam_proactive.suggestions import answers

    sid = _suggestion_id(suggestion_id)
    settings = settings_from(database_url, preset, data_dir)

    async def go() -> bool | None:
        async with open_engine(settings, migrate_first=True) as engine:
            return await answers.rate_useful(engine.db, engine.settings.engine_schema, sid,
                                             datetime.now(UTC))

    recorded = run_guarded(go())
    if recorded is None:
        fail(f"no suggestion with id {sid}", code=1)
    print("rated useful" if recorded else "already rated useful: nothing changed")


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _row(r: relevance.Relevance) -> list[str]:
    d = r.dismissed
    return [r.type, r.week or "all", str(r.delivered), str(r.acted), str(r.useful),
            str(sum(d.values())), str(d["wrong"]), str(d["not_useful"]), str(r.snoozed),
            str(r.expired_unread), str(r.answered), _rate(r.relevance_rate),
            _rate(r.wrong_rate)]


# At 80 columns: type, week, delivered, answered and the two rates; the breakdowns go first.
_COLUMNS = (Column("type"), Column("week"), Column("delivered", right=True),
            Column("acted", right=True, drop=1), Column("useful", right=True, drop=1),
            Column("dismissed", right=True, drop=1), Column("wrong", right=True, drop=3),
            Column("not useful", right=True, drop=3), Column("snoozed", right=True, drop=2),
            Column("expired unread", right=True, drop=2), Column("answered", right=True),
            Column("relevance", right=True), Column("wrong rate", right=True))


def relevance_command(
        weeks: Annotated[int, typer.Option("--weeks", metavar="N", min=1, max=53,
                                           help="ISO weeks back, this one included.")] = 4,
        output: Format = "table",
        database_url: DatabaseUrl = None, preset: Preset = None,
        data_dir: DataDir = None) -> None:
    """Relevance per suggestion type and ISO week (UTC): delivered, acted, rated useful,
    dismissed (by reason), snoozed, expired unread; relevance = (acted + useful) / answered,
    wrong rate = dismissed as wrong / answered. Rows with week 'all' total the weeks."""
    from pam_proactive.engine import open_engine
    from pam_proactive.suggestions import relevance

    settings = settings_from(database_url, preset, data_dir)
    now = datetime.now(UTC)

    async def go() -> list[relevance.Relevance]:
        async with open_engine(settings, migrate_first=True) as engine:
            return await relevance.recent_weeks(engine.db, engine.settings.engine_schema, now,
                                                weeks)

    found: list[relevance.Relevance] = run_guarded(go())
    if output == "json":
        body: dict[str, Any] = {"target": relevance.TARGET,
                                "rows": [r.as_json() for r in found]}
        print_data(body, output)
        return
    if output == "jsonl":  # one row a line, each with the target it is measured against
        print_data([{**r.as_json(), "target": relevance.TARGET} for r in found], output)
        return
    if not found:
        print(f"no answered or delivered suggestions in the last {weeks} weeks")
        return
    print_table(console, f"relevance (target {relevance.TARGET:.0%})", _COLUMNS,
                [_row(r) for r in found])


def register(app: typer.Typer) -> None:
    """Add the answer commands and `relevance` to the ``pam-proactive`` application."""
    for command in (snooze, dismiss, acted, useful):
        app.command(name=command.__name__, cls=Command)(command)
    app.command(name="relevance", cls=Command)(relevance_command)
