"""Two evaluations of one traveler on two workers take turns, and the older gives way.

The Celery task evaluates with ``serialize``: it holds a per-traveler lock from its
freshness check to its evaluation state written. Here a connection of the test holds that
lock (as a running evaluation would), a newer evaluation is stored meanwhile, and the older
one, waiting on the lock, then leaves the traveler alone instead of storing its older view.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import psycopg

from conftest import MakeDatabase, settings_for
from pam_proactive.engine import open_engine
from pam_proactive.jobs.pipeline.batches import Batch, evaluate_batch
from pam_proactive.jobs.pipeline.statements import EVALUATE_LOCK_CLASS, PipelineStatements
from planting import plant_budget_groups

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


async def test_an_older_batch_waits_for_the_newer_and_skips_the_traveler(
        make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    uid = plant_budget_groups(uri, NOW.date())[0]  # over a food budget
    async with open_engine(settings_for("seed"), conninfo=uri) as engine:
        older = Batch(NOW, "changed", (uid,))
        newer = Batch(NOW + timedelta(minutes=1), "changed", (uid,))
        async with await psycopg.AsyncConnection.connect(uri) as holder:
            lock = PipelineStatements.for_schema(engine.settings.engine_schema).evaluate_lock
            await holder.execute(lock.query, {"cls": EVALUATE_LOCK_CLASS, "ids": [uid]})
            waiting = asyncio.create_task(
                evaluate_batch(engine, older, deliver=False, serialize=True))
            await asyncio.sleep(1.0)
            assert not waiting.done()  # the lock holds it before its freshness check
            assert await evaluate_batch(engine, newer, deliver=False) == {"changed": 1}
            await holder.commit()  # the "running evaluation" ends
        assert await asyncio.wait_for(waiting, 30) == {}
    with psycopg.connect(uri) as conn:
        stored = conn.execute(
            "SELECT type, computed_for FROM pam_proactive.suggestions WHERE user_id = %s",
            [uid]).fetchall()
        state = conn.execute(
            "SELECT evaluated_for FROM pam_proactive.evaluation_state WHERE user_id = %s",
            [uid]).fetchall()
    assert stored == [("budget_exceeded", newer.now)]
    assert state == [(newer.now,)]


async def test_a_serialized_batch_evaluates_like_any_other(make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    uid = plant_budget_groups(uri, NOW.date())[0]  # over a food budget
    async with open_engine(settings_for("seed"), conninfo=uri) as engine:
        first = await evaluate_batch(engine, Batch(NOW, "changed", (uid,)),
                                     deliver=False, serialize=True)
        again = await evaluate_batch(engine, Batch(NOW, "changed", (uid,)),
                                     deliver=False, serialize=True)
    assert first == again == {"changed": 1}  # a redelivery at the same moment is harmless
    with psycopg.connect(uri) as conn:
        rows = conn.execute("SELECT count(*) FROM pam_proactive.suggestions"
                            " WHERE user_id = %s", [uid]).fetchone()
    assert rows == (1,)
