"""Sorting a batch's integer keys (pure)."""

from __future__ import annotations

from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]

_SHORT = 512  # keys under which a merge sort is as fast as the radix passes and checks


def stable_order(keys: Array) -> Array:
    """``np.argsort(keys, kind="stable")`` of non-negative integers: numpy's stable sort is
    a radix sort for 16-bit integers only (a merge sort for int64, ~3x slower on a batch's
    keys), so keys below 2**32 are sorted as two 16-bit halves, low then high (each pass
    stable: a least-significant-digit radix sort). Short arrays (one traveler's) skip the
    range checks, which would cost more than the sort."""
    if len(keys) < _SHORT or keys.min() < 0 or keys.max() >= 1 << 32:
        return keys.argsort(kind="stable")
    if keys.max() < 1 << 16:
        return keys.astype(np.uint16).argsort(kind="stable")
    order = (keys & 0xFFFF).astype(np.uint16).argsort(kind="stable")
    return order[(keys[order] >> 16).astype(np.uint16).argsort(kind="stable")]


def among(values: Array, found: Array) -> Array:
    """Per value of ``values``: whether ``found`` holds it (``np.isin``). A sort of
    ``found`` and a binary search: ``np.isin``'s fixed cost (~30 µs) is much of one
    traveler's call, and on a batch ``found`` is small beside ``values``."""
    if not len(found):
        return np.zeros(len(values), dtype=bool)
    ordered = found.copy()
    ordered.sort()
    # A value past the last one found is compared with the last (``clip``): it differs.
    hit: Array = ordered.take(ordered.searchsorted(values), mode="clip") == values
    return hit
