"""`pam-proactive watch`, `pam-proactive install-triggers` and `sweep --incremental`."""

from __future__ import annotations

import asyncio
import signal
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console

from pam_proactive.cli.options import (
    DatabaseUrl,
    DataDir,
    Preset,
    fail,
    run_guarded,
    settings_from,
)
from pam_proactive.config import Settings
from pam_proactive.db.bootstrap import database_conninfo
from pam_proactive.db.connection import admin_connection
from pam_proactive.db.triggers import drop_trigger_sql, trigger_sql
from pam_proactive.engine import open_engine
from pam_proactive.jobs.sweep import reconcile_channels
from pam_proactive.jobs.watch import Watcher, channel_name, observe_lag_metrics
from pam_proactive.jobs.watch_executors import EXECUTORS

console = Console()
PRODUCTION_PRESET = "wheels-wins-live"


def incremental_command(settings: Settings, now: datetime, output: str) -> None:
    """`sweep --incremental`: evaluate the changed and due travelers, print the report."""
    from pam_proactive.cli.suggestions import SuggestionPrinter, print_sweep_report
    from pam_proactive.jobs.incremental import incremental_sweep

    printer = SuggestionPrinter(console, output)

    async def go() -> Any:
        async with open_engine(settings, migrate_first=True) as engine:
            return await incremental_sweep(engine, now, on_batch=printer.batch)

    report: Any = run_guarded(go())
    printer.finish()
    if output == "table":
        reasons = ", ".join(f"{k} {report.reasons[k]:,}" for k in ("changed", "due", "full"))
        console.print(f"incremental: evaluated {report.evaluated:,} travelers ({reasons}); "
                      f"{report.changes:,} changed rows read"
                      + ("; full pass" if report.full else ""))
        if report.sweep is not None:
            print_sweep_report(console, report.sweep)


def watch(mode: Annotated[str, typer.Option(
              "--mode", help="poll (every PAM_WATCH_INTERVAL s) or listen (needs "
              "install-triggers; not behind a transaction pooler).")] = "poll",
          executor: Annotated[str | None, typer.Option(
              "--executor", help="inprocess (evaluate here) or celery (send each batch to "
              "the workers' pam.events queue); default PAM_WATCH_EXECUTOR.")] = None,
          database_url: DatabaseUrl = None, preset: Preset = None,
          data_dir: DataDir = None) -> None:
    """Evaluate travelers within seconds of their writes, until interrupted."""
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
