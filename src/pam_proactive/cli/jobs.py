"""`jobs`, `job NAME`, `runs` and `run`: the scheduled jobs from the command line.

Tables fit the terminal (render.print_table); piped, they are plain text under a header row.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from pam_proactive.api import DEFAULT_HOST, DEFAULT_PORT
from pam_proactive.cli.options import (
    Command,
    DatabaseUrl,
    DataDir,
    Format,
    Now,
    Port,
    Preset,
    fail,
    parse_now,
    renamed,
    run_guarded,
    settings_from,
)
from pam_proactive.cli.render import Column, minute, print_data, print_table

if TYPE_CHECKING:
    from pam_proactive.config import Settings
    from pam_proactive.engine import Engine
    from pam_proactive.jobs.scheduling.runner import Runner
    from pam_proactive.jobs.scheduling.runs import RunRecord
    from pam_proactive.jobs.scheduling.schedule import JobDef

console = Console()

# Essential columns first (drop 0); on a narrow terminal the highest drop goes first.
_RUN_COLUMNS = (Column("id", right=True), Column("job"), Column("slot (UTC)"),
                Column("status"), Column("users", right=True),
                Column("errors", right=True, drop=1), Column("seconds", right=True, drop=2),
                Column("created", right=True, drop=3),
                Column("evaluated changed/due/full", right=True, drop=4),
                Column("escalated", right=True, drop=5), Column("resolved", right=True, drop=5),
                Column("runner", drop=6))
_JOB_COLUMNS = (Column("job"), Column("cron (UTC)"), Column("next fire (UTC)"),
                Column("detector group", drop=1, listing=True))
_LAST_RUN = Column("last finished run", drop=2)


def _group(types: frozenset[str] | None) -> str:
    return ",".join(sorted(types)) if types else "-"


def _job_json(j: JobDef, moment: datetime, last: RunRecord | None) -> dict[str, Any]:
    return {"job": j.name, "cron": j.cron, "types": sorted(j.types or ()),
            "next_fire": j.next_fire(moment).isoformat(),
            "last_run": None if last is None else last.as_dict()}


def jobs(now: Now = None, output: Format = "table", database_url: DatabaseUrl = None,
         preset: Preset = None, data_dir: DataDir = None) -> None:
    """List the scheduled jobs: cron (UTC), next fire time and detector group; with a
    database (--database-url, DATABASE_URL or --data-dir) also each one's last finished
    run."""
    from pam_proactive.jobs.scheduling.schedule import JOBS

    moment = parse_now(now)
    settings = settings_from(database_url, preset, data_dir)
    last: dict[str, RunRecord] = {}
    with_db = settings.database_url is not None or data_dir is not None
    if with_db:
        from pam_proactive.engine import open_engine
        from pam_proactive.jobs.scheduling.runs import last_finished_runs

        async def go() -> dict[str, RunRecord]:
            async with open_engine(settings, migrate_first=True) as engine:
                return await last_finished_runs(engine)

        last = run_guarded(go())
    if output != "table":
        print_data([_job_json(j, moment, last.get(j.name)) for j in JOBS], output)
        return
    rows = []
    for j in JOBS:
        row = [j.name, j.cron, minute(j.next_fire(moment)), _group(j.types)]
        if with_db:
            run = last.get(j.name)
            row.append("-" if run is None or run.finished_at is None
                       else f"{run.status}@{minute(run.finished_at)}")
        rows.append(row)
    print_table(console, f"scheduled jobs (next fire after {moment.isoformat()})",
                _JOB_COLUMNS + ((_LAST_RUN,) if with_db else ()), rows)


def _run_row(run: RunRecord, status: str | None = None) -> list[str]:
    seconds = ((run.finished_at - run.started_at).total_seconds()
               if run.finished_at is not None else None)
    return [str(run.id), run.job, minute(run.slot), status or run.status, str(run.users),
            str(run.errors), "-" if seconds is None else f"{seconds:.1f}", str(run.created),
            _evaluated(run), str(run.escalated), str(run.resolved), run.runner]


def _evaluated(run: RunRecord) -> str:
    from pam_proactive.jobs.scheduling.runs import REASONS

    counts = run.evaluated
    return "-" if counts is None else "/".join(str(counts[r]) for r in REASONS)


def job(name: str, now: Now = None, output: Format = "table",
        database_url: DatabaseUrl = None, preset: Preset = None,
        data_dir: DataDir = None) -> None:
    """Run one job once in this process for its latest slot at or before --now.

    A slot that already ran does nothing and reports status 'duplicate' (exit 0).
    """
    import json

    from pam_proactive.engine import open_engine
    from pam_proactive.errors import ConfigurationError
    from pam_proactive.jobs.scheduling.execute import JobOutcome, run_job
    from pam_proactive.jobs.scheduling.schedule import job_named

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
    if output != "table":
        print_data(outcome.as_dict(), output)
        return
    print_table(console, f"job {name}", _RUN_COLUMNS, [_run_row(outcome.run, outcome.status)])
    if outcome.run.detail:
        print("detail: " + json.dumps(outcome.run.detail, sort_keys=True))


def runs(job_name: Annotated[str | None, typer.Option(
             "--job", metavar="NAME", help="Only this job.")] = None,
         limit: Annotated[int, typer.Option("--limit", metavar="N", min=1,
                                            help="Runs at most.")] = 20,
         output: Format = "table",
         database_url: DatabaseUrl = None, preset: Preset = None,
         data_dir: DataDir = None) -> None:
    """List recent job runs, newest first."""
    from pam_proactive.engine import open_engine
    from pam_proactive.jobs.scheduling import runs as job_runs
    from pam_proactive.jobs.scheduling.schedule import JOBS

    if job_name is not None and job_name not in {j.name for j in JOBS}:
        fail(f"--job: unknown job {job_name!r}; use one of: {', '.join(j.name for j in JOBS)}")
    settings = settings_from(database_url, preset, data_dir)

    async def go() -> list[RunRecord]:
        async with open_engine(settings, migrate_first=True) as engine:
            return await job_runs.recent_runs(engine, job_name, limit)

    found: Any = run_guarded(go())
    if output != "table":
        print_data([r.as_dict() for r in found], output)
        return
    if not found:
        print("no job runs yet: start the scheduler with `pam-proactive run`")
        return
    print_table(console, "recent job runs", _RUN_COLUMNS, [_run_row(r) for r in found])


def run(demo: Annotated[bool, typer.Option(
            "--demo", help="Seed demo travelers first when the database has none.")] = False,
        demo_travelers: Annotated[int, typer.Option(
            "--demo-travelers", metavar="N", min=1,
            help="How many demo travelers --demo generates.")] = 1000,
        host: Annotated[str, typer.Option("--host", metavar="HOST",
                                          help="Address of the API and dashboard "
                                          "(loopback by default; another needs "
                                          "PAM_API_TOKEN).")] = DEFAULT_HOST,
        port: Port = DEFAULT_PORT,
        no_api: Annotated[bool, typer.Option("--no-api", help="Run the scheduler alone: "
                                             "no API, dashboard or /metrics.")] = False,
        no_watch: Annotated[bool, typer.Option("--no-watch", help="No event-driven detection: "
                                               "changes wait for the next job.")] = False,
        watch_mode: Annotated[str, typer.Option(
            "--watch-mode", metavar="poll|listen",
            help="poll (every PAM_WATCH_INTERVAL s) or listen (needs install-triggers; not "
                 "behind a transaction pooler).")] = "poll",
        database_url: DatabaseUrl = None, preset: Preset = None,
        data_dir: DataDir = None,
        demo_users: Annotated[int | None, typer.Option("--demo-users", min=1, hidden=True)
                              ] = None) -> None:
    """Run the scheduler (every job on its cron), the watcher (a traveler's write suggested
    within seconds) and the API and dashboard, in this process, on one engine (one pool,
    cache and metrics).

    Migrates the engine schema first (`--demo` also creates the seed preset's tables when
    absent); uses the embedded database unless DATABASE_URL is set. A slot missed
    while it was down runs once at start-up. Ctrl-C (or SIGTERM) finishes the range in hand,
    stops the watcher and the API and exits 0.
    """
    from pam_proactive.api.server import check_bind
    from pam_proactive.cli.watch import listens
    from pam_proactive.errors import ConfigurationError

    count = renamed(demo_travelers, demo_users, "--demo-users", "--demo-travelers")
    settings = settings_from(database_url, preset, data_dir)
    listen = None if no_watch else listens(watch_mode, settings, "--watch-mode")
    if demo and settings.preset != "seed":
        fail("--demo seeds the seed preset's tables: use --preset seed")
    if not no_api:
        try:
            check_bind(settings, host)
        except ConfigurationError as exc:
            fail(str(exc))
    run_guarded(_serve(settings, demo, count, None if no_api else (host, port), listen))
    console.print("scheduler stopped")


async def _serve(settings: Settings, demo: bool, demo_users: int,
                 address: tuple[str, int] | None, listen: bool | None) -> None:
    from pam_proactive.engine import open_engine
    from pam_proactive.jobs.pipeline.batches import observe_lag_metrics
    from pam_proactive.jobs.pipeline.delivery import reconcile_channels
    from pam_proactive.jobs.scheduling.runner import Runner, serve_until_signalled
    from pam_proactive.jobs.scheduling.schedule import JOBS

    if listen is not None:
        observe_lag_metrics()
    # --demo seeds the seed preset's tables, so it may create them; nothing else does.
    async with open_engine(settings, migrate_first=True, create_reference_tables=demo) as engine:
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
    import asyncio

    from pam_proactive.jobs.watcher.watch import Watcher

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
    import asyncio

    from pam_proactive.api.server import make_server, startup_notice
    from pam_proactive.errors import ConfigurationError

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

    from pam_proactive.demo import seed_demo_data

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
        app.command(name=command.__name__, cls=Command)(command)


