"""A sweep reads :data:`PREFETCH_BATCHES` batches ahead of the one it processes (so the
database is never waiting for Python to ask), hands the batches over in page order, and
leaves no read behind when it stops early."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from conftest import MakeDatabase, settings_for
from pam_proactive.engine import open_engine
from pam_proactive.jobs.pipeline.evaluate import PREFETCH_BATCHES, Evaluation
from pam_proactive.jobs.pipeline.sweeps import selection_of
from planting import Planter

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


async def test_reads_run_ahead_in_page_order_and_stop_with_the_sweep(
    make_database: MakeDatabase
) -> None:
    assert PREFETCH_BATCHES >= 1
    uri = await make_database("seed")
    with Planter(uri, "seed") as p:
        travelers = sorted(p.near_budget() for _ in range(6))
    async with open_engine(settings_for("seed", batch_size=1), conninfo=uri) as engine:
        read = engine.data.get_contexts
        started: list[Any] = []  # the first id of each read begun
        finished: list[Any] = []

        async def watched(ids: Any, *args: Any, **kwargs: Any) -> Any:
            started.append(ids[0])
            try:
                return await read(ids, *args, **kwargs)
            finally:
                finished.append(ids[0])

        setattr(engine.data, "get_contexts", watched)  # noqa: B010 (a method replaced)
        run = Evaluation(engine, NOW, selection_of(), dry_run=True)
        handed: list[Any] = []
        ahead: list[int] = []
        async for batch in run:
            handed.append(batch.suggestions[0].candidate.user_id)
            await asyncio.sleep(0.2)  # this batch's processing: the reads ahead go on
            ahead.append(len(finished) - len(handed))
        assert [str(u) for u in handed] == [str(u) for u in travelers]  # page order
        assert sorted(started) == sorted(finished) == travelers  # (finished in any order)
        # While a batch was processed, the next PREFETCH_BATCHES were read (fewer at the end).
        assert ahead == [min(PREFETCH_BATCHES, len(travelers) - k)
                         for k in range(1, len(travelers) + 1)]

        # Stopped after the first batch: the reads begun are cancelled, none is left.
        started.clear()
        finished.clear()
        async for _batch in Evaluation(engine, NOW, selection_of(), dry_run=True):
            break
        await asyncio.sleep(0.2)
        assert len(started) == min(1 + PREFETCH_BATCHES, len(travelers))
        assert sorted(map(str, finished)) == sorted(map(str, started))
        assert not [t for t in asyncio.all_tasks() if "watched" in repr(t.get_coro())]
