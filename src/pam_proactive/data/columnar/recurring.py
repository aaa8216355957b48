"""The schedule finder over a whole batch (pure, column-wise).

:func:`pam_proactive.analysis.schedules.find_schedules` judges a payment (a *head*) only when
it is dated from ``since`` on and at least :data:`MIN_OCCURRENCES` payments of its category
have an amount within :data:`AMOUNT_TOLERANCE` of its own (its ``alike`` payments, itself
included); everything it then looks at (the chain, the "no payment in between" test) lies
among those alike payments. So the finder gives the same schedules and the same scheduled
payments from the *core* alone: the alike payments of every head it judges. (With any list
between the core and all the payments, a judged head keeps exactly its alike payments and
any other payment still has fewer than :data:`MIN_OCCURRENCES`: it is skipped as before.)

Most payments have no repeat of their amount: the core is a small part of the batch.
:func:`batch_schedules` then runs the finder's walk for every judged head of the batch at
once, column-wise, on the core. The counts use the finder's own bounds,
``amount * (1 - AMOUNT_TOLERANCE)`` and ``amount * (1 + AMOUNT_TOLERANCE)``, with its
inclusive comparisons (``bisect_left``/``bisect_right``). Both are numpy over the batch's
columns, no Polars query (whose fixed cost would make one traveler's call cost as much as
a few hundred travelers').
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from pam_proactive.analysis.schedules import (
    AMOUNT_TOLERANCE,
    CADENCES,
    DAY_TOLERANCE,
    MIN_OCCURRENCES,
    _grid,
)
from pam_proactive.data.columnar.sorting import among, stable_order

Array = np.ndarray[Any, Any]

# Walked heads under which each one's grid is looked up, rather than the distinct days'
# found first (measured: 3 heads 2 vs 10 us, 60 heads 32 vs 39 us, 200 heads 101 vs 88 us,
# 5,000 heads 2.4 vs 0.27 ms: the lookups and their conversion grow with the heads).
_FEW_HEADS = 128
_NO_HEAD = np.full(1, -1)  # the head (and payment) of no pair


class Core(NamedTuple):
    """The core of a batch's payments (see :func:`schedule_core`), in payment order:
    ``rows`` their positions among the payments, ``group`` (the user and category as one
    integer), ``amount`` and ``day`` (an ordinal), ``judged`` (a head the finder judges)
    and, for those, the bounds ``lo`` and ``hi`` of their alike amounts (NaN for others)."""

    rows: Array
    group: Array
    amount: Array
    day: Array
    judged: Array
    lo: Array
    hi: Array


class Found(NamedTuple):
    """What :func:`batch_schedules` finds: ``scheduled``, the positions (among the
    payments) of those that fit a schedule, ascending; per series (one per latest
    payment): ``latest`` its latest payment's position, ``cadence`` an index into
    :data:`CADENCES` and ``days`` its ordinals, oldest first (one row per series)."""

    scheduled: Array
    latest: Array
    cadence: Array
    days: Array


def schedule_core(group: Array, amount: Array, day: Array, head: Array) -> Core:
    """The core of the payments (one value per payment in each array: ``group``, the user
    and category as one integer, ``amount`` > 0, ``day``, an ordinal, and ``head``: dated
    from the user's first judged day on).

    Every payment dated from that day on is a head; copies of a head (same ``group`` and
    amount) are judged alike, so they are all judged, without finding the distinct ones."""
    judged, in_core = _alike(group, amount, head)
    rows = in_core.nonzero()[0]
    amounts = amount[rows]
    judged = judged[rows]
    return Core(rows, group[rows], amounts, day[rows].astype(np.int64), judged,
                np.where(judged, amounts * (1 - AMOUNT_TOLERANCE), np.nan),
                np.where(judged, amounts * (1 + AMOUNT_TOLERANCE), np.nan))


def _alike(groups: Array, amounts: Array,
           head: Array) -> tuple[Array, Array]:
    """Which payments (their ``groups``: ``g``, a row number, and ``amounts``) are heads
    (``head``) the finder judges: at least :data:`MIN_OCCURRENCES` payments of their group
    have lo <= amount <= hi (their own included), lo and hi the head's amount times
    (1 -/+ AMOUNT_TOLERANCE); and which payments are alike to a judged head (the core).

    Exact, by binary searches: every amount is replaced by its rank among the distinct
    amounts, and a head's bounds by the ranks of the first amount >= lo and the first
    > hi (the finder's inclusive comparisons), found once per distinct amount; so a
    group and an amount make one integer key, ``group * width + rank``; a head's alike
    payments are a range of the payments sorted by key, and the core is the union of the
    judged heads' ranges (equal keys are all in a range or none: any sort will do)."""
    n = len(amounts)
    # The amounts sorted once: their distinct values and ranks, and (a stable sort of the
    # groups after it, numpy's radix sort for small integers) the payments sorted by key.
    by_amount = amounts.argsort()
    ordered = amounts[by_amount]
    new = np.ones(n, dtype=bool)
    new[1:] = ordered[1:] != ordered[:-1]
    values = ordered[new]
    rank = np.empty(n, dtype=np.int64)
    rank[by_amount] = new.cumsum() - 1
    low = values.searchsorted(values * (1 - AMOUNT_TOLERANCE), side="left")
    high = values.searchsorted(values * (1 + AMOUNT_TOLERANCE), side="right")
    width = len(values) + 1
    order = by_amount[stable_order(groups[by_amount])]
    keyed = groups.astype(np.int64) * width + rank
    keys = keyed[order]
    heads = head.nonzero()[0]
    ranks = rank[heads]
    # Each head's key but its amount's rank: its group's, to which its bounds' ranks add.
    base = keyed[heads] - ranks
    upto = keys.searchsorted(base + high[ranks], side="left")
    below = keys.searchsorted(base + low[ranks], side="left")
    judged_heads = upto - below >= MIN_OCCURRENCES
    judged = np.zeros(n, dtype=bool)
    judged[heads[judged_heads]] = True
    # +1 where a judged head's range starts, -1 past its end: covered where the sum > 0.
    edges = (np.bincount(below[judged_heads], minlength=n + 1)
             - np.bincount(upto[judged_heads], minlength=n + 1))
    core = np.zeros(n, dtype=bool)
    core[order] = edges[:n].cumsum() > 0
    return judged, core


def _grids(days: Array) -> Array:
    """For each of the distinct heads' ``days`` (ordinals), cadence (in :data:`CADENCES`
    order) and k = 1 .. MIN_OCCURRENCES - 1: the expected day (ordinal) of the occurrence
    k cadences before it (``_grid``: once per distinct day, and remembered: a sweep's
    heads fall on a few hundred days, the same from one small batch to the next)."""
    return np.array([_grid_of(day) for day in days.tolist()], dtype=np.int64).reshape(
        len(days), len(CADENCES), MIN_OCCURRENCES - 1)


@lru_cache(maxsize=4096)
def _grid_of(day: int) -> tuple[int, ...]:
    """:func:`_grids` of one day, flat (cadence by cadence: a flat tuple converts faster)."""
    return tuple(_grid(date.fromordinal(day), cadence, k).toordinal()
                 for cadence in CADENCES for k in range(1, MIN_OCCURRENCES))


def _nothing() -> Found:
    """:func:`batch_schedules`' answer when nothing fits a schedule."""
    none = np.zeros(0, dtype=np.int64)
    return Found(none, none, none, np.zeros((0, MIN_OCCURRENCES), dtype=np.int64))


def _pairs(core: Core, heads: Array) -> tuple[Array, Array, Array]:
    """Each judged head (rows ``heads`` of ``core``, numbered 0 ..) with its alike payments
    up to its day, itself excluded: the head's number, the payment's row and day, sorted by
    head, day, then row (the finder's sorted list, which ``bisect`` walks)."""
    group, amount, day, lo, hi = core.group, core.amount, core.day, core.lo, core.hi
    # Every head with every payment of its group (the core is small), then the filter.
    order = stable_order(group)
    ordered = group[order]
    of_heads = group[heads]
    start = ordered.searchsorted(of_heads, side="left")
    size = ordered.searchsorted(of_heads, side="right") - start
    head = np.arange(len(heads)).repeat(size)
    # Pair k of a head is its group's (k - the head's first pair)-th payment in ``order``.
    payment = order[(start - (size.cumsum() - size)).repeat(size) + np.arange(len(head))]
    h = heads[head]
    paid_on, paid = day[payment], amount[payment]
    alike = (payment != h) & (paid_on <= day[h]) & (lo[h] <= paid) & (paid <= hi[h])
    head, payment, paid_on = head[alike], payment[alike], paid_on[alike]
    pairs = np.lexsort((payment, paid_on, head))
    return head[pairs], payment[pairs], paid_on[pairs]


def batch_schedules(core: Core) -> Found:
    """``find_schedules`` over every user's core at once (see :func:`schedule_core`): the
    payments that fit a schedule and the series, one per latest payment (:class:`Found`).

    The finder's walk from a judged head takes, MIN_OCCURRENCES - 1 times, the latest alike
    payment dated before the last one taken (whatever the cadence); the chain holds for a
    cadence when the deviations from that cadence's grid, with the head's 0, span at most
    2 x DAY_TOLERANCE days, and it is clean when no other alike payment lies between its
    ends. The first cadence that holds (in CADENCES order) is the series'; a scheduled
    payment in an earlier payment's chain is not the latest of its series.

    numpy, on the core in row order: each step of the walk is one binary search per head
    among its alike payments sorted by (head, day, row)."""
    heads = core.judged.nonzero()[0]
    if not len(heads):
        # Nothing judged (most small batches): nothing to walk.
        return _nothing()
    head, payment, paid_on = _pairs(core, heads)
    day = core.day
    # One sortable integer per pair: its head, then its day (from the earliest).
    first_day = int(day.min())
    span = int(day.max()) - first_day + 1
    keys = head * span + (paid_on - first_day)
    numbers = np.arange(len(heads))
    base = numbers * span - first_day  # plus a day: a head's key of that day
    # Each pair's head and payment one place on, so that the pair before a search's place
    # is read without a bounds test (place 0: none, head -1).
    head_before = np.concatenate((_NO_HEAD, head))
    payment_before = np.concatenate((_NO_HEAD, payment))
    walking = np.ones(len(heads), dtype=bool)
    last = day[heads]
    # Each head's chain: row k - 1 its k-th payment before the head (where it has none,
    # another payment: such a head is not walked, its chain is not read).
    chain = np.empty((MIN_OCCURRENCES - 1, len(heads)), dtype=np.int64)
    for step in chain:
        # The latest alike payment dated before the last one taken: the pair just
        # before the first of this head dated from ``last`` on (latest row among ties).
        at = keys.searchsorted(base + last, side="left")
        found = head_before[at] == numbers
        walking &= found
        step[:] = payment_before[at]
        last = np.where(found, day[step], last)
    # Clean: the only alike payments from the chain's first day to the head's are its own.
    between = (keys.searchsorted(base + (first_day + span), side="left")
               - keys.searchsorted(base + last, side="left"))
    walked = (walking & (between + 1 == MIN_OCCURRENCES)).nonzero()[0]
    taken_days = day[chain[:, walked]].T
    head_days = day[heads[walked]]
    if len(walked) < _FEW_HEADS:
        expected = _grids(head_days)  # walked head, cadence, k - 1
    else:
        distinct, which = np.unique(head_days, return_inverse=True)
        expected = _grids(distinct)[which.reshape(-1)]
    deviations = taken_days[:, None, :] - expected
    # The deviations with the head's own 0, as the finder spans them.
    spread = (np.maximum.reduce(deviations, axis=2, initial=0)
              - np.minimum.reduce(deviations, axis=2, initial=0))
    holds = spread <= 2 * DAY_TOLERANCE
    fits = np.logical_or.reduce(holds, axis=1)
    cadence = holds.argmax(axis=1)[fits]  # the first cadence that holds
    fit = walked[fits]
    rows = heads[fit]
    if not len(rows):
        return _nothing()
    latest = ~among(rows, chain[:, fit].ravel())
    ends = rows[latest]
    # Each series' days, oldest first: its chain backwards, then its latest payment.
    days = day[np.concatenate((chain[::-1, fit[latest]], ends[None, :]))].T
    return Found(core.rows[rows], core.rows[ends], cadence[latest].astype(np.int64), days)
