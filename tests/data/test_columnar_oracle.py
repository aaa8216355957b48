"""The differential test of the column-wise assembly: the pre-columnar per-object path
(``tests/oracle/per_object.py``) is the oracle. On the demo population at several moments and on
generated travelers, both must give the same contexts, hence the same candidates (type, key,
priority, title, message, data, expiry, subjects) and the same time boundaries."""

from __future__ import annotations

import asyncio
import dataclasses
import math
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import MakeDatabase, create_database, settings_for
from generated import plant, user_data
from oracle.per_object import assemble_rows, fetch_rows, frames_from_rows
from pam_proactive.analysis.outliers import outlier_rule
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import UserContext
from pam_proactive.data.columnar.contexts import build_contexts
from pam_proactive.data.loader import ContextLoader
from pam_proactive.data.queries import BatchStatements
from pam_proactive.db.connection import Database
from pam_proactive.demo import seed_demo_data
from pam_proactive.suggestions.detectors import recheck_at, run_detectors
from planting import Planter

DETECTOR_SETTINGS = DetectorSettings()
RULE = outlier_rule(DETECTOR_SETTINGS)


def same(a: Any, b: Any, path: str = "ctx") -> None:
    """``a`` equals ``b`` field by field; floats may differ in their last bits only (a sum
    taken in another order), never in any digit a message or a threshold reads."""
    if isinstance(a, float) and isinstance(b, float):
        assert a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9), (path, a, b)
        return
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), (path, type(a), type(b))
        for f in dataclasses.fields(a):
            same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
        return
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), (path, set(a) ^ set(b))
        for k in a:
            same(a[k], b[k], f"{path}[{k!r}]")
        return
    if isinstance(a, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b), (path, a, b)
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{path}[{k}]")
        return
    assert a == b, (path, a, b)


def outputs(ctx: UserContext, now: datetime) -> tuple[Any, ...]:
    """What a sweep takes from a context: its candidates and its time boundaries."""
    found = run_detectors(ctx, now, DETECTOR_SETTINGS)
    keys = [c.dedup_key for c in found.candidates]
    return (tuple((c.type, c.dedup_key, c.priority, c.title, c.message, c.data, c.expires_at,
                   c.subjects, c.tags) for c in found.candidates),
            found.notes, found.skipped,
            recheck_at(ctx, now, DETECTOR_SETTINGS, keys,
                       [c.expires_at for c in found.candidates]))


async def compare_batches(uri: str, preset: str, ids: list[Any], now: datetime,
                          batch_size: int = 250, *, read: bool = False) -> int:
    """Compare both paths over ``ids`` in batches; returns the candidates compared. The
    column-wise contexts are built from the oracle's frames of the rows, or with ``read``
    are the product's own (``ContextLoader.load``: ``read_frames`` by its choice of
    transport, then ``build_contexts``)."""
    cfg = settings_for(preset, cache_ttl=0)
    db = Database(uri, cfg)
    await db.open()
    compared = 0
    try:
        loader = ContextLoader(db, BatchStatements.for_schema(cfg.engine_schema), RULE)
        for start in range(0, len(ids), batch_size):
            batch = ids[start : start + batch_size]
            rows = await fetch_rows(db, loader.st, batch, now)
            assert rows is not None
            old = assemble_rows(rows, now, RULE)
            new = (await loader.load(batch, now) if read else build_contexts(
                frames_from_rows(rows.users, rows.todays, now, rows.fetched), RULE))
            assert set(old) == set(new)
            for uid, ctx in old.items():
                same(ctx, new[uid], f"ctx[{uid}]")
                expected, got = outputs(ctx, now), outputs(new[uid], now)
                assert expected == got, uid
                compared += len(expected[0])
    finally:
        await db.close()
    return compared


async def demo_population(make_database: MakeDatabase, users: int, seed: int,
                          now: datetime) -> tuple[str, list[Any]]:
    """A new database with ``users`` demo travelers at ``now``: its URI and their ids."""
    uri = await make_database("seed")
    cfg = settings_for("seed")
    async with await psycopg.AsyncConnection.connect(uri) as conn:
        await seed_demo_data(conn, users=users, seed=seed, now=now,
                             engine_schema=cfg.engine_schema)
        cur = await conn.execute("SELECT id FROM profiles ORDER BY id")
        return uri, [r[0] for r in await cur.fetchall()]


@pytest.mark.parametrize("now", [
    datetime(2026, 1, 2, 15, 0, tzinfo=UTC),
    datetime(2026, 9, 30, 23, 30, tzinfo=UTC),
    datetime(2026, 12, 5, 3, 0, tzinfo=UTC),
], ids=lambda d: d.isoformat())
async def test_demo_population_same_as_the_per_object_path(make_database: MakeDatabase,
                                                          now: datetime) -> None:
    uri, ids = await demo_population(make_database, 600, 11, now)
    compared = await compare_batches(uri, "seed", ids, now)
    assert compared > 50  # the population says something: the comparison is not empty


async def test_one_traveler_and_small_batches_same_as_the_per_object_path(
        make_database: MakeDatabase) -> None:
    """The per-traveler view (a batch of one id: the API) and small batches (a watcher's
    few ids) are the same column-wise code as a sweep's, read column-wise too (psycopg,
    pipelined): compared with the oracle one traveler at a time, then five."""
    now = datetime(2026, 9, 30, 23, 30, tzinfo=UTC)
    uri, ids = await demo_population(make_database, 120, 5, now)
    one = await compare_batches(uri, "seed", ids[:60], now, batch_size=1, read=True)
    few = await compare_batches(uri, "seed", ids[60:], now, batch_size=5, read=True)
    assert one > 5 and few > 5  # each comparison says something


def test_generated_travelers_same_as_the_per_object_path(pg_server: str) -> None:
    uri = asyncio.run(create_database(pg_server, "seed"))
    now = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)

    @settings(max_examples=25, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(user_data, min_size=1, max_size=9))
    def check(users: list[dict[str, Any]]) -> None:
        with Planter(uri, "seed") as p:
            ids = [plant(p, data) for data in users]
        asyncio.run(compare_batches(uri, "seed", ids, now))

    check()
