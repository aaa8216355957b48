"""Benchmark: the pure path of a sweep (build contexts from rows + run the detectors).

Seeds demo travelers, reads every batch once while recording the rows the loader hands to
``build_context``, then times, over those same rows, building the contexts and running the
detectors, best of ``--repeat``. With ``--baseline SRC`` the same measurement is run first
by a child process importing the package from ``SRC`` (e.g. a checkout of main:
``git worktree add /tmp/base main`` then ``--baseline /tmp/base/src``), on a database seeded
the same way, and both figures are printed side by side with a digest of every candidate
(user, type, dedup_key, priority, title, message, data), which must match.

    python bench/detect.py --users 2000 --baseline /tmp/base/src
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import pstats
import subprocess
import sys
import time
from typing import Any

from _common import NOW, parser, run, seeded_engine
from pam_proactive.analysis.geo import resolve_place
from pam_proactive.data import loader
from pam_proactive.suggestions.detectors import run_detectors


async def _recorded_rows(users: int, seed: int, batch_size: int) -> list[tuple[Any, ...]]:
    """The arguments of every ``build_context`` call of one read of all active users."""
    calls: list[tuple[Any, ...]] = []
    original = loader.build_context

    def record(*args: Any) -> Any:
        calls.append(args)
        return original(*args)

    async with seeded_engine(users, seed, batch_size) as engine:
        loader.build_context = record  # type: ignore[assignment]
        try:
            async for page in engine.data.iter_sweep_user_batches():
                await engine.data.get_contexts(page, NOW, use_cache=False)
        finally:
            loader.build_context = original  # type: ignore[assignment]
    return calls


def _digest(found: list[Any]) -> str:
    h = hashlib.sha256()
    for c in found:
        h.update(json.dumps([c.user_id, c.type, c.dedup_key, c.priority.label, c.title,
                             c.message, c.data, str(c.expires_at)], sort_keys=True).encode())
    return h.hexdigest()[:16]


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Seconds (best of ``repeat``) to build every context and to detect on them, and the
    candidates' count and digest."""
    calls: list[tuple[Any, ...]] = []
    run(_fill(calls, args))
    resolve_place("Denver, CO")  # the gazetteer is loaded untimed, as in a long-lived worker
    build = detect = float("inf")
    found: list[Any] = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        contexts = [loader.build_context(*c) for c in calls]
        mid = time.perf_counter()
        found = [c for ctx in contexts for c in run_detectors(ctx, NOW).candidates]
        end = time.perf_counter()
        build, detect = min(build, mid - started), min(detect, end - mid)
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        for ctx in [loader.build_context(*c) for c in calls]:
            run_detectors(ctx, NOW)
        prof.disable()
        pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(40)
    return {"users": len(calls), "build": build, "detect": detect, "candidates": len(found),
            "digest": _digest(found), "source": loader.__file__}


async def _fill(calls: list[tuple[Any, ...]], args: argparse.Namespace) -> None:
    calls.extend(await _recorded_rows(args.users, args.seed, args.batch_size))


def _line(label: str, m: dict[str, Any]) -> str:
    total = m["build"] + m["detect"]
    return (f"{label:<9} {m['users']:>7,} users: build {m['build']:6.2f} s, detect "
            f"{m['detect']:6.2f} s, total {total:6.2f} s = {m['users'] / total:>7,.0f} users/s;"
            f" {m['candidates']:,} candidates, digest {m['digest']}")


def main() -> None:
    """Print the baseline's figures (if asked) and this checkout's, side by side."""
    cli = parser(__doc__ or "")
    cli.set_defaults(users=2_000, seed=11, batch_size=500)
    cli.add_argument("--repeat", type=int, default=3, help="timed passes (best is kept)")
    cli.add_argument("--baseline", help="src directory of the code to compare against")
    cli.add_argument("--profile", action="store_true", help="cProfile one pass to stderr")
    cli.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = cli.parse_args()
    if args.json:
        print(json.dumps(measure(args)))
        return
    rows = []
    if args.baseline:
        argv = [sys.executable, __file__, "--json", "--users", str(args.users), "--seed",
                str(args.seed), "--batch-size", str(args.batch_size), "--repeat",
                str(args.repeat)]
        env = {**os.environ, "PYTHONPATH": os.path.abspath(args.baseline)}
        out = subprocess.run(argv, env=env, check=True, capture_output=True, text=True).stdout
        rows.append(("baseline", json.loads(out.strip().splitlines()[-1])))
    rows.append(("this", measure(args)))
    for label, m in rows:
        print(_line(label, m))
    if len(rows) == 2:
        base, this = rows[0][1], rows[1][1]
        same = "identical" if base["digest"] == this["digest"] else "DIFFERENT"
        speed = (base["build"] + base["detect"]) / (this["build"] + this["detect"])
        print(f"speed-up {speed:.2f}x; candidates {same} (baseline from {base['source']})")


if __name__ == "__main__":
    main()
