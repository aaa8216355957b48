"""`pam-proactive`: migrate, doctor, seed, context, demo (and sweep)."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import typer
from rich.console import Console

from pam_proactive.cli import adaptations as _adaptation_commands
from pam_proactive.cli import answers as _answer_commands
from pam_proactive.cli import api as _api_commands
from pam_proactive.cli import deliveries as _delivery_commands
from pam_proactive.cli import fleet as _fleet_commands
from pam_proactive.cli import jobs as _job_commands
from pam_proactive.cli import watch as _watch_commands
from pam_proactive.cli.options import (
    FAILED,
    Command,
    DatabaseUrl,
    DataDir,
    Format,
    Now,
    OneLineErrors,
    Preset,
    fail,
    parse_now,
    parse_user_ids,
    past_now_warning,
    print_error,
    renamed,
    run_guarded,
    settings_from,
)
from pam_proactive.cli.render import (
    QualitySummary,
    plain,
    print_blocks,
    print_data,
    print_metrics,
    print_quality,
)

# Only what `--help` and `--version` need is imported above; the database driver, the engine,
# Celery, FastAPI and numpy are imported by the commands that use them (docs/cli.md: Start-up).
if TYPE_CHECKING:
    from rich.progress import Progress

    from pam_proactive.analysis.settings import DetectorSettings
    from pam_proactive.config import Settings
    from pam_proactive.db.doctor import Finding
    from pam_proactive.demo.summary import SuggestionsPerTraveler, Told
    from pam_proactive.engine import Engine

# Tracebacks never print frame locals: they would carry traveler data into terminals and logs.
app = typer.Typer(cls=OneLineErrors, no_args_is_help=True, add_completion=False,
                  pretty_exceptions_show_locals=False,
                  help="Proactive suggestions from travelers' real PostgreSQL data.")
console = Console()

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pam-proactive")
    except PackageNotFoundError:  # running from a source tree that is not installed
        from pam_proactive import __version__

        return __version__


def _show_version(value: bool) -> None:
    if value:
        print(f"pam-proactive {_package_version()}")
        raise typer.Exit()


@app.callback()
def _setup(ctx: typer.Context, show_version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_show_version,
        help="Print the version and exit.")] = False) -> None:
    """Proactive suggestions from travelers' real PostgreSQL data."""
    from pam_proactive.logs import audit_actor, configure_logging

    level = os.environ.get("PAM_LOG_LEVEL", "WARNING")
    if level.upper() not in _LOG_LEVELS:
        fail(f"PAM_LOG_LEVEL={level}: should be one of {', '.join(_LOG_LEVELS)} "
             "(unset PAM_LOG_LEVEL for the default, WARNING)")
    configure_logging()
    # Reads the command does are audited as cli:<command> (asyncio.run copies this context).
    ctx.with_resource(audit_actor(f"cli:{ctx.invoked_subcommand or 'pam-proactive'}"))


@app.command(cls=Command)
def migrate(database_url: DatabaseUrl = None, preset: Preset = None,
            data_dir: DataDir = None,
            supabase: Annotated[bool, typer.Option(
                "--supabase", help="Also install the grants, RLS policies, functions and "
                "Realtime publication a Supabase app uses (refused off Supabase).")] = False,
            broadcast: Annotated[bool, typer.Option(
                "--broadcast", help="With --supabase: broadcast each change on the "
                "traveler's private Realtime channel user:<id>:suggestions.")] = False,
            create_reference_tables: Annotated[bool, typer.Option(
                "--create-reference-tables", help="First create the seed preset's traveler "
                "tables where absent (an empty database; seed preset only).")] = False,
            ) -> None:
    """Apply the engine's migrations and install the preset's views (idempotent). Traveler
    tables are only created with --create-reference-tables; tables that do not fit the
    preset are refused, nothing changed."""
    from pam_proactive.db.bootstrap import database_conninfo
    from pam_proactive.engine import run_migrations

    settings = settings_from(database_url, preset, data_dir)

    async def go() -> list[str]:
        with database_conninfo(settings) as conninfo:
            return await run_migrations(settings, conninfo, supabase=supabase,
                                        broadcast=broadcast,
                                        create_reference_tables=create_reference_tables)

    applied = run_guarded(go())
    plain(console, "applied: " + (", ".join(applied) if applied else "nothing (up to date)"))


