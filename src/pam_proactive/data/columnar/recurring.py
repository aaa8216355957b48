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
inclusive comparisons (``bisect_left``/``bisect_right``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import polars as pl

from pam_proactive.analysis.schedules import (
    AMOUNT_TOLERANCE,
    CADENCES,
    DAY_TOLERANCE,
    MIN_OCCURRENCES,
    _grid,
)

_GROUP = "g"  # the user and category as one integer


def schedule_core(payments: pl.DataFrame) -> pl.DataFrame:
    """The core of ``payments`` (columns ``r``, ``i``, ``key``, ``g``: the user and category
    as one integer, ``amount`` > 0, ``offset`` and ``since``: the user's first judged day,
    as offsets from their today ``day0``, an ordinal; in ``r`` order), in ``r`` order, with
    columns ``r``, ``i``, ``key``, ``g``, ``amount``, ``day`` (ordinal), ``judged`` (a head
    the finder judges) and, for those, the bounds ``lo`` and ``hi`` of their alike amounts.

    Every payment dated from ``since`` on is a head; copies of a head (same ``g`` and
    amount) are judged alike, so they are all judged, without finding the distinct ones."""
    amounts = payments["amount"].to_numpy()
    lo, hi = amounts * (1 - AMOUNT_TOLERANCE), amounts * (1 + AMOUNT_TOLERANCE)
    head = (payments["offset"] >= payments["since"]).to_numpy()
    judged, in_core = _alike(payments[_GROUP].to_numpy(), amounts, head)
    judged = judged[in_core]
    return payments.filter(pl.Series(in_core, dtype=pl.Boolean())).select(
        "r", "i", "key", _GROUP, "amount", day=pl.col("day0") + pl.col("offset"),
        judged=pl.Series(judged, dtype=pl.Boolean()),
        lo=pl.Series(np.where(judged, lo[in_core], np.nan), nan_to_null=True),
        hi=pl.Series(np.where(judged, hi[in_core], np.nan), nan_to_null=True))


def _alike(groups: np.ndarray[Any, Any], amounts: np.ndarray[Any, Any],
           head: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
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
    values, rank = np.unique(amounts, return_inverse=True)
    rank = rank.reshape(-1)
    low = np.searchsorted(values, values * (1 - AMOUNT_TOLERANCE), side="left")
    high = np.searchsorted(values, values * (1 + AMOUNT_TOLERANCE), side="right")
    width = len(values) + 1
    keys = groups.astype(np.int64) * width + rank
    n = len(keys)
    order = np.argsort(keys)
    keys = keys[order]
    heads = np.flatnonzero(head)
    base = groups[heads].astype(np.int64) * width
    upto = np.searchsorted(keys, base + high[rank[heads]], side="left")
    below = np.searchsorted(keys, base + low[rank[heads]], side="left")
    judged_heads = upto - below >= MIN_OCCURRENCES
    judged = np.zeros(n, dtype=bool)
    judged[heads[judged_heads]] = True
    # +1 where a judged head's range starts, -1 past its end: covered where the sum > 0.
    edges = (np.bincount(below[judged_heads], minlength=n + 1)
             - np.bincount(upto[judged_heads], minlength=n + 1))
    core = np.zeros(n, dtype=bool)
    core[order] = np.cumsum(edges[:n]) > 0
    return judged, core


def _grids(days: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """For each of the distinct heads' ``days`` (ordinals), cadence (in :data:`CADENCES`
    order) and k = 1 .. MIN_OCCURRENCES - 1: the expected day (ordinal) of the occurrence
    k cadences before it (``_grid``: once per distinct day, a batch has a few hundred)."""
    return np.array([[[_grid(date.fromordinal(day), cadence, k).toordinal()
                       for k in range(1, MIN_OCCURRENCES)] for cadence in CADENCES]
                     for day in days.tolist()], dtype=np.int64).reshape(
        len(days), len(CADENCES), MIN_OCCURRENCES - 1)


def _nothing(core: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`batch_schedules`' two frames when nothing fits a schedule (same columns and
    types)."""
    scheduled = core.select("r", "i", "key", "amount", "day").clear()
    series = core.select(
        "i", "key", cadence=pl.lit(0, dtype=pl.Int64()), amount="amount", r="r",
        days=pl.concat_list(*(["day"] * MIN_OCCURRENCES))).clear()
    return scheduled, series


def _pairs(core: pl.DataFrame, heads: np.ndarray[Any, Any]
           ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Each judged head (rows ``heads`` of ``core``, numbered 0 ..) with its alike payments
    up to its day, itself excluded: the head's number, the payment's row and day, sorted by
    head, day, then row (the finder's sorted list, which ``bisect`` walks)."""
    group, amount, day = (core[c].to_numpy() for c in (_GROUP, "amount", "day"))
    lo, hi = core["lo"].to_numpy(), core["hi"].to_numpy()
    # Every head with every payment of its group (the core is small), then the filter.
    order = np.argsort(group, kind="stable")
    ordered = group[order]
    start = np.searchsorted(ordered, group[heads], side="left")
    size = np.searchsorted(ordered, group[heads], side="right") - start
    head = np.repeat(np.arange(len(heads)), size)
    within = np.arange(len(head)) - np.repeat(np.cumsum(size) - size, size)
    payment = order[np.repeat(start, size) + within]
    h = heads[head]
    alike = ((payment != h) & (day[payment] <= day[h]) & (lo[h] <= amount[payment])
             & (amount[payment] <= hi[h]))
    head, payment = head[alike], payment[alike]
    pairs = np.lexsort((payment, day[payment], head))
    return head[pairs], payment[pairs], day[payment[pairs]]


def batch_schedules(core: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``find_schedules`` over every user's core at once (see :func:`schedule_core`): the
    payments that fit a schedule (``r``, ``i``, ``key``, ``amount``, ``day``) and the
    series, one per latest payment (``i``, ``key``, ``cadence``: an index into CADENCES,
    ``amount``, ``r``: the latest payment's, ``days``: ordinals, oldest first).

    The finder's walk from a judged head takes, MIN_OCCURRENCES - 1 times, the latest alike
    payment dated before the last one taken (whatever the cadence); the chain holds for a
    cadence when the deviations from that cadence's grid, with the head's 0, span at most
    2 x DAY_TOLERANCE days, and it is clean when no other alike payment lies between its
    ends. The first cadence that holds (in CADENCES order) is the series'; a scheduled
    payment in an earlier payment's chain is not the latest of its series.

    numpy, on the core in row order: each step of the walk is one binary search per head
    among its alike payments sorted by (head, day, row)."""
    heads = np.flatnonzero(core["judged"].to_numpy())
    if not len(heads):
        # Nothing judged (most small batches): nothing to walk; the same empty frames.
        return _nothing(core)
    head, payment, paid_on = _pairs(core, heads)
    day = core["day"].to_numpy().astype(np.int64)
    # One sortable integer per pair: its head, then its day (from the earliest).
    first_day = int(day.min())
    span = int(day.max()) - first_day + 1
    keys = head * span + (paid_on - first_day)
    walking = np.ones(len(heads), dtype=bool)
    last = day[heads]
    base = np.arange(len(heads)) * span
    chain = []
    for _ in range(1, MIN_OCCURRENCES):
        # The latest alike payment dated before the last one taken: the pair just
        # before the first of this head dated from ``last`` on (latest row among ties).
        at = np.searchsorted(keys, base + (last - first_day), side="left") - 1
        found = at >= 0
        found[found] &= head[at[found]] == np.arange(len(heads))[found]
        walking &= found
        taken = np.where(found, payment[np.maximum(at, 0)], 0)
        chain.append(taken)
        last = np.where(found, day[taken], last)
    # Clean: the only alike payments from the chain's first day to the head's are its own.
    between = (np.searchsorted(keys, base + span, side="left")
               - np.searchsorted(keys, base + (last - first_day), side="left"))
    walked = np.flatnonzero(walking & (between + 1 == MIN_OCCURRENCES))
    taken_days = np.column_stack([day[c[walked]] for c in chain]) if len(walked) else (
        np.zeros((0, MIN_OCCURRENCES - 1), dtype=np.int64))
    head_days = day[heads[walked]]
    distinct, which = np.unique(head_days, return_inverse=True)
    expected = _grids(distinct)[which.reshape(-1)]  # walked head, cadence, k - 1
    deviations = taken_days[:, None, :] - expected
    # The deviations with the head's own 0, as the finder spans them.
    spread = deviations.max(axis=2, initial=0) - deviations.min(axis=2, initial=0)
    holds = spread <= 2 * DAY_TOLERANCE
    fits = holds.any(axis=1)
    cadence = holds.argmax(axis=1)[fits]  # the first cadence that holds
    fit = walked[fits]
    rows = heads[fit]
    if not len(rows):
        return _nothing(core)
    members = np.concatenate([c[fit] for c in chain])
    latest = ~np.isin(rows, members)
    scheduled = core[rows].select("r", "i", "key", "amount", "day")
    days = [core["day"].gather(c[fit][latest]) for c in reversed(chain)]
    series = core[rows[latest]].select(
        "i", "key", pl.Series("cadence", cadence[latest], dtype=pl.Int64()), "amount", "r",
        days=pl.concat_list(*days, "day"))
    return scheduled, series
