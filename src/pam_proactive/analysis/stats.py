"""Robust statistics over possibly dirty numbers (None, NaN, infinities are ignored)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def finite(value: float | None) -> float | None:
    """``value`` as a float when it is a finite number, else None."""
    if value.__class__ is float:  # the common case, checked first: contexts hold floats
        # x - x is 0.0 exactly for every finite float, NaN for NaN and the infinities: the
        # test math.isfinite makes, without its lookup and call (~16 calls per traveler).
        return value if value - value == 0.0 else None
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


_INF = math.inf  # a global read, not ``math.inf``'s attribute, in positive's hot path


def positive(value: float | None, upper: float = _INF) -> float | None:
    """``value`` when finite, > 0 and <= ``upper``, else None."""
    if value.__class__ is float:  # NaN fails the comparison; +inf fails it unless upper is inf
        # Three comparisons of floats, each followed by its jump: the interpreter specialises
        # each to its float-only form (not a chained one, nor one with the int 0): ~12 ns
        # less per call, ~50 calls per traveler in a sweep.
        if value > 0.0 and value <= upper and value != _INF:
            return value
        return None
    number = finite(value)
    if number is None or number <= 0 or number > upper:
        return None
    return number


def clamp(value: float, low: float, high: float) -> float:
    """``value`` limited to [low, high] (NaN gives ``low``)."""
    if math.isnan(value):
        return low
    # max(low, min(high, value)) without the two builtin calls (each keeps its first
    # argument on a tie, so these comparisons keep the same one: ``high``, then ``low``).
    capped = value if value < high else high
    return capped if capped > low else low


def median(values: Iterable[float | None]) -> float | None:
    """Median of the finite values, or None when there are none."""
    return sorted_median(sorted([v for x in values if (v := finite(x)) is not None]))


def sorted_median(ordered: Sequence[float]) -> float | None:
    """Median of finite values already in ascending order, or None when there are none
    (:func:`median` without the cleaning and the sort, for values known to be clean)."""
    n = len(ordered)
    if n == 0:
        return None
    mid = n // 2
    if n % 2:
        return ordered[mid]
    # Halving each term first keeps the mean of two huge values finite.
    return ordered[mid - 1] / 2 + ordered[mid] / 2


def mad(values: Iterable[float | None]) -> float | None:
    """Median absolute deviation from the median of the finite values (same units as them),
    or None when there are none."""
    kept = [v for v in (finite(x) for x in values) if v is not None]
    centre = median(kept)
    if centre is None:
        return None
    return median(abs(v - centre) for v in kept)
