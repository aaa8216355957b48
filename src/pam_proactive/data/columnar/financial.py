"""The financial section of a batch's contexts: category statistics, budgets in their current
period, recurring payments and the last 7 days' expenses (pure).

The rules are those of ``data/assemble.build_financial`` (the oracle), applied to the whole
batch's expenses at once: the skips (invalid amount, far future, duplicate), the per-category
windows, baseline median and MAD, period sums, outliers and the schedule finder (see
:mod:`.recurring`) are Polars expressions; only the dues of the series found
(``assemble.schedule_effects``), the budgets (``assemble._budget``) and the objects
themselves are built per user, in one pass over the results.

Sums are taken in the oracle's order (row order, one after the other: a cumulative sum's last
value), so every figure, rounded or not, is the oracle's; an empty sum is the integer 0 as
Python's ``sum`` gives it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

import polars as pl

from pam_proactive.analysis.bounds import TEXT_MAX_CHARS, cut_text
from pam_proactive.analysis.outliers import Baseline, OutlierRule, above
from pam_proactive.analysis.schedules import CADENCES, Payment, Schedule, ScheduleView
from pam_proactive.context import CategoryStats, Expense, FinancialContext, QualityBuilder
from pam_proactive.data.assemble import (
    BASELINE_DAYS,
    FAR_FUTURE_DAYS,
    SPENT_DAYS,
    _budget,
    judged_since,
    period_bounds,
    prior_month_offsets,
    schedule_effects,
)
from pam_proactive.data.columnar.frames import BatchFrames
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
_NOTHING_ABOVE = (0, 0.0, 0, 0.0, 0, 0.0)  # week, month, year: (count, sum) above the bar
_NONE_DUE = (0.0, 0.0, 0.0)


def financial_section(frames: BatchFrames, rule: OutlierRule,
                      quality: Mapping[int, QualityBuilder]) -> dict[int, FinancialContext]:
    """Every batch user's :class:`FinancialContext`, by position ``i``; rows skipped or
    repaired are counted in the user's ``quality``."""
    yearly = set(frames.budgets.filter(pl.col("period") == "yearly")["i"].to_list())
    expenses = _cut(frames.expenses, quality)
    budgets = _cut(frames.budgets, quality)
    kept = _kept(expenses, _calendar(frames.people, yearly), quality)
    stats = _categories(kept)
    bars = {g: bar for g, n, med, mad in
            stats.filter(pl.col("base_n") > 0).select("g", "base_n", "median", "mad").iter_rows()
            if (bar := rule.bar(Baseline(n, med, mad))) is not None}
    over = _outliers(kept, bars)
    recent = _by_user(kept.filter(pl.col("expense_id").is_not_null())
                      .select("i", "expense_id", "key", "amount", "offset"))
    scheduled, series = batch_schedules(schedule_core(kept))
    paid = _by_user(scheduled.select("i", "key", "amount", "day"))
    found = _by_user(series.select("i", "key", "cadence", "amount", "r", "days"))
    by_category = _by_user(stats)
    budget_rows = _by_user(budgets)
    out = {}
    for i, today in frames.people.select("i", "today").iter_rows():
        out[i] = _context(today, by_category.get(i, ()), recent.get(i, ()),
                          _view(paid.get(i, ()), found.get(i, ())), budget_rows.get(i, ()),
                          bars, over, quality[i])
    return out


def _view(paid: Sequence[tuple[Any, ...]], found: Sequence[tuple[Any, ...]]
          ) -> tuple[list[Payment], ScheduleView] | None:
    """One user's scheduled payments and the finder's view of them (its series sorted as
    ``find_schedules`` sorts them: by category, last day and amount, then latest first);
    None when nothing fits a schedule."""
    if not paid:
        return None
    payments = [Payment(key, amount, date.fromordinal(day)) for _i, key, amount, day in paid]
    series = sorted(found, key=lambda s: (s[1], s[5][-1], s[3], -s[4]))
    return payments, ScheduleView(frozenset(range(len(payments))), tuple(
        Schedule(key, CADENCES[cadence], amount, tuple(date.fromordinal(d) for d in days))
        for _i, key, cadence, amount, _r, days in series))


