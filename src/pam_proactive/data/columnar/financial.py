"""The financial section of a batch's contexts: category statistics, budgets in their current
period, recurring payments and the last 7 days' expenses (pure).

The rules are those of ``data/assemble.build_financial`` (the oracle), applied to the whole
batch's expenses at once: the skips (invalid amount, far future, duplicate), the per-category
windows, baseline median and MAD, period sums, outliers, the schedule finder (see
:mod:`.recurring`), the scheduled payments' effects, the budgets' checks and sums are
Polars expressions and numpy arrays over the batch. Python only runs the outlier rule's
``bar`` per category, ``dues_by_category`` per user and budgeted category with a schedule,
and the final rounding to cents (Python's ``round``: half-even on the exact binary value,
which Polars' ``round`` is not); the objects are made a column at a time
(:func:`.objects.instances`).

Sums are taken in the oracle's order (row order, one after the other, see :func:`_sums`),
so every figure, rounded or not, is the oracle's; an empty sum is the integer 0 as
Python's ``sum`` gives it (tracked by ``*_float`` flags where a budget can show it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from itertools import repeat
from typing import Any

import numpy as np
import polars as pl

from pam_proactive.analysis.bounds import TEXT_MAX_CHARS, cut_text
from pam_proactive.analysis.outliers import Baseline, OutlierRule
from pam_proactive.analysis.schedules import CADENCES, Schedule, dues_by_category
from pam_proactive.context import (
    BudgetStatus,
    CategoryStats,
    Expense,
    FinancialContext,
    QualityBuilder,
)
from pam_proactive.data.assemble import (
    BASELINE_DAYS,
    DEFAULT_ALERT_PCT,
    FAR_FUTURE_DAYS,
    SPENT_DAYS,
    judged_since,
    period_bounds,
    prior_month_offsets,
)
from pam_proactive.data.columnar.frames import BatchFrames
from pam_proactive.data.columnar.objects import instances, per_user
from pam_proactive.data.columnar.recurring import batch_schedules, schedule_core

_PERIODS = ("weekly", "monthly", "yearly")
# The duplicate rule's key: the same user, category, amount, day and description.
_DUPLICATE = ["i", "category", "amount", "offset", "description"]
# A user's category as one integer (``g``): grouping and joining on it is far cheaper.
_GROUP = "g"
_PRIOR = [(f"prior{k}_lo", f"prior{k}_hi") for k in range(3)]
_CALENDAR = {
    "today": pl.Date(), "week_from": pl.Int32(), "month_from": pl.Int32(),
    "year_from": pl.Int32(), **{c: pl.Int32() for span in _PRIOR for c in span},
    "since": pl.Int32(), "since_yearly": pl.Int32(), "day0": pl.Int32(),
}

_amount, _offset = pl.col("amount"), pl.col("offset")
_EPOCH = date(1970, 1, 1).toordinal()  # a Polars Date is days since this ordinal


def financial_section(frames: BatchFrames, rule: OutlierRule,
                      quality: Mapping[int, QualityBuilder]) -> dict[int, FinancialContext]:
    """Every batch user's :class:`FinancialContext`, by position ``i``; rows skipped or
    repaired are counted in the user's ``quality``."""
    yearly = set(frames.budgets.filter(pl.col("period") == "yearly")["i"].to_list())
    expenses = _cut(frames.expenses, quality)
    budgets = _checked(_cut(frames.budgets, quality), quality)
    kept = _kept(expenses, _calendar(frames.people, yearly), quality)
    groups = _Groups(kept[_GROUP].to_numpy())
    stats = _categories(kept, groups)
    scheduled, series = batch_schedules(schedule_core(kept))
    parts = _parts(kept, groups, stats, _bars(stats, rule), scheduled)
    todays = dict(zip(frames.people["i"].to_list(), frames.people["today"].to_list(),
                      strict=True))
    categories = _category_stats(stats)
    recent = _recent(kept, scheduled)
    months = _month_spent(parts)
    made = _budgets(budgets, parts, _dues(series, budgets, todays), todays)
    users = list(todays)
    return dict(zip(users, instances(FinancialContext, [
        [months.get(i, 0) for i in users], [made.get(i, ()) for i in users],
        [categories.get(i, {}) for i in users], [recent.get(i, ()) for i in users]]),
        strict=True))


