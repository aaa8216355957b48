"""`pam-proactive watch`, `pam-proactive install-triggers` and `sweep --incremental`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from pam_proactive.cli.options import (
    Command,
    DatabaseUrl,
    DataDir,
    Preset,
    fail,
    run_guarded,
    settings_from,
)

if TYPE_CHECKING:
    from pam_proactive.config import Settings

console = Console()
PRODUCTION_PRESET = "wheels-wins-live"


def incremental_command(settings: Settings, now: datetime, output: str) -> None:
    """`sweep --incremental`: evaluate the changed and due travelers, print the report."""
    from pam_proactive.cli.suggestions import SuggestionPrinter, print_sweep_report
    from pam_proactive.engine import open_engine
    from pam_proactive.jobs.pipeline.evaluate import Evaluation
    from pam_proactive.jobs.pipeline.selection import ChangedOrDue

    printer = SuggestionPrinter(console, output)

    async def go() -> Any:
        async with open_engine(settings, migrate_first=True) as engine:
            run = Evaluation(engine, now, ChangedOrDue())
            async for batch in run:
                printer.batch(batch.suggestions, batch.users)
            return run.report

    report: Any = run_guarded(go())
    printer.finish()
    if output == "table":
        reasons = ", ".join(f"{k} {report.reasons[k]:,}" for k in ("changed", "due", "full"))
        console.print(f"incremental: evaluated {report.evaluated:,} travelers ({reasons}); "
                      f"{report.changes:,} changed rows read"
                      + ("; full pass" if report.full else ""))
        print_sweep_report(console, report)


def watch(mode: Annotated[str, typer.Option(
              "--mode", metavar="poll|listen",
              help="poll (every PAM_WATCH_INTERVAL s) or listen (needs "
              "install-triggers; not behind a transaction pooler).")] = "poll",
          executor: Annotated[str | None, typer.Option(
              "--executor", metavar="inprocess|celery",
              help="inprocess (evaluate here) or celery (send each batch to "
              "the workers' pam.events queue); default PAM_WATCH_EXECUTOR.")] = None,
          database_url: DatabaseUrl = None, preset: Preset = None,
          data_dir: DataDir = None) -> None:
    """Evaluate travelers within seconds of their writes, until interrupted."""
    from pam_proactive.jobs.watcher.executors import EXECUTORS

    if executor is not None and executor not in EXECUTORS:
        fail(f"--executor {executor}: use {' or '.join(EXECUTORS)}")
    settings = settings_from(database_url, preset, data_dir, watch_executor=executor)
    run_guarded(_watch(settings, listens(mode, settings, "--mode")))


def listens(mode: str, settings: Settings, flag: str) -> bool:
    """True for listen mode, False for poll; a mode that cannot work here stops the command
    with a message naming ``flag`` (an unknown mode, or listen behind a transaction pooler)."""
    if mode not in ("poll", "listen"):
        fail(f"{flag}: use poll or listen")
    if mode == "listen" and settings.uses_transaction_pooler:
        fail(f"{flag} listen: LISTEN/NOTIFY does not work behind a transaction pooler "
             f"(PAM_TRANSACTION_POOLER / port 6543); use {flag} poll or a direct connection")
    return mode == "listen"


async def _watch(settings: Settings, listen: bool) -> None:
    import asyncio
    import signal

    from pam_proactive.engine import open_engine
    from pam_proactive.jobs.pipeline.batches import observe_lag_metrics
    from pam_proactive.jobs.pipeline.delivery import reconcile_channels
    from pam_proactive.jobs.watcher.watch import Watcher

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    observe_lag_metrics()
    async with open_engine(settings, migrate_first=True) as engine:
        await reconcile_channels(engine)  # a wrong PAM_CHANNELS stops it now, not later
        watcher = Watcher(engine, listen=listen)
        console.print(f"watching ({'listen' if listen else 'poll'} mode, every "
                      f"{settings.watch_interval:g} s, executor {settings.watch_executor}); "
                      "Ctrl-C to stop")
        await watcher.run(stop)
    console.print(f"stopped after {watcher.ticks:,} polls")


def install_triggers(
        apply: Annotated[bool, typer.Option("--apply", help="Run the SQL (default: print it).")
                         ] = False,
        drop: Annotated[bool, typer.Option("--drop", help="Remove the triggers instead.")
                        ] = False,
        production: Annotated[bool, typer.Option(
            "--i-know-this-is-production",
            help="Required to apply on preset wheels-wins-live.")] = False,
        database_url: DatabaseUrl = None, preset: Preset = None,
        data_dir: DataDir = None) -> None:
    """Print (or --apply) the optional NOTIFY triggers that wake `watch --mode listen`."""
    from pam_proactive.db.bootstrap import database_conninfo
    from pam_proactive.db.connection import admin_connection
    from pam_proactive.db.triggers import drop_trigger_sql, trigger_sql
    from pam_proactive.jobs.watcher.watch import channel_name

    settings = settings_from(database_url, preset, data_dir)
    schema = settings.engine_schema
    text = (drop_trigger_sql(settings.preset, schema) if drop
            else trigger_sql(settings.preset, schema, channel_name(schema)))
    if not apply:
        print(text)
        return
    if settings.preset == PRODUCTION_PRESET and not production:
        fail("preset wheels-wins-live is a production schema: these triggers run inside "
             "every write of the app. Review the SQL (run without --apply), then add "
             "--i-know-this-is-production")
    if settings.uses_transaction_pooler:
        fail("connect directly (not through the transaction pooler) to install triggers: "
             "watch --mode listen cannot LISTEN through it anyway")

    async def go() -> None:
        with database_conninfo(settings) as conninfo:
            async with admin_connection(conninfo, settings) as conn, conn.transaction():
                await conn.execute(text.encode())

    run_guarded(go())
    console.print("triggers removed" if drop else
                  f"triggers installed: they notify channel {channel_name(schema)!r}")


def register(app: typer.Typer) -> None:
    """Add `watch` and `install-triggers` to the ``pam-proactive`` application."""
    app.command(cls=Command)(watch)
    app.command("install-triggers", cls=Command)(install_triggers)
