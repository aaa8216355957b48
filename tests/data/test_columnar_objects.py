"""The column-at-a-time object builder and the collector pause of a batch's build."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

from pam_proactive.context import Coordinates
from pam_proactive.data.columnar.objects import (
    collector_paused,
    instances,
    per_user,
    promote_unscanned,
)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7])  # both sides of the constructor's switch
def test_instances_equal_the_constructor(n: int) -> None:
    latitudes, longitudes = [1.5 * k for k in range(n)], [-2.0 * k for k in range(n)]
    made = instances(Coordinates, [latitudes, longitudes])
    assert made == [Coordinates(a, b) for a, b in zip(latitudes, longitudes, strict=True)]
    assert all(type(m) is Coordinates for m in made)


@pytest.mark.parametrize("columns", [[[1.0], [2.0, 3.0]], [[1.0, 2.0, 3.0], [4.0, 5.0]],
                                     [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0]]])
def test_instances_refuses_columns_of_different_lengths(columns: list[list[float]]) -> None:
    with pytest.raises(ValueError):
        instances(Coordinates, columns)


def test_per_user_cuts_rows_into_each_users_tuple_in_row_order() -> None:
    rows = ["a", "b", "c", "d", "e"]
    expected = {3: ("a", "b"), 5: ("c",), 9: ("d", "e")}
    assert per_user([3, 3, 5, 9, 9], rows) == expected
    assert per_user(np.array([3, 3, 5, 9, 9], dtype=np.int32), rows) == expected
    assert per_user([7], ["x"]) == {7: ("x",)}
    assert per_user([], []) == {}
    # One user's rows (a one-traveler batch's shortcut), as a list and as an array.
    assert per_user([4, 4, 4], ["a", "b", "c"]) == {4: ("a", "b", "c")}
    assert per_user(np.array([4, 4, 4]), ["a", "b", "c"]) == {4: ("a", "b", "c")}


def test_per_user_refuses_a_users_rows_apart() -> None:
    # The sections read frames whose rows are grouped by user: a user met twice would keep
    # only the rows of the second run, so that is refused rather than silently cut short.
    with pytest.raises(ValueError, match="not together"):
        per_user([3, 5, 3], ["a", "b", "c"])
    with pytest.raises(ValueError, match="not together"):
        per_user([3, 5, 5, 3], ["a", "b", "c", "d"])  # first and last alike: not one user
    with pytest.raises(ValueError, match="not together"):
        per_user(np.array([3, 5, 5, 3]), ["a", "b", "c", "d"])


def test_collector_paused_inside_and_resumed_after() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_collector_resumed_after_an_error_and_left_off_if_it_was() -> None:
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


class _Node:
    """A container the collector tracks, able to form a cycle."""

    def __init__(self) -> None:
        self.other: object = None


def test_collector_resumed_without_walking_what_was_made() -> None:
    started: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(info["generation"])

    try:
        with collector_paused():
            made = [[i] for i in range(50_000)]  # far above a young generation's threshold
            gc.callbacks.append(seen)  # from here: the block's end, then what follows
        more = [[i] for i in range(100)]  # allocations that would set a collection off
    finally:
        gc.callbacks.remove(seen)
    assert started == []  # no young collection over the 50,000 lists still in use
    assert gc.get_count()[0] < 1_000
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert id(made[0]) in oldest and id(made[-1]) in oldest
    assert len(more) == 100


def test_a_cycle_made_while_paused_is_still_collected() -> None:
    with collector_paused():
        first, second = _Node(), _Node()
        first.other, second.other = second, first
        gone = weakref.ref(first)
    del first, second
    assert gone() is not None  # reference counting alone cannot free a cycle
    gc.collect()
    assert gone() is None


def test_objects_frozen_by_the_process_stay_frozen() -> None:
    gc.freeze()  # a server freezing its startup objects before forking workers
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with collector_paused():
            made = [[i] for i in range(1_000)]
        assert gc.get_freeze_count() == frozen
        assert not promote_unscanned()
        assert len(made) == 1_000
    finally:
        gc.unfreeze()
    assert promote_unscanned()
    assert gc.get_freeze_count() == 0
