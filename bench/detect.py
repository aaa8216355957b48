"""Benchmark: the pure path of a sweep (build contexts from a batch's frames, run the
detectors, then compute every traveler's next recheck from their candidates, as a sweep
records it).

Seeds demo travelers, reads every batch once while recording the frames the loader hands to
``build_contexts``, then times, over those same frames, building the contexts and running the
detectors, best of ``--repeat``, in CPU seconds of the process (on a shared machine wall
time mostly measures the neighbours). With ``--baseline SRC`` the same measurement is also
run by child processes importing the package from ``SRC`` (a checkout with the column-wise
assembly, e.g. of main:
``git worktree add /tmp/base main`` then ``--baseline /tmp/base/src``), on a database seeded
the same way, alternating with children running this checkout (``--rounds`` of each), and
both figures are printed side by side with a digest of every candidate (user, type,
dedup_key, priority, title, message, data, expiry) and one of every recheck (the moment and
the rule deciding it), which must match.

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
from datetime import timedelta
from typing import Any

from _common import NOW, digest, parser, run, seeded_engine
from pam_proactive.analysis.geo import resolve_place
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.data import loader
from pam_proactive.data.columnar import contexts as columnar
from pam_proactive.suggestions.detectors import Detection, Recheck, recheck_at, run_detectors

try:  # how a sweep runs them: a chunk of travelers at a time, detector by detector
    from pam_proactive.suggestions.detectors import detect_each
except ImportError:  # a baseline from before chunked detection: one traveler at a time
    detect_each = None

# A sweep's expiry refresh margin (the default of ``expiry_refresh_minutes``).
REFRESH_MARGIN = timedelta(minutes=60)


async def _recorded_rows(users: int, seed: int, batch_size: int) -> list[tuple[Any, ...]]:
    """The arguments of every ``build_contexts`` call (a batch's frames and the outlier
    rule) of one read of all active users."""
    calls: list[tuple[Any, ...]] = []
    original = columnar.build_contexts

    def record(*args: Any) -> Any:
        calls.append(args)
        return original(*args)

    async with seeded_engine(users, seed, batch_size) as engine:
        setattr(loader, "build_contexts", record)  # the loader's name for it  # noqa: B010
        try:
            async for page in engine.data.iter_sweep_user_batches():
                await engine.data.get_contexts(page, NOW, use_cache=False)
        finally:
            setattr(loader, "build_contexts", original)  # noqa: B010
    return calls


def _recheck_digest(rechecks: list[Recheck]) -> str:
    h = hashlib.sha256()
    for r in rechecks:
        h.update(json.dumps([r.at.isoformat(), r.reason]).encode())
    return h.hexdigest()[:16]


def _rechecks(contexts: list[Any], detections: list[Detection],
              settings: DetectorSettings) -> list[Recheck]:
    """Every traveler's next recheck, from the candidates computed at NOW (as a sweep's
    evaluation state records it, after the whole batch is detected)."""
    return [recheck_at(ctx, NOW, settings, {c.dedup_key for c in d.candidates},
                       [c.expires_at for c in d.candidates], REFRESH_MARGIN)
            for ctx, d in zip(contexts, detections, strict=True)]


def _detect_all(contexts: list[Any], settings: DetectorSettings) -> list[Detection]:
    """Every context's detection, as a sweep runs the detectors."""
    if detect_each is None:
        return [run_detectors(ctx, NOW, settings) for ctx in contexts]
    found = detect_each(contexts, NOW, settings)
    failed = [d for d in found if isinstance(d, Exception)]
    if failed:
        raise failed[0]
    return [d for d in found if not isinstance(d, Exception)]


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Seconds (best of ``repeat``) to build every context, to detect on them and to compute
    their rechecks, and the candidates' count and digest, and the rechecks' digest."""
    calls: list[tuple[Any, ...]] = []
    run(_fill(calls, args))
    resolve_place("Denver, CO")  # the gazetteer is loaded untimed, as in a long-lived worker
    settings = DetectorSettings()
    build = detect = recheck = float("inf")
    detections: list[Detection] = []
    rechecks: list[Recheck] = []
    for _ in range(args.repeat):
        started = time.process_time()
        contexts = [ctx for c in calls for ctx in columnar.build_contexts(*c).values()]
        mid = time.process_time()
        detections = _detect_all(contexts, settings)
        end = time.process_time()
        rechecks = _rechecks(contexts, detections, settings)
        done = time.process_time()
        build, detect = min(build, mid - started), min(detect, end - mid)
        recheck = min(recheck, done - end)
    if args.profile:  # the detectors and the rechecks only: the build has its own owners
        contexts = [ctx for c in calls for ctx in columnar.build_contexts(*c).values()]
        prof = cProfile.Profile()
        prof.enable()
        _rechecks(contexts, _detect_all(contexts, settings), settings)
        prof.disable()
        pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(40)
    found = [c for d in detections for c in d.candidates]
    return {"users": len(contexts), "build": build, "detect": detect, "recheck": recheck,
            "candidates": len(found), "digest": digest(found),
            "rechecks": _recheck_digest(rechecks), "source": columnar.__file__}


async def _fill(calls: list[tuple[Any, ...]], args: argparse.Namespace) -> None:
    calls.extend(await _recorded_rows(args.users, args.seed, args.batch_size))


def _line(label: str, m: dict[str, Any]) -> str:
    total = m["build"] + m["detect"] + m["recheck"]
    return (f"{label:<9} {m['users']:>7,} users: build {m['build']:6.3f} s, detect "
            f"{m['detect']:6.3f} s, recheck {m['recheck']:6.3f} s, total {total:6.3f} s = "
            f"{m['users'] / total:>7,.0f} users/s; {m['candidates']:,} candidates, digest "
            f"{m['digest']}, rechecks {m['rechecks']}")


def main() -> None:
    """Print the baseline's figures (if asked) and this checkout's, side by side."""
    cli = parser(__doc__ or "")
    cli.set_defaults(users=2_000, seed=11, batch_size=500)
    cli.add_argument("--repeat", type=int, default=3, help="timed passes (best is kept)")
    cli.add_argument("--baseline", help="src directory of the code to compare against")
    cli.add_argument("--rounds", type=int, default=3,
                     help="with --baseline: child processes of each, alternating")
    cli.add_argument("--profile", action="store_true", help="cProfile one pass to stderr")
    cli.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = cli.parse_args()
    if args.json:
        print(json.dumps(measure(args)))
        return
    if not args.baseline:
        print(_line("this", measure(args)))
        return
    argv = [sys.executable, __file__, "--json", "--users", str(args.users), "--seed",
            str(args.seed), "--batch-size", str(args.batch_size), "--repeat", str(args.repeat)]
    sources = {"baseline": os.path.abspath(args.baseline),
               "this": os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "src"))}
    best: dict[str, dict[str, Any]] = {}
    for _ in range(args.rounds):
        for label, src in sources.items():
            env = {**os.environ, "PYTHONPATH": src}
            out = subprocess.run(argv, env=env, check=True, capture_output=True,
                                 text=True).stdout
            m = json.loads(out.strip().splitlines()[-1])
            old = best.get(label)
            best[label] = m if old is None else {
                **m, **{k: min(old[k], m[k]) for k in ("build", "detect", "recheck")}}
    for label, m in best.items():
        print(_line(label, m))
    base, this = best["baseline"], best["this"]
    same = "identical" if base["digest"] == this["digest"] else "DIFFERENT"
    same_rechecks = "identical" if base["rechecks"] == this["rechecks"] else "DIFFERENT"
    parts = ("build", "detect", "recheck")
    speed = sum(base[k] for k in parts) / sum(this[k] for k in parts)
    pure = (base["detect"] + base["recheck"]) / (this["detect"] + this["recheck"])
    print(f"CPU time, best of {args.rounds} x {args.repeat}: speed-up {speed:.2f}x "
          f"(build {base['build'] / this['build']:.2f}x, detect "
          f"{base['detect'] / this['detect']:.2f}x, recheck "
          f"{base['recheck'] / this['recheck']:.2f}x, detect + recheck {pure:.2f}x); "
          f"candidates {same}, rechecks {same_rechecks}")
    print(f"baseline from {base['source']}; this from {this['source']}")


if __name__ == "__main__":
    main()