class _Groups:
    """Rows grouped by an integer key (ascending), found once and reused: ``order`` puts
    each group's rows together in row order, ``starts`` and ``sizes`` delimit them there,
    ``keys`` holds each group's key, ``code`` each row's group (0 .. groups - 1)."""

    def __init__(self, keys: np.ndarray[Any, Any]) -> None:
        self.order = order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        self.starts = starts = (np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
                                if len(order) else np.zeros(0, dtype=np.int64))
        self.keys = ordered[starts]
        self.sizes = sizes = np.diff(np.r_[starts, len(order)]).astype(np.int64)
        self.code = code = np.empty(len(order), dtype=np.int64)
        code[order] = np.repeat(np.arange(len(starts)), sizes)
        # The k-th rows of every group, k = 0, 1, ..., each run with the groups in order
        # of size (largest first, so the groups having a k-th row are the first ones):
        # ``steps`` rows of ``order`` and each run's length.
        by_size = np.argsort(-sizes, kind="stable")
        self.place = place = np.empty(len(starts), dtype=np.int64)
        place[by_size] = np.arange(len(starts))
        first = starts[by_size]
        self.runs = np.searchsorted(-sizes[by_size], -np.arange(1, sizes.max(initial=0) + 1),
                                    side="right").tolist()
        self.steps = order[np.concatenate(
            [first[:count] + k for k, count in enumerate(self.runs)])] if self.runs else (
            np.zeros(0, dtype=np.int64))

    def count(self, flags: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Per group: how many of its rows have ``flags`` (booleans in row order)."""
        return np.bincount(self.code, weights=flags, minlength=len(self.keys)).astype(
            np.int64)

    def sums(self, columns: Sequence[np.ndarray[Any, Any]]) -> np.ndarray[Any, Any]:
        """Per group (rows) and column of ``columns`` (each a value per row, in row order):
        the sum of the group's values added one after the other in row order from 0.0, as
        Python's ``sum`` and ``+=`` add them (Polars' ``sum`` and numpy's add pairwise:
        another float). Vectorised across groups: the k-th rows of every group are added
        at once, for k = 0, 1, ... (a group holds a few dozen rows); a column at a time
        (contiguous slices: cheaper than a 2-D gather)."""
        totals = np.empty((len(self.keys), len(columns)))
        with np.errstate(over="ignore"):  # a sum past the largest float is inf, as in Python
            for c, column in enumerate(columns):
                taken, total, at = column[self.steps], np.zeros(len(self.keys)), 0
                for count in self.runs:
                    total[:count] += taken[at:at + count]  # one float addition per group
                    at += count
                totals[:, c] = total[self.place]
        return totals


def _sums(rows: pl.DataFrame, values: Mapping[str, pl.Expr], by: str = _GROUP
          ) -> pl.DataFrame:
    """Per group ``by`` of ``rows`` (ascending): for each name of ``values``, the sum of
    that float expression over the group's rows in row order (:meth:`_Groups.sums`)."""
    masked = rows.select(by, *(e.alias(name) for name, e in values.items()))
    groups = _Groups(masked[by].to_numpy())
    totals = groups.sums([masked[name].to_numpy() for name in values])
    return pl.DataFrame({by: pl.Series(groups.keys, dtype=rows.schema[by]),
                         **{name: totals[:, k] for k, name in enumerate(values)}})


def _bars(stats: pl.DataFrame, rule: OutlierRule) -> np.ndarray[Any, Any]:
    """Per row of ``stats`` (a user's category): its outlier bar (``rule.bar`` of its
    baseline; a thinner baseline than ``rule.min_history`` has none, not asked), NaN for
    none (a bar of finite figures is never NaN, and no amount is above NaN)."""
    bars = np.full(stats.height, np.nan)
    asked = np.flatnonzero(stats["base_n"].to_numpy() >= rule.min_history)
    for at, n, med, mad in zip(asked.tolist(), stats["base_n"].gather(asked).to_list(),
                               stats["median"].gather(asked).to_list(),
                               stats["mad"].gather(asked).to_list(), strict=True):
        if (bar := rule.bar(Baseline(n, med, mad))) is not None:
            bars[at] = bar
    return bars


