"""The interpreter's pace while evaluations run: the cyclic garbage collector's thresholds and
the thread switch interval.

**The collector.** A batch reads, builds and drops some hundreds of thousands of small
container objects (rows, contexts, candidates) that all live until the batch is done. At
CPython's default thresholds (700, 10, 10) the collector walks them again and again as they
age, and runs full collections over a heap that grows with each batch: 15-19 % of a sweep's
CPU (``bench/phases.py``, column ``gc``), for next to no garbage, since reference counting
frees a batch's objects when it ends (the contexts hold no cycles). Measured on 20,000 demo
travelers (2026-12-03): the collector's CPU per sweep fell from 4.1-5.6 s to 1.5-2.3 s of
22-31 s, about 1 s of which the building of contexts pays back (its larger collections leave
colder caches); a young generation of 10,000 or 1,000,000 did no better. Cycles are still
collected, only later: at most some 100,000 more container objects (a few MB) wait for the
next collection.

**The switch interval.** A batch's reads run in worker threads (``db/arrow.py``): the
driver's work (the query, the COPY's decoding) runs without the GIL, but between those calls
each worker needs it back, several times per read. The event loop's thread, building and
detecting in pure Python, only lets go when the interpreter asks it to, every switch interval
(5 ms by default): each read waited that long several times, the reads fell behind the loop
and the loop waited for them (on 20,000 travelers, ~0.5 s of idle loop per sweep). Measured,
dry-run sweep of 20,000 demo travelers, first of a fresh process, batches of 2,000, 3-4
rounds alternating (medians, quiet 2-core machine; runs differ by up to 0.1 s): 5 ms 4.09 /
4.01 / 4.03 s, 2 ms 3.88, 1 ms 3.83 / 3.80 / 3.86, 0.5 ms 3.76 / 3.81 / 3.94, 0.2 ms 3.88,
20 ms 4.23; the loop's own CPU alike (3.36-3.49 s). 1 ms: as good as any within the noise,
and the fewest forced switches of those.

While at least one evaluation runs in the process, both are set: the collector's thresholds
raised to :data:`SWEEP_THRESHOLDS` (a process's own higher ones are kept), the switch
interval lowered to :data:`SWEEP_SWITCH_INTERVAL` (a process's own lower one is kept); the
last evaluation to end puts back what it found. Evaluations of one process (scheduled jobs,
the watcher, the API's tasks) may overlap, hence the count.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Allocations (net, of container objects) between young collections, then young collections
# per middle one and middle per full one: collections ~140 times rarer than the defaults.
SWEEP_THRESHOLDS = (100_000, 50, 50)

# Seconds a thread runs before the interpreter asks it to hand the GIL to a waiting one
# (CPython's default: 0.005). Only matters when a thread waits: a sweep's reader threads.
SWEEP_SWITCH_INTERVAL = 0.001

_lock = threading.Lock()  # Celery's thread pool may run evaluations in several threads
_running = 0
_saved: tuple[tuple[int, int, int], float] | None = None


@contextmanager
def sweep_pace() -> Iterator[None]:
    """Run the block with the collector at :data:`SWEEP_THRESHOLDS` (or the process's own,
    where higher) and the switch interval at :data:`SWEEP_SWITCH_INTERVAL` seconds (or the
    process's own, where lower); both are restored when the last such block ends."""
    global _running, _saved
    with _lock:
        if _running == 0:
            thresholds, interval = _saved = gc.get_threshold(), sys.getswitchinterval()
            gc.set_threshold(*(max(mine, theirs)
                               for mine, theirs in zip(SWEEP_THRESHOLDS, thresholds,
                                                       strict=True)))
            sys.setswitchinterval(min(SWEEP_SWITCH_INTERVAL, interval))
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0 and _saved is not None:
                gc.set_threshold(*_saved[0])
                sys.setswitchinterval(_saved[1])
                _saved = None