@app.command(cls=Command, help=(
    "Check the database against the preset; print each problem with its "
    "fix. Exit 1 if the engine cannot run."))
def doctor(database_url: DatabaseUrl = None, preset: Preset = None, data_dir: DataDir = None,
           output: Format = "table") -> None:
    """Check the database against the preset; print each problem with its fix. Exit 1 if the
    engine cannot run."""
    from pam_proactive.db.bootstrap import database_conninfo
    from pam_proactive.db.connection import admin_connection
    from pam_proactive.db.doctor import diagnose

    settings = settings_from(database_url, preset, data_dir)

    async def go() -> list[Finding]:
        with database_conninfo(settings) as conninfo:
            async with admin_connection(conninfo, settings) as conn:
                return await diagnose(conn, preset=settings.preset, schema=settings.engine_schema)

    findings = run_guarded(go())
    if output != "table":
        print_data(findings, output)
    elif not findings:
        plain(console, f"ok: the database fits preset {settings.preset!r}")
    else:
        _print_findings(settings.preset, findings)
    if any(f.severity == "error" for f in findings):
        raise typer.Exit(FAILED)


def _print_findings(preset: str, findings: list[Finding]) -> None:
    if console.is_terminal:
        from rich.markup import escape
        from rich.table import Table

        table = Table(title=f"doctor: preset {preset!r}")
        for col in ("severity", "table", "column", "problem"):
            table.add_column(col)
        table.add_column("fix", overflow="fold")
        for f in findings:
            color = "red" if f.severity == "error" else "yellow"
            table.add_row(f"[{color}]{f.severity}[/]", f.table, f.column, escape(f.problem),
                          escape(f.fix))
        console.print(table)
        plain(console, "(pipe the output, or use --format json, to copy the fixes whole)")
        return
    plain(console, f"doctor: preset {preset!r}, {len(findings)} finding(s)")
    plain(console)
    print_blocks(console, [[("", f"{f.severity}: {f.table} {f.column}: {f.problem}"),
                            ("", f.fix)] for f in findings])


# How many travelers `seed` and `demo` generate: a count, named apart from `--user-ids`.
Travelers = Annotated[int, typer.Option("--travelers", metavar="N", min=1,
                                        help="How many travelers to generate.")]
# The deprecated spelling of --travelers (it read like sweep's list of ids).
UsersCount = Annotated[int | None, typer.Option("--users", min=1, hidden=True)]
SeedValue = Annotated[int, typer.Option(
    "--seed", metavar="S", min=0, help="Random seed: each gives other travelers.")]


def _seed_preset_settings(database_url: str | None, preset: str | None,
                          data_dir: Path | None) -> Settings:
    """Settings for a command that writes demo travelers: only the seed preset's tables
    can take them."""
    settings = settings_from(database_url, preset, data_dir)
    if settings.preset != "seed":
        typed = f"--preset {preset}" if preset else f"PAM_PRESET={settings.preset}"
        fail(f"{typed}: demo data is written in the seed preset's tables; use --preset seed")
    return settings


@app.command(cls=Command)
def seed(travelers: Travelers = 1000, seed: SeedValue = 42,
         now: Now = None, database_url: DatabaseUrl = None, preset: Preset = None,
         data_dir: DataDir = None, users: UsersCount = None) -> None:
    """Load realistic, reproducible demo travelers (seed preset tables) with COPY."""
    from pam_proactive.db.bootstrap import database_conninfo
    from pam_proactive.engine import run_migrations

    count = renamed(travelers, users, "--users", "--travelers")
    settings = _seed_preset_settings(database_url, preset, data_dir)
    moment = parse_now(now)

    async def go() -> Any:
        with database_conninfo(settings) as conninfo:
            # Demo data goes in the seed preset's tables: created here when absent.
            await run_migrations(settings, conninfo, create_reference_tables=True,
                                 announce=True)
            return await _seed(conninfo, settings, count, seed, moment)

    report = run_guarded(go())
    rows = ", ".join(f"{table} {count:,}" for table, count in report.rows().items())
    plain(console, f"seeded {count:,} travelers in {report.seconds:.1f} s: {rows}, "
                   f"user_preferences {report.preferences:,}")
    plain(console, f"Their data is dated around {moment.isoformat()}: sweep them as of then "
                   f"with `pam-proactive sweep --now {moment.isoformat()}`.")


