"""Figures: notifications and relevance over a month, with a scripted traveler model.

One demo population (``--users`` travelers, ``--seed``, dated at ``--start``) is seeded once
on a throwaway embedded PostgreSQL and copied (CREATE DATABASE ... TEMPLATE) for each side.
Every side runs THIS checkout in a child process; the sides differ only in settings:

* ``stream``: no digest, no adaptation: every notification goes out on its own;
* ``digest``: low and medium priorities gathered into one daily digest, no adaptation;
* ``adaptive``: the digest, and the engine learns from each traveler's answers.

A side steps a simulated clock over ``--days`` days in steps of ``--step-minutes`` (an hour by
default), running the in-process scheduler (``Runner``, as ``pam-proactive run``
does). After each step the scripted travelers answer what was delivered to them during it (a
digest's items one by one), through the engine's own answer functions
(``suggestions.answers``, ``mark_acted``).

The traveler model is deterministic (``--seed``). Each traveler has a taste per suggestion
type, drawn once: likes it (45 %), neutral (35 %) or dislikes it (20 %). A taste gives the
odds of each answer to one item:

=========  =====  ======  =======  ==========  ============  =========  =====  ======
taste      acted  useful  snooze   not_useful  already_done  too_early  wrong  silent
=========  =====  ======  =======  ==========  ============  =========  =====  ======
likes      45 %   15 %    5 %      0           0             0          1 %    34 %
neutral    15 %   5 %     10 %     10 %        5 %           5 %        2 %    48 %
dislikes   2 %    0       0        55 %        0             10 %       3 %    30 %
=========  =====  ======  =======  ==========  ============  =========  =====  ======

For types about something ahead (events, departures, trips) a disliking traveler says
``too_early`` 30 % and ``not_useful`` 35 % instead. A snooze is for three days. Answers are
given in the step the notification is delivered (travelers read them at once: a
simplification that makes adaptation show as early as it can).

Printed per side and simulated week: notifications per monitored traveler (a digest counts once),
items delivered per traveler, the relevance rate and the wrong rate of the week as the engine
itself measures them (``suggestions.relevance``: acted or rated useful over delivered and
answered), and the adaptations in force at the end.

    python bench/relevance.py --users 300 --days 28
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from _common import NOW
from notifications import POPULATION, adopt_preferences, seed_population

REPO = Path(__file__).resolve().parent.parent
SNOOZE = timedelta(days=3)
RETENTION_DAYS = "3650"  # keep every sent notification until it is counted

# The settings of each side (environment variables of its child process).
SIDES: dict[str, dict[str, str]] = {
    "stream": {"PAM_DIGEST": "false", "PAM_ADAPTATION": "false"},
    "digest": {"PAM_DIGEST": "true", "PAM_ADAPTATION": "false"},
    "adaptive": {"PAM_DIGEST": "true", "PAM_ADAPTATION": "true"},
}

ANSWERS = ("acted", "useful", "snooze", "not_useful", "already_done", "too_early", "wrong",
           "silent")
ODDS: dict[str, tuple[float, ...]] = {  # in the order of ANSWERS
    "likes": (0.45, 0.15, 0.05, 0.0, 0.0, 0.0, 0.01, 0.34),
    "neutral": (0.15, 0.05, 0.10, 0.10, 0.05, 0.05, 0.02, 0.48),
    "dislikes": (0.02, 0.0, 0.0, 0.55, 0.0, 0.10, 0.03, 0.30),
    "dislikes_ahead": (0.02, 0.0, 0.0, 0.35, 0.0, 0.30, 0.03, 0.30),
}
TASTES = (("likes", 0.45), ("neutral", 0.35), ("dislikes", 0.20))
AHEAD = ("event", "departure", "trip")  # a type naming one of these is about something ahead


def taste(seed: int, user: UUID, kind: str) -> str:
    """A traveler's taste for a suggestion type, drawn once."""
    draw = random.Random(f"{seed}:{user}:{kind}").random()
    for name, share in TASTES:
        if draw < share:
            return "dislikes_ahead" if name == "dislikes" and any(
                a in kind for a in AHEAD) else name
        draw -= share
    return "likes"


def answer(seed: int, user: UUID, kind: str, subject: str, event: str, day: str) -> str:
    """The traveler's answer to one delivered item: deterministic per traveler, subject
    (dedup key), event and day, so every side answers the same notification alike."""
    draw = random.Random(f"{seed}:{user}:{subject}:{event}:{day}").random()
    for name, odds in zip(ANSWERS, ODDS[taste(seed, user, kind)], strict=True):
        if draw < odds:
            return name
        draw -= odds
    return "silent"


# What a step delivered: (user, suggestion, type, event) of each item. A digest's items are
# outbox rows of their own (digest_item), marked delivered with their digest; the digest row
# itself has no suggestion.
DELIVERED = """
SELECT o.user_id, o.suggestion_id, s.type, s.dedup_key, o.event,
       (o.delivered_at AT TIME ZONE 'UTC')::date::text
FROM {s}.outbox o JOIN {s}.suggestions s ON s.id = o.suggestion_id
WHERE o.delivered_at > %(since)s AND o.delivered_at <= %(until)s
ORDER BY o.id
"""


