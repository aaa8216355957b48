"""The cyclic garbage collector's pace while evaluations run.

A batch reads, builds and drops some hundreds of thousands of small container objects (rows,
contexts, candidates) that all live until the batch is done. At CPython's default thresholds
(700, 10, 10) the collector walks them again and again as they age, and runs full
collections over a heap that grows with each batch: 15-19 % of a sweep's CPU
(``bench/phases.py``, column ``gc``), for next to no garbage, since reference counting frees
a batch's objects when it ends (the contexts hold no cycles).

While at least one evaluation runs in the process, the collector's thresholds are raised to
:data:`SWEEP_THRESHOLDS` (a process's own higher ones are kept); the last evaluation to end
puts back the thresholds it found. Measured on 20,000 demo travelers (2026-12-03): the
collector's CPU per sweep fell from 4.1-5.6 s to 1.5-2.3 s of 22-31 s, about 1 s of which
the building of contexts pays back (its larger collections leave colder caches); a young
generation of 10,000 or 1,000,000 did no better. Cycles are still collected, only later:
at most some 100,000 more container objects (a few MB) wait for the next collection.
Evaluations of one process (scheduled jobs, the watcher, the API's tasks) may overlap,
hence the count.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Allocations (net, of container objects) between young collections, then young collections
# per middle one and middle per full one: collections ~140 times rarer than the defaults.
SWEEP_THRESHOLDS = (100_000, 50, 50)

_lock = threading.Lock()  # Celery's thread pool may run evaluations in several threads
_running = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def sweep_pace() -> Iterator[None]:
    """Run the block with the collector at :data:`SWEEP_THRESHOLDS` (or the process's own,
    where higher); the thresholds found are restored when the last such block ends."""
    global _running, _saved
    with _lock:
        if _running == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(*(max(mine, theirs)
                               for mine, theirs in zip(SWEEP_THRESHOLDS, _saved, strict=True)))
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None
