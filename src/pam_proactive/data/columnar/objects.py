"""Context objects built a column at a time (pure).

The context models are frozen, slotted dataclasses: their generated ``__init__`` sets each
field through ``object.__setattr__``, about 1-2 µs per object, the largest single cost of
turning a batch's frames into contexts. :func:`instances` makes the same objects (equal,
same type, same field values) by creating them empty and filling one field for the whole
column at once with the slot's own setter, a C loop: about a third of the time.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import repeat
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from pam_proactive.analysis.records import slot_setters

T = TypeVar("T")


_SETTERS: dict[type[Any], tuple[Any, ...]] = {}


def _setters(cls: type[Any]) -> tuple[Any, ...]:
    """``records.slot_setters`` of ``cls``, found once per class."""
    known = _SETTERS.get(cls)
    if known is None:
        known = _SETTERS[cls] = slot_setters(cls)
    return known


# Below this many objects, the class's own ``__init__`` costs less than a column at a time
# (its fixed cost: a list and a loop per field). Measured for FuelFill (6 fields), one
# object 1.0 vs 1.7 us, 2: 1.7 vs 1.9, 3: 2.4 vs 2.7, 4: 3.6 vs 2.6, 17: 15.0 vs 8.8.
_FEW = 3


def instances(cls: type[T], columns: Sequence[Sequence[Any]]) -> list[T]:
    """``[cls(*values) for values in zip(*columns)]``, built a column at a time; ``columns``
    holds one sequence per field of ``cls``, in field order, all of the same length."""
    setters = _setters(cls)
    if len(columns) != len(setters):
        raise ValueError(f"{cls.__name__} has {len(setters)} fields, got {len(columns)}")
    n = len(columns[0]) if columns else 0
    for column in columns:
        if len(column) != n:
            raise ValueError("columns of different lengths")
    if n < _FEW:
        return [cls(*values) for values in zip(*columns, strict=True)]
    made: list[T] = list(map(object.__new__, repeat(cls, n)))
    for setter, column in zip(setters, columns, strict=True):
        _consume(map(setter, made, column))  # run the C loop, keep nothing
    return made


# Runs an iterator to its end, keeping nothing: one deque shared by every call (making one
# per column cost ~0.2 us; any() instead costs ~4% more per value on a batch's columns).
_consume: Callable[[Iterable[object]], None] = deque[object](maxlen=0).extend


def per_user(users: Sequence[int] | NDArray[Any], made: Sequence[T]
             ) -> dict[int, tuple[T, ...]]:
    """``made`` (one object per row) cut into each user's tuple, in row order: ``users``
    holds each row's user ``i``, every user's rows together (a frame sorted by ``i``)."""
    if len(users) and users[0] == users[-1]:
        # One user's rows (a one-traveler batch): ~0.3 µs, where the arrays cost ~5 µs. A
        # batch's first and last rows are of different users: no count over its rows.
        listed = list(users) if not isinstance(users, np.ndarray) else users.tolist()
        if listed.count(listed[0]) == len(listed):
            return {listed[0]: tuple(made)}
    at = np.asarray(users)
    if not len(at):
        return {}
    starts = (at[1:] != at[:-1]).nonzero()[0] + 1
    bounds = [0, *starts.tolist(), len(at)]
    found = {i: tuple(made[a:b]) for i, a, b in zip(at[bounds[:-1]].tolist(), bounds,
                                                     bounds[1:], strict=False)}
    if len(found) != len(bounds) - 1:  # a user's rows in two runs: one would be lost
        raise ValueError("rows of a user are not together")
    return found


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch's objects are made, then resume it
    (if it was running), the objects made left out of its young generations. A 2,000-traveler
    batch makes ~100,000 objects: each 700 allocations would start a collection, and those
    that reach the oldest generation scan every live object of the process, the kept
    contexts of earlier batches included: measured 2-3x the cost of making the objects. The
    objects made here form no reference cycles (frozen values of values), so reference
    counting frees them; a cycle made meanwhile is only collected later.

    Resumed as they were, the young generation's count would still hold every object made
    (it counts allocations, paused or not): the first allocation after the block would start
    a young collection that walks them all, to find nothing, while they are still in use
    (50-80 ms per 2,000 travelers, ``bench/phases.py`` column ``gc``). See
    :func:`promote_unscanned`."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            promote_unscanned()
            gc.enable()


def promote_unscanned() -> bool:
    """Move every object the collector tracks into its oldest generation without walking
    them (``gc.freeze`` then ``gc.unfreeze``: two list splices), which also zeroes the young
    generation's count. Objects alive for a while (a batch's contexts) are then walked only
    by a full collection, rare at a sweep's pace (``jobs/pipeline/pace.py``), instead
    of by the next young one; a cycle among them is still collected, by that full
    collection. Does nothing (returns False) when the process froze objects itself (a
    server's ``gc.freeze`` before forking workers): unfreezing would undo that."""
    if gc.get_freeze_count():  # walks the permanent generation: empty unless someone froze
        return False
    gc.freeze()
    gc.unfreeze()
    return True
