"""`pam-proactive`: migrate, doctor, seed, context, demo (and sweep)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Any

import psycopg
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from pam_proactive.cli.options import (
    DatabaseUrl,
    DataDir,
    Now,
    Preset,
    fail,
    parse_now,
    run_guarded,
    settings_from,
)
from pam_proactive.cli.render import QualitySummary, dumps, print_metrics, print_quality
from pam_proactive.config import Settings
from pam_proactive.db.bootstrap import database_conninfo, reset_demo_database
from pam_proactive.db.connection import connection_kwargs
from pam_proactive.db.doctor import diagnose
from pam_proactive.engine import Engine, open_engine, run_migrations
from pam_proactive.logs import configure_logging

# Tracebacks never print frame locals: they would carry traveler data into terminals and logs.
app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_show_locals=False,
                  help="Proactive suggestions from travelers' real PostgreSQL data.")
console = Console()


@app.callback()
def _setup() -> None:
    """Proactive suggestions from travelers' real PostgreSQL data."""
    configure_logging()


@app.command()
def migrate(database_url: DatabaseUrl = None, preset: Preset = None,
            data_dir: DataDir = None) -> None:
    """Apply the engine's migrations and install the preset's views (idempotent)."""
    settings = settings_from(database_url, preset, data_dir)

    async def go() -> list[str]:
        with database_conninfo(settings) as conninfo:
            return await run_migrations(settings, conninfo)

    applied: Any = run_guarded(go())
    console.print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))


@app.command()
def doctor(database_url: DatabaseUrl = None, preset: Preset = None,
           data_dir: DataDir = None) -> None:
    """Check the database against the preset; print each problem with its fix."""
    settings = settings_from(database_url, preset, data_dir)

    async def go() -> list[Any]:
        with database_conninfo(settings) as conninfo:
            async with await psycopg.AsyncConnection.connect(
                    conninfo, **connection_kwargs(settings)) as conn:
                return await diagnose(conn, preset=settings.preset, schema=settings.engine_schema)

    findings: Any = run_guarded(go())
    if not findings:
        console.print(f"[green]ok[/]: the database fits preset {settings.preset!r}")
        return
    table = Table(title=f"doctor: preset {settings.preset!r}")
    for col in ("severity", "table", "column", "problem", "fix"):
        table.add_column(col, overflow="fold")
    for f in findings:
        color = "red" if f.severity == "error" else "yellow"
        table.add_row(f"[{color}]{f.severity}[/]", f.table, f.column, f.problem, f.fix)
    console.print(table)
    if any(f.severity == "error" for f in findings):
        raise typer.Exit(1)


@app.command()
def seed(users: Annotated[int, typer.Option("--users", min=1)] = 1000,
         seed: Annotated[int, typer.Option("--seed")] = 42,
         now: Now = None, database_url: DatabaseUrl = None, preset: Preset = None,
         data_dir: DataDir = None) -> None:
    """Load realistic, reproducible demo travelers (seed preset tables) with COPY."""
    settings = settings_from(database_url, preset, data_dir)
    if settings.preset != "seed":
        fail("demo data is written in the seed preset's tables: use --preset seed")
    moment = parse_now(now)

    async def go() -> Any:
        with database_conninfo(settings) as conninfo:
            await run_migrations(settings, conninfo)
            return await _seed(conninfo, settings, users, seed, moment)

    report: Any = run_guarded(go())
    rows = ", ".join(f"{table} {count:,}" for table, count in report.rows().items())
    console.print(f"seeded {users:,} users in {report.seconds:.1f} s: {rows}, "
                  f"user_preferences {report.preferences:,}")


async def _seed(conninfo: str, settings: Settings, users: int, seed_value: int, now: datetime
                ) -> Any:
    from pam_proactive.db.demo_data import seed_demo_data

    with _progress() as progress:
        task = progress.add_task("seeding users", total=users)
        async with await psycopg.AsyncConnection.connect(conninfo) as conn:
            return await seed_demo_data(
                conn, users=users, seed=seed_value, now=now, engine_schema=settings.engine_schema,
                progress=lambda n: progress.update(task, completed=n))


def _progress() -> Progress:
    return Progress("[progress.description]{task.description}", BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), console=console)