def _category_stats(stats: pl.DataFrame) -> dict[int, dict[str, CategoryStats]]:
    """Per user ``i``: their :class:`CategoryStats` by category, in order of first expense
    (as ``build_financial`` fills its dict). The month's sum of no expense is Python's 0."""
    if not stats["i"].is_sorted():  # a batch's expenses come by user: already so
        stats = stats.sort("i", maintain_order=True)  # each user's rows together
    keys = stats["key"].to_list()
    month = [s if n else 0 for s, n in zip(stats["month_s"].to_list(),
                                           stats["month_n"].to_list(), strict=True)]
    objects = instances(CategoryStats, [
        keys, stats["base_n"].to_list(), stats["median"].to_list(), stats["mad"].to_list(),
        list(map(round, stats["s30"].to_list(), repeat(2))), stats["n30"].to_list(), month,
        list(zip(stats["p0"].to_list(), stats["p1"].to_list(), stats["p2"].to_list(),
                 strict=True))])
    return {i: dict(pairs) for i, pairs in per_user(
        stats["i"].to_numpy(), list(zip(keys, objects, strict=True))).items()}


def _recent(kept: pl.DataFrame, scheduled: pl.DataFrame) -> dict[int, tuple[Expense, ...]]:
    """Per user ``i``: the last 7 days' expenses, sorted by day then id, each marked
    ``scheduled`` when a scheduled payment has its category, day and amount (as
    ``schedule_effects`` marks them)."""
    paid = (scheduled.lazy().select("i", "key", "day", "amount").unique()
            .with_columns(scheduled=pl.lit(True)))
    rows = (kept.lazy().filter(pl.col("expense_id").is_not_null())
            .select("i", "expense_id", "key", "amount", day=pl.col("day0") + _offset)
            .join(paid, on=["i", "key", "day", "amount"], how="left", maintain_order="left")
            .sort("i", "day", "expense_id", maintain_order=True)
            .with_columns(pl.col("scheduled").fill_null(False),
                          spent_on=(pl.col("day") - _EPOCH).cast(pl.Date()))).collect()
    made = instances(Expense, [rows[c].to_list() for c in (
        "expense_id", "key", "amount", "spent_on", "scheduled")])
    return per_user(rows["i"].to_list(), made)


# Per user and category, for each period (week, month, year): its ``total`` spent, the
# ``outliers`` part of it (outliers that are not scheduled payments), its ``scheduled``
# payments, each with a flag ``*_float``: False where ``build_financial`` has Python's
# integer 0 (an empty sum, or one above no bar), which only a budget's total can show.
_PARTS = ("total", "outliers", "scheduled")


