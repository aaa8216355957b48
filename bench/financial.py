"""Benchmark: the column-wise financial section against the per-object builder.

Seeds demo travelers into a throwaway embedded PostgreSQL (as the other benchmarks do),
fetches every batch's rows with ``ContextLoader.fetch_rows``, then times, over the same
rows, the per-object ``build_financial`` (per user, as ``build_context`` calls it, text cut
included) and ``financial_section`` (per batch, frames built beforehand: the read builds
them). Prints CPU seconds (``time.process_time``) of the best of ``--repeat`` runs each,
alternated A/B, and checks both give the same quality counts (the contexts themselves are
compared by tests/data/test_columnar_financial.py and test_columnar_oracle.py).

    python bench/financial.py --users 5000
"""

from __future__ import annotations

import asyncio
import gc
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import NOW, parser, seeded_engine
from pam_proactive.analysis.outliers import outlier_rule
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import QualityBuilder
from pam_proactive.data.assemble import build_financial, cut_texts, group_by_user
from pam_proactive.data.columnar.financial import financial_section
from pam_proactive.data.columnar.frames import BatchFrames, frames_from_rows
from pam_proactive.data.loader import BatchRows

RULE = outlier_rule(DetectorSettings())


async def _fetch(users: int, seed: int, batch_size: int) -> list[BatchRows]:
    async with seeded_engine(users, seed, batch_size) as engine:
        batches = []
        async for page in engine.data.iter_sweep_user_batches(batch_size):
            rows = await engine.data.loader.fetch_rows(page, NOW)
            assert rows is not None
            batches.append(rows)
        return batches


def _per_object(rows: BatchRows) -> dict[int, Any]:
    expenses = group_by_user(rows.fetched["expenses"])
    budgets = group_by_user(rows.fetched["budgets"])
    out = {}
    for i, (user, (today, _z, _inv)) in enumerate(zip(rows.users, rows.todays, strict=True),
                                                  start=1):
        q = QualityBuilder()
        per_user = {"expenses": expenses.get(i, []), "budgets": budgets.get(i, []),
                    "trips": [], "events": [], "maintenance": []}
        _u, cut, _v = cut_texts(user, per_user, None, q)
        mine = cut["expenses"]
        out[i] = (build_financial(mine[0] if mine else None, cut["budgets"], today, q, RULE),
                  q.freeze())
    return out


def _columnar(frames: BatchFrames) -> dict[int, Any]:
    quality = {i: QualityBuilder() for i in frames.people.get_column("i").to_list()}
    section = financial_section(frames, RULE, quality)
    return {i: (fin, quality[i].freeze()) for i, fin in section.items()}


def _cpu(fn: Callable[[], object]) -> float:
    started = time.process_time()
    fn()
    return time.process_time() - started


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--cache", type=Path, help="pickle of the fetched rows (reused if present)")
    args = p.parse_args()
    if args.cache is not None and args.cache.exists():
        batches = pickle.loads(args.cache.read_bytes())
    else:
        batches = asyncio.run(_fetch(args.users, args.seed, args.batch_size))
        if args.cache is not None:
            args.cache.write_bytes(pickle.dumps(batches))
    frames = [frames_from_rows(b.users, b.todays, NOW, b.fetched) for b in batches]
    users = sum(len(b.users) for b in batches)
    expenses = sum(f.expenses.height for f in frames)
    print(f"{users:,} users, {expenses:,} expense rows, {len(batches)} batches")
    for b, f in zip(batches, frames, strict=True):
        old, new = _per_object(b), _columnar(f)
        assert old.keys() == new.keys()
        for i in old:
            assert old[i][1] == new[i][1], i  # the same quality counts
    # The fetched rows are millions of long-lived objects: kept out of the cyclic collector,
    # as a worker's heap between batches would be, so neither side pays for scanning them.
    gc.collect()
    gc.freeze()
    per_object, columnar = [], []
    for _ in range(args.repeat):
        per_object.append(_cpu(lambda: [_per_object(b) for b in batches]))
        columnar.append(_cpu(lambda: [_columnar(f) for f in frames]))
    a, b = min(per_object), min(columnar)
    print(f"build_financial (per object): {a:.3f} CPU s")
    print(f"financial_section (columnar): {b:.3f} CPU s  ({a / b:.1f}x)")


if __name__ == "__main__":
    main()
