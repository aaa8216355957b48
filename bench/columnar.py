"""Benchmark of issue 19 (columnar core): this checkout vs a baseline vs the aggregate floor.

For each size of ``--users`` (``20000,100000``: each its own database, in turn), seeds demo
travelers once, then on that same database:

1. the full dry-run sweep (every active traveler, one process, no delivery) of THIS checkout
   and of a BASELINE checkout, each in a child process (``PYTHONPATH=<src>``), alternating
   (ABBA) for ``--rounds`` rounds; the median of each figure is kept. A child loads the
   gazetteer before the clock starts (as a long-running worker has it), then measures wall
   seconds, its own CPU seconds (Python), the server's CPU seconds (PostgreSQL), its peak RSS
   and a digest of every candidate, which must be equal on both sides;
2. the bare aggregate floor: one ``SELECT user_id, count(*), sum(...) ... GROUP BY user_id``
   per source over the windows the batch statements read (data/queries.py), for everyone,
   fetched by this process: what reading the same rows costs when nothing is built from them;
3. the per-traveler context latency of each side: p50/p99 of
   ``engine.data.get_contexts([one_id], NOW, use_cache=False)`` over ``--latency-ids`` random
   active travelers (the same ids for both sides).

The baseline is the commit ``--baseline REV``, exported with ``git archive`` into a temporary
directory (the repository's worktrees are left alone). Its default is the merge-base of HEAD
with ``main`` (what a branch adds over main), or ``HEAD~1`` when HEAD is that merge-base (on
main itself: what the last commit added). To measure issue 19 as a whole, pass the commit
before the columnar foundation: ``--baseline 2437540~1``. The children run THIS checkout's
script against the baseline's package, so they use only long-standing public names:
``Evaluation`` (what ``sweep()`` runs), ``open_engine`` and ``get_contexts``.

    python bench/columnar.py --users 20000,100000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from _common import (
    NOW,
    context_latencies,
    digest,
    parser,
    percentiles,
    run,
    seeded_engine,
    server_cpu_seconds,
)

ROOT = Path(__file__).resolve().parent.parent
THIS_SRC = ROOT / "src"
RESULT = "RESULT "  # prefix of a child's result line (the sweep may log to stdout too)

# The floor: one aggregate per source, over the window its batch statement reads
# (data/queries.py), with ``today`` the UTC date of NOW for everyone (the batch statements
# use each traveler's local date: at most a day apart) and without the yearly-budget
# extension of the expenses window (a few users). {s} is the engine schema.
FLOOR = {
    "users": """SELECT user_id, count(*) FROM {s}.traveler_users
        WHERE status = 'active' GROUP BY user_id""",
    "expenses": """SELECT user_id, count(*), sum(amount) FROM {s}.traveler_expenses
        WHERE spent_on >= least(%(today)s::date - 97,
                                (date_trunc('month', %(today)s::date) - interval '3 months')::date)
          AND (created_at IS NULL OR created_at <= %(now)s) GROUP BY user_id""",
    "budgets": """SELECT user_id, count(*), sum(amount_limit) FROM {s}.traveler_budgets
        WHERE start_date <= %(today)s AND (end_date IS NULL OR end_date >= %(today)s)
          AND (created_at IS NULL OR created_at <= %(now)s) GROUP BY user_id""",
    "trips": """SELECT user_id, count(*), sum(distance_miles) FROM {s}.traveler_trips
        WHERE (end_date IS NULL OR end_date >= %(today)s::date - 365)
          AND (created_at IS NULL OR created_at <= %(now)s) GROUP BY user_id""",
    "events": """SELECT user_id, count(*), max(starts_at) FROM {s}.traveler_events
        WHERE starts_at >= %(now)s - interval '1 day' AND starts_at < %(now)s + interval '30 days'
          AND (created_at IS NULL OR created_at <= %(now)s) GROUP BY user_id""",
    "fuel": """SELECT user_id, count(*), sum(gallons) FROM {s}.traveler_fuel_fills
        WHERE filled_on > %(today)s::date - 400
          AND (created_at IS NULL OR created_at <= %(now)s) GROUP BY user_id""",
    "maintenance": """SELECT user_id, count(*), sum(mileage_miles) FROM {s}.traveler_maintenance
        WHERE (performed_on IS NULL OR performed_on <= %(today)s)
          AND (created_at IS NULL OR created_at <= %(now)s)
          AND task IS NOT NULL AND task <> '' GROUP BY user_id""",
    "vehicles": """SELECT user_id, count(*), sum(odometer_miles) FROM {s}.traveler_vehicles
        GROUP BY user_id""",
}


@dataclass(frozen=True, slots=True)
class Figures:
    """One measured run: seconds (wall and CPU), peak RSS in MiB, latencies in ms."""

    travelers: int
    wall: float
    cpu_python: float
    cpu_pg: float
    rss_mib: float = 0.0
    rss_start_mib: float = 0.0  # before the sweep: imports and the gazetteer
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    candidates: int = 0
    digest: str = ""
    source: str = ""


# -- the child: one side's sweep and latencies ------------------------------------------------

async def _child(uri: str, batch_size: int, ids_file: str, expect_src: str) -> Figures:
    # The package comes from whichever src PYTHONPATH names (checked below); these names are
    # the ones a baseline must have, kept together here.
    import pam_proactive
    from pam_proactive.analysis.geo import resolve_place
    from pam_proactive.config import load_settings
    from pam_proactive.engine import open_engine
    from pam_proactive.jobs.pipeline.evaluate import Evaluation
    from pam_proactive.jobs.pipeline.sweeps import selection_of

    source = str(Path(pam_proactive.__file__).resolve())
    if not source.startswith(str(Path(expect_src).resolve())):
        raise SystemExit(f"imported {source}, expected a package under {expect_src}")
    ids = json.loads(Path(ids_file).read_text())
    settings = load_settings(database_url=uri, batch_size=batch_size)
    async with open_engine(settings, conninfo=uri) as engine:
        resolve_place("Denver, CO")  # a long-running worker has the gazetteer loaded
        rss_start_mib = peak_rss_mib()
        found: list[Any] = []
        # sweep(engine, NOW, dry_run=True, deliver=False) is this Evaluation run to the end;
        # iterating it ourselves also hands over each batch's candidates for the digest.
        evaluation = Evaluation(engine, NOW, selection_of(), dry_run=True, deliver=False)
        server, python, started = (server_cpu_seconds(uri), time.process_time(),
                                   time.perf_counter())
        async for batch in evaluation:
            found.extend(s.candidate for s in batch.suggestions)
        wall, cpu_python = time.perf_counter() - started, time.process_time() - python
        cpu_pg = server_cpu_seconds(uri) - server
        rss_mib = peak_rss_mib()
        latencies = await context_latencies(engine, ids)
    p50, p99 = percentiles(latencies)
    return Figures(evaluation.report.users, wall, cpu_python, cpu_pg, rss_mib, rss_start_mib,
                   p50, p99, len(found), digest(found), source)


def peak_rss_mib() -> float:
    """This process's peak resident set size in MiB (Linux).

    Not ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux carries it over ``execve`` from the
    memory the child had before (with ``vfork``, the parent's), so every child would report
    at least the seeding parent's size. ``VmHWM`` is the peak of this program's own memory.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: KiB too


def _run_child(src: Path, uri: str, batch_size: int, ids_file: Path) -> Figures:
    argv = [sys.executable, __file__, "--child", json.dumps(
        {"uri": uri, "batch_size": batch_size, "ids_file": str(ids_file),
         "expect_src": str(src)})]
    done = subprocess.run(argv, env={**os.environ, "PYTHONPATH": str(src)}, check=False,
                          capture_output=True, text=True)
    if done.returncode:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"the child for {src} failed (exit {done.returncode})")
    line = next(ln for ln in reversed(done.stdout.splitlines()) if ln.startswith(RESULT))
    return Figures(**json.loads(line[len(RESULT):]))


