"""Plausibility limits, one constant per fact, and the odometer outlier rule (pure).

Readings beyond these limits are typing or unit errors, not vehicles; the data layer and the
analyses use the same constants.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise

MAX_ODOMETER_MILES = 5_000_000.0  # no road vehicle gets near this
MAX_TRIP_MILES = 25_000.0  # a single trip longer than this is a typo
MIN_TANK_GALLONS = 1.0  # no vehicle's tank holds less
MAX_TANK_GALLONS = 300.0  # larger than any RV's tank(s)
# A vehicle's stated fuel economy (miles per US gallon) outside [MIN_MPG, MAX_MPG] is a typo
# or a unit error.
MIN_MPG = 1.0
MAX_MPG = 80.0
MAX_FILL_GALLONS = MAX_TANK_GALLONS  # one fill-up cannot exceed the largest tank
ODOMETER_JUMP_MILES = 10_000.0  # more than this between two consecutive fills is a typo
# The odometer outlier rule: a reading more than this above the next highest reading of the
# vehicle (fills, service records, the vehicle's own odometer) is not its odometer. RVs drive
# about 5,000-15,000 miles a year, so 50,000 is years of driving nobody logged.
ODOMETER_OUTLIER_MILES = 50_000.0


def odometer_outliers(readings: Iterable[float]) -> frozenset[float]:
    """The readings (miles) the outlier rule rejects: from the top, each reading more than
    :data:`ODOMETER_OUTLIER_MILES` above the next highest one. A lone reading is kept (there
    is nothing to compare it with)."""
    ordered = sorted(set(readings), reverse=True)
    return frozenset(ordered[:_first_kept(ordered)])


def plausible_max_odometer(readings: Iterable[float]) -> float | None:
    """The highest reading (miles) the outlier rule keeps, or None without readings."""
    values = sorted(readings)  # stable: equal readings keep their order
    if len(values) < 2:  # a lone reading is kept: nothing to compare it with
        return values[0] if values else None
    # The rule rejects readings from the top only, so the highest kept one is the first
    # reading, highest first, that it does not reject. The usual case, :func:`_first_kept`'s
    # first step, needs only the two highest distinct readings: read off the sorted
    # readings, without the set the general case makes (hashing ~20 readings, twice per
    # traveler in a sweep: 1.1 us; this, 0.3 us).
    top = values[-1]
    index = len(values) - 2
    while index >= 0 and values[index] == top:
        index -= 1
    if index >= 0 and top - values[index] <= ODOMETER_OUTLIER_MILES:
        return values[index + 1]  # of equal readings, the first given, as the set keeps it
    ordered = sorted(set(values), reverse=True)
    return ordered[_first_kept(ordered)]


def _first_kept(ordered: list[float]) -> int:
    """Index in ``ordered`` (distinct finite readings, highest first) of the highest one the
    outlier rule keeps: every reading before it is rejected (0 when ``ordered`` is empty)."""
    for index, (high, below) in enumerate(pairwise(ordered)):
        if high - below <= ODOMETER_OUTLIER_MILES:
            return index
    return max(len(ordered) - 1, 0)
