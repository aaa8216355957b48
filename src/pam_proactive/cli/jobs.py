"""`jobs`, `job NAME`, `runs` and `run`: the scheduled jobs from the command line.

Output piped to another program is plain lines (rich tables wrap at 80 columns and split
words when not on a terminal); a terminal gets tables.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from pam_proactive.api.server import DEFAULT_HOST, check_bind, make_server, startup_notice
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
from pam_proactive.cli.watch import listens
from pam_proactive.config import Settings
from pam_proactive.demo import seed_demo_data
from pam_proactive.engine import Engine, open_engine
from pam_proactive.errors import ConfigurationError
from pam_proactive.jobs import runs as job_runs
from pam_proactive.jobs.execute import JobOutcome, run_job
from pam_proactive.jobs.runner import Runner, serve_until_signalled
from pam_proactive.jobs.runs import RunRecord
from pam_proactive.jobs.schedule import JOBS, job_named
from pam_proactive.jobs.sweep import reconcile_channels
from pam_proactive.jobs.watch import Watcher, observe_lag_metrics

console = Console()

_RUN_COLUMNS = ("id", "job", "slot", "runner", "status", "users", "created", "escalated",
                "resolved", "errors", "evaluated changed/due/full", "seconds")


def _print_rows(title: str, columns: Sequence[str], rows: list[list[str]]) -> None:
    if not console.is_terminal:
        for row in rows:
            print("  ".join(row))
        return
    table = Table(title=title)
    for col in columns:
        table.add_column(col, no_wrap=True)
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _group(types: frozenset[str] | None) -> str:
    return ",".join(sorted(types)) if types else "-"


def jobs(now: Now = None) -> None:
    """List the scheduled jobs: cron (UTC), detector group and next fire time."""
    moment = parse_now(now)
    rows = [[j.name, j.cron, _group(j.types), j.next_fire(moment).isoformat()] for j in JOBS]
    _print_rows(f"scheduled jobs (next fire after {moment.isoformat()})",
                ("job", "cron (UTC)", "detector group", "next fire"), rows)


def _run_row(run: RunRecord, status: str | None = None) -> list[str]:
    seconds = ((run.finished_at - run.started_at).total_seconds()
               if run.finished_at is not None else None)
    return [str(run.id), run.job, run.slot.isoformat(), run.runner, status or run.status,
            str(run.users), str(run.created), str(run.escalated), str(run.resolved),
            str(run.errors), _evaluated(run), "-" if seconds is None else f"{seconds:.1f}"]


def _evaluated(run: RunRecord) -> str:
    counts = run.evaluated
    return "-" if counts is None else "/".join(str(counts[r]) for r in job_runs.REASONS)


def job(name: str, now: Now = None,
        output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
        database_url: DatabaseUrl = None, preset: Preset = None,
        data_dir: DataDir = None) -> None:
    """Run one job once in this process for its latest slot at or before --now.

    A slot that already ran does nothing and reports status 'duplicate' (exit 0).
    """
    if output not in ("table", "json"):
        fail("--format: use table or json")
    settings = settings_from(database_url, preset, data_dir)
    moment = parse_now(now)
    try:
        definition = job_named(name)
    except ConfigurationError as exc:
        fail(str(exc))

    async def go() -> JobOutcome:
        async with open_engine(settings, migrate_first=True) as engine:
            return await run_job(engine, definition, moment)

    outcome: Any = run_guarded(go())
    if output == "json":
        print(json.dumps(outcome.as_dict(), sort_keys=True))
        return
    _print_rows(f"job {name}", _RUN_COLUMNS, [_run_row(outcome.run, outcome.status)])
    if outcome.run.detail:
        print("detail: " + json.dumps(outcome.run.detail, sort_keys=True))


def runs(job_name: Annotated[str | None, typer.Option("--job", help="Only this job.")] = None,
         limit: Annotated[int, typer.Option("--limit", min=1)] = 20,
         output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
         database_url: DatabaseUrl = None, preset: Preset = None,
         data_dir: DataDir = None) -> None:
    """List recent job runs, newest first."""
    if output not in ("table", "json"):
        fail("--format: use table or json")
    if job_name is not None and job_name not in {j.name for j in JOBS}:
        fail(f"--job: unknown job {job_name!r}; use one of: {', '.join(j.name for j in JOBS)}")
    settings = settings_from(database_url, preset, data_dir)

    async def go() -> list[RunRecord]:
        async with open_engine(settings, migrate_first=True) as engine:
            return await job_runs.recent_runs(engine, job_name, limit)

    found: Any = run_guarded(go())
    if output == "json":
        print(json.dumps([r.as_dict() for r in found], sort_keys=True))
        return
    if not found:
        print("no job runs yet: start the scheduler with `pam-proactive run`")
        return
    _print_rows("recent job runs", _RUN_COLUMNS, [_run_row(r) for r in found])


def run(demo: Annotated[bool, typer.Option(
            "--demo", help="Seed demo travelers first when the database has none.")] = False,
        demo_users: Annotated[int, typer.Option("--demo-users", min=1)] = 1000,
        host: Annotated[str, typer.Option("--host", help="Address of the API and dashboard "
                                          "(loopback by default; another needs "
                                          "PAM_API_TOKEN).")] = DEFAULT_HOST,
        port: Annotated[int, typer.Option("--port", min=0, max=65535,
                                          help="TCP port of the API and dashboard.")] = 8000,
        no_api: Annotated[bool, typer.Option("--no-api", help="Run the scheduler alone: "
                                             "no API, dashboard or /metrics.")] = False,
        no_watch: Annotated[bool, typer.Option("--no-watch", help="No event-driven detection: "
                                               "changes wait for the next job.")] = False,
        watch_mode: Annotated[str, typer.Option(
            "--watch-mode", help="poll (every PAM_WATCH_INTERVAL s) or listen (needs "
            "install-triggers; not behind a transaction pooler).")] = "poll",
        database_url: DatabaseUrl = None, preset: Preset = None,
        data_dir: DataDir = None) -> None:
    """Run the scheduler (every job on its cron), the watcher (a traveler's write suggested
    within seconds) and the API and dashboard, in this process, on one engine (one pool,
    cache and metrics).

    Migrates first; uses the embedded database unless DATABASE_URL is set. A slot missed
    while it was down runs once at start-up. Ctrl-C (or SIGTERM) finishes the range in hand,
    stops the watcher and the API and exits 0.
    """
    settings = settings_from(database_url, preset, data_dir)
    listen = None if no_watch else listens(watch_mode, settings, "--watch-mode")
    if demo and settings.preset != "seed":
        fail("--demo seeds the seed preset's tables: use --preset seed")
    if not no_api:
        try:
            check_bind(settings, host)
        except ConfigurationError as exc:
            fail(str(exc))
    run_guarded(_serve(settings, demo, demo_users, None if no_api else (host, port), listen))
    console.print("scheduler stopped")


async def _serve(settings: Settings, demo: bool, demo_users: int,
                 address: tuple[str, int] | None, listen: bool | None) -> None:
    if listen is not None:
        observe_lag_metrics()
    async with open_engine(settings, migrate_first=True) as engine:
        await reconcile_channels(engine)  # a wrong PAM_CHANNELS stops it now, not later
        if demo:
            await _seed_if_empty(engine, demo_users)
        runner = Runner(engine)
        async with _api(settings, engine, address), _watching(engine, runner, listen):
            console.print("scheduler running; jobs: " + ", ".join(j.name for j in JOBS)
                          + ". Runs: `pam-proactive runs`.")
            await serve_until_signalled(runner)


@contextlib.asynccontextmanager
async def _watching(engine: Engine, runner: Runner, listen: bool | None
                    ) -> AsyncIterator[None]:
    """The watcher on ``engine`` in this event loop for the block (nothing with ``listen``
    None), stopped at its end after the tick in hand. A watcher that dies stops the
    runner too, so `run` exits with its error instead of serving without it."""
    if listen is None:
        yield
        return
    watcher = Watcher(engine, listen=listen)
    stop = asyncio.Event()
    task = asyncio.create_task(watcher.run(stop))

    def on_done(done: asyncio.Task[None]) -> None:
        if not done.cancelled() and done.exception() is not None:
            runner.request_stop()

    task.add_done_callback(on_done)
    console.print(f"watcher running ({'listen' if listen else 'poll'} mode, every "
                  f"{engine.settings.watch_interval:g} s)")
    try:
        yield
    finally:
        stop.set()
        await task


@contextlib.asynccontextmanager
async def _api(settings: Settings, engine: Engine, listen: tuple[str, int] | None
               ) -> AsyncIterator[None]:
    """The API and dashboard served on ``engine`` in this event loop for the block (nothing
    with ``listen`` None); stopped at its end, open streams given 5 s."""
    if listen is None:
        yield
        return
    host, port = listen
    server = make_server(settings, host, port, engine=engine)
    # The scheduler's handlers own SIGINT/SIGTERM and stop both; uvicorn's own would re-raise
    # the signal after its shutdown and end the process before the runner checkpoints.
    server.capture_signals = _no_signals  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            with contextlib.suppress(BaseException):
                task.result()
            raise ConfigurationError(f"--host {host} --port {port}: the API cannot listen "
                                     "there (port in use?): pick another --port, or --no-api")
        await asyncio.sleep(0.05)
    console.print(startup_notice(settings, host, port))
    try:
        yield
    finally:
        server.should_exit = True
        await task


@contextlib.contextmanager
def _no_signals() -> Iterator[None]:
    yield


async def _seed_if_empty(engine: Engine, users: int) -> None:
    """Demo travelers when the database has none (nothing is ever overwritten)."""
    async for _ in engine.data.iter_sweep_user_batches(1):
        console.print("--demo: the database already has travelers; seeding nothing")
        return
    now = datetime.now().astimezone()
    async with engine.db.admin(bounded=False) as conn:
        await seed_demo_data(conn, users=users, seed=42, now=now,
                             engine_schema=engine.settings.engine_schema)
    console.print(f"--demo: seeded {users:,} demo travelers")


def register(app: typer.Typer) -> None:
    """Add the job commands to the ``pam-proactive`` application."""
    for command in (jobs, job, runs, run):
        app.command(name=command.__name__)(command)