def _parts(kept: pl.DataFrame, groups: _Groups, stats: pl.DataFrame,
           bars: np.ndarray[Any, Any], scheduled: pl.DataFrame) -> pl.DataFrame:
    """``build_financial``'s ``period_spent`` (but the dues, see :func:`_dues`) of every
    user's category, one row per category in ``stats`` order (``groups``' order, ``bars``
    aligned with it): ``i``, ``key``, then per period k (0 week, 1 month, 2 year) and part
    ``total_k``, ``outliers_k``, ``scheduled_k`` and their ``*_float`` flags; ``month_n``.

    numpy over ``kept``'s rows: a sum over some rows in row order is the masked sum over
    all of them (adding 0.0 to a sum of positive amounts leaves it unchanged), and a group
    with none of them has the count 0 and the sum 0.0 the oracle's empty lists give."""
    amounts = kept["amount"].to_numpy()
    # Above its category's bar (none without one), and a scheduled payment (the rows of
    # ``scheduled``, by their expense's row ``r``: ``kept`` is in ``r`` order).
    over = amounts > bars[groups.code]
    paid = np.zeros(kept.height, dtype=bool)
    paid[np.searchsorted(kept["r"].to_numpy(), scheduled["r"].to_numpy())] = True
    masks: dict[str, np.ndarray[Any, Any]] = {}
    for k, p in enumerate(("week", "month", "year")):
        flag = kept[p].to_numpy()
        masks |= {f"big{k}": flag & over, f"reg{k}": flag & paid,
                  f"rab{k}": flag & paid & over}
    sums = groups.sums([np.where(m, amounts, 0.0) for m in masks.values()])
    joined = stats.lazy().select(
        "i", "key", "week_n", "week_s", "month_n", "month_s", "year_n", "year_s",
        pl.Series("bar", bars, nan_to_null=True),
        # A category with a scheduled payment (in any period) has its lists.
        pl.Series("paid", groups.count(paid) > 0),
        *(pl.Series(f"{name[:-1]}_n{name[-1]}", groups.count(m))
          for name, m in masks.items()),
        *(pl.Series(f"{name[:-1]}_s{name[-1]}", sums[:, c])
          for c, name in enumerate(masks)))
    has_bar, paid_any = pl.col("bar").is_not_null(), pl.col("paid")
    columns: list[pl.Expr] = []
    for k, (n, s) in enumerate((("week_n", "week_s"), ("month_n", "month_s"),
                                ("year_n", "year_s"))):
        big_n, reg_n, rab_n = pl.col(f"big_n{k}"), pl.col(f"reg_n{k}"), pl.col(f"rab_n{k}")
        # above(every expense of the period, bar) and above(its scheduled ones, bar), as
        # analysis.outliers.above sums them: 0.0 without a bar or an expense, 0 when none
        # is above the bar.
        count = pl.col(n)
        every = pl.when(has_bar & (count > 0) & (big_n > 0)).then(f"big_s{k}").otherwise(0.0)
        every_float = ~has_bar | (count == 0) | (big_n > 0)
        within = pl.when(has_bar & (reg_n > 0) & (rab_n > 0)).then(f"rab_s{k}").otherwise(0.0)
        within_float = ~has_bar | (reg_n == 0) | (rab_n > 0)
        columns += [
            pl.col(s).alias(f"total_{k}"),
            # An empty week's or month's sum is 0; the year's is a running 0.0.
            (count > 0 if k < 2 else pl.lit(True)).alias(f"total_float_{k}"),
            # Without a scheduled payment in the category, ``every - 0.0``: a float.
            (every - within).alias(f"outliers_{k}"),
            (~paid_any | every_float | within_float).alias(f"outliers_float_{k}"),
            pl.col(f"reg_s{k}").alias(f"scheduled_{k}"),
            (reg_n > 0).alias(f"scheduled_float_{k}")]
    return joined.select("i", "key", "month_n", *columns).collect()


def _month_spent(parts: pl.DataFrame) -> dict[int, float]:
    """Per user with a category: the month's spending over their categories, summed in
    category order (Python's 0 when no category has an expense this month)."""
    month = (parts.group_by("i").agg(n=(pl.col("month_n") > 0).any())
             .join(_sums(parts, {"s": pl.col("total_1")}, by="i"), on="i"))
    return {i: s if n else 0 for i, s, n in zip(
        month["i"].to_list(), month["s"].to_list(), month["n"].to_list(), strict=True)}


def _checked(budgets: pl.DataFrame, quality: Mapping[int, QualityBuilder]) -> pl.DataFrame:
    """The budgets ``_budget`` keeps (a finite, positive limit, a period the schema defines,
    a category that is None or not blank), in row order, with ``alert``: the alert
    threshold, ``DEFAULT_ALERT_PCT`` when missing or out of (0, 100]; the others counted
    as skipped, and the thresholds defaulted as repaired, by user."""
    limit, pct = pl.col("amount_limit"), pl.col("alert_threshold_pct")
    # Python's str.strip (its own idea of blank), on the few budget categories only.
    blank = [c is not None and not c.strip() for c in budgets["category"].to_list()]
    checked = budgets.with_columns(
        limit_ok=(limit.is_finite() & (limit > 0)).fill_null(False),
        period_ok=pl.col("period").is_in(list(_PERIODS)).fill_null(False),
        blank=pl.Series(blank, dtype=pl.Boolean()),
        pct_ok=(pct.is_finite() & (pct > 0) & (pct <= 100)).fill_null(False))
    reasons = checked.group_by("i").agg(
        limit=(~pl.col("limit_ok")).sum(),
        period=(pl.col("limit_ok") & ~pl.col("period_ok")).sum(),
        category=(pl.col("limit_ok") & pl.col("period_ok") & pl.col("blank")).sum(),
        # A threshold is judged (and defaulted) only on a budget kept that far.
        pct=(pl.col("limit_ok") & pl.col("period_ok") & ~pl.col("blank")
             & pct.is_not_null() & ~pl.col("pct_ok")).sum())
    for i, bad_limit, bad_period, bad_category, bad_pct in reasons.iter_rows():
        q = quality[i]
        q.skip("budget_limit_invalid", bad_limit)
        q.skip("budget_period_invalid", bad_period)
        q.skip("budget_category_invalid", bad_category)
        q.repair("budget_threshold_defaulted", bad_pct)
    return (checked.filter(pl.col("limit_ok") & pl.col("period_ok") & ~pl.col("blank"))
            .select("i", "budget_id", "category", "amount_limit", "period",
                    alert=pl.when("pct_ok").then(pct).otherwise(DEFAULT_ALERT_PCT)))


