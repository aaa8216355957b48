"""A small batch read with its users' remembered zones (``users.ZONES``: ``users_by_id`` in
the statements' round trip, ``data/columnar/read.py``) gives the frames the row path gives,
and falls back to the plain read whenever the users read are not exactly those remembered:
a zone changed between two reads, a user deleted, an id never seen, a batch mixing them;
directly and through a transaction-mode pooler."""

from __future__ import annotations

import sys
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from conftest import MakeDatabase, settings_for
from frame_equality import assert_same_frame, assert_same_rows
from oracle.per_object import fetch_rows, frames_from_rows
from pam_proactive.data import users as users_module
from pam_proactive.data.columnar import read as read_module
from pam_proactive.data.columnar.frames import SCHEMAS, BatchFrames
from pam_proactive.data.columnar.read import read_frames
from pam_proactive.data.queries import BatchStatements
from pam_proactive.data.rows import UserRow
from pam_proactive.data.users import (
    ZONES,
    ZoneMemory,
    batch_texts,
    guess_users,
    users_of,
)
from pam_proactive.db.connection import Database
from planting import Planter

# 18:00 UTC: the 25th in Denver, already the 26th in Tokyo (a zone's change moves the day).
NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
TODAY = NOW.date()


def _row(uid: UUID, zone: str | None) -> UserRow:
    return UserRow(uid, "active", None, zone, *[None] * 12)


def test_zone_memory_remembers_forgets_and_is_bounded() -> None:
    memory = ZoneMemory(size=4)
    a, b, c = uuid4(), uuid4(), uuid4()
    texts = batch_texts([a, b, c])
    memory.learn(texts, [_row(a, "Asia/Tokyo"), _row(b, None)])
    assert memory.zones([texts[a], texts[b]]) == ["Asia/Tokyo", None]  # None: no zone
    assert memory.zones([texts[a], texts[c]]) is None  # c was not returned: unknown
    # An id asked for and not returned (deleted) is forgotten.
    memory.learn(batch_texts([b]), [])
    assert memory.zones([texts[b]]) is None and memory.zones([texts[a]]) == ["Asia/Tokyo"]
    # Bounded: never more than ``size`` ids; the most recent ones stay.
    many = [uuid4() for _ in range(50)]
    for uid in many:
        memory.learn(batch_texts([uid]), [_row(uid, "UTC")])
        assert len(memory) <= 4
    assert memory.zones([str(many[-1]), str(many[-2])]) == ["UTC", "UTC"]
    memory.clear()
    assert len(memory) == 0


def test_zone_memory_costs_about_135_bytes_an_id() -> None:
    # The bound's memory (users.ZONES_MAX): ids' texts as read_users makes them, zones
    # from a few distinct texts (the rows' own copies: interned by learn).
    ids = [uuid4() for _ in range(20_000)]
    rows = [_row(u, "".join(["America/", "Denver" if k % 2 else "Chicago"]))
            for k, u in enumerate(ids)]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    memory = ZoneMemory(size=len(ids) * 2)
    memory.learn(batch_texts(ids), rows)
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert held / len(ids) < 160
    assert all(z is not None and sys.intern(z) is z for z in memory.zones(map(str, ids)) or [])


def test_a_guess_needs_every_id_remembered() -> None:
    ZONES.clear()
    a, b = uuid4(), uuid4()
    ZONES.learn(batch_texts([a]), [_row(a, "Asia/Tokyo")])
    assert guess_users(batch_texts([a, b]), NOW) is None
    guess = guess_users(batch_texts([a]), NOW)
    assert guess is not None
    assert guess.batch.todays == [(date(2026, 11, 26), "Asia/Tokyo", False)]
    assert guess.batch.params["ids"] == "{" + str(a) + "}"


def assert_same_frames(old: BatchFrames, new: BatchFrames) -> None:
    """``new`` equals ``old`` frame by frame (after_now, unordered, as a set of rows)."""
    assert new.now == old.now and new.users == old.users
    assert_same_frame(new.people, old.people)
    for key in SCHEMAS:
        same = assert_same_rows if key == "after_now" else assert_same_frame
        same(getattr(new, key), getattr(old, key))


async def _oracle(db: Database, st: BatchStatements, ids: list[Any]) -> BatchFrames | None:
    rows = await fetch_rows(db, st, ids, NOW)
    return None if rows is None else frames_from_rows(rows.users, rows.todays, NOW,
                                                      rows.fetched)


