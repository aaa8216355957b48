"""A snooze's end is a time boundary: `sweep --incremental` notifies the snoozed subject again
at the moment a full sweep would, and a full sweep after it finds nothing left to do."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest

from conftest import MakeDatabase, settings_for
from pam_proactive.engine import Engine, open_engine
from pam_proactive.jobs.pipeline.sweeps import incremental_sweep
from pam_proactive.suggestions import answers
from planting import plant_budget_groups

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)  # 11:00 in the planted travelers' Denver
SCHEMA = "pam_proactive"


@pytest.fixture
async def planted(make_database: MakeDatabase) -> AsyncIterator[tuple[str, Engine, list[UUID]]]:
    uri = await make_database("seed")
    users = plant_budget_groups(uri, NOW.date())
    async with open_engine(settings_for("seed", full_sweep_hours=24.0), conninfo=uri) as engine:
        yield uri, engine, users


def outbox(uri: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(uri) as conn:
        return conn.execute("SELECT user_id, event, priority, cancelled_at IS NULL"
                            " FROM pam_proactive.outbox ORDER BY id").fetchall()


async def test_an_incremental_sweep_resumes_a_snooze_when_it_ends(
        planted: tuple[str, Engine, list[UUID]]) -> None:
    uri, engine, users = planted
    first = await incremental_sweep(engine, NOW, full=True)
    assert first.full and first.users == 7
    with psycopg.connect(uri) as conn:
        row = conn.execute("SELECT id FROM pam_proactive.suggestions WHERE user_id = %s"
                           " AND type = 'budget_exceeded'", (users[0],)).fetchone()
    assert row is not None
    until = NOW + timedelta(hours=2)
    done = await answers.snooze(engine.db, SCHEMA, row[0], NOW + timedelta(minutes=1), until)
    assert done is not None
    before = outbox(uri)

    # While it lasts, nothing is due and nothing is written.
    during = await incremental_sweep(engine, NOW + timedelta(hours=1))
    assert not during.full and dict(during.reasons) == {}
    assert outbox(uri) == before

    # Just after its end, the traveler is due and is notified once.
    after = await incremental_sweep(engine, until + timedelta(minutes=1))
    assert not after.full and dict(after.reasons) == {"due": 1}
    assert after.users == 1
    assert outbox(uri) == [*before, (users[0], "resumed", "high", True)]

    # A full sweep then has nothing left to notify: the incremental path did what it would.
    full = await incremental_sweep(engine, until + timedelta(minutes=2), full=True)
    assert full.full
    assert outbox(uri) == [*before, (users[0], "resumed", "high", True)]
    with psycopg.connect(uri) as conn:
        outcomes = conn.execute("SELECT outcome FROM pam_proactive.snoozes").fetchall()
    assert outcomes == [("resumed",)]
