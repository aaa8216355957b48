"""Per-context memoisation of pure analyses.

Several detectors need the same derived figures of one traveler (cleaned fills, economy
intervals, odometer, fuel state); computing each once per context instead of once per use
halves a sweep's detector time. Each memoised analysis keeps the results of its latest
:data:`CAPACITY` contexts, by strong reference (so an ``id`` cannot be reused by another
object while it is kept): a sweep runs its detectors over a chunk of contexts detector by
detector (``detectors.DETECT_CHUNK``, at most half of it), so every context of the chunk
must still be remembered when the next detector reads it.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

R = TypeVar("R")

# Contexts remembered per analysis (the oldest forgotten first): twice a detection chunk,
# so that a whole chunk is remembered whatever the previous chunk left. Kept alive until
# forgotten: at most this many contexts per analysis after a sweep.
CAPACITY = 128


def per_context(fn: Callable[[Any, Any], R]) -> Callable[[Any, Any], R]:
    """Memoise ``fn(ctx, settings)`` on the identity of both arguments, for the latest
    :data:`CAPACITY` contexts. (One dict look-up per call: measured, a latest-pair memo made
    a chunked detection recompute each analysis per detector, ~10 us per traveler more.)"""
    # id(ctx) -> (ctx, settings, result); the ctx kept makes its id unique while cached.
    # An OrderedDict: its popitem(last=False) forgets the oldest in one call, safe should
    # two threads ever share a memo (a plain dict's next(iter(...)) is not).
    cache: OrderedDict[int, tuple[Any, Any, R]] = OrderedDict()

    @functools.wraps(fn)
    def wrapper(ctx: Any, settings: Any) -> R:
        hit = cache.get(id(ctx))
        if hit is not None and hit[0] is ctx and hit[1] is settings:
            return hit[2]
        result = fn(ctx, settings)
        if len(cache) >= CAPACITY:
            cache.popitem(last=False)  # the oldest
        cache[id(ctx)] = (ctx, settings, result)
        return result

    return wrapper