def _dues(series: pl.DataFrame, budgets: pl.DataFrame, todays: Mapping[int, date]
          ) -> pl.DataFrame:
    """Per user and category a budget counts: the scheduled payments still expected until
    the end of this week, month and year (``due_0`` .. ``due_2``, ``dues_by_category`` of
    the user's series, sorted as ``find_schedules`` sorts them)."""
    schema = {"i": pl.Int32(), "key": pl.String(),
              **{f"due_{k}": pl.Float64() for k in range(3)}}
    if series.is_empty():
        return pl.DataFrame(schema=schema)
    every = budgets.lazy().filter(pl.col("category").is_null()).select("i").unique()
    named = budgets.lazy().filter(pl.col("category").is_not_null()).select(
        "i", key="category").unique()
    wanted = pl.concat([series.lazy().join(every, on="i", how="semi"),
                        series.lazy().join(named, on=["i", "key"], how="semi")])
    ordered = (wanted.unique(subset="r")
               .sort("i", "key", pl.col("days").list.last(), "amount", "r",
                     descending=[False, False, False, False, True])
               .select("i", "key", "cadence", "amount", "days")).collect()
    rows: list[tuple[Any, ...]] = []
    users = ordered["i"].to_list()
    found = [Schedule(key, CADENCES[cadence], amount,
                      tuple(date.fromordinal(d) for d in days))
             for key, cadence, amount, days in zip(
                 ordered["key"].to_list(), ordered["cadence"].to_list(),
                 ordered["amount"].to_list(), ordered["days"].to_list(), strict=True)]
    for i, schedules in per_user(users, found).items():
        today = todays[i]
        ends = [period_bounds(p, today)[1] for p in _PERIODS]
        rows += [(i, key, *due) for key, due in
                 dues_by_category(schedules, today, ends).items()]
    return pl.DataFrame(rows, schema=schema, orient="row")


def _budgets(budgets: pl.DataFrame, parts: pl.DataFrame, dues: pl.DataFrame,
             todays: Mapping[int, date]) -> dict[int, tuple[BudgetStatus, ...]]:
    """Per user ``i``: their budgets kept (see :func:`_checked`), in row order, with the
    sums ``_budget`` takes over the categories it counts (every category of the user for
    a budget without one, in category order), rounded to cents; a sum of nothing but
    Python's integer 0 stays 0, a category with no expense counts 0.0."""
    if budgets.is_empty():
        return {}
    sums = _budget_sums(budgets, parts.join(dues, on=["i", "key"], how="left",
                                            maintain_order="left"))
    users = budgets["i"].to_list()
    periods = budgets["period"].to_list()
    bounds = [period_bounds(p, todays[i]) for i, p in zip(users, periods, strict=True)]
    cents = [[round(v, 2) if f else 0 for v, f in zip(
        values.tolist(), floats.tolist(), strict=True)] for values, floats in sums]
    made = instances(BudgetStatus, [
        list(map(str, budgets["budget_id"].to_list())), budgets["category"].to_list(),
        budgets["amount_limit"].to_list(), periods, [b[0] for b in bounds],
        [b[1] for b in bounds], cents[0], cents[1], budgets["alert"].to_list(), cents[2],
        cents[3]])
    return per_user(users, made)