# -- the floor ---------------------------------------------------------------------------------

def floor(uri: str, schema: str) -> tuple[Figures, int]:
    """The aggregate floor's figures (travelers: the active ones) and the rows it fetched."""
    params = {"now": NOW, "today": NOW.date()}
    rows = travelers = 0
    with psycopg.connect(uri) as conn:
        server, python, started = (server_cpu_seconds(uri), time.process_time(),
                                   time.perf_counter())
        for name, text in FLOOR.items():
            query = sql.SQL(text).format(s=sql.Identifier(schema))
            fetched = conn.execute(query, params).fetchall()
            rows += len(fetched)
            travelers = len(fetched) if name == "users" else travelers
        wall, cpu_python = time.perf_counter() - started, time.process_time() - python
        cpu_pg = server_cpu_seconds(uri) - server
    return Figures(travelers, wall, cpu_python, cpu_pg), rows


# -- the baseline's source ---------------------------------------------------------------------

def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def default_baseline() -> tuple[str, str]:
    """The merge-base of HEAD with main, or HEAD~1 when HEAD is it (or main is unknown); and
    which of the two it is."""
    head = _git("rev-parse", "HEAD")
    try:
        base = _git("merge-base", "HEAD", "main")
    except subprocess.CalledProcessError:
        return "HEAD~1", "HEAD~1 (no main branch)"
    if base == head:
        return "HEAD~1", "HEAD~1 (HEAD is on main)"
    return base, "merge-base with main"


