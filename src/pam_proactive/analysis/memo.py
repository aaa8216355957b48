"""Per-context memoisation of pure analyses.

Several detectors need the same derived figures of one traveler (cleaned fills, economy
intervals, odometer, fuel state); computing each once per context instead of once per use
halves a sweep's detector time. The cache holds the last few (context, settings) pairs by
strong reference, so an ``id`` cannot be reused by another object while it is cached.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

R = TypeVar("R")

_SIZE = 4  # detectors run one context at a time; a few entries cover nesting


def per_context(fn: Callable[[Any, Any], R]) -> Callable[[Any, Any], R]:
    """Memoise ``fn(ctx, settings)`` on the identity of both arguments (the second may be
    any immutable value, e.g. ``now``)."""
    cache: OrderedDict[tuple[int, int], tuple[Any, Any, R]] = OrderedDict()
    # The entry of the latest call: nearly every call repeats it (the detectors of one
    # context run back to back), and two identity tests are cheaper than a key and a lookup.
    last: list[tuple[Any, Any, R]] = []

    @functools.wraps(fn)
    def wrapper(ctx: Any, settings: Any) -> R:
        if last:
            entry = last[0]
            if entry[0] is ctx and entry[1] is settings:
                return entry[2]
        key = (id(ctx), id(settings))
        hit = cache.get(key)
        if hit is not None and hit[0] is ctx and hit[1] is settings:
            last[:] = (hit,)
            return hit[2]
        result = fn(ctx, settings)
        entry = (ctx, settings, result)
        cache[key] = entry
        if len(cache) > _SIZE:
            cache.popitem(last=False)
        last[:] = (entry,)
        return result

    return wrapper
