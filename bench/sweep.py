"""Benchmark: the full sweep (contexts + detectors + lifecycle storage) over seeded users.

Prints users/s for a dry run (read + detect) and for the storing sweep, then for a second
storing sweep at the same moment (the steady state: nothing new to store).

    python bench/sweep.py --users 100000
"""

from __future__ import annotations

import argparse
import time

from _common import NOW, parser, run, seeded_engine
from pam_proactive.jobs.sweep import sweep


async def main(args: argparse.Namespace) -> None:
    async with seeded_engine(args.users, args.seed, args.batch_size) as engine:
        figures = []
        for label, dry in (("dry run (read + detect)", True), ("sweep (first, stores)", False),
                           ("sweep (again, same now)", False)):
            started = time.perf_counter()
            report = await sweep(engine, NOW, dry_run=dry, deliver=False)
            elapsed = time.perf_counter() - started
            figures.append((label, report.users, elapsed, sum(report.by_type.values()),
                            dict(report.lifecycle)))
    for label, users, elapsed, found, lifecycle in figures:
        print(f"{label:<26} {users:>7,} users in {elapsed:7.2f} s = "
              f"{users / elapsed:>8,.0f} users/s; {found:,} suggestions; stored {lifecycle}")


if __name__ == "__main__":
    run(main(parser(__doc__ or "").parse_args()))