def _budget_sums(budgets: pl.DataFrame, pieces: pl.DataFrame
                 ) -> list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
    """Per part (``_PARTS`` then the dues) and budget of ``budgets``: the sum ``_budget``
    takes over the categories it counts (``pieces``: ``_parts`` with the dues ``due_k``)
    in the budget's period, and whether it is a float (else Python's 0).

    A budget without a category sums every category of its user in category order: the
    user's sums (:meth:`_Groups.sums` over ``pieces`` grouped by user), a float when one
    of the terms is; none for a user without a category (Python's 0). A budget with a
    category takes that category's figure (0.0 + it: itself), or 0.0 for a category
    without expense (``spent.get(category, [0.0] * 12)``); its dues are always a float."""
    names = [*_PARTS, "due"]
    values = pieces.select(pl.col(f"{p}_{k}").fill_null(0.0) for p in names
                           for k in range(3)).to_numpy()
    floats = np.column_stack([
        pieces.select(f"{p}_float_{k}" for p in _PARTS for k in range(3)).to_numpy(),
        np.ones((pieces.height, 3), dtype=bool)])  # a category's due list: floats
    users = _Groups(pieces["i"].to_numpy())
    # One more row of each, zeros, for a budget without a user's or a category's row.
    user_sums = np.vstack([users.sums(list(values.T)), np.zeros((1, values.shape[1]))])
    user_floats = np.vstack([np.column_stack([users.count(f) > 0 for f in floats.T]),
                             np.zeros((1, floats.shape[1]), dtype=bool)])
    values = np.vstack([values, np.zeros((1, values.shape[1]))])
    floats = np.vstack([floats, np.zeros((1, floats.shape[1]), dtype=bool)])
    # Each budget's column (part, period) and its row: its user's, or its category's.
    period = budgets["period"].replace_strict(
        {p: k for k, p in enumerate(_PERIODS)}, return_dtype=pl.Int64()).to_numpy()
    i = budgets["i"].to_numpy()
    at = np.searchsorted(users.keys, i)
    has_user = users.keys[np.minimum(at, len(users.keys) - 1)] == i if len(users.keys) else (
        np.zeros(len(i), dtype=bool))
    at = np.where(has_user, at, len(users.keys))
    named = budgets["category"].is_not_null().to_numpy()
    row = (budgets.select("i", key="category")
           .join(pieces.select("i", "key").with_row_index("pos"), on=["i", "key"],
                 how="left", maintain_order="left")["pos"]
           .fill_null(pieces.height).to_numpy().astype(np.int64))
    found = row < pieces.height
    out = []
    for c in range(len(names)):
        column = c * 3 + period
        out.append((np.where(named, values[row, column], user_sums[at, column]),
                    np.where(named, ~found | floats[row, column],
                             user_floats[at, column])))
    return out


def _cut(frame: pl.DataFrame, quality: Mapping[int, QualityBuilder]) -> pl.DataFrame:
    """``frame`` with its ``category`` texts cut to ``TEXT_MAX_CHARS`` (``cut_text``), each
    cut counted as repaired (``text_cut``)."""
    long = frame.filter(pl.col("category").str.len_chars() > TEXT_MAX_CHARS)
    if long.is_empty():
        return frame
    for i, n in long.group_by("i").len().iter_rows():
        quality[i].repair("text_cut", n)
    cuts = {text: cut_text(text) for text in long["category"].unique().to_list()}
    return frame.with_columns(pl.col("category").replace(cuts))


def _calendar(people: pl.DataFrame, yearly: set[int]) -> pl.DataFrame:
    """Per user ``i``: the first day of their week, month and year, of the three prior
    months' spans (``prior_month_offsets``) and the first day the schedule finder judges
    (``judged_since``), all as day offsets from their today. Computed once per distinct
    today (a batch has a few)."""
    rows = []
    for today in people["today"].unique().to_list():
        day0 = today.toordinal()
        starts = [period_bounds(p, today)[0].toordinal() - day0 for p in _PERIODS]
        prior = [x for span in prior_month_offsets(today) for x in span]
        rows.append((today, *starts, *prior,
                     judged_since(today, False).toordinal() - day0,
                     judged_since(today, True).toordinal() - day0, day0))
    days = pl.DataFrame(rows, schema=_CALENDAR, orient="row")
    users = people.select("i", "today", yearly=pl.col("i").is_in(list(yearly)))
    return (users.join(days, on="today", how="left", maintain_order="left")
            .with_columns(since=pl.when("yearly").then("since_yearly").otherwise("since"))
            .drop("today", "yearly", "since_yearly"))


