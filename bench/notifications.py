"""Figures: how often the engine notifies a realistic population, this checkout vs a baseline.

One demo population (this checkout's generator: ``--users`` travelers, ``--seed``, dated at
``--start``) is seeded once on a throwaway embedded PostgreSQL and copied (CREATE DATABASE
... TEMPLATE) for each side. Each side then runs in a child process importing its own code:
the baseline from ``git archive`` of ``--baseline`` (default: the merge-base of HEAD and
main) unpacked in a temporary directory, this checkout from its ``src``. A child migrates its
engine schema, takes the population's engine preferences (time zones, quiet hours, caps,
opt-outs), and steps a simulated clock from ``--start`` over ``--days`` days in 15-minute
steps, running the in-process scheduler (``jobs.scheduling.runner.Runner``: the five
scheduled jobs on their crons, incremental with their full passes) at every step, exactly as
``pam-proactive run`` does on the wall clock.

With ``--population each`` each side seeds its own code's demo population instead (the
change of the population and of the engine together: "before and after" of the whole
issue).

A notification is an outbox row delivered, or due and not cancelled, by the end of the
period; a daily digest counts once (the items it gathers are not counted). Printed per side:
notifications per traveler per week (mean, p95, max over the travelers the engine monitors:
active, not opted out, zeros included) and the share of those travelers notified on a given
day (mean over the period's days, and the worst day), with the run's wall time. The
population writes nothing during the period (no new fill-ups, expenses or events): the
figures show what the passing of time brings (events and departures coming close, service
falling due, budgets moving through their periods) on top of the first day.

    python bench/notifications.py --users 200 --days 7
    python bench/notifications.py --users 1000 --days 30 --baseline a24aa79
    python bench/notifications.py --users 200 --days 7 --population each
    python bench/notifications.py --users 200 --days 7 --digest-off-vs-on

With ``--digest-off-vs-on`` both sides run this checkout, the first with the daily digest
off (``PAM_DIGEST=false``: every notification on its own), the second with the defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from _common import NOW

REPO = Path(__file__).resolve().parent.parent
POPULATION = "population"  # the seeded database both sides copy
POPULATION_SCHEMA = "pam_population"  # engine preferences of the population, before a side's
STEP = timedelta(minutes=15)
RETENTION_DAYS = "3650"  # keep every sent notification until it is counted


def _git(*args: str) -> bytes:
    return subprocess.run(["git", "-C", str(REPO), *args], check=True,
                          capture_output=True).stdout


def export_source(rev: str, dest: Path) -> Path:
    """Unpack ``src`` of commit ``rev`` into ``dest``; the path of its ``src``."""
    dest.mkdir(parents=True)
    archive = _git("archive", "--format=tar", rev, "src")
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest / "src"


async def seed_population(server: str, users: int, seed: int, start: datetime) -> None:
    """The demo population at ``start`` in database POPULATION, its preferences in
    POPULATION_SCHEMA (a side moves them into its own engine schema)."""
    from pam_proactive.db.embedded import database_uri, ensure_database
    from pam_proactive.db.migrate import migrate
    from pam_proactive.demo import seed_demo_data

    ensure_database(server, POPULATION)
    uri = database_uri(server, POPULATION)
    async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
        await migrate(conn, schema=POPULATION_SCHEMA, preset="seed",
                      create_reference_tables=True)
    async with await psycopg.AsyncConnection.connect(uri) as conn:
        await seed_demo_data(conn, users=users, seed=seed, now=start,
                             engine_schema=POPULATION_SCHEMA)
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


# ----------------------------------------------------------------------------------------
# A side (child process): migrate, adopt the preferences, simulate, count.

async def adopt_preferences(uri: str, schema: str) -> None:
    """Copy the population's preferences into ``schema`` (the columns both have), then drop
    the population's engine schema so that only this side's engine remains."""
    async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name ="
            " 'user_preferences' AND table_schema = %s INTERSECT SELECT column_name FROM"
            " information_schema.columns WHERE table_name = 'user_preferences' AND"
            " table_schema = %s", (POPULATION_SCHEMA, schema))
        columns = sql.SQL(", ").join(sql.Identifier(r[0]) for r in await cur.fetchall())
        await conn.execute(sql.SQL("INSERT INTO {}.user_preferences ({}) SELECT {} FROM {}"
                                   ".user_preferences").format(
            sql.Identifier(schema), columns, columns, sql.Identifier(POPULATION_SCHEMA)))
        await conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(
            sql.Identifier(POPULATION_SCHEMA)))


COUNTS = """
SELECT o.user_id, floor(extract(epoch FROM coalesce(o.delivered_at, o.deliver_after)
                                  - %(start)s) / 86400)::int AS day, count(*)