@contextmanager
def baseline_src(rev: str) -> Iterator[tuple[Path, str]]:
    """``src`` of commit ``rev`` exported into a temporary directory, and the commit's id."""
    commit = _git("rev-parse", "--verify", f"{rev}^{{commit}}")
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit, "src"],
                             check=True, capture_output=True).stdout
    with tempfile.TemporaryDirectory(prefix="pam-baseline-") as tmp:
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp) / "src", commit


# -- the table ---------------------------------------------------------------------------------

def _median(runs: list[Figures]) -> Figures:
    """Each figure's median over the rounds (digest and source: the first run's)."""
    first = runs[0]
    numbers = {k: statistics.median(getattr(r, k) for r in runs)
               for k in ("wall", "cpu_python", "cpu_pg", "rss_mib", "rss_start_mib", "p50_ms",
                         "p99_ms")}
    return Figures(first.travelers, candidates=first.candidates, digest=first.digest,
                   source=first.source, **numbers)


def table(users: int, sides: dict[str, Figures], floor_figures: Figures) -> list[str]:
    """The table's lines: one per side, speed-ups vs the baseline and multiples of the floor,
    by wall time and by CPU time (Python + PostgreSQL: steadier on a shared machine)."""
    base, fl = sides["baseline"], floor_figures

    def cpu(f: Figures) -> float:
        return f.cpu_python + f.cpu_pg

    lines = [f"{users:,} seeded travelers, median of the rounds",
             f"{'side':<9} {'travelers':>9} {'wall s':>7} {'trav/s':>8} {'CPU s Py':>8} "
             f"{'CPU s PG':>8} {'RSS MiB':>7} {'p50 ms':>7} {'p99 ms':>7} "
             f"{'x base':>6} {'x base CPU':>10} {'/ floor':>7} {'/ floor CPU':>11}"]
    for label, f in [*sides.items(), ("floor", fl)]:
        latency = (f"{f.p50_ms:7.2f} {f.p99_ms:7.2f}" if label != "floor"
                   else f"{'-':>7} {'-':>7}")
        rss = f"{f.rss_mib:7.0f}" if label != "floor" else f"{'-':>7}"
        lines.append(
            f"{label:<9} {f.travelers:>9,} {f.wall:7.2f} {f.travelers / f.wall:>8,.0f} "
            f"{f.cpu_python:8.2f} {f.cpu_pg:8.2f} {rss} {latency} "
            f"{base.wall / f.wall:5.2f}x {cpu(base) / cpu(f):9.2f}x "
            f"{f.wall / fl.wall:6.1f}x {cpu(f) / cpu(fl):10.1f}x")
    return lines


