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
    edges = np.zeros(n + 1, dtype=np.int64)
    np.add.at(edges, below[judged_heads], 1)
    np.add.at(edges, upto[judged_heads], -1)
    core = np.zeros(n, dtype=bool)
    core[order] = np.cumsum(edges[:n]) > 0
    return judged, core


def _grids(days: list[int]) -> pl.DataFrame:
    """For each head's day (ordinal) and cadence (its index in :data:`CADENCES`), the
    expected day (ordinal) of the occurrences 1 .. MIN_OCCURRENCES - 1 cadences before it
    (``_grid``: once per distinct day, a batch has a few hundred)."""
    rows = [(day, c, *(_grid(date.fromordinal(day), cadence, k).toordinal()
                       for k in range(1, MIN_OCCURRENCES)))
            for day in days for c, cadence in enumerate(CADENCES)]
    schema = {"h_day": pl.Int64(), "cadence": pl.Int64(),
              **{f"expected{k}": pl.Int64() for k in range(1, MIN_OCCURRENCES)}}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _nothing(core: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`batch_schedules`' two frames when nothing fits a schedule (same columns and
    types)."""
    scheduled = core.select("r", "i", "key", "amount", "day").clear()
    series = core.select(
        "i", "key", cadence=pl.lit(0, dtype=pl.Int64()), amount="amount", r="r",
        days=pl.concat_list(*(["day"] * MIN_OCCURRENCES))).clear()
    return scheduled, series


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
    payment in an earlier payment's chain is not the latest of its series."""
    width = 2 * DAY_TOLERANCE
    # Lazy chains, collected where a result is needed: each eager step is a query of its
    # own (~0.2 ms whatever its size), a small batch's largest cost here.
    heads = core.lazy().filter("judged").select(
        "i", "key", _GROUP, "amount", "lo", "hi", h="r", h_day="day").collect()
    if heads.is_empty():
        # Nothing judged (most small batches): the queries of the walk would find
        # nothing; the same empty frames, without them.
        return _nothing(core)
    # Each judged head with its alike payments up to its day (itself excluded).
    pairs = (heads.lazy().select("h", _GROUP, "lo", "hi", "h_day")
             .join(core.lazy().select(_GROUP, p="r", p_day="day", p_amount="amount"),
                   on=_GROUP)
             .filter((pl.col("p") != pl.col("h")) & (pl.col("p_day") <= pl.col("h_day"))
                     & pl.col("p_amount").is_between(pl.col("lo"), pl.col("hi")))
             .select("h", "p", "p_day")).collect().lazy()
    chain = heads.lazy().select("h", "h_day", last="h_day")
    for k in range(1, MIN_OCCURRENCES):
        # The latest by (day, position), as the finder's sorted list and bisect take it.
        step = (pairs.join(chain.select("h", "last"), on="h")
                .filter(pl.col("p_day") < pl.col("last"))
                .group_by("h").agg(pl.col("p", "p_day").sort_by("p_day", "p").last()))
        chain = (chain.join(step, on="h")
                 .rename({"p": f"r{k}", "p_day": f"day{k}"})
                 .with_columns(last=pl.col(f"day{k}"))).collect().lazy()
    between = (pairs.join(chain.select("h", "last"), on="h")
               .filter(pl.col("p_day") >= pl.col("last"))
               .group_by("h").len())
    walked = (chain.join(between, on="h", how="left")
              .filter(pl.col("len").fill_null(0) + 1 == MIN_OCCURRENCES)).collect()
    steps = range(1, MIN_OCCURRENCES)
    devs = [pl.col(f"day{k}") - pl.col(f"expected{k}") for k in steps]
    fits = (heads.lazy().join(
        walked.lazy().join(_grids(walked["h_day"].unique().to_list()).lazy(), on="h_day")
        .filter(pl.max_horizontal(0, *devs) - pl.min_horizontal(0, *devs) <= width)
        .group_by("h").agg(pl.col("cadence").min(),
                           *(pl.col(f"r{k}", f"day{k}").first() for k in steps)),
        on="h")).collect()
    followed = pl.concat([fits[f"r{k}"] for k in steps])
    scheduled, series = pl.collect_all([
        fits.lazy().select(r="h", i="i", key="key", amount="amount", day="h_day").sort("r"),
        fits.lazy().filter(~pl.col("h").is_in(followed.implode()))
        .select("i", "key", "cadence", "amount", r="h",
                days=pl.concat_list(*(f"day{k}" for k in reversed(steps)), "h_day"))])
    return scheduled, series
