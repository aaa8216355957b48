"""The watcher's batches (jobs/pipeline/batches.py): one lag per changed row, split by size, and the
task's arguments round-trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import UUID

from pam_proactive.data.changes import Change
from pam_proactive.jobs.pipeline.batches import Batch, row_changes, split

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
A, B, C = (UUID(int=n) for n in (1, 2, 3))


def _at(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def test_an_inserted_row_is_one_change_at_its_earliest_timestamp() -> None:
    changes = [Change("trips", "t1", A, _at(2.0)),  # created_at
               Change("trips", "t1", A, _at(1.5)),  # updated_at, same row
               Change("expenses", "t1", A, _at(1.0)),  # another table, same id text
               Change("notify", "", A, _at(0.5))]  # a notification: no row of its own
    rows = row_changes(changes)
    assert set(rows) == {("trips", "t1"), ("expenses", "t1")}
    assert rows[("trips", "t1")].at == _at(2.0)
    [batch] = split(NOW, "changed", [A], changes, 10, taken_at=100.0)
    assert sorted(batch.ages) == [1.0, 2.0]
    assert batch.watermarks == {A: _at(0.5)} and batch.taken_at == 100.0


def test_batches_hold_at_most_size_travelers_with_their_own_rows() -> None:
    changes = [Change("fuel", f"f{n}", u, _at(n)) for n, u in enumerate((A, B, C, C), 1)]
    batches = split(NOW, "changed", [C, A, B], changes, 2)
    assert [b.user_ids for b in batches] == [(A, B), (C,)]
    assert [sorted(b.ages) for b in batches] == [[1.0, 2.0], [3.0, 4.0]]
    assert set(batches[1].watermarks) == {C}
    due = split(NOW, "due", [A, B, C], (), 2)
    assert [b.ages for b in due] == [(), ()] and [len(b.user_ids) for b in due] == [2, 1]


def test_a_batch_survives_the_trip_through_json() -> None:
    [batch] = split(NOW, "changed", [A, B], [Change("trips", "t", B, _at(3))], 5, 7.5)
    kwargs = json.loads(json.dumps(batch.to_kwargs()))
    assert Batch.from_kwargs(**kwargs) == batch
