"""Benchmark: one traveler's context, column-wise (what ``get_contexts`` of one id, the API's
context endpoint and the seed's per-user functions run: ``ContextLoader.load``).

Seeds demo travelers, then for ``--sample`` random travelers, ``--rounds`` times, traveler by
traveler: the read (``read_frames``, by its choice of transport: psycopg for one traveler)
then the build (``build_contexts``). Prints p50, p99 and mean of the wall ms of read + build,
and of the client CPU ms (``time.process_time``) of the read (statements and frames) and of
the build apart, then the build's CPU by section. A before/after comparison per traveler is
bench/columnar.py's job (against a baseline commit).

    python bench/one_traveler.py --users 3000 --sample 300
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from _common import NOW, parser, run, seeded_engine
from pam_proactive.data.columnar import contexts as columnar
from pam_proactive.data.columnar.financial import financial_section
from pam_proactive.data.columnar.read import read_frames
from pam_proactive.data.columnar.travel import calendar_section, travel_section
from pam_proactive.data.columnar.vehicle import vehicle_section


def _row(label: str, values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return (f"  {label:<24} p50 {statistics.median(ms):6.2f}  p99 {p99:6.2f}"
            f"  mean {statistics.fmean(ms):6.2f}")


def _section_cpu(frames: list[Any], rule: Any) -> dict[str, float]:
    """CPU ms per traveler of each column-wise section over ``frames`` (best of 5)."""
    prepared = [columnar.profile_section(f) for f in frames]
    steps: dict[str, Callable[[Any, Any], object]] = {
        "profile": lambda f, p: columnar.profile_section(f),
        "financial": lambda f, p: financial_section(f, rule, p[0]),
        "travel": lambda f, p: travel_section(f, p[2], p[0]),
        "calendar": lambda f, p: calendar_section(f, p[0]),
        "vehicle": lambda f, p: vehicle_section(f, p[2], p[0]),
        "whole build": lambda f, p: columnar.build_contexts(f, rule),
    }
    found = {}
    for name, step in steps.items():
        best = float("inf")
        for _ in range(5):
            started = time.process_time()
            for f, p in zip(frames, prepared, strict=True):
                step(f, p)
            best = min(best, time.process_time() - started)
        found[name] = best * 1000 / len(frames)
    return found


async def main(args: argparse.Namespace) -> None:
    async with seeded_engine(args.users, args.seed, args.batch_size) as engine:
        loader = engine.data.loader
        ids = await engine.data.get_all_active_users()
        sample = random.Random(args.seed).sample(ids, min(args.sample, len(ids)))
        names = ("wall", "read", "build")
        spent: dict[str, list[float]] = {n: [] for n in names}
        kept: list[Any] = []
        # Round 0 warms up (connections, caches) and has every sampled user's zone
        # remembered (users.ZONES): the timed rounds read as a worker after a sweep does,
        # users_by_id in the statements' round trip (data/columnar/read.py).
        for round_ in range(args.rounds + 1):
            for uid in sample:
                wall, cpu = time.perf_counter(), time.process_time()
                frames = await read_frames(loader.db, loader.st, [uid], NOW)
                read = time.process_time()
                assert frames is not None
                contexts = columnar.build_contexts(frames, loader.rule)
                got = (time.perf_counter() - wall, read - cpu, time.process_time() - read)
                assert list(contexts) == [uid]
                if round_:
                    for name, value in zip(names, got, strict=True):
                        spent[name].append(value)
                elif len(kept) < len(sample):
                    kept.append(frames)
        print(f"{len(sample)} travelers x {args.rounds} rounds, one at a time "
              f"(ms; wall = read + build, read and build are client CPU)")
        for name in names:
            print(_row(name, spent[name]))
        print("build by section, CPU ms per traveler (best of 5)")
        for name, ms in _section_cpu(kept, loader.rule).items():
            print(f"  {name:<24} {ms:6.3f}")


if __name__ == "__main__":
    cli = parser(__doc__ or "")
    cli.set_defaults(users=3000)
    cli.add_argument("--sample", type=int, default=300, help="travelers timed")
    cli.add_argument("--rounds", type=int, default=3, help="timed passes over the sample")
    run(main(cli.parse_args()))