async def _seed(conninfo: str, settings: Settings, users: int, seed_value: int, now: datetime
                ) -> Any:
    import psycopg

    from pam_proactive.db.connection import admin_connection
    from pam_proactive.demo import seed_demo_data
    from pam_proactive.errors import SeedConflictError

    with _progress() as progress:
        task = progress.add_task("seeding users", total=users)
        # Unbounded: a chunk's COPY may take longer than one query's timeout.
        async with admin_connection(conninfo, settings, bounded=False) as conn:
            try:
                return await seed_demo_data(
                    conn, users=users, seed=seed_value, now=now,
                    engine_schema=settings.engine_schema,
                    progress=lambda n: progress.update(task, completed=n))
            except psycopg.errors.UniqueViolation:
                raise SeedConflictError(
                    f"this database already holds the demo travelers of --seed {seed_value} "
                    "(their emails follow the seed); add more travelers with another "
                    f"seed, e.g. `pam-proactive seed --travelers {users} --seed {seed_value + 1}`"
                ) from None


def _progress() -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    # Piped output gets no progress bar: it would leave bar characters in the file.
    return Progress("[progress.description]{task.description}", BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                    disable=not console.is_terminal)


@app.command(cls=Command, help=(
    "Print one traveler's context as of --now: a readable summary, or every "
    "field with --format json."))
def context(user_id: Annotated[str, typer.Argument(metavar="USER_ID",
                                                      help="The traveler's id (a UUID).")],
            now: Now = None, output: Format = "table",
            database_url: DatabaseUrl = None, preset: Preset = None,
            data_dir: DataDir = None,
            as_json: Annotated[bool | None, typer.Option("--json", hidden=True)] = None
            ) -> None:
    """Print one traveler's context as of --now: a readable summary, or every field with
    --format json."""
    from pam_proactive.cli.contexts import context_lines
    from pam_proactive.engine import open_engine
    from pam_proactive.suggestions.detectors import run_detectors

    if renamed(None, as_json, "--json", "--format json"):
        output = "json"
    settings = settings_from(database_url, preset, data_dir)
    moment = parse_now(now)
    (uid,) = parse_user_ids([user_id], "USER_ID")

    async def go() -> Any:
        async with open_engine(settings) as engine:
            ctx = await engine.data.get_comprehensive_user_context(uid, moment)
            return ctx, run_detectors(ctx, moment, engine.detector_settings).notes

    ctx, notes = run_guarded(go())
    if output != "table":
        print_data(ctx, output)
        return
    past_now_warning(moment)
    for line in context_lines(ctx, notes):
        plain(console, line)


async def build_all_contexts(engine: Engine, now: datetime, total: int) -> QualitySummary:
    """Build every active user's context in batches with a progress bar."""
    summary = QualitySummary()
    with _progress() as progress:
        task = progress.add_task("building contexts", total=total)
        async for page in engine.data.iter_active_user_batches():
            contexts = await engine.data.get_contexts(page, now, use_cache=False)
            summary.add(contexts.values())
            progress.advance(task, len(page))
    return summary


@app.command(cls=Command)
def demo(travelers: Travelers = 1000, seed: SeedValue = 42,
         now: Now = None, database_url: DatabaseUrl = None, preset: Preset = None,
         data_dir: DataDir = None, users: UsersCount = None) -> None:
    """Embedded database → migrate → seed → every traveler's context → sweep → summary
    (always the seed preset)."""
    count = renamed(travelers, users, "--users", "--travelers")
    if preset is not None:  # the demo writes its own travelers: only in the seed preset
        _seed_preset_settings(database_url, preset, data_dir)
    settings = settings_from(database_url, "seed", data_dir)
    moment = parse_now(now)
    run_guarded(_demo(settings, count, seed, moment))