@app.command()
def context(user_id: str, now: Now = None,
            as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
            database_url: DatabaseUrl = None, preset: Preset = None,
            data_dir: DataDir = None) -> None:
    """Print one user's context as of --now."""
    settings = settings_from(database_url, preset, data_dir)
    moment = parse_now(now)

    async def go() -> Any:
        async with open_engine(settings) as engine:
            return await engine.data.get_comprehensive_user_context(user_id, moment)

    ctx: Any = run_guarded(go())
    if as_json:
        print(dumps(ctx))
    else:
        console.print(ctx)


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


@app.command()
def demo(users: Annotated[int, typer.Option("--users", min=1)] = 1000,
         seed: Annotated[int, typer.Option("--seed")] = 42,
         now: Now = None, database_url: DatabaseUrl = None,
         data_dir: DataDir = None) -> None:
    """Embedded database → migrate → seed → every user's context → summary."""
    settings = settings_from(database_url, "seed", data_dir)
    moment = parse_now(now)
    run_guarded(_demo(settings, users, seed, moment))


async def _demo(settings: Settings, users: int, seed_value: int, now: datetime) -> None:
    with database_conninfo(settings) as server_conninfo:
        conninfo = await reset_demo_database(server_conninfo, settings)
        console.print(f"[bold]pam-proactive demo[/] at {now.isoformat()} ({users} users)")
        await run_migrations(settings, conninfo)
        await _seed(conninfo, settings, users, seed_value, now)
        async with open_engine(settings, conninfo=conninfo) as engine:
            started = time.perf_counter()
            active = len(await engine.data.get_all_active_users())
            summary = await build_all_contexts(engine, now, active)
            elapsed = time.perf_counter() - started
            console.print(f"\n{summary.users} active users' contexts built in {elapsed:.2f} s "
                          f"({summary.users / elapsed:,.0f} users/s)")
            print_quality(console, summary)
            print_metrics(console, await engine.data.get_performance_metrics())
            await _demo_suggestions(engine, now)


async def _demo_suggestions(engine: Engine, now: datetime) -> None:
    """Sweep the demo travelers, then show counts and one example of each type."""
    from pam_proactive.cli.suggestions import ExampleCollector, print_sweep_report
    from pam_proactive.jobs.sweep import sweep as run_sweep

    examples = ExampleCollector()
    report = await run_sweep(engine, now, on_batch=examples.batch)
    console.print()
    print_sweep_report(console, report)
    examples.print(console)
    console.print("\nSuggestions are stored in pam_proactive.suggestions and the notifications in "
                  "pam_proactive.outbox. Re-run a sweep with `pam-proactive sweep --now "
                  f"{now.isoformat()}`: it stores nothing new.")


@app.command()
def sweep(now: Now = None,
          users: Annotated[str | None, typer.Option(
              "--users", help="Comma-separated user ids (default: every active user).")] = None,
          dry_run: Annotated[bool, typer.Option(
              "--dry-run", help="Detect and print; store and deliver nothing.")] = False,
          output: Annotated[str, typer.Option(
              "--format", help="table or jsonl (one suggestion per line).")] = "table",
          incremental: Annotated[bool, typer.Option(
              "--incremental", help="Only travelers who changed or are due (see README).")
          ] = False,
          database_url: DatabaseUrl = None, preset: Preset = None,
          data_dir: DataDir = None) -> None:
    """Run every detector as of --now; store, deliver and print this sweep's suggestions."""
    if output not in ("table", "jsonl"):
        fail("--format: use table or jsonl")
    settings = settings_from(database_url, preset, data_dir)
    moment = parse_now(now)
    if incremental:
        if users or dry_run:
            fail("--incremental chooses its own travelers and stores: drop --users/--dry-run")
        from pam_proactive.cli.watch import incremental_command
        return incremental_command(settings, moment, output)
    ids = [u.strip() for u in users.split(",") if u.strip()] if users else None
    run_guarded(_sweep(settings, moment, ids, dry_run, output))


async def _sweep(settings: Settings, now: datetime, ids: list[str] | None, dry_run: bool,
                 output: str) -> None:
    from pam_proactive.cli.suggestions import SuggestionPrinter, print_sweep_report
    from pam_proactive.jobs.sweep import sweep as run_sweep

    printer = SuggestionPrinter(console, output)
    async with open_engine(settings, migrate_first=not dry_run) as engine:
        report = await run_sweep(engine, now, user_ids=ids, dry_run=dry_run,
                                 on_batch=printer.batch)
    printer.finish()
    if output == "table":
        print_sweep_report(console, report)


# `watch` and `install-triggers` live in cli/watch.py.
from pam_proactive.cli.watch import install_triggers, watch  # noqa: E402

app.command()(watch)
app.command("install-triggers")(install_triggers)