async def measure_size(args: argparse.Namespace, users: int, base_src: Path
                       ) -> tuple[list[str], bool]:
    """Seed ``users`` travelers, measure everything on that database; the table's lines and
    whether both sides gave the same candidates."""
    async with seeded_engine(users, args.seed, args.batch_size) as engine:
        uri = engine.settings.database_url or ""
        schema = engine.settings.engine_schema
        active = await engine.data.get_all_active_users()
        sample = random.Random(args.seed).sample(active, min(args.latency_ids, len(active)))
        with tempfile.TemporaryDirectory(prefix="pam-columnar-") as tmp:
            ids_file = Path(tmp) / "ids.json"
            ids_file.write_text(json.dumps([str(u) for u in sample]))
            sources = {"baseline": base_src, "this": THIS_SRC}
            runs: dict[str, list[Figures]] = {label: [] for label in sources}
            floors: list[Figures] = []
            for r in range(args.rounds):
                figures, rows = await asyncio.to_thread(floor, uri, schema)
                floors.append(figures)
                # ABBA: neither side always runs first (after the floor warmed the cache).
                order = list(sources) if r % 2 == 0 else list(reversed(sources))
                for label in order:
                    runs[label].append(await asyncio.to_thread(
                        _run_child, sources[label], uri, args.batch_size, ids_file))
                    last = runs[label][-1]
                    print(f"  round {r + 1} {label:<8} {last.wall:7.2f} s wall, "
                          f"{last.cpu_python:6.2f} + {last.cpu_pg:6.2f} CPU s, "
                          f"digest {last.digest}", flush=True)
    sides = {label: _median(found) for label, found in runs.items()}
    fl = floors[0] if len(floors) == 1 else Figures(
        floors[0].travelers, statistics.median(f.wall for f in floors),
        statistics.median(f.cpu_python for f in floors),
        statistics.median(f.cpu_pg for f in floors))
    lines = table(users, sides, fl)
    lines.append(f"floor: {len(FLOOR)} aggregate statements, {rows:,} rows fetched; peak RSS "
                 "before the sweep (imports, gazetteer): " + ", ".join(
                     f"{label} {f.rss_start_mib:.0f} MiB" for label, f in sides.items()))
    digests = {f.digest for found in runs.values() for f in found}
    same = len(digests) == 1
    base, this = sides["baseline"], sides["this"]
    if same:
        lines.append(f"candidates identical: {this.candidates:,}, digest {this.digest}")
    else:
        lines += ["!" * 72,
                  f"!!! CANDIDATES DIFFER: baseline {base.candidates:,} digest {base.digest}, "
                  f"this {this.candidates:,} digest {this.digest}",
                  f"!!! every digest seen: {sorted(digests)}", "!" * 72]
    return lines, same


async def main(args: argparse.Namespace) -> int:
    rev, why = (args.baseline, "--baseline") if args.baseline else default_baseline()
    with baseline_src(rev) as (base_src, commit):
        print(f"baseline {commit[:9]} ({why}); this = {THIS_SRC} (working tree)")
        report: list[str] = []
        same = True
        for users in args.users:
            lines, ok = await measure_size(args, users, base_src)
            same = same and ok
            report += [*lines, ""]
    print("\n".join(report))
    return 0 if same else 1


def cli() -> None:
    """The parent (or, with the hidden ``--child``, one side's measurement)."""
    p = parser(__doc__ or "", many_sizes=True)
    p.add_argument("--baseline", metavar="REV",
                   help="commit to compare against (default: merge-base with main, or HEAD~1)")
    p.add_argument("--rounds", type=int, default=3, help="children of each side, alternating")
    p.add_argument("--latency-ids", type=int, default=300,
                   help="random travelers timed one at a time (per side and round)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        spec = json.loads(args.child)
        figures = run(_child(spec["uri"], spec["batch_size"], spec["ids_file"],
                             spec["expect_src"]))
        print(RESULT + json.dumps(asdict(figures)))
        return
    raise SystemExit(run(main(args)))


if __name__ == "__main__":
    cli()