def _context(today: date, categories: Any, recent_rows: Any,
             view: tuple[list[Payment], ScheduleView] | None, budget_rows: Any,
             bars: Mapping[int, float], over: Mapping[int, tuple[Any, ...]],
             quality: QualityBuilder) -> FinancialContext:
    """One user's context from their rows of the batch results (as ``build_financial``
    puts it together)."""
    day0 = today.toordinal()
    recent = [Expense(eid, key, amount, date.fromordinal(day0 + offset))
              for _i, eid, key, amount, offset in recent_rows]
    paid_by: dict[str, tuple[list[float], list[float], list[float]]] = {}
    due: Mapping[str, tuple[float, ...]] = {}
    if view is not None:
        scheduled, due = schedule_effects(view[1], view[0], recent, today)
        paid_by = scheduled.amounts
        if scheduled.recent:
            recent = [replace(e, scheduled=True) if k in scheduled.recent else e
                      for k, e in enumerate(recent)]
    stats: dict[str, CategoryStats] = {}
    # category -> [week, month, year, outliers week, month, year, scheduled week, month,
    #              year, still due week, month, year], as build_financial's period_spent
    period_spent: dict[str, list[float]] = {}
    for (_i, g, key, n30, s30, week_n, week_s, month_n, month_s, year_n, year_s, p0, p1, p2,
         base_n, median, mad) in categories:
        week_sum, month_sum = week_s if week_n else 0, month_s if month_n else 0
        stats[key] = CategoryStats(
            category=key, baseline_count=base_n, baseline_median=median, baseline_mad=mad,
            spent_30d=round(s30, 2), count_30d=n30, spent_month=month_sum,
            prior_months=(p0, p1, p2))
        bar = bars.get(g)
        if bar is None:
            every = [0.0, 0.0, 0.0]
        else:
            # above(every expense of the period, bar), as analysis.outliers.above sums it.
            big = over.get(g, _NOTHING_ABOVE)
            every = [0.0 if not n else (big[2 * k + 1] if big[2 * k] else 0)
                     for k, n in enumerate((week_n, month_n, year_n))]
        paid = paid_by.get(key)
        if paid is None:  # above([], bar) is 0.0 and sum([]) is 0, as the oracle has them
            period_spent[key] = [week_sum, month_sum, year_s, every[0] - 0.0,
                                 every[1] - 0.0, every[2] - 0.0, 0, 0, 0,
                                 *due.get(key, _NONE_DUE)]
            continue
        period_spent[key] = [
            week_sum, month_sum, year_s,
            *(e - above(regular, bar) for e, regular in zip(every, paid, strict=True)),
            *(sum(regular) for regular in paid),
            *due.get(key, _NONE_DUE)]
    recent.sort(key=lambda e: (e.spent_on, e.expense_id))
    budgets = tuple(b for b in (_budget(row, today, period_spent, quality)
                                for row in budget_rows) if b)
    month_spent = sum(v[1] for v in period_spent.values())
    return FinancialContext(month_spent, budgets, stats, tuple(recent))


def _by_user(frame: pl.DataFrame) -> dict[int, list[tuple[Any, ...]]]:
    """The frame's rows (tuples in column order; ``i`` first) by ``i``, keeping order."""
    grouped: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in zip(*(frame[c].to_list() for c in frame.columns), strict=True):
        grouped[row[0]].append(row)
    return grouped


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
    rows = (expenses.with_row_index("r")
            .with_columns(valid=(_amount.is_finite() & (_amount > 0)).fill_null(False)))
    # A NULL, NaN, infinite, zero or negative amount; then a valid one dated past the
    # far-future bound (one after today but before it is simply not spent yet).
    skipped = rows.group_by("i").agg(
        invalid=(~pl.col("valid")).sum(),
        far=(pl.col("valid") & (_offset > FAR_FUTURE_DAYS)).sum())
    candidates = rows.filter(pl.col("valid") & (_offset <= 0)).with_columns(
        first=pl.struct(_DUPLICATE).is_first_distinct())
    duplicates = candidates.group_by("i").agg(duplicate=(~pl.col("first")).sum())
    if duplicates["duplicate"].sum():
        # The duplicate rule keeps the first row with the lowest id of its copies (rows of
        # one key share their day: all have an id, or none).
        candidates = candidates.with_columns(
            expense_id=pl.when(pl.col("expense_id").is_not_null())
            .then(pl.col("expense_id").min().over(_DUPLICATE)))
    for i, invalid, far in skipped.iter_rows():
        quality[i].skip("expense_amount_invalid", invalid)
        quality[i].skip("expense_date_far_future", far)
    for i, n in duplicates.iter_rows():
        quality[i].skip("expense_duplicate", n)
    category = pl.col("category")
    first_day, last_day = BASELINE_DAYS
    kept = candidates.filter("first")
    # ``calendar`` has one row per user in batch order: the user at position i is row i - 1.
    at = kept["i"].cast(pl.Int64) - 1
    kept = kept.with_columns(*calendar.drop("i")[at].get_columns(), key=pl.when(
        category.is_null() | (category == "")).then(pl.lit("uncategorized")).otherwise(category))
    return (kept
            .select(
                "r", "i", "key", "amount", "offset", "since", "day0", "expense_id",
                g=pl.col("i").cast(pl.Int64) * (kept.height + 1)
                + pl.col("key").rank("dense").cast(pl.Int64),
                base=_offset.is_between(first_day, last_day),
                d30=_offset > -SPENT_DAYS,
                week=_offset >= pl.col("week_from"),
                month=_offset >= pl.col("month_from"),
                year=_offset >= pl.col("year_from"),
                # Prior months are before this month (the oracle's elif).
                **{f"prior{k}": (_offset < pl.col("month_from"))
                   & _offset.is_between(pl.col(lo), pl.col(hi))
                   for k, (lo, hi) in enumerate(_PRIOR)}))


