"""Benchmark: ``read_frames`` per batch by batch size, through each transport
(data/columnar/read.py): ADBC, psycopg, and the default choice by size. Batches of random
travelers, the transports alternating batch by batch; prints wall and client CPU ms
(time.process_time, threads included) per batch. Where ``ROWS_MAX_TRAVELERS`` comes from.

    python bench/read_sizes.py --users 2200 --sizes 1,25,50,150,2000
"""

from __future__ import annotations

import random
import time
from typing import Any

from _common import NOW, parser, run, seeded_engine, sizes
from pam_proactive.data.columnar.read import read_frames

# (name, read_frames' ``arrow``).
TRANSPORTS: tuple[tuple[str, bool | None], ...] = (
    ("adbc", True), ("psycopg", False), ("by-size", None))


async def main(users: int, seed: int, batch_sizes: list[int]) -> None:
    async with seeded_engine(users, seed, max(batch_sizes)) as engine:
        loader = engine.data.loader
        ids = [u async for page in engine.data.iter_sweep_user_batches() for u in page]
        for arrow in (True, False):  # warm both transports (connections, imports)
            await read_frames(loader.db, loader.st, ids[:200], NOW, arrow=arrow)
        print(f"{len(ids):,} users; per batch: wall ms (client CPU ms)")
        for n in batch_sizes:
            rng = random.Random(n)
            reps = max(5, 600 // n)
            spent = {name: [0.0, 0.0] for name, _ in TRANSPORTS}
            for _ in range(reps):
                batch: list[Any] = sorted(rng.sample(ids, min(n, len(ids))))
                for name, arrow in TRANSPORTS:
                    wall, cpu = time.perf_counter(), time.process_time()
                    await read_frames(loader.db, loader.st, batch, NOW, arrow=arrow)
                    spent[name][0] += time.perf_counter() - wall
                    spent[name][1] += time.process_time() - cpu
            print(f"{n:>6} x{reps:<4}" + "".join(
                f"  {name} {w / reps * 1000:7.1f} ({c / reps * 1000:6.1f})"
                for name, (w, c) in spent.items()), flush=True)


if __name__ == "__main__":
    p = parser(__doc__ or "")
    p.add_argument("--sizes", type=sizes, default=[1, 25, 50, 150, 2000])
    a = p.parse_args()
    run(main(a.users, a.seed, a.sizes))
