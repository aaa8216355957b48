"""Benchmark: build every user's context in batches vs. one user at a time (as the seed did).

Both run on the same seeded database in the same run. The per-user loop is timed on a sample
(``--loop-users``) because it is slow; its rate is users per second over that sample.

    python bench/contexts.py --users 100000
"""

from __future__ import annotations

import argparse
import time

from _common import NOW, parser, run, seeded_engine
from pam_proactive.engine import Engine


async def batch_rate(engine: Engine) -> tuple[int, float]:
    """Users and seconds to build every active user's context, batch by batch."""
    from pam_proactive.jobs.pipeline.evaluate import prefetched_contexts
    from pam_proactive.jobs.pipeline.selection import Plan

    started = time.perf_counter()
    users = 0
    async for contexts in prefetched_contexts(engine, Plan(None), NOW):
        users += len(contexts)
    return users, time.perf_counter() - started


async def loop_rate(engine: Engine, sample: int) -> tuple[int, float]:
    """Users and seconds to build contexts one user at a time (cache off)."""
    ids = (await engine.data.get_all_active_users())[:sample]
    started = time.perf_counter()
    for uid in ids:
        await engine.data.get_contexts([uid], NOW, use_cache=False)
    return len(ids), time.perf_counter() - started


async def main(args: argparse.Namespace) -> None:
    async with seeded_engine(args.users, args.seed, args.batch_size) as engine:
        await batch_rate(engine)  # warm the server's caches, as a steady sweep would have them
        n_batch, t_batch = await batch_rate(engine)
        n_loop, t_loop = await loop_rate(engine, args.loop_users)
    batch, loop = n_batch / t_batch, n_loop / t_loop
    print(f"batch:    {n_batch:>7,} users in {t_batch:7.2f} s = {batch:>9,.0f} users/s "
          f"(batch size {args.batch_size})")
    print(f"per-user: {n_loop:>7,} users in {t_loop:7.2f} s = {loop:>9,.0f} users/s")
    print(f"ratio:    {batch / loop:.1f}x")


if __name__ == "__main__":
    cli = parser(__doc__ or "")
    cli.add_argument("--loop-users", type=int, default=2_000,
                     help="users timed in the per-user loop (a sample: it is slow)")
    run(main(cli.parse_args()))