async def _demo(settings: Settings, users: int, seed_value: int, now: datetime) -> None:
    from pam_proactive.db.bootstrap import database_conninfo, reset_demo_database
    from pam_proactive.engine import open_engine, run_migrations

    with database_conninfo(settings) as server_conninfo:
        conninfo = await reset_demo_database(server_conninfo, settings)
        plain(console, f"pam-proactive demo at {now.isoformat()} ({users:,} travelers, "
                       f"--seed {seed_value})")
        await run_migrations(settings, conninfo, create_reference_tables=True, announce=True)
        seeded = await _seed(conninfo, settings, users, seed_value, now)
        plain(console, f"seeded {users:,} travelers in {seeded.seconds:.1f} s "
                       f"({sum(seeded.rows().values()):,} rows)")
        async with open_engine(settings, conninfo=conninfo) as engine:
            started = time.perf_counter()
            active = len(await engine.data.get_all_active_users())
            summary = await build_all_contexts(engine, now, active)
            elapsed = time.perf_counter() - started
            plain(console, f"\nBuilt the contexts of {summary.users:,} monitored travelers "
                           f"(status active, not opted out) in {elapsed:.2f} s "
                           f"({summary.users / elapsed:,.0f} users/s)")
            print_quality(console, summary)
            print_metrics(console, await engine.data.get_performance_metrics(),
                          title="Queries of the context build (per statement)")
            await _demo_suggestions(engine, now, users, summary)


async def _demo_suggestions(engine: Engine, now: datetime, seeded: int,
                            summary: QualitySummary) -> None:
    """Sweep the demo travelers, then show counts, what they mean, and one example of each
    type with the traveler's id."""
    from pam_proactive.cli.suggestions import ExampleCollector, print_sweep_report
    from pam_proactive.demo.summary import SuggestionsPerTraveler, told
    from pam_proactive.jobs.pipeline.evaluate import Evaluation
    from pam_proactive.jobs.pipeline.selection import Everyone
    from pam_proactive.suggestions.delivery import set_channels

    # The demo's own database has no push channel: outbox only is declared, not assumed
    # (without a record, notifications would wait in the outbox, none delivered).
    await set_channels(engine.db, engine.settings.engine_schema, ())
    examples = ExampleCollector()
    per_traveler = SuggestionsPerTraveler()

    run = Evaluation(engine, now, Everyone())
    async for batch in run:
        examples.batch(batch.suggestions, batch.users)
        per_traveler.add([i.candidate.user_id for i in batch.suggestions])
    report = run.report
    plain(console)
    print_sweep_report(console, report)
    _print_told(await told(engine, summary.users), per_traveler, report.by_type, now,
                engine.detector_settings)
    opted_out = report.users - summary.users
    skipped = sum(summary.skipped.values())
    found, steps = sum(report.by_type.values()), report.lifecycle
    delivered = report.delivery.delivered if report.delivery else 0
    plain(console, "\nWhy the counts differ: "
                   f"{seeded:,} travelers were seeded; {seeded - report.users:,} are not active "
                   f"and are left alone; the sweep covers the {report.users:,} active ones, "
                   f"including {opted_out:,} who opted out (so that their open suggestions "
                   f"are resolved; they get no new ones), hence {summary.users:,} monitored "
                   f"contexts above. Rows skipped as malformed: {skipped:,} in the monitored "
                   f"travelers' data, {report.rows_skipped:,} in the swept travelers' data. "
                   f"Of the {found:,} suggestions found, {steps['capped']:,} went over a "
                   f"traveler's daily cap (stored, not notified), {steps['held_back']:,} are "
                   "part of another suggestion about the same cause (stored, not notified "
                   f"separately), and of the {steps['notified']:,} notifications "
                   f"{steps['held_quiet_hours']:,} wait for the end of quiet hours and "
                   f"{steps['digest_items']:,} for their traveler's daily digest, hence "
                   f"{delivered:,} delivered now. The demo records its database as "
                   "outbox only (no push channel: `pam-proactive deliveries channels --set "
                   "none`), so a delivered notification is marked so in pam_proactive.outbox, "
                   "for the app to read.")
    plain(console)
    examples.print(console, now)
    plain(console, "\nSuggestions are stored in pam_proactive.suggestions and the notifications "
                   "in pam_proactive.outbox. Re-run the sweep with `pam-proactive sweep --now "
                   f"{now.isoformat()}`: it stores nothing new. Add travelers with "
                   "`pam-proactive seed --travelers 100 --seed 43` (each seed gives new ids).")


