"""A batch's detection yields to the event loop between slices of travelers, so that the
next batch's read (``prefetched_contexts``) goes on while this one is detected; the
candidates come out as one uninterrupted pass would give them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import uuid4

from conftest import MakeDatabase, settings_for
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.engine import open_engine
from pam_proactive.jobs.pipeline.evaluate import _detect
from pam_proactive.suggestions.detectors import DETECT_CHUNK, run_detectors
from planting import Planter

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


async def test_detection_lets_the_loop_run_between_slices(make_database: MakeDatabase
                                                          ) -> None:
    uri = await make_database("seed")
    with Planter(uri, "seed") as p:
        uid = p.near_budget()
    async with open_engine(settings_for("seed"), conninfo=uri) as engine:
        ctx = (await engine.data.get_contexts([uid], NOW, use_cache=False))[uid]
    settings = DetectorSettings()
    one = run_detectors(ctx, NOW, settings).candidates
    assert [c.type for c in one] == ["budget_threshold"]
    # Three chunks and a bit of the same traveler under other ids.
    contexts = {uuid4(): ctx for _ in range(3 * DETECT_CHUNK + 1)}

    turns = 0
    stop = asyncio.Event()

    async def other_task() -> None:  # stands for the next batch's read
        nonlocal turns
        while not stop.is_set():
            turns += 1
            await asyncio.sleep(0)

    running = asyncio.create_task(other_task())
    await asyncio.sleep(0)  # started
    started = turns
    found, _notes, skipped, failed = await _detect(contexts, NOW, settings)
    during = turns - started
    stop.set()
    await running
    assert during >= 3  # at least once per full chunk
    assert found == list(one) * len(contexts)
    assert not failed and skipped == 0
