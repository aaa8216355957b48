"""Benchmark: incremental sweep vs full sweep, and the watcher's event latency.

1. Sweeps: on ``--users`` seeded travelers, after an incremental full pass (evaluation state
   for everyone), ``--changed-pct`` of the travelers get a new expense and the incremental
   sweep runs five minutes later; then another ``--changed-pct`` get one and a full sweep
   runs at the same moment. Both store and deliver; each handles fresh changes of the same
   size. Prints seconds, travelers evaluated by reason, and population swept per second,
   and why travelers were due: for each rule that set their ``recheck_at`` (the detector
   whose boundary came first, ``daily``, ``expiry_refresh``), how many were due at the
   incremental sweep and how many fall due within 15 min, 1 h and 24 h of the full pass
   (an expired live suggestion, counted apart, also makes a traveler due).
2. Latency: the watcher runs (poll mode, then listen mode with the optional triggers) while
   ``--rate`` inserts per second go to random travelers for ``--seconds``; prints p50, p95,
   p99 seconds from each row's commit (its created_at) to its traveler's suggestions stored,
   for each ``--flights`` (batches evaluated at once in-process: 1 is the serial watcher,
   the baseline; 2 the default). ``--latency-only`` skips part 1 (after the incremental
   full pass that gives everyone their evaluation state).

The seeded data is dated at bench/_common.NOW, so the watcher's clock runs from there (the
inserted rows carry that clock's created_at, as the app would stamp them).

    python bench/incremental.py --users 100000 --seconds 60 --rate 50
    python bench/incremental.py --users 20000 --seconds 30 --rate 50 --latency-only
    python bench/incremental.py --users 20000 --skip-latency   # part 1 only
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
import uuid
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from _common import NOW, parser, run, seeded_engine
from pam_proactive.analysis.geo import resolve_place
from pam_proactive.data.changes import ChangeStatements
from pam_proactive.db.triggers import trigger_sql
from pam_proactive.engine import Engine
from pam_proactive.jobs.pipeline.batches import add_lag_observer, remove_lag_observer
from pam_proactive.jobs.pipeline.state import feed_for
from pam_proactive.jobs.pipeline.sweeps import incremental_sweep, sweep
from pam_proactive.jobs.watcher.watch import FEED, Watcher, channel_name

PLACES = ("Quartzsite, AZ", "Phoenix", "Portland", "St. Louis, MO", "Austin, TX")


async def _ids(engine: Engine) -> list[UUID]:
    return [u async for page in engine.data.iter_sweep_user_batches() for u in page]


def _touch(uri: str, users: list[UUID], at: datetime) -> None:
    with psycopg.connect(uri) as conn, conn.cursor() as cur:
        cur.executemany(
            b"INSERT INTO expenses (user_id, amount, category, date, created_at, updated_at)"
            b" VALUES (%s, 42, 'food', %s, %s, %s)", [(u, at.date(), at, at) for u in users])


# Why travelers fall due (bench-only reads of the engine's state, at moments after ``base``).
_DUE_BY_RULE = b"""
SELECT recheck_reason,
       count(*) FILTER (WHERE recheck_at <= %(at)s),
       count(*) FILTER (WHERE recheck_at <= %(base)s + interval '15 minutes'),
       count(*) FILTER (WHERE recheck_at <= %(base)s + interval '1 hour'),
       count(*) FILTER (WHERE recheck_at <= %(base)s + interval '24 hours')