def _print_told(told: Told, per_traveler: SuggestionsPerTraveler, found: Mapping[str, int],
                now: datetime, settings: DetectorSettings) -> None:
    """The share of monitored travelers told something, how many got several suggestions,
    and the types that could not occur on the demo's date (and why)."""
    from pam_proactive.demo.summary import demo_ruled_out
    from pam_proactive.suggestions.detectors import REGISTRY

    several = [per_traveler.with_at_least(n) for n in (1, 2, 3)]
    plain(console, f"\nTold something: {told.told:,} of the {told.monitored:,} monitored "
                   f"travelers ({told.share:.1%}) got a notification: {told.single:,} at "
                   f"once, {told.digest:,} in their daily digest (one notification at their "
                   "local digest hour gathering the non-urgent ones; some got both); "
                   f"{told.told_three_or_more:,} got three notifications or more (a digest "
                   "counts once); the others, nothing. "
                   f"Suggestions per traveler: {several[0] - several[1]:,} got one, "
                   f"{several[1] - several[2]:,} two, {several[2]:,} three or more.")
    ruled = demo_ruled_out(now, set(found), settings)
    for kind in sorted(REGISTRY.types - set(found)):
        why = ruled.get(kind, "possible on these travelers' dates, but none of them qualifies "
                              "at this moment")
        plain(console, f"No {kind}: {why}.")


@app.command(cls=Command, help=(
    "Run every detector as of --now; store, deliver and print this sweep's "
    "suggestions. Ids given with --user-ids that are not travelers are named "
    "on stderr, the others swept, and the exit code is 1."))
def sweep(now: Now = None,
          user_ids: Annotated[str | None, typer.Option(
              "--user-ids", metavar="ID,...",
              help="Comma-separated user ids (default: every active user).")] = None,
          dry_run: Annotated[bool, typer.Option(
              "--dry-run", help="Detect and print; store and deliver nothing.")] = False,
          output: Format = "table",
          incremental: Annotated[bool, typer.Option(
              "--incremental", help="Only travelers who changed or are due (docs/incremental.md).")
          ] = False,
          database_url: DatabaseUrl = None, preset: Preset = None,
          data_dir: DataDir = None,
          users: Annotated[str | None, typer.Option("--users", hidden=True)] = None) -> None:
    """Run every detector as of --now; store, deliver and print this sweep's suggestions.
    Ids given with --user-ids that are not travelers are named on stderr, the others swept,
    and the exit code is 1."""
    chosen = renamed(user_ids, users, "--users", "--user-ids")
    settings = settings_from(database_url, preset, data_dir)
    moment = parse_now(now)
    if incremental:
        if chosen or dry_run:
            fail("--incremental chooses its own travelers and stores: drop "
                 "--user-ids/--dry-run")
        return _watch_commands.incremental_command(settings, moment, output)
    ids = parse_user_ids([u.strip() for u in chosen.split(",") if u.strip()],
                         "--user-ids") if chosen is not None else None
    if ids == []:
        fail("--user-ids: give at least one user id, or leave the flag out to sweep everyone")
    past_now_warning(moment)
    unknown = run_guarded(_sweep(settings, moment, ids, dry_run, output))
    if unknown:
        print_error(f"--user-ids: no traveler with id {', '.join(map(str, unknown))} in this "
                    "database (check the ids and --preset); the other ids were swept")
        raise typer.Exit(FAILED)


async def _sweep(settings: Settings, now: datetime, ids: list[UUID] | None, dry_run: bool,
                 output: str) -> list[UUID]:
    """Run the sweep and print it; return the given ids that are not travelers."""
    from pam_proactive.cli.suggestions import SuggestionPrinter, print_sweep_report
    from pam_proactive.engine import open_engine
    from pam_proactive.jobs.pipeline.evaluate import Evaluation
    from pam_proactive.jobs.pipeline.sweeps import selection_of

    printer = SuggestionPrinter(console, output)
    async with open_engine(settings, migrate_first=not dry_run) as engine:
        unknown: list[UUID] = []
        if ids is not None:
            known = await engine.data.get_users_batch(ids, now)
            unknown = [uid for uid in ids if uid not in known]
            ids = [uid for uid in ids if uid in known]
            if not ids:
                return unknown
        run = Evaluation(engine, now, selection_of(ids), dry_run=dry_run)
        async for batch in run:
            printer.batch(batch.suggestions, batch.users)
        report = run.report
    printer.finish()
    if output == "table":
        print_sweep_report(console, report)
    return unknown


# The other commands live in their own modules; each registers itself.
for _module in (_fleet_commands, _job_commands, _delivery_commands, _api_commands,
                _watch_commands, _answer_commands, _adaptation_commands):
    _module.register(app)