FROM {s}.outbox o
WHERE (o.delivered_at IS NOT NULL
       OR (o.cancelled_at IS NULL AND o.deliver_after <= %(end)s))
  -- A digest's items go out in it: the digest row is the notification (a schema before
  -- the digest has no such column).
  AND coalesce((to_jsonb(o) ->> 'digest_item')::boolean, false) = false
GROUP BY 1, 2
"""
MONITORED = "SELECT user_id FROM {s}.traveler_users WHERE status = 'active' AND NOT opted_out"


def figures(uri: str, schema: str, start: datetime, days: int) -> dict[str, Any]:
    """Notifications per monitored traveler per week and the daily share notified."""
    end = start + timedelta(days=days)
    s = sql.Identifier(schema)
    with psycopg.connect(uri) as conn:
        monitored = {r[0] for r in conn.execute(sql.SQL(MONITORED).format(s=s)).fetchall()}
        rows = conn.execute(sql.SQL(COUNTS).format(s=s),
                            {"start": start, "end": end}).fetchall()
    per_user: dict[Any, int] = dict.fromkeys(monitored, 0)
    per_day: list[set[Any]] = [set() for _ in range(days)]
    for user, day, count in rows:
        if user in per_user and 0 <= day < days:
            per_user[user] += int(count)
            per_day[day].add(user)
    weekly = sorted(n * 7 / days for n in per_user.values())
    n = len(weekly)
    shares = [len(d) / n for d in per_day] if n else [0.0]
    return {"travelers": n, "notifications": sum(per_user.values()),
            "week_mean": sum(weekly) / n if n else 0.0,
            "week_p95": weekly[max(0, math.ceil(0.95 * n) - 1)] if n else 0.0,
            "week_max": weekly[-1] if n else 0.0,
            "day_share_mean": sum(shares) / len(shares), "day_share_max": max(shares),
            "day_one_share": shares[0]}


async def simulate(uri: str, start: datetime, days: int, own: tuple[int, int] | None) -> str:
    """Step the scheduler's clock over the period; the engine schema used. With ``own``
    (users, seed), seed this code's own demo population first (into an empty database)."""
    from pam_proactive.config import load_settings
    from pam_proactive.demo import seed_demo_data
    from pam_proactive.engine import open_engine, run_migrations
    from pam_proactive.jobs.scheduling.runner import Runner

    settings = load_settings(database_url=uri, pool_max_size=4)
    await run_migrations(settings, uri, create_reference_tables=True)
    if own is None:
        await adopt_preferences(uri, settings.engine_schema)
    else:
        async with await psycopg.AsyncConnection.connect(uri) as conn:
            await seed_demo_data(conn, users=own[0], seed=own[1], now=start,
                                 engine_schema=settings.engine_schema)
    try:  # recorded channels came with the delivery pipeline; a baseline may predate them
        from pam_proactive.suggestions.delivery import set_channels
    except ImportError:
        set_channels = None
    clock = {"now": start}
    async with open_engine(settings, conninfo=uri) as engine:
        if set_channels is not None:
            # Outbox only, as the demo records it: due rows are delivered (released to the
            # app) as they come due. With nothing recorded they would wait, and a row whose
            # suggestion resolves meanwhile is cancelled, never counted.
            await set_channels(engine.db, settings.engine_schema, ())
        runner = Runner(engine, clock=lambda: clock["now"])
        moment, end = start, start + timedelta(days=days)
        while moment < end:
            clock["now"] = moment
            await runner.run_pending()
            moment += STEP
    return settings.engine_schema


def child(args: argparse.Namespace) -> None:
    """Run one side and print its figures as one JSON line."""
    import pam_proactive

    start = datetime.fromisoformat(args.start)
    began = time.perf_counter()
    own = (args.users, args.seed) if args.population == "each" else None
    schema = asyncio.run(simulate(args.uri, start, args.days, own))
    out = figures(args.uri, schema, start, args.days)
    out.update(seconds=time.perf_counter() - began, source=pam_proactive.__file__)
    print(json.dumps(out))


# ----------------------------------------------------------------------------------------
# The parent: population, both sides, the table.

