"""Benchmark: the small-batch read's eight statements (data/columnar/read.py) sent as one
pipeline on one connection, as two of four on two, or as eight concurrent fetches
(``Database.fetch_together`` / ``Database.fetch``), batches of random travelers, the ways
alternating read by read; prints the median and mean wall ms and the mean client CPU ms
(time.process_time) per read. Where read.py's two pipelines come from.

Then ``read_frames`` whole (users_by_id and the statements) of the same batches, the users'
zones remembered (``users.ZONES``: users_by_id sent with the statements, one round of
pipelines) or forgotten before each read (users_by_id, then the statements), alternating
read by read: median and p99 wall ms, mean client CPU ms.

    python bench/read_pipelines.py --users 2200 --sizes 1,25
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from _common import NOW, parser, run, seeded_engine, sizes
from pam_proactive.data.columnar.read import read_frames
from pam_proactive.data.users import ZONES, read_users


async def main(users: int, seed: int, batch_sizes: list[int]) -> None:
    async with seeded_engine(users, seed, 2_000) as engine:
        db, st = engine.data.loader.db, engine.data.loader.st
        ids = [u async for page in engine.data.iter_sweep_user_batches() for u in page]
        sts = [st.expenses, st.budgets, st.trips, st.events, st.fuel, st.maintenance,
               st.vehicles, st.recorded_after_now]
        ways: dict[str, Callable[[dict[str, Any]], Awaitable[object]]] = {
            "one pipeline": lambda p: db.fetch_together(sts, p),
            "two pipelines": lambda p: asyncio.gather(db.fetch_together(sts[:4], p),
                                                      db.fetch_together(sts[4:], p)),
            "eight fetches": lambda p: asyncio.gather(*(db.fetch(*s, p) for s in sts)),
        }
        for n in batch_sizes:
            rng = random.Random(n)
            batches = [await read_users(db, st, sorted(rng.sample(ids, n)), NOW)
                       for _ in range(max(20, 400 // n))]
            params = [b.params for b in batches if b is not None]
            for p in params[:5]:  # warm every way's connections
                for way in ways.values():
                    await way(p)
            walls: dict[str, list[float]] = {name: [] for name in ways}
            cpu = dict.fromkeys(ways, 0.0)
            for rep in range(3):
                for p in params:
                    order = list(ways.items())
                    for name, way in order if rep % 2 else reversed(order):
                        wall, c = time.perf_counter(), time.process_time()
                        await way(p)
                        walls[name].append(time.perf_counter() - wall)
                        cpu[name] += time.process_time() - c
            for name, w in walls.items():
                print(f"{n:>4} travelers, {name:14} wall median {statistics.median(w) * 1e3:6.2f}"
                      f" mean {statistics.fmean(w) * 1e3:6.2f}  client CPU"
                      f" {cpu[name] / len(w) * 1e3:5.2f} ms", flush=True)
            await _zones(db, st, [sorted(rng.sample(ids, n)) for _ in range(max(100, 2000 // n))],
                         n)


async def _zones(db: Any, st: Any, batches: list[list[Any]], n: int) -> None:
    """``read_frames`` of ``batches``, zones remembered or forgotten, alternating."""
    walls: dict[str, list[float]] = {"zones remembered": [], "zones forgotten": []}
    cpu = dict.fromkeys(walls, 0.0)
    for rep in range(4):
        for k, batch in enumerate(batches):
            await read_frames(db, st, batch, NOW)  # remembered (and connections warm)
            order = list(walls) if (k + rep) % 2 else list(reversed(walls))
            for name in order:
                if name == "zones forgotten":
                    ZONES.clear()
                wall, c = time.perf_counter(), time.process_time()
                await read_frames(db, st, batch, NOW)
                if rep:  # the first pass warms up
                    walls[name].append(time.perf_counter() - wall)
                    cpu[name] += time.process_time() - c
    for name, w in walls.items():
        ms = sorted(v * 1e3 for v in w)
        print(f"{n:>4} travelers, read_frames, {name:16} wall median"
              f" {statistics.median(ms):6.2f} p99 {ms[round(0.99 * (len(ms) - 1))]:6.2f}"
              f"  client CPU {cpu[name] / len(w) * 1e3:5.2f} ms", flush=True)


if __name__ == "__main__":
    p = parser(__doc__ or "")
    p.add_argument("--sizes", type=sizes, default=[1, 25])
    a = p.parse_args()
    run(main(a.users, a.seed, a.sizes))
