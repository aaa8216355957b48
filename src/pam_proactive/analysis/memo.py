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
from typing import Any, TypeVar, cast

R = TypeVar("R")

_SIZE = 4  # detectors run one context at a time; a few entries cover nesting
_UNSET = object()  # the latest arguments before any call


def per_context(fn: Callable[[Any, Any], R]) -> Callable[[Any, Any], R]:
    """Memoise ``fn(ctx, settings)`` on the identity of both arguments."""
    cache: OrderedDict[tuple[int, int], tuple[Any, Any, R]] = OrderedDict()
    # The arguments and result of the latest call: nearly every call repeats it (the
    # detectors of one context run back to back), and two identity tests of closure cells
    # are cheaper than a key and a lookup. ``_UNSET`` matches no argument.
    last_ctx: Any = _UNSET
    last_settings: Any = _UNSET
    # Typed R from the start (never read before it is set): a ``cast`` on each hit would be
    # a call per hit, ~10 hits per traveler.
    last_result: R = cast(R, None)

    @functools.wraps(fn)
    def wrapper(ctx: Any, settings: Any) -> R:
        nonlocal last_ctx, last_settings, last_result
        if ctx is last_ctx and settings is last_settings:
            return last_result
        key = (id(ctx), id(settings))
        hit = cache.get(key)
        if hit is not None and hit[0] is ctx and hit[1] is settings:
            result = hit[2]
        else:
            result = fn(ctx, settings)
            cache[key] = (ctx, settings, result)
            if len(cache) > _SIZE:
                cache.popitem(last=False)
        last_ctx, last_settings, last_result = ctx, settings, result
        return result

    return wrapper