@pytest.mark.parametrize("pooled", [False, True], ids=["direct", "pooler"])
async def test_remembered_zones_read_same_frames_and_fall_back_on_any_change(
    make_database: MakeDatabase, transaction_pooler: Callable[[str], str], pooled: bool,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    direct = await make_database("seed")
    with Planter(direct, "seed") as p:
        moved, gone, kept, plain = (p.user(timezone="America/Denver"), p.user(),
                                    p.user(timezone=None), p.user(timezone="Asia/Tokyo"))
        for uid in (moved, gone, kept, plain):
            p.expense(uid, 20.0, "food", TODAY)
            p.expense(uid, 45.5, "fuel", date(2026, 11, 20))
    uri = transaction_pooler(direct) if pooled else direct
    db = Database(uri, settings_for("seed", database_url=uri, transaction_pooler=pooled,
                                    pool_max_size=2))
    # users_of runs only when the batch is not read with its remembered zones.
    plain_reads: list[int] = []

    async def counted(*args: Any, **kwargs: Any) -> Any:
        plain_reads.append(1)
        return await users_of(*args, **kwargs)

    monkeypatch.setattr(read_module, "users_of", counted)

    async def check(ids: list[Any], *, guessed: bool) -> BatchFrames | None:
        before = len(plain_reads)
        new = await read_frames(db, st, ids, NOW)
        old = await _oracle(db, st, ids)
        assert (new is None) == (old is None)
        if old is not None and new is not None:
            assert_same_frames(old, new)
        assert len(plain_reads) - before == (0 if guessed else 1), ids
        return new

    await db.open()
    try:
        st = BatchStatements.for_schema(db.settings.engine_schema)
        ZONES.clear()
        everyone = [moved, gone, kept, plain]
        await check(everyone, guessed=False)  # first read: remembered from here on
        first = await check(everyone, guessed=True)
        assert first is not None and [u.user_id for u in first.users] == everyone
        await check([plain], guessed=True)
        await check([kept, plain], guessed=True)
        # Asked in any order, guessed or not: that order.
        for ids in ([kept, plain], [plain, kept]):
            guessed_read = await read_frames(db, st, ids, NOW)
            ZONES.clear()
            plain_read = await read_frames(db, st, ids, NOW)
            assert guessed_read is not None and plain_read is not None
            assert [u.user_id for u in guessed_read.users] == ids
            assert [u.user_id for u in plain_read.users] == ids
            assert_same_frames(plain_read, guessed_read)
        # A zone changed between two reads: the guess is discarded, the new zone read
        # (and remembered: the next read guesses again).
        async with await psycopg.AsyncConnection.connect(direct, autocommit=True) as conn:
            await conn.execute("UPDATE pam_proactive.user_preferences SET timezone ="
                               " 'Asia/Tokyo' WHERE user_id = %s", (moved,))
        after = await check([moved], guessed=False)
        assert after is not None
        assert after.people.get_column("today").to_list() == [date(2026, 11, 26)]
        await check([moved, plain], guessed=True)
        # A deleted user: discarded, read without it; then forgotten (no guess).
        async with await psycopg.AsyncConnection.connect(direct, autocommit=True) as conn:
            await conn.execute("DELETE FROM expenses WHERE user_id = %s", (gone,))
            await conn.execute("DELETE FROM pam_proactive.user_preferences"
                               " WHERE user_id = %s", (gone,))
            await conn.execute("DELETE FROM profiles WHERE id = %s", (gone,))
        mixed = await check([gone, kept, plain], guessed=False)
        assert mixed is not None and [u.user_id for u in mixed.users] == [kept, plain]
        assert await check([gone], guessed=False) is None
        # An id never seen: no guess; a mixed batch of remembered and unknown ids: none.
        assert await check([uuid4()], guessed=False) is None
        await check([plain, uuid4(), kept], guessed=False)
        await check([plain, kept], guessed=True)
        # Beyond the batches kept in the asked order, no guess: the plain read.
        monkeypatch.setattr(users_module, "ASKED_ORDER_MAX", 1)
        await check([plain, kept], guessed=False)
        # Whatever the transport threshold: a guessed batch is read through psycopg.
        monkeypatch.setattr(users_module, "ASKED_ORDER_MAX", 25)
        monkeypatch.setattr(read_module, "ROWS_MAX_TRAVELERS", 1)
        await check([plain, kept], guessed=True)
    finally:
        await db.close()
        ZONES.clear()