def run_side(src: Path, uri: str, args: argparse.Namespace, **settings: str
             ) -> dict[str, Any]:
    """One side in a child process importing the package from ``src``, with ``settings``
    (PAM_* variables) for it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAM_")}
    env.update(PYTHONPATH=str(src), PAM_OUTBOX_RETENTION_DAYS=RETENTION_DAYS, **settings)
    argv = [sys.executable, __file__, "--child", "--uri", uri, "--start", args.start,
            "--days", str(args.days), "--users", str(args.users), "--seed", str(args.seed),
            "--population", args.population]
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True,
                              timeout=args.max_minutes * 60)
    except subprocess.TimeoutExpired:
        sys.exit(f"error: a side ran over --max-minutes {args.max_minutes}; try fewer "
                 "--users or --days")
    if done.returncode != 0:
        sys.exit(f"error: the side from {src} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if not Path(result["source"]).resolve().is_relative_to(src.resolve()):
        sys.exit(f"error: the side meant to run {src} imported {result['source']}")
    return result


def _table(results: dict[str, dict[str, Any]], first: str, second: str) -> list[str]:
    rows = [
        ("travelers monitored", lambda r: f"{r['travelers']:,}"),
        ("notifications", lambda r: f"{r['notifications']:,}"),
        ("per traveler per week, mean", lambda r: f"{r['week_mean']:.2f}"),
        ("per traveler per week, p95", lambda r: f"{r['week_p95']:.2f}"),
        ("per traveler per week, max", lambda r: f"{r['week_max']:.2f}"),
        ("share notified on a day, mean", lambda r: f"{r['day_share_mean']:.1%}"),
        ("share notified on a day, worst", lambda r: f"{r['day_share_max']:.1%}"),
        ("share notified on the first day", lambda r: f"{r['day_one_share']:.1%}"),
        ("wall time of the side, s", lambda r: f"{r['seconds']:.0f}"),
    ]
    head = f"{'':34}{first:>20}{second:>16}"
    return [head] + [f"{label:34}{show(results['baseline']):>20}{show(results['this']):>16}"
                     for label, show in rows]


def main() -> None:
    cli = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    cli.add_argument("--users", type=int, default=1_000, help="demo travelers")
    cli.add_argument("--days", type=int, default=30, help="simulated days")
    cli.add_argument("--seed", type=int, default=42, help="the demo's seed")
    cli.add_argument("--start", default=NOW.isoformat(),
                     help="simulated start (ISO, aware): the population is dated there")
    cli.add_argument("--baseline", help="commit to compare with (default: merge-base with "
                                        "main)")
    cli.add_argument("--population", choices=("this", "each"), default="this",
                     help="this: both sides read this checkout's demo population (the "
                          "engine's change alone); each: each side seeds its own code's "
                          "demo (the population's change too)")
    cli.add_argument("--max-minutes", type=float, default=90,
                     help="stop if a side runs longer than this")
    cli.add_argument("--digest-off-vs-on", action="store_true",
                     help="compare this checkout with the daily digest off and on (no "
                          "baseline commit)")
    cli.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    cli.add_argument("--uri", help=argparse.SUPPRESS)
    args = cli.parse_args()
    if args.child:
        child(args)
        return
    if args.users < 1 or args.days < 1:
        cli.error("--users and --days must be at least 1")
    start = datetime.fromisoformat(args.start)
    if start.tzinfo is None:
        cli.error("--start needs a time zone, e.g. 2026-11-25T18:00:00+00:00")
    rev = _git("rev-parse", args.baseline or _git("merge-base", "HEAD", "main").decode().strip()
               ).decode().strip()
    from pam_proactive.db.embedded import database_uri, embedded_server

    whose = ("this checkout's demo population" if args.population == "this"
             else "each side's own demo population")
    first = "digest off" if args.digest_off_vs_on else "baseline " + rev[:10]
    print(f"{args.users:,} demo travelers (--seed {args.seed}; {whose}) from "
          f"{start.isoformat()} over {args.days} days in 15-minute steps; {first}",
          flush=True)
    with tempfile.TemporaryDirectory(prefix="pam-notifications-") as tmp:
        sources = {"baseline": REPO / "src" if args.digest_off_vs_on
                   else export_source(rev, Path(tmp) / "baseline"), "this": REPO / "src"}
        side_settings = {"baseline": {"PAM_DIGEST": "false"} if args.digest_off_vs_on else {},
                         "this": {}}
        with embedded_server(Path(tmp) / "pgdata", delete=True) as server:
            if args.population == "this":
                asyncio.run(seed_population(server, args.users, args.seed, start))
            results = {}
            for label, src in sources.items():
                name = f"side_{label}"
                template = POPULATION if args.population == "this" else "template0"
                with psycopg.connect(server, autocommit=True) as conn:
                    conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        sql.Identifier(name), sql.Identifier(template)))
                results[label] = run_side(src, database_uri(server, name), args,
                                          **side_settings[label])
                print(f"  {label} done in {results[label]['seconds']:.0f} s", flush=True)
    second = "digest on" if args.digest_off_vs_on else "this checkout"
    print("\n".join(_table(results, first, second)))


if __name__ == "__main__":
    main()