def _kept(expenses: pl.DataFrame, calendar: pl.DataFrame,
          quality: Mapping[int, QualityBuilder]) -> pl.DataFrame:
    """The expenses that count (valid, not after today, not a duplicate), in row order
    (``r``), with their user's calendar columns, ``key`` (the category, 'uncategorized'
    for none) and the window flags; the others counted as skipped, by reason."""
    rows = (expenses.lazy().with_row_index("r")
            .with_columns(valid=(_amount.is_finite() & (_amount > 0)).fill_null(False)))
    # A NULL, NaN, infinite, zero or negative amount; then a valid one dated past the
    # far-future bound (one after today but before it is simply not spent yet).
    skipped, candidates = pl.collect_all([
        rows.group_by("i").agg(invalid=(~pl.col("valid")).sum(),
                               far=(pl.col("valid") & (_offset > FAR_FUTURE_DAYS)).sum())
        .filter((pl.col("invalid") > 0) | (pl.col("far") > 0)),
        # A copy has the user, amount and day of another row: only rows sharing this
        # number made of those three with another row can be one (a collision only adds
        # rows to check); one float's hash, far cheaper than the five columns' below.
        rows.filter(pl.col("valid") & (_offset <= 0)).with_columns(
            maybe=(_amount + (pl.col("i") * 4096 + _offset) * 1e7).is_duplicated())])
    for i, invalid, far in skipped.iter_rows():
        quality[i].skip("expense_amount_invalid", invalid)
        quality[i].skip("expense_date_far_future", far)
    candidates = _without_copies(candidates, quality)
    # Each row's user's calendar: a lookup by position ``i`` (no join).
    users = calendar["i"].to_numpy()
    row_of = np.zeros(int(users.max(initial=0)) + 1, dtype=np.int64)
    row_of[users] = np.arange(len(users))
    at = row_of[candidates["i"].to_numpy()]
    days = {name: calendar[name].to_numpy()[at] for name in (
        "since", "day0", "week_from", "month_from", "year_from",
        *(c for span in _PRIOR for c in span))}
    offset = candidates["offset"].to_numpy()
    first_day, last_day = BASELINE_DAYS
    flags = {
        "base": (offset >= first_day) & (offset <= last_day),
        "d30": offset > -SPENT_DAYS,
        "week": offset >= days["week_from"], "month": offset >= days["month_from"],
        "year": offset >= days["year_from"],
        # Prior months are before this month (the oracle's elif).
        **{f"prior{k}": (offset < days["month_from"]) & (offset >= days[lo])
           & (offset <= days[hi]) for k, (lo, hi) in enumerate(_PRIOR)}}
    category = pl.col("category")
    return (candidates.lazy()
            .with_columns(key=pl.when(category.is_null() | (category == ""))
                          .then(pl.lit("uncategorized")).otherwise(category))
            .select(
                "r", "i", "key", "amount", "offset",
                pl.Series("since", days["since"]), pl.Series("day0", days["day0"]),
                "expense_id",
                # The user's category as the row of its first expense (a hash grouping:
                # a rank of the texts would sort them).
                g=pl.col("r").min().over("i", "key").cast(pl.Int64),
                **{name: pl.Series(flag, dtype=pl.Boolean()) for name, flag in flags.items()})
            .collect())


