"""Which payments of a batch the schedule finder must see (pure, column-wise).

:func:`pam_proactive.analysis.schedules.find_schedules` judges a payment (a *head*) only when
it is dated from ``since`` on and at least :data:`MIN_OCCURRENCES` payments of its category
have an amount within :data:`AMOUNT_TOLERANCE` of its own (its ``alike`` payments, itself
included); everything it then looks at (the chain, the "no payment in between" test) lies
among those alike payments. So the finder gives the same schedules and the same scheduled
payments from the *core* alone: the alike payments of every head it judges. (With any list
between the core and all the payments, a judged head keeps exactly its alike payments and
any other payment still has fewer than :data:`MIN_OCCURRENCES`: it is skipped as before.)

Most payments have no repeat of their amount: the core is a small part of the batch, and
the finder's per-user search runs on it only. The counts use the finder's own bounds,
``amount * (1 - AMOUNT_TOLERANCE)`` and ``amount * (1 + AMOUNT_TOLERANCE)``, with its
inclusive comparisons (``bisect_left``/``bisect_right``).
"""

from __future__ import annotations

import polars as pl

from pam_proactive.analysis.schedules import AMOUNT_TOLERANCE, MIN_OCCURRENCES

_GROUP = "g"  # the user and category as one integer


def schedule_core(payments: pl.DataFrame) -> pl.DataFrame:
    """The core of ``payments`` (columns ``r``, ``i``, ``key``, ``g``: the user and category
    as one integer, ``amount`` > 0, ``offset`` and ``since``: the user's first judged day,
    as offsets from their today), in ``r`` order, with columns ``r``, ``i``, ``key``,
    ``amount``, ``offset``."""
    amount = pl.col("amount")
    # Each distinct amount of a user's category, ascending, with how many payments have an
    # amount at most it (``upto``) and below it (``below``), counted over the whole sorted
    # frame: the difference of two counts of one category is the payments between them.
    amounts = (payments.group_by(_GROUP, "amount").len()
               .sort(_GROUP, "amount")
               .with_columns(upto=pl.col("len").cum_sum())
               .with_columns(below=pl.col("upto") - pl.col("len"))
               .drop("len"))
    heads = (payments.filter(pl.col("offset") >= pl.col("since"))
             .select(_GROUP, amount,
                     lo=amount * (1 - AMOUNT_TOLERANCE), hi=amount * (1 + AMOUNT_TOLERANCE))
             .unique())
    # The last amount <= hi (there is one: the head's own) and the first >= lo.
    heads = heads.sort("hi").join_asof(
        amounts.select(_GROUP, "upto", at_hi="amount").sort("at_hi"),
        left_on="hi", right_on="at_hi", by=_GROUP, strategy="backward",
        check_sortedness=False)
    heads = heads.sort("lo").join_asof(
        amounts.select(_GROUP, "below", at_lo="amount").sort("at_lo"),
        left_on="lo", right_on="at_lo", by=_GROUP, strategy="forward",
        check_sortedness=False)
    judged = (heads.filter(pl.col("upto") - pl.col("below") >= MIN_OCCURRENCES)
              .select(_GROUP, "lo", "hi").sort("lo"))
    # A payment is alike to a judged head when lo <= amount <= hi; both bounds grow with the
    # head's amount, so the head with the largest lo <= amount has the largest hi of those.
    return (payments.select("r", "i", "key", _GROUP, "amount", "offset").sort("amount")
            .join_asof(judged, left_on="amount", right_on="lo", by=_GROUP,
                       strategy="backward", check_sortedness=False)
            .filter(pl.col("amount") <= pl.col("hi"))
            .sort("r")
            .select("r", "i", "key", "amount", "offset"))
