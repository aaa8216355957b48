"""Benchmark: one traveler's context, cold and warm, in a process that has just swept.

Seeds demo travelers, runs the full dry-run sweep once (as bench/columnar.py's children do
before their latency lines), then calls ``engine.data.get_contexts([id], NOW,
use_cache=False)`` for ``--sample`` random travelers (the same ids, seeded), ``--passes``
times over that sample, and prints p50 and p99 in ms of each pass with its slowest calls
(their position in the pass: the first calls of the first pass warm the one-traveler path
up, per pooled connection). bench/columnar.py's latency lines are the first pass alone. To
measure another checkout: ``PYTHONPATH=/path/to/its/src python bench/latency_passes.py``
(it uses only ``Evaluation``, ``get_contexts`` and the sweep's pages).

    python bench/latency_passes.py --users 20000 --passes 3
"""

from __future__ import annotations

import random

from _common import NOW, context_latencies, parser, percentiles, run, seeded_engine
from pam_proactive.analysis.geo import resolve_place
from pam_proactive.jobs.pipeline.evaluate import Evaluation
from pam_proactive.jobs.pipeline.sweeps import selection_of


async def _main(users: int, seed: int, batch_size: int, sample: int, passes: int) -> None:
    async with seeded_engine(users, seed, batch_size) as engine:
        resolve_place("Denver, CO")  # a long-running process has the gazetteer loaded
        async for _ in Evaluation(engine, NOW, selection_of(), dry_run=True, deliver=False):
            pass
        ids = [uid async for page in engine.data.iter_sweep_user_batches() for uid in page]
        chosen = random.Random(seed).sample(ids, min(sample, len(ids)))
        for number in range(1, passes + 1):
            ms = await context_latencies(engine, chosen)
            p50, p99 = percentiles(ms)
            slowest = sorted(range(len(ms)), key=lambda k: -ms[k])[:4]
            print(f"pass {number}: p50 {p50:5.2f} ms, p99 {p99:5.2f} ms;"
                  " slowest calls (position: ms) "
                  + ", ".join(f"{k}: {ms[k]:.1f}" for k in slowest), flush=True)


def main() -> None:
    cli = parser(__doc__ or "")
    cli.set_defaults(users=20_000)
    cli.add_argument("--sample", type=int, default=300, help="travelers per pass")
    cli.add_argument("--passes", type=int, default=3, help="passes over the sample")
    args = cli.parse_args()
    run(_main(args.users, args.seed, args.batch_size, args.sample, args.passes))


if __name__ == "__main__":
    main()