def _running(flag: str) -> pl.Expr:
    """Sum of the amounts where ``flag``, added one after the other in row order (the last
    value of a cumulative sum: a plain sum may add in another order). Adding 0.0 leaves a
    sum unchanged, so the masked rows do not change it."""
    return pl.when(flag).then(_amount).otherwise(0.0).cum_sum().last()


def _categories(kept: pl.DataFrame) -> pl.DataFrame:
    """Per user and category (in order of first expense, as the oracle's dict): the
    30-day count and sum, the week's, month's and year's sums (with counts where an empty
    sum is Python's 0), the prior months' sums and the baseline count, median and MAD."""
    flag = pl.col
    stats = kept.group_by(_GROUP, maintain_order=True).agg(
        pl.col("i").first(), pl.col("key").first(),
        n30=flag("d30").sum(), s30=_running("d30"),
        week_n=flag("week").sum(), week_s=_running("week"),
        month_n=flag("month").sum(), month_s=_running("month"),
        year_n=flag("year").sum(), year_s=_running("year"),
        p0=_running("prior0"), p1=_running("prior1"), p2=_running("prior2"))
    base = _baselines(kept.filter("base").select(_GROUP, "amount"))
    return (stats.join(base, on=_GROUP, how="left", maintain_order="left")
            .with_columns(pl.col("base_n").fill_null(0))
            .select("i", "g", *(c for c in stats.columns if c not in ("i", "g")),
                    "base_n", "median", "mad"))


def _middle(column: str) -> pl.Expr:
    """``analysis.outliers._middle`` of a group's ``column``, its rows sorted by it: the
    middle value, or the two middle ones halved and added (that order of operations: the
    same float)."""
    n = pl.len()
    low, high = pl.col(column).get((n - 1) // 2), pl.col(column).get(n // 2)
    return pl.when(n % 2 == 1).then(low).otherwise(low / 2 + high / 2)


def _baselines(base: pl.DataFrame) -> pl.DataFrame:
    """``analysis.outliers.baseline_of`` per user and category: count, median and MAD of
    the baseline window's amounts (all finite here)."""
    medians = (base.sort(_GROUP, "amount").group_by(_GROUP, maintain_order=True)
               .agg(base_n=pl.len().cast(pl.Int64), median=_middle("amount")))
    mads = (base.join(medians, on=_GROUP)
            .select(_GROUP, deviation=(_amount - pl.col("median")).abs())
            .sort(_GROUP, "deviation").group_by(_GROUP, maintain_order=True)
            .agg(mad=_middle("deviation")))
    return medians.join(mads, on=_GROUP)


def _outliers(kept: pl.DataFrame, bars: Mapping[int, float]) -> dict[int, tuple[Any, ...]]:
    """Per user and category with an outlier bar: how many of the week's, month's and
    year's expenses are above it, and their sum (in row order), as ``analysis.outliers.above``
    takes them."""
    if not bars:
        return {}
    bar = pl.DataFrame({"g": pl.Series(list(bars), dtype=pl.Int64()),
                        "bar": pl.Series(list(bars.values()), dtype=pl.Float64())})
    big = (kept.join(bar, on=_GROUP, how="inner", maintain_order="left")
           .filter(_amount > pl.col("bar"))
           .group_by(_GROUP, maintain_order=True)
           .agg(*(e for p in ("week", "month", "year")
                  for e in (pl.col(p).sum().alias(f"{p}_n"), _running(p).alias(f"{p}_s")))))
    return {g: tuple(rest) for g, *rest in big.iter_rows()}