FROM {s}.evaluation_state WHERE scope = 'all' GROUP BY 1 ORDER BY 3 DESC, 1"""

_DUE_BY_EXPIRY = b"""
SELECT count(DISTINCT s.user_id) FROM {s}.suggestions s
JOIN {s}.evaluation_state e ON e.user_id = s.user_id AND e.scope = 'all'
WHERE s.status IN ('open', 'delivered') AND s.expires_at <= %(at)s AND e.recheck_at > %(at)s"""


def due_breakdown(engine: Engine, base: datetime, at: datetime) -> list[str]:
    """Lines counting, per rule that set ``recheck_at``, the travelers due at ``at`` and
    within 15 min, 1 h and 24 h of ``base``; then those due only by an expired suggestion."""
    schema = engine.settings.engine_schema.encode()
    params = {"base": base, "at": at}
    with psycopg.connect(engine.conninfo) as conn:
        rows = conn.execute(_DUE_BY_RULE.replace(b"{s}", schema), params).fetchall()
        expired = conn.execute(_DUE_BY_EXPIRY.replace(b"{s}", schema), params).fetchone()
    minutes = (at - base).total_seconds() / 60
    lines = [f"  {'due by rule (recheck_at)':<26}{f'at +{minutes:g} min':>12}"
             f"{'<=15 min':>10}{'<=1 h':>10}{'<=24 h':>10}"]
    lines += [f"  {r[0]:<26}{r[1]:>12,}{r[2]:>10,}{r[3]:>10,}{r[4]:>10,}" for r in rows]
    lines.append(f"  {'suggestion expired only':<26}{expired[0] if expired else 0:>12,}")
    return lines


def _plan_lines(conn: psycopg.Connection[tuple[Any, ...]], statement: sql.Composable,
                params: dict[str, object]) -> list[str]:
    """The scan nodes (with their index) and execution time of ``statement``'s plan, run
    with EXPLAIN ANALYZE inside a transaction that is rolled back."""
    explain = sql.SQL("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) ") + statement
    with conn.transaction(force_rollback=True):
        plan = [str(r[0]) for r in conn.execute(explain, params).fetchall()]
    kept = [line.strip().lstrip("-> ") for line in plan
            if "Scan" in line or "Execution Time" in line]
    return sorted(set(kept), key=kept.index)


def explain(engine: Engine, ids: list[UUID], since: datetime, now: datetime) -> None:
    """Plans of the statements an incremental run makes besides evaluating: the change feed,
    the due set, the active filter and one batch of state writes (rolled back)."""
    st = ChangeStatements.for_schema(engine.settings.engine_schema)
    batch = ids[: engine.settings.batch_size]
    cases: list[tuple[str, sql.Composed, dict[str, object]]] = [
        ("change feed (all tables, one statement)", st.changes.query,
         {"lo": since - timedelta(seconds=engine.settings.change_overlap_seconds), "hi": now,
          "feed": "incremental", "ulo": None, "uhi": None}),
        ("due set (recheck_at, expiries, cooldowns)", st.due.query,
         {"now": now, "cooldown": timedelta(days=engine.settings.cooldown_days),
          "scope": "all", "lo": None, "hi": None, "types": None}),
        (f"active filter ({len(batch):,} ids)", st.active_among.query, {"ids": batch}),
        (f"state write ({len(batch):,} rows, rolled back)", st.save_state.query,
         {"now": now, "scope": "all", "ids": batch, "watermarks": [None] * len(batch),
          "rechecks": [now] * len(batch), "recheck_reasons": ["daily"] * len(batch),
          "reasons": ["due"] * len(batch)}),
    ]
    print("statements of an incremental run besides evaluation (EXPLAIN ANALYZE):")
    with psycopg.connect(engine.conninfo) as conn:
        for title, statement, params in cases:
            print(f"  {title}:")
            for line in _plan_lines(conn, statement, params):
                print(f"    {line}")


async def sweeps(engine: Engine, ids: list[UUID], pct: float, plans: bool) -> None:
    rng = random.Random(3)
    count = max(1, int(len(ids) * pct / 100))
    started = time.perf_counter()
    base = await incremental_sweep(engine, NOW)
    print(f"incremental full pass at NOW: {base.evaluated:,} travelers in "
          f"{time.perf_counter() - started:.1f} s")
    later = NOW + timedelta(minutes=5)
    breakdown = due_breakdown(engine, NOW, later)
    _touch(engine.conninfo, rng.sample(ids, count), NOW + timedelta(minutes=1))
    started = time.perf_counter()
    inc = await incremental_sweep(engine, later)
    inc_s = time.perf_counter() - started
    _touch(engine.conninfo, rng.sample(ids, count), later - timedelta(minutes=1))
    started = time.perf_counter()
    full = await sweep(engine, later)
    full_s = time.perf_counter() - started
    reasons = ", ".join(f"{k} {v:,}" for k, v in sorted(inc.reasons.items()))
    print(f"{pct:g} % changed ({count:,} travelers), sweeps at NOW + 5 min:")
    print(f"  full sweep:        {full.users:,} travelers in {full_s:.2f} s "
          f"({full.users / full_s:,.0f} travelers/s)")
    print(f"  incremental sweep: {inc.evaluated:,} evaluated ({reasons}) in {inc_s:.2f} s "
          f"= {len(ids) / inc_s:,.0f} travelers/s of population swept")
    print(f"  incremental is {full_s / inc_s:.1f}x faster")
    print("why travelers were due (the rule whose boundary came first):")
    print("\n".join(breakdown))
    if plans:
        explain(engine, ids, NOW, later)


def _percentiles(values: list[float]) -> str:
    if len(values) < 2:
        return f"{len(values)} samples"
    q = statistics.quantiles(values, n=100, method="inclusive")
    return (f"p50 {q[49]:.3f} s, p95 {q[94]:.3f} s, p99 {q[98]:.3f} s, "
            f"max {max(values):.3f} s ({len(values):,} changes)")


async def latency(engine: Engine, ids: list[UUID], listen: bool, seconds: float,
                  rate: float, start: datetime, flights: int = 2) -> str:
    """Run the watcher (``flights`` batches at once) while inserting ``rate`` rows/s; the
    lag percentiles."""
    offset = start - datetime.now(start.tzinfo)

    def clock() -> datetime:
        return datetime.now(start.tzinfo) + offset

    # The watcher starts where the sweeps left the evaluation state: no full pass first.
    await feed_for(engine, FEED).advance([], clock(), full_sweep_at=clock())
    lags: list[float] = []
    add_lag_observer(lags.append)
    watcher = Watcher(engine, listen=listen, clock=clock, max_flights=flights)
    stop = asyncio.Event()
    task = asyncio.create_task(watcher.run(stop))
    rng = random.Random(9)
    try:
        async with await psycopg.AsyncConnection.connect(engine.conninfo,
                                                         autocommit=True) as conn:
            await asyncio.sleep(2.0)  # first ticks
            lags.clear()
            begin = time.monotonic()
            sent = 0
            while time.monotonic() - begin < seconds:
                at = clock()
                await conn.execute(
                    "INSERT INTO calendar_events (id, user_id, title, start_date, end_date,"
                    " location_name, created_at, updated_at) VALUES (%s, %s, 'Rally', %s, %s,"
                    " %s, %s, %s)", (uuid.uuid4(), rng.choice(ids), at + timedelta(days=4),
                                     at + timedelta(days=4, hours=3), rng.choice(PLACES),
                                     at, at))
                sent += 1
                await asyncio.sleep(max(0.0, begin + sent / rate - time.monotonic()))
            await asyncio.sleep(5.0)  # let the last ones through
    finally:
        stop.set()
        await task
        remove_lag_observer(lags.append)
    return f"{sent:,} inserts at {rate:g}/s: " + _percentiles(lags)


async def main(users: int, seed: int, batch_size: int, pct: float, seconds: float,
               rate: float, latency_only: bool, skip_latency: bool, plans: bool,
               flights: list[int]) -> None:
    async with seeded_engine(users, seed, batch_size) as engine:
        resolve_place("Denver, CO")  # a long-running process has the gazetteer loaded
        ids = await _ids(engine)
        if latency_only:
            started = time.perf_counter()
            base = await incremental_sweep(engine, NOW)
            print(f"incremental full pass at NOW: {base.evaluated:,} travelers in "
                  f"{time.perf_counter() - started:.1f} s")
        else:
            await sweeps(engine, ids, pct, plans)
        if skip_latency:
            return
        start = NOW + timedelta(minutes=10)
        step = timedelta(seconds=seconds + 30)
        print("event latency (commit -> suggestions stored), PAM_WATCH_INTERVAL "
              f"{engine.settings.watch_interval:g} s, PAM_WATCH_DEBOUNCE "
              f"{engine.settings.watch_debounce:g} s:")
        for n in flights:
            print(f"  poll mode, {n} in flight:   "
                  + await latency(engine, ids, False, seconds, rate, start, n))
            start += step
        with psycopg.connect(engine.conninfo, autocommit=True) as conn:
            schema = engine.settings.engine_schema
            conn.execute(trigger_sql("seed", schema, channel_name(schema)).encode())
        for n in flights:
            print(f"  listen mode, {n} in flight: "
                  + await latency(engine, ids, True, seconds, rate, start, n))
            start += step


if __name__ == "__main__":
    p = parser(__doc__ or "")
    p.add_argument("--changed-pct", type=float, default=1.0)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--rate", type=float, default=50.0, help="inserts per second")
    p.add_argument("--latency-only", action="store_true", help="skip the sweeps (part 1)")
    p.add_argument("--skip-latency", action="store_true", help="run part 1 (sweeps) only")
    p.add_argument("--explain", action="store_true",
                   help="print the plans of the change-feed, due and state statements")
    p.add_argument("--flights", default="1,2",
                   help="comma-separated batches in flight to measure (1: serial baseline)")
    a = p.parse_args()
    run(main(a.users, a.seed, a.batch_size, a.changed_pct, a.seconds, a.rate,
             a.latency_only, a.skip_latency, a.explain,
             [int(n) for n in a.flights.split(",")]))