async def answer_step(db: Any, schema: str, seed: int, since: datetime, until: datetime,
                      tally: Counter[str]) -> None:
    """Every traveler answers what was delivered to them in (``since``, ``until``]."""
    from pam_proactive.suggestions import answers
    from pam_proactive.suggestions.store import mark_acted

    rows = await db.fetch("bench_delivered", sql.SQL(DELIVERED).format(
        s=sql.Identifier(schema)), {"since": since, "until": until})
    for user, suggestion, kind, subject, event, day in rows:
        said = answer(seed, user, kind, subject, event, day)
        tally[said] += 1
        if said == "acted":
            await mark_acted(db, schema, suggestion, until)
        elif said == "useful":
            await answers.rate_useful(db, schema, suggestion, until)
        elif said == "snooze":
            await answers.snooze(db, schema, suggestion, until, until + SNOOZE)
        elif said != "silent":
            await answers.dismiss(db, schema, suggestion, until, reason=said)


WEEKLY = """
SELECT floor(extract(epoch FROM o.delivered_at - %(start)s) / 604800)::int AS week,
       count(*) FILTER (WHERE NOT o.digest_item) AS notifications,
       count(*) FILTER (WHERE o.suggestion_id IS NOT NULL) AS items
FROM {s}.outbox o
WHERE o.delivered_at >= %(start)s AND o.delivered_at < %(end)s
GROUP BY 1 ORDER BY 1
"""
MONITORED = "SELECT count(*) FROM {s}.traveler_users WHERE status = 'active' AND NOT opted_out"
# The outbox at the end: rows by event, digest item or not, and state.
SHAPES = """
SELECT event, digest_item, CASE WHEN delivered_at IS NOT NULL THEN 'delivered'
  WHEN cancelled_at IS NOT NULL THEN 'cancelled' ELSE 'pending' END, count(*)
FROM {s}.outbox GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""
# The adaptations in force at the end, by kind and level.
ADAPTED = "SELECT kind, level, count(*) FROM {s}.adaptations WHERE level > 0 GROUP BY 1, 2"


async def simulate(uri: str, start: datetime, days: int, seed: int, step: timedelta
                   ) -> dict[str, Any]:
    """Step the scheduler's clock over the period with the travelers answering."""
    from pam_proactive.config import load_settings
    from pam_proactive.engine import open_engine, run_migrations
    from pam_proactive.jobs.scheduling.runner import Runner
    from pam_proactive.suggestions.delivery import set_channels
    from pam_proactive.suggestions.relevance import relevance

    settings = load_settings(database_url=uri, pool_max_size=4)
    schema = settings.engine_schema
    await run_migrations(settings, uri)
    await adopt_preferences(uri, schema)
    clock = {"now": start}
    tally: Counter[str] = Counter()
    end = start + timedelta(days=days)
    async with open_engine(settings, conninfo=uri) as engine:
        # Outbox only, as the demo records it: due rows are released to the app when due.
        await set_channels(engine.db, schema, ())
        runner = Runner(engine, clock=lambda: clock["now"])
        moment = start
        while moment < end:
            clock["now"] = moment
            await runner.run_pending()
            await answer_step(engine.db, schema, seed, moment - step, moment, tally)
            moment += step
        rated: dict[str, list[int]] = {}
        for week in range((days + 6) // 7):  # the engine's own figures, per simulated week
            since = start + timedelta(weeks=week)
            totals = [r for r in await relevance(engine.db, schema, since=since,
                                                 until=min(end, since + timedelta(weeks=1)))
                      if r.week is None]
            rated[str(week)] = [sum(r.relevant for r in totals),
                                sum(r.answered for r in totals),
                                sum(r.dismissed.get("wrong", 0) for r in totals),
                                sum(r.delivered for r in totals)]
    s = sql.Identifier(schema)
    with psycopg.connect(uri) as conn:
        monitored = conn.execute(sql.SQL(MONITORED).format(s=s)).fetchone()
        counts = conn.execute(sql.SQL(WEEKLY).format(s=s), {"start": start, "end": end}
                              ).fetchall()
        shapes = {f"{event}{' item' if item else ''} {state}": n for event, item, state, n in
                  conn.execute(sql.SQL(SHAPES).format(s=s)).fetchall()}
        adapted = {f"{kind} level {level}": n for kind, level, n in
                   conn.execute(sql.SQL(ADAPTED).format(s=s)).fetchall()}
    per_week: dict[int, dict[str, float]] = {}
    for week, notifications, items in counts:
        per_week[int(week)] = {"notifications": notifications, "items": items}
    return {"travelers": int(monitored[0]) if monitored else 0, "weeks": per_week,
            "relevance": rated, "answers": dict(tally), "adapted": adapted, "outbox": shapes}


def child(args: argparse.Namespace) -> None:
    """Run one side and print its figures as one JSON line."""
    began = time.perf_counter()
    out = asyncio.run(simulate(args.uri, datetime.fromisoformat(args.start), args.days,
                               args.seed, timedelta(minutes=args.step_minutes)))
    out["seconds"] = time.perf_counter() - began
    print(json.dumps(out))


def start_side(name: str, uri: str, args: argparse.Namespace) -> subprocess.Popen[str]:
    """One side in a child process with its settings; the sides run at the same time (their
    figures are counts, not timings)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAM_")}
    env.update(SIDES[name], PAM_OUTBOX_RETENTION_DAYS=RETENTION_DAYS)
    argv = [sys.executable, __file__, "--child", "--uri", uri, "--start", args.start,
            "--days", str(args.days), "--seed", str(args.seed),
            "--step-minutes", str(args.step_minutes)]
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def finish_side(name: str, child: subprocess.Popen[str], args: argparse.Namespace
                ) -> dict[str, Any]:
    try:
        out, err = child.communicate(timeout=args.max_minutes * 60)
    except subprocess.TimeoutExpired:
        child.kill()
        sys.exit(f"error: side {name} ran over --max-minutes {args.max_minutes}; try fewer "
                 "--users or --days")
    if child.returncode != 0:
        sys.exit(f"error: side {name} failed:\n{err[-3000:]}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def _rate(acc: list[int] | None, i: int, j: int) -> str:
    return f"{acc[i] / acc[j]:.1%}" if acc and acc[j] else "-"


def report(results: dict[str, dict[str, Any]], days: int) -> list[str]:
    lines = []
    for name, r in results.items():
        n = r["travelers"] or 1
        lines.append(f"\n{name} ({', '.join(f'{k}={v}' for k, v in SIDES[name].items())}):"
                     f" {r['travelers']:,} travelers monitored, {r['seconds']:.0f} s")
        lines.append(f"  {'week':<12}{'notif./traveler':>16}{'items/traveler':>16}"
                     f"{'relevance':>11}{'wrong':>8}")
        for week in range((days + 6) // 7):
            w = r["weeks"].get(str(week), {"notifications": 0, "items": 0})
            acc = r["relevance"].get(str(week))
            lines.append(f"  {week + 1:<12}{w['notifications'] / n:>16.2f}"
                         f"{w['items'] / n:>16.2f}{_rate(acc, 0, 1):>11}"
                         f"{_rate(acc, 2, 3):>8}")
        total = sum(w["notifications"] for w in r["weeks"].values())
        lines.append(f"  per traveler per week over the period: {total / n * 7 / days:.2f}")
        lines.append(f"  answers: {json.dumps(r['answers'], sort_keys=True)}")
        lines.append(f"  outbox at the end: {json.dumps(r['outbox'], sort_keys=True)}")
        lines.append(f"  adaptations in force at the end: "
                     f"{json.dumps(r['adapted'], sort_keys=True) or '{}'}")
    return lines


def main() -> None:
    cli = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    cli.add_argument("--users", type=int, default=300, help="demo travelers")
    cli.add_argument("--days", type=int, default=28, help="simulated days")
    cli.add_argument("--seed", type=int, default=42, help="the demo's and the model's seed")
    cli.add_argument("--start", default=NOW.isoformat(),
                     help="simulated start (ISO, aware): the population is dated there")
    cli.add_argument("--sides", default=",".join(SIDES),
                     help=f"comma-separated, of {', '.join(SIDES)}")
    cli.add_argument("--step-minutes", type=int, default=60,
                     help="the simulated clock's step; the scheduler runs at every step")
    cli.add_argument("--max-minutes", type=float, default=60,
                     help="stop if a side runs longer than this")
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
    sides = [s for s in args.sides.split(",") if s]
    if not sides or any(s not in SIDES for s in sides):
        cli.error(f"--sides takes names of {', '.join(SIDES)}")
    from pam_proactive.db.embedded import database_uri, embedded_server

    print(f"{args.users:,} demo travelers (--seed {args.seed}) from {start.isoformat()} over "
          f"{args.days} days in {args.step_minutes}-minute steps, answered by the scripted "
          "traveler model", flush=True)
    results = {}
    with tempfile.TemporaryDirectory(prefix="pam-relevance-") as tmp, embedded_server(
            Path(tmp) / "pgdata", delete=True) as server:
        asyncio.run(seed_population(server, args.users, args.seed, start))
        children = {}
        for name in sides:
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(f"side_{name}"), sql.Identifier(POPULATION)))
            children[name] = start_side(name, database_uri(server, f"side_{name}"), args)
        for name, process in children.items():
            results[name] = finish_side(name, process, args)
            print(f"  {name} done in {results[name]['seconds']:.0f} s", flush=True)
    print("\n".join(report(results, args.days)))


if __name__ == "__main__":
    main()
