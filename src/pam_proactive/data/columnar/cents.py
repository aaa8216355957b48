"""Rounding to cents over a numpy array, exactly as Python's ``round(x, 2)`` (pure).

``round(x, 2)`` rounds the exact binary value of ``x`` times 100 half to even, then gives
the float nearest to that integer over 100. numpy's ``round`` scales and rounds the scaled
float (another answer near a half cent), so it is not used. Here ``y = x * 100`` is the
exact product rounded (an error of at most half an ulp of ``y``): when ``y`` lies at least
two ulps from a half-integer, the exact product lies on the same side of it, so
``np.rint(y)`` is the integer ``round`` picks; an integer float below 2**51 over 100.0 is
the float nearest to the quotient (IEEE division is correctly rounded): ``round``'s float,
its sign of zero included. Values near a half cent, huge (|y| >= 2**51) or not finite go
to ``round`` itself, as do short arrays, whose numpy steps cost more than the calls.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]

# Under this many values, ``round`` per value is cheaper than the fixed cost of the numpy
# steps (~5 µs against ~0.1 µs a value).
_SHORT = 16
_HUGE = 2.0 ** 51  # below it, a float's half-integers and integers are exact floats


def round_cents(values: Array) -> list[float]:
    """``round(x, 2)`` of each float of ``values`` (a 1-d float array, money), as Python
    floats in the same order."""
    if len(values) < _SHORT:
        return [round(x, 2) for x in values.tolist()]
    with np.errstate(invalid="ignore", over="ignore"):  # inf and NaN go to ``round``
        scaled = values * 100.0
        size = np.abs(scaled)
        # Distance to the nearest half-integer (floor + 0.5 is exact below _HUGE).
        off = np.abs(scaled - (np.floor(scaled) + 0.5))
        sure = (size < _HUGE) & (off > 2 * np.spacing(size))
    cents: list[float] = (np.rint(scaled) / 100.0).tolist()
    if not sure.all():
        for at in (~sure).nonzero()[0].tolist():
            cents[at] = round(float(values[at]), 2)
    return cents