def _without_copies(candidates: pl.DataFrame, quality: Mapping[int, QualityBuilder]
                    ) -> pl.DataFrame:
    """``candidates`` (in ``r`` order) but the duplicates (a row whose ``_DUPLICATE`` key an
    earlier row has), counted as skipped by user; the duplicate rule keeps the first row
    with the lowest id of its copies (rows of one key share their day: all have an id, or
    none). Only the rows flagged ``maybe`` can have a copy: the rule runs on them alone,
    a small part of the batch."""
    maybe = candidates.filter("maybe")
    if maybe.is_empty():
        return candidates.drop("maybe")
    copies = maybe.select(
        "r", "i", first=pl.struct(_DUPLICATE).is_first_distinct(),
        lowest=pl.when(pl.col("expense_id").is_not_null())
        .then(pl.col("expense_id").min().over(_DUPLICATE)))
    for i, n in copies.group_by("i").agg((~pl.col("first")).sum()).iter_rows():
        quality[i].skip("expense_duplicate", n)
    at = pl.Series(np.searchsorted(candidates["r"].to_numpy(), copies["r"].to_numpy()))
    first = pl.Series("first", np.ones(candidates.height, dtype=bool)).scatter(
        at, copies["first"])
    return (candidates.with_columns(candidates["expense_id"].scatter(at, copies["lowest"]))
            .filter(first).drop("maybe"))


def _categories(kept: pl.DataFrame, groups: _Groups) -> pl.DataFrame:
    """Per user and category (in order of first expense, as the oracle's dict): the
    30-day count and sum, the week's, month's and year's sums (with counts where an empty
    sum is Python's 0), the prior months' sums and the baseline count, median and MAD.

    numpy over the rows grouped by ``g`` (``groups``): a category's ``g`` is the row of
    its first expense, so ascending ``g`` is the order of first expense."""
    amounts = kept["amount"].to_numpy()
    flags = {name: kept[name].to_numpy() for name in (
        "d30", "week", "month", "year", "prior0", "prior1", "prior2", "base")}
    sums = groups.sums([np.where(flags[name], amounts, 0.0) for name in (
        "d30", "week", "month", "year", "prior0", "prior1", "prior2")])
    first = groups.order[groups.starts]
    base_n, median, mad = _baselines(groups, amounts, flags["base"])
    return pl.DataFrame({
        "i": kept["i"].gather(first), _GROUP: pl.Series(groups.keys, dtype=pl.Int64()),
        "key": kept["key"].gather(first), "n30": groups.count(flags["d30"]),
        "s30": sums[:, 0], "week_n": groups.count(flags["week"]), "week_s": sums[:, 1],
        "month_n": groups.count(flags["month"]), "month_s": sums[:, 2],
        "year_n": groups.count(flags["year"]), "year_s": sums[:, 3], "p0": sums[:, 4],
        "p1": sums[:, 5], "p2": sums[:, 6], "base_n": base_n,
        # A category without a baseline has no median nor MAD (None), and one with a
        # baseline never has NaN (finite amounts).
        "median": pl.Series(median, nan_to_null=True),
        "mad": pl.Series(mad, nan_to_null=True)})


def _middles(code: np.ndarray[Any, Any], values: np.ndarray[Any, Any], groups: int
             ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Per group (``code`` of each value, 0 .. groups - 1): the number of its ``values``
    and ``analysis.outliers._middle`` of them sorted: the middle value, or the two middle
    ones halved and added (that order of operations: the same float); NaN for none."""
    # Polars' sort by two keys: about half numpy's lexsort (a float key is its slow part).
    order = pl.DataFrame({"c": code, "v": values}).select(
        pl.arg_sort_by("c", "v")).to_series().to_numpy()
    n = np.bincount(code, minlength=groups)
    starts = np.cumsum(n) - n
    # One more value past the end: an empty group's indexes (its start - 1 and start, at
    # most the number of values) stay in bounds; its figures are then discarded.
    ordered = np.append(values[order], np.nan)
    low, high = ordered[starts + (n - 1) // 2], ordered[starts + n // 2]
    middle = np.where(n % 2 == 1, low, low / 2 + high / 2)
    return n, np.where(n > 0, middle, np.nan)


def _baselines(groups: _Groups, amounts: np.ndarray[Any, Any], base: np.ndarray[Any, Any]
               ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """``analysis.outliers.baseline_of`` per group: count, median and MAD of the amounts
    (all finite here) of its rows in the baseline window (``base``); NaN for none."""
    code, values = groups.code[base], amounts[base]
    n, median = _middles(code, values, len(groups.keys))
    _, mad = _middles(code, np.abs(values - median[code]), len(groups.keys))
    return n, median, mad
