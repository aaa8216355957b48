"""The financial section of a batch's contexts: category statistics, budgets in their current
period, recurring payments and the last 7 days' expenses (pure).

The rules are those of the per-object ``build_financial`` (the tests' oracle,
``tests/oracle/per_object.py``; its ``_budget``, ``schedule_effects``), applied to the whole
batch's expenses at once: the skips (invalid amount, far future, duplicate), the per-category
windows, baseline median and MAD, period sums, outliers, the schedule finder (see
:mod:`.recurring`), the scheduled payments' effects, the budgets' checks and sums are numpy
arrays over the batch's columns, each taken out of its frame once. No Polars query runs
here: a query costs a fixed ~0.2 ms however few its rows, which made one traveler's section
cost as much as a few hundred travelers'; a numpy operation costs microseconds on a few rows
and is array-level on a batch. Texts become integer codes by pyarrow's dictionary encoding
(exact, a few microseconds). Python only runs what is per value anyway: the outlier rule's
``bar`` per category, ``dues_by_category`` per user and budgeted category with a schedule,
the duplicate rule on the few rows that can be copies, the final rounding to cents
(Python's ``round``: half-even on the exact binary value) and the objects, made a column at
a time (:func:`.objects.instances`).

Sums are taken in the oracle's order (row order, one after the other, see
:meth:`_Groups.sums`), so every figure, rounded or not, is the oracle's; an empty sum is the
integer 0 as Python's ``sum`` gives it (tracked by float flags where a budget can show it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
import pyarrow.compute as pc

from pam_proactive.analysis.bounds import TEXT_MAX_CHARS, cut_text
from pam_proactive.analysis.outliers import OutlierRule
from pam_proactive.analysis.schedules import CADENCES, due_counts
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
from pam_proactive.data.columnar.cents import round_cents
from pam_proactive.data.columnar.columns import Column, Frame
from pam_proactive.data.columnar.frames import BatchFrames
from pam_proactive.data.columnar.objects import instances, per_user
from pam_proactive.data.columnar.recurring import Found, batch_schedules, schedule_core
from pam_proactive.data.columnar.sorting import among, stable_order

Array = np.ndarray[Any, Any]

_PERIODS = ("weekly", "monthly", "yearly")
_UNCATEGORIZED = "uncategorized"  # the key of an expense without a category
# The window flags of a kept expense (see :func:`_kept`), in this order.
_WINDOWS = ("d30", "week", "month", "year", "prior0", "prior1", "prior2", "base")
_W = len(_WINDOWS)
_BASE = _WINDOWS.index("base")
# Column 3 * period + kind of a period's flags (see :func:`_parts`): its window, its kind.
_PERIOD_WINDOWS = np.repeat([_WINDOWS.index(w) for w in ("week", "month", "year")], 3)
_PERIOD_KINDS = np.tile(np.arange(3), 3)
# Per user and category, for each period (week, month, year): its ``total`` spent, the
# ``outliers`` part of it (outliers that are not scheduled payments), its ``scheduled``
# payments and the scheduled payments still ``due``: column ``part * 3 + period`` of
# :class:`_Parts`, with a float flag each (False where ``build_financial`` has Python's
# integer 0: an empty sum, or one above no bar, which only a budget's total can show).
_PARTS = ("total", "outliers", "scheduled", "due")
_PART_COLUMNS = np.arange(len(_PARTS))[:, None] * 3  # each part's first column
_ZEROS = np.zeros((1, 12))  # a row of figures of nothing
_TRUES = np.ones((1, 12), dtype=bool)
_NAN = np.full(1, np.nan)
_MANY_IDS = 256  # recent ids from which pyarrow sorts them faster than Python
# Groups times (longest group + 1) up to which rows are summed along a grid (one numpy
# sum over its lines, where the k-th rows' steps cost an addition per row of the longest
# group). Measured, a group init and two sums of 7 and 4 columns: one traveler's 88 cells
# 19 vs 37 us (a group of 200 rows: 26 vs 154 us), 2,400 cells 53 vs 74 us, 5,120 cells
# 91 vs 105 us, 10,240 cells 170 vs 155 us.
_GRID_CELLS = 4096
_MANY_ROWS = 2048  # kept expenses from which only the rows a sum needs are grouped
_SHORT_TEXTS = 256  # rows under which a text column is encoded by a dict (see _codes)
_LONG_COLUMN = 4096  # rows from which a few values are gathered, not the column listed


def financial_section(frames: BatchFrames, rule: OutlierRule,
                      quality: Mapping[int, QualityBuilder]) -> dict[int, FinancialContext]:
    """Every batch user's :class:`FinancialContext`, by position ``i``; rows skipped or
    repaired are counted in the user's ``quality``."""
    users = frames.people.get_column("i").to_list()
    todays = dict(zip(users, frames.people.get_column("today").to_list(), strict=True))
    texts = _expense_texts(frames.expenses, quality)
    budgets = _checked(frames.budgets, quality)
    kept = _kept(frames.expenses, texts, _calendar(todays, budgets.yearly), quality)
    groups = _Groups(kept.i * texts.width + kept.key)
    stats = _categories(kept, groups)
    found = batch_schedules(schedule_core(groups.code, kept.amount, kept.day,
                                          kept.offset >= kept.since))
    parts = _parts(kept, groups, stats, _bars(stats, rule), found)
    _dues(parts, kept, texts, found, budgets, todays)
    sums = _UserSums(parts)
    categories = _category_stats(parts, stats, texts.keys)
    recent = _recent(frames.expenses, kept, texts.keys, found)
    months = {i: s if f else 0 for i, s, f in zip(
        sums.users.tolist(), sums.values[:-1, 1].tolist(), sums.floats[:-1, 1].tolist(),
        strict=True)}
    made = _budgets(budgets, parts, sums, texts, todays)
    return dict(zip(users, instances(FinancialContext, [
        [months.get(i, 0) for i in users], [made.get(i, ()) for i in users],
        [categories.get(i, {}) for i in users], [recent.get(i, ()) for i in users]]),
        strict=True))


class _Groups:
    """Rows grouped by an integer key (ascending), found once and reused: ``order`` puts
    each group's rows together in row order, ``starts`` delimits them there, ``keys`` holds
    each group's key, ``code`` each row's group (0 .. groups - 1)."""

    def __init__(self, keys: Array) -> None:
        self.order = order = stable_order(keys)
        ordered = keys[order]
        new = np.empty(len(order), dtype=bool)
        new[:1] = True
        np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
        self.starts = starts = new.nonzero()[0]
        self.keys = ordered[starts]
        rank = new.cumsum() - 1  # each ordered row's group
        self.code = code = np.empty(len(order), dtype=np.int64)
        code[order] = rank
        sizes = np.bincount(rank, minlength=len(starts))
        longest = int(sizes.max(initial=0))
        self.grid: Array | None = None
        if len(starts) * (longest + 1) <= _GRID_CELLS:
            # Few groups of few rows (one traveler's): a grid, a group per column, its rows
            # in row order from line 1 on; line 0 and past a group's end: row
            # ``len(order)``, past the last (zeros, see :meth:`sums`).
            k = np.arange(-1, longest)[:, None]
            place = np.minimum(starts + k, max(len(order) - 1, 0))
            self.grid = np.where((k >= 0) & (k < sizes), order[place], len(order))
            return
        # The k-th rows of every group, k = 0, 1, ..., each run with the groups in order
        # of size (largest first, so the groups having a k-th row are the first ones):
        # ``steps`` rows of ``order`` and each run's length.
        by_size = stable_order(longest - sizes)
        self.place = place = np.empty(len(starts), dtype=np.int64)
        place[by_size] = np.arange(len(starts))
        first = starts[by_size]
        self.runs = (-sizes[by_size]).searchsorted(-np.arange(1, longest + 1),
                                                   side="right").tolist()
        self.steps = order[np.concatenate(
            [first[:count] + k for k, count in enumerate(self.runs)])] if self.runs else (
            np.zeros(0, dtype=np.int64))

    def count(self, flags: Array) -> Array:
        """Per group: how many of its rows have ``flags`` (booleans in row order; a matrix,
        a column per flag, gives a matrix)."""
        if flags.ndim == 1:
            return np.bincount(self.code, weights=flags, minlength=len(self.keys)).astype(
                np.int64)
        if len(flags) >= _MANY_ROWS:
            # A column at a time: a batch's 100,000 rows, 4 columns: 0.9 ms, where the
            # rows gathered in group order and added cost 1.6 ms.
            counts = np.empty((len(self.keys), flags.shape[1]), dtype=np.int64)
            for c in range(flags.shape[1]):
                counts[:, c] = np.bincount(self.code, weights=flags[:, c],
                                           minlength=len(self.keys))
            return counts
        if not len(self.keys):
            return np.zeros((0, flags.shape[1]), dtype=np.int64)
        # Few rows (one traveler's 50: 2.6 us, against 6.4 us a column at a time).
        return np.add.reduceat(flags.take(self.order, axis=0).astype(np.int64), self.starts,
                               axis=0)

    def sums(self, values: Array) -> Array:
        """Per group (rows) and column of ``values`` (a row per row, in row order, a column
        per figure): the sum of the group's values added one after the other in row order
        from 0.0, as Python's ``sum`` and ``+=`` add them (Polars' ``sum`` and numpy's add
        pairwise: another float).

        Few groups of few rows (:data:`_GRID_CELLS`): the grid's values (zeros for none)
        added line by line, from the zeros of line 0 (adding 0.0 leaves a sum of amounts
        as it is). numpy adds the terms of a sum along an axis one after the other into
        the result unless that axis is the array's fast one in memory (its documentation
        of ``sum``: only there does it add pairwise), which the lines are but for one
        group and one column: those take a running sum (``cumsum``: one term after the
        other, ~3 ns a term where the sum adds a line of a few groups' columns at once:
        one traveler's 16 columns, 8 groups and 21 lines: 1.3 against 7.7 us).
        Otherwise vectorised across groups and columns: the k-th rows of every group are
        added at once, for k = 0, 1, ... (a group holds a few dozen rows), every column in
        the same operation. Rows taken in that order make each step's terms one contiguous
        block (a block of the totals too): about half the time of a column-major layout."""
        if self.grid is not None:
            padded = np.concatenate((values, np.zeros((1, values.shape[1]))))
            taken = padded.take(self.grid, axis=0)  # line, group, column
            with np.errstate(over="ignore"):  # a sum past the largest float is inf
                summed: Array = (np.add.reduce(taken, axis=0)
                                 if taken.shape[1] * taken.shape[2] > 1
                                 else taken.cumsum(axis=0)[-1])
            return summed
        taken = values.take(self.steps, axis=0)
        total, at = np.zeros((len(self.keys), values.shape[1])), 0
        with np.errstate(over="ignore"):  # a sum past the largest float is inf, as in Python
            for count in self.runs:
                total[:count] += taken[at:at + count]  # one addition per group
                at += count
        result: Array = total[self.place]
        return result


def _codes(column: Column) -> tuple[Array, list[Any]]:
    """A text column as integer codes into its distinct values in order of first
    appearance (-1 for NULL), and those values: pyarrow's dictionary encoding (exact), or
    for a short column the same codes from a Python dict, which skips pyarrow's fixed cost
    (measured: 5 rows 1.4 vs 10 us, 50 rows 5 vs 18 us, 500 rows 61 vs 39 us)."""
    if len(column) < _SHORT_TEXTS:
        index: dict[Any, int] = {}
        codes = [-1 if v is None else index.setdefault(v, len(index))
                 for v in column.to_list()]
        return np.array(codes, dtype=np.int64), list(index)
    encoded = pc.dictionary_encode(column.to_arrow())
    indices = encoded.indices
    if indices.null_count:  # as floats, NULL a NaN: -1
        codes = np.nan_to_num(indices.to_numpy(zero_copy_only=False), nan=-1)
    else:
        codes = indices.to_numpy()
    return codes.astype(np.int64), encoded.dictionary.to_pylist()


def _values_at(column: Column, rows: Array) -> list[Any]:
    """The values of ``column`` at ``rows`` (positions), as Python objects: a short column
    (one traveler's) is listed whole, a long one (a batch's) gathered first, since listing
    all of its texts costs milliseconds."""
    if len(column) < _LONG_COLUMN:
        values = column.to_list()
        return [values[r] for r in rows.tolist()]
    return column.gather(rows).to_list()


def _by_user(i: Array) -> Iterator[tuple[int, int]]:
    """Each user ``i`` among ``i`` (a user per flagged row) and how many rows they have."""
    if not len(i):  # the common case: nothing to count
        return iter(())
    users, counts = np.unique(i, return_counts=True)
    return zip(users.tolist(), counts.tolist(), strict=True)


def _cut_codes(i: Array, codes: Array, texts: list[Any],
               quality: Mapping[int, QualityBuilder]) -> tuple[Array, list[Any]]:
    """``codes`` into ``texts`` (see :func:`_codes`) with the texts cut to
    ``TEXT_MAX_CHARS`` (``cut_text``), each row's cut counted as repaired (``text_cut``) for
    its user ``i``; texts equal once cut share a code."""
    long = [len(t) > TEXT_MAX_CHARS for t in texts]
    if not any(long):
        return codes, texts
    rows = (codes >= 0) & np.append(np.array(long, dtype=bool), False)[codes]
    for i_, n in _by_user(i[rows]):
        quality[i_].repair("text_cut", n)
    index: dict[str, int] = {}
    remap = [index.setdefault(cut_text(t), len(index)) for t in texts]
    return np.append(np.array(remap, dtype=np.int64), -1)[codes], list(index)


class _Texts(NamedTuple):
    """The expenses' categories as codes: ``name`` per row (the category once cut, -1 for
    NULL: the duplicate rule's), ``key`` per row (``keys`` index: 'uncategorized' for a
    NULL or empty category, as ``build_financial`` keys it), ``codes``: each key's code,
    and ``width`` (> every key code: a user and key make ``i * width + key``)."""

    name: Array
    key: Array
    keys: list[str]
    codes: dict[str, int]
    width: int


def _expense_texts(expenses: Frame, quality: Mapping[int, QualityBuilder]) -> _Texts:
    """The :class:`_Texts` of ``expenses``, their long categories counted as cut."""
    codes, names = _codes(expenses.get_column("category"))
    name, names = _cut_codes(expenses.get_column("i").to_numpy(), codes, names, quality)
    index: dict[str, int] = {}
    of_name = [index.setdefault(n or _UNCATEGORIZED, len(index)) for n in names]
    of_name.append(index.setdefault(_UNCATEGORIZED, len(index)))  # NULL: code -1
    return _Texts(name, np.array(of_name, dtype=np.int64)[name], list(index), index,
                  max(len(index), 1))


class _Budgets(NamedTuple):
    """The budgets ``_budget`` keeps, in row order: user ``i``, ``budget_id``, ``category``
    (cut; None for every category), ``limit``, ``period`` (its name and its index ``k``
    in ``_PERIODS``), ``alert``; and ``yearly``: the users with a yearly budget row (kept
    or not, as ``build_financial`` asks)."""

    i: Array
    budget_id: list[str]
    category: list[str | None]
    limit: list[float]
    period: list[str]
    k: Array
    alert: list[float]
    yearly: set[int]


def _checked(budgets: Frame, quality: Mapping[int, QualityBuilder]) -> _Budgets:
    """The budgets ``_budget`` keeps (a finite, positive limit, a period the schema defines,
    a category that is None or not blank), with ``alert``: the alert threshold,
    ``DEFAULT_ALERT_PCT`` when missing or out of (0, 100]; the others counted as skipped,
    and the thresholds defaulted as repaired, by user; long categories cut and counted."""
    i = budgets.get_column("i").to_numpy()
    codes, texts = _codes(budgets.get_column("category"))
    codes, texts = _cut_codes(i, codes, texts, quality)
    periods, period_names = _codes(budgets.get_column("period"))
    k = np.array([_PERIODS.index(p) if p in _PERIODS else -1 for p in period_names] + [-1],
                 dtype=np.int64)[periods]
    yearly = set(i[k == _PERIODS.index("yearly")].tolist())
    limit = budgets.get_column("amount_limit").to_numpy()
    pct_column = budgets.get_column("alert_threshold_pct")
    pct = pct_column.to_numpy()
    with np.errstate(invalid="ignore"):  # NaN (a NULL too) is no valid figure
        limit_ok = np.isfinite(limit) & (limit > 0)
        pct_ok = np.isfinite(pct) & (pct > 0) & (pct <= 100)
    period_ok = k >= 0
    # Python's str.strip (its own idea of blank), on the distinct categories only.
    blank = np.array([not t.strip() for t in texts] + [False], dtype=bool)[codes]
    # A threshold is judged (and defaulted) only on a budget kept that far.
    keep = limit_ok & period_ok & ~blank
    if not keep.all():  # the common case: every budget kept, nothing to count
        for reason, flags in (("budget_limit_invalid", ~limit_ok),
                              ("budget_period_invalid", limit_ok & ~period_ok),
                              ("budget_category_invalid", limit_ok & period_ok & blank)):
            for i_, n in _by_user(i[flags]):
                quality[i_].skip(reason, n)
    defaulted = keep & ~pct_ok
    if pct_column.null_count():  # a missing threshold is defaulted, not repaired
        defaulted &= ~pc.is_null(pct_column.to_arrow()).to_numpy(zero_copy_only=False)
    for i_, n in _by_user(i[defaulted]):
        quality[i_].repair("budget_threshold_defaulted", n)
    rows = keep.nonzero()[0]
    at = rows.tolist()
    ids = budgets.get_column("budget_id").to_list()
    limits, pcts = limit[rows].tolist(), pct[rows].tolist()
    return _Budgets(
        i[rows].astype(np.int64), [ids[r] for r in at],
        [None if c < 0 else texts[c] for c in codes[rows].tolist()], limits,
        [_PERIODS[p] for p in k[rows].tolist()], k[rows],
        [p if ok else DEFAULT_ALERT_PCT for p, ok in zip(pcts, pct_ok[rows].tolist(),
                                                         strict=True)], yearly)


class _Calendar(NamedTuple):
    """Per user (row ``at[i]``): the windows of ``_WINDOWS`` as day offsets from their
    today, ``lo[:, w]`` .. ``hi[:, w]`` (inclusive), the first day the schedule finder
    judges (``judged_since``, an offset too) and that today as an ordinal (``day0``)."""

    at: Array
    lo: Array
    hi: Array
    since: Array
    day0: Array


# ``period_bounds``, remembered: a sweep's budgets and series share a few todays.
_bounds = lru_cache(maxsize=4096)(period_bounds)


@lru_cache(maxsize=4096)
def _calendar_row(today: date, yearly: bool) -> tuple[int, ...]:
    """A user's :class:`_Calendar` figures (``lo``, ``hi``, ``since``, ``day0``) for their
    ``today`` and whether they have a yearly budget row; remembered: a sweep's users share
    a few todays. The windows: the last ``SPENT_DAYS`` days, this week, month and year
    (each up to today: kept expenses are not after it), the three prior months' spans
    (``prior_month_offsets``), which are before this month (the oracle's elif), and the
    baseline (``BASELINE_DAYS``)."""
    day0 = today.toordinal()
    week, month, year = (period_bounds(p, today)[0].toordinal() - day0 for p in _PERIODS)
    prior = prior_month_offsets(today)
    lo = (1 - SPENT_DAYS, week, month, year, *(first for first, _ in prior), BASELINE_DAYS[0])
    hi = (0, 0, 0, 0, *(min(last, month - 1) for _, last in prior), BASELINE_DAYS[1])
    return (*lo, *hi, judged_since(today, yearly).toordinal() - day0, day0)


def _calendar(todays: Mapping[int, date], yearly: set[int]) -> _Calendar:
    """The :class:`_Calendar` of the users of ``todays``."""
    table = np.array([_calendar_row(today, i in yearly) for i, today in todays.items()],
                     dtype=np.int64).reshape(len(todays), 2 * _W + 2)
    users = np.array(list(todays), dtype=np.int64)
    at = np.zeros(int(users.max(initial=0)) + 1, dtype=np.int64)
    at[users] = np.arange(len(users))
    return _Calendar(at, table[:, :_W], table[:, _W:2 * _W], table[:, -2], table[:, -1])


class _Kept(NamedTuple):
    """The expenses that count (valid, not after today, not a duplicate), in row order:
    ``r`` their rows in the frame, user ``i``, ``key`` (:class:`_Texts`), ``amount``,
    ``offset`` (from the user's today), ``day`` (an ordinal), ``since`` (the user's first
    judged day, an offset), ``flags``: whether the row is in each window (a column per
    window, in ``_WINDOWS`` order) and ``lowest``: the lowest id of a kept row's copies, by
    row (the duplicate rule keeps it)."""

    r: Array
    i: Array
    key: Array
    amount: Array
    offset: Array
    day: Array
    since: Array
    flags: Array
    lowest: dict[int, str]


def _kept(expenses: Frame, texts: _Texts, calendar: _Calendar,
          quality: Mapping[int, QualityBuilder]) -> _Kept:
    """The :class:`_Kept` expenses; the others counted as skipped, by reason."""
    i = expenses.get_column("i").to_numpy().astype(np.int64)
    amount = expenses.get_column("amount").to_numpy()  # NULL: NaN
    offset = expenses.get_column("offset").to_numpy().astype(np.int64)
    # A NULL, NaN, infinite, zero or negative amount; then a valid one dated past the
    # far-future bound (one after today but before it is simply not spent yet).
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(amount) & (amount > 0)
    far = offset > FAR_FUTURE_DAYS
    if not valid.all() or far.any():  # most travelers: nothing to count
        for reason, flags in (("expense_amount_invalid", ~valid),
                              ("expense_date_far_future", valid & far)):
            for i_, n in _by_user(i[flags]):
                quality[i_].skip(reason, n)
    rows = (valid & (offset <= 0)).nonzero()[0]
    rows, lowest = _without_copies(expenses, rows, i, texts.name, amount, offset, quality)
    i, amount, offset = i[rows], amount[rows], offset[rows]
    at = calendar.at[i]
    column = offset[:, None]
    flags = (column >= calendar.lo.take(at, axis=0)) & (column <= calendar.hi.take(at, axis=0))
    return _Kept(rows, i, texts.key[rows], amount, offset, calendar.day0[at] + offset,
                 calendar.since[at], flags, lowest)


def _without_copies(expenses: Frame, rows: Array, i: Array, name: Array,
                    amount: Array, offset: Array, quality: Mapping[int, QualityBuilder]
                    ) -> tuple[Array, dict[int, str]]:
    """``rows`` (ascending) but the duplicates (a row whose user, category ``name``, amount,
    day and description an earlier row has), counted as skipped by user; the duplicate rule
    keeps the first row with the lowest id of its copies (rows of one key share their day:
    all have an id, or none), returned by row where it has one."""
    # A copy has the user, amount and day of another row: only rows sharing this number
    # made of those three with another row can be one (a collision only adds rows to
    # check). The exact rule then runs on them alone, a small part of the batch.
    mixed = amount[rows] + (i[rows] * 4096 + offset[rows]) * 1e7
    order = mixed.argsort()
    ordered = mixed[order]
    same = ordered[1:] == ordered[:-1]
    lowest: dict[int, str] = {}
    if not same.any():  # most travelers: no two rows alike, nothing to check
        return rows, lowest
    maybe = np.zeros(len(rows), dtype=bool)
    maybe[order[1:][same]] = True
    maybe[order[:-1][same]] = True
    check = rows[maybe]  # ascending: the rows' order
    notes = _values_at(expenses.get_column("description"), check)
    ids = _values_at(expenses.get_column("expense_id"), check)
    keys = list(zip(i[check].tolist(), name[check].tolist(), amount[check].tolist(),
                    offset[check].tolist(), notes, strict=True))
    first: dict[tuple[Any, ...], int] = {}
    copies: list[int] = []
    for row, key, expense_id in zip(check.tolist(), keys, ids, strict=True):
        kept = first.setdefault(key, row)
        if kept != row:
            copies.append(row)
        # The kept row's id: the lowest of its copies' and its own.
        if expense_id is not None and (kept not in lowest or expense_id < lowest[kept]):
            lowest[kept] = expense_id
    skipped = np.array(copies, dtype=np.int64)
    for i_, n in _by_user(i[skipped]):
        quality[i_].skip("expense_duplicate", n)
    return rows[~among(rows, skipped)], lowest


class _Stats(NamedTuple):
    """Per group (a user's category, in :class:`_Groups` order): the windows' counts ``n``
    (columns d30, week, month, year), and the baseline's count, median and MAD (NaN for
    none)."""

    n: Array
    base_n: Array
    median: Array
    mad: Array


def _categories(kept: _Kept, groups: _Groups) -> _Stats:
    """Per user and category: the windows' counts, and the baseline count, median and MAD
    (:class:`_Stats`; the windows' sums are :func:`_parts`')."""
    base_n, median, mad = _baselines(groups, kept.amount, kept.flags[:, _BASE])
    return _Stats(groups.count(kept.flags[:, :4]), base_n, median, mad)


class _Middles(NamedTuple):
    """Where each group's middle values lie among values sorted by group, then value (the
    same for any values of the same groups): ``low`` and ``high`` (equal for an odd count
    ``n``), ``odd`` and ``some`` (the group has values)."""

    n: Array
    low: Array
    high: Array
    odd: Array
    some: Array


def _middle_rows(code: Array, groups: int) -> _Middles:
    """The :class:`_Middles` of values of groups ``code`` (0 .. groups - 1)."""
    n = np.bincount(code, minlength=groups)
    starts = n.cumsum() - n
    return _Middles(n, starts + (n - 1) // 2, starts + n // 2, n % 2 == 1, n > 0)


def _middles(code: Array, values: Array, rows: _Middles) -> Array:
    """Per group (``code`` of each value, its :class:`_Middles` ``rows``):
    ``analysis.outliers._middle`` of its ``values`` sorted: the middle value, or the two
    middle ones halved and added (that order of operations: the same float); NaN for
    none."""
    # Values sorted (any order of equal values gives the same middles), then by group
    # keeping that order: a stable sort of small integers is numpy's radix sort (about
    # half a lexsort of both keys, whose float key is its slow part).
    by_value = values.argsort()
    order = by_value[stable_order(code[by_value])]
    # One more value past the end: an empty group's indexes (its start - 1 and start, at
    # most the number of values) stay in bounds; its figures are then discarded.
    ordered = np.concatenate((values[order], _NAN))
    low, high = ordered[rows.low], ordered[rows.high]
    middle = np.where(rows.odd, low, low / 2 + high / 2)
    return np.where(rows.some, middle, np.nan)


def _baselines(groups: _Groups, amounts: Array, base: Array) -> tuple[Array, Array, Array]:
    """``analysis.outliers.baseline_of`` per group: count, median and MAD of the amounts
    (all finite here) of its rows in the baseline window (``base``); NaN for none."""
    code, values = groups.code[base], amounts[base]
    rows = _middle_rows(code, len(groups.keys))
    median = _middles(code, values, rows)
    return rows.n, median, _middles(code, np.abs(values - median[code]), rows)


def _bars(stats: _Stats, rule: OutlierRule) -> Array:
    """Per group: its outlier bar (``rule.bar_of`` its baseline, no ``Baseline`` made per
    group; a thinner baseline than ``rule.min_history`` has none, not asked), NaN for none
    (a bar of finite figures is never NaN, and no amount is above NaN)."""
    bars = np.full(len(stats.base_n), np.nan)
    asked = (stats.base_n >= rule.min_history).nonzero()[0]
    for at, n, med, mad in zip(asked.tolist(), stats.base_n[asked].tolist(),
                               stats.median[asked].tolist(), stats.mad[asked].tolist(),
                               strict=True):
        if (bar := rule.bar_of(n, med, mad)) is not None:
            bars[at] = bar
    return bars


class _Parts(NamedTuple):
    """Per group, in category order (``order``: the groups' :class:`_Groups` indexes,
    each user's together, by first expense): user ``i``, key code ``key``, ``values``
    (column ``part * 3 + period``, see ``_PARTS``) and ``floats`` (the same, each a float
    or Python's 0); ``groups``: the :class:`_Groups` keys (``i * width + key``,
    ascending), ``where``: each of those groups' row here, and ``s``: the windows' sums
    (columns in ``_WINDOWS`` order but the baseline)."""

    order: Array
    i: Array
    key: Array
    values: Array
    floats: Array
    groups: Array
    where: Array
    s: Array

    def find(self, i: Array, key: Array, width: int) -> Array:
        """The row of each user ``i`` and key code ``key`` (-1: none), or ``len(i)`` (past
        the last row) for a pair without one."""
        if not len(self.groups):
            return np.full(len(i), len(self.i))
        wanted = i * width + key
        at = self.groups.searchsorted(wanted)
        # A pair past the last group is compared with the last one (``clip``): it differs.
        found = (key >= 0) & (self.groups.take(at, mode="clip") == wanted)
        return np.where(found, self.where.take(at, mode="clip"), len(self.i))


def _parts(kept: _Kept, groups: _Groups, stats: _Stats, bars: Array, found: Found
           ) -> _Parts:
    """``build_financial``'s ``period_spent`` of every user's category (the dues left at
    0.0, see :func:`_dues`), and its windows' sums.

    A sum over some rows in row order is the masked sum over all of them (adding 0.0 to a
    sum of positive amounts leaves it unchanged), and a group with none of them has the
    count 0 and the sum 0.0 the oracle's empty lists give."""
    amounts = kept.amount
    # Above its category's bar (none without one), and a scheduled payment.
    over = amounts > bars[groups.code]
    paid = np.zeros(len(amounts), dtype=bool)
    paid[found.scheduled] = True
    # Per period (week, month, year: column 3 * period + kind), whether the row is in it
    # and above the bar, scheduled, or both (kinds 0, 1, 2). Columns gathered, then one
    # ``&`` (measured, 100,000 rows: 0.38 ms, against 0.81 ms for nine and a column stack
    # and 2.5 ms for a broadcast over rows of 3 columns).
    flags = (kept.flags.take(_PERIOD_WINDOWS, axis=1)
             & np.array((over, paid, over & paid))[_PERIOD_KINDS].T)
    size = len(groups.keys)
    # The amounts in a window, 0.0 elsewhere (adding 0.0 leaves a sum of them as it is).
    windows = kept.flags[:, :_BASE]
    if len(amounts) >= _MANY_ROWS:
        window_sums = groups.sums(np.where(windows, amounts[:, None], 0.0))
        # Only the rows over a bar or scheduled are in a sum (a few in a hundred): grouped
        # on their own (the same order: row order in each group), every other group's
        # counts 0 and sums 0.0. Grouping them costs a fixed ~50 µs: not for a few rows.
        rows = (over | paid).nonzero()[0]
        some = _Groups(groups.code[rows])
        sums, counts = np.zeros((size, 9)), np.zeros((size, 9), np.int64)
        some_flags = flags.take(rows, axis=0)
        sums[some.keys] = some.sums(np.where(some_flags, amounts[rows, None], 0.0))
        counts[some.keys] = some.count(some_flags)
    else:
        # The windows' and the periods' sums in one pass (one traveler's: one sum fewer).
        both = groups.sums(np.where(np.concatenate((windows, flags), axis=1),
                                    amounts[:, None], 0.0))
        window_sums, sums = both[:, :_BASE], both[:, _BASE:]
        counts = groups.count(flags)
    no_bar = np.isnan(bars)[:, None]
    # A category with a scheduled payment (in any period) has its lists.
    paid_any = (groups.count(paid) > 0)[:, None]
    # Per period (columns week, month, year): the counts and sums of its expenses, of
    # those above the bar, of the scheduled ones and of those both.
    n, big_n, reg_n, rab_n = stats.n[:, 1:4], counts[:, 0::3], counts[:, 1::3], counts[:, 2::3]
    big_s, reg_s, rab_s = sums[:, 0::3], sums[:, 1::3], sums[:, 2::3]
    # above(every expense of the period, bar) and above(its scheduled ones, bar), as
    # analysis.outliers.above sums them: 0.0 without a bar or an expense, 0 when none is
    # above the bar. Their figures are ``big_s`` and ``rab_s`` as they are: without a bar
    # or an expense no row is above it, and a sum of no row is 0.0.
    every_float = no_bar | (n == 0) | (big_n > 0)
    within_float = no_bar | (reg_n == 0) | (rab_n > 0)
    # every - within (without a scheduled payment in the category, ``every - 0.0``); the
    # dues (9 .. 11) are 0.0 until :func:`_dues`.
    values = np.concatenate((window_sums[:, 1:4], big_s - rab_s, reg_s, np.zeros((size, 3))),
                            axis=1)
    floats = np.ones((size, 12), dtype=bool)
    # An empty week's or month's sum is 0; the year's is a running 0.0.
    floats[:, 0:2] = n[:, :2] > 0
    floats[:, 3:6] = ~paid_any | every_float | within_float
    floats[:, 6:9] = reg_n > 0
    # A category's due list is floats (9 .. 11: True).
    first = groups.order[groups.starts]  # each group's first row: its order of first expense
    i, key = kept.i[first], kept.key[first]
    order = np.lexsort((first, i))
    where = np.empty(size, dtype=np.int64)
    where[order] = np.arange(size)
    return _Parts(order, i[order], key[order], values.take(order, axis=0),
                  floats.take(order, axis=0), groups.keys, where,
                  window_sums.take(order, axis=0))


def _dues(parts: _Parts, kept: _Kept, texts: _Texts, found: Found, budgets: _Budgets,
          todays: Mapping[int, date]) -> None:
    """Per user and category a budget counts: the scheduled payments still expected until
    the end of this week, month and year (``dues_by_category`` of the user's series, sorted
    as ``find_schedules`` sorts them), written into ``parts`` (columns 9 .. 11)."""
    if not len(found.latest) or not len(budgets.i):
        return
    every = {i for i, c in zip(budgets.i.tolist(), budgets.category, strict=True)
             if c is None}
    named = {(i, c) for i, c in zip(budgets.i.tolist(), budgets.category, strict=True)
             if c is not None}
    latest = found.latest
    # Sorted by user, then as ``find_schedules`` sorts: category, last day, amount, and
    # the latest row first (``-r``: kept rows are in row order).
    series = [(i, texts.keys[k], days[-1], amount, -r, cadence, days)
              for i, k, amount, r, cadence, days in zip(
                  kept.i[latest].tolist(), kept.key[latest].tolist(),
                  kept.amount[latest].tolist(), latest.tolist(), found.cadence.tolist(),
                  found.days.tolist(), strict=True)
              if i in every or (i, texts.keys[k]) in named]
    if not series:
        return
    series.sort(key=lambda s: s[:5])
    # Each series' dues per period: its amount times its expected dates' count, summed per
    # user and category in that order (``dues_by_category``'s products and sums; a sum of
    # floats from 0.0 is the one from Python's integer 0).
    ends = {today: tuple(_bounds(p, today)[1] for p in _PERIODS)
            for today in set(todays.values())}
    counts = [_due_counts(cadence, tuple(days), todays[i], ends[todays[i]])
              for i, _key, _last, _amount, _r, cadence, days in series]
    products = np.array([s[3] for s in series])[:, None] * np.array(counts, dtype=np.int64)
    who = np.array([s[0] for s in series], dtype=np.int64)
    keys = np.array([texts.codes[s[1]] for s in series], dtype=np.int64)
    # A user's series are sorted by category: each (user, category) is one run of them.
    groups = _Groups(who * texts.width + keys)
    first = groups.order[groups.starts]
    rows = parts.find(who[first], keys[first], texts.width)
    parts.values[rows, 9:12] = groups.sums(products)


@lru_cache(maxsize=8192)
def _due_counts(cadence: int, days: tuple[int, ...], today: date, ends: tuple[date, ...]
                ) -> tuple[int, ...]:
    """``due_counts`` of a series (``cadence``: an index into ``CADENCES``, ``days``:
    ordinals), remembered by ordinals: no dates made for a pattern seen before."""
    return due_counts(CADENCES[cadence], tuple(date.fromordinal(d) for d in days), today,
                      ends)


class _UserSums:
    """Per user with a category (``users``, ascending): the sums over their categories in
    category order of each column of :class:`_Parts` (``values``) and whether one of the
    terms is a float (``floats``); one more row, last: zeros, Python's 0, for a user
    without a category."""

    def __init__(self, parts: _Parts) -> None:
        groups = _Groups(parts.i)
        self.users = groups.keys
        self.values = np.concatenate((groups.sums(parts.values), _ZEROS))
        self.floats = np.concatenate((groups.count(parts.floats) > 0, ~_TRUES))

    def at(self, i: Array) -> Array:
        """The row of each user of ``i``: theirs, or the last (zeros) for one without."""
        if not len(self.users):
            return np.zeros(len(i), dtype=np.int64)
        at = self.users.searchsorted(i)
        # A user past the last one is compared with the last (``clip``): they differ.
        return np.where(self.users.take(at, mode="clip") == i, at, len(self.users))


def _category_stats(parts: _Parts, stats: _Stats, keys: list[str]
                    ) -> dict[int, dict[str, CategoryStats]]:
    """Per user ``i``: their :class:`CategoryStats` by category, in order of first expense
    (as ``build_financial`` fills its dict). The month's sum of no expense is Python's 0."""
    order = parts.order
    names = [keys[k] for k in parts.key.tolist()]
    s, n = parts.s, stats.n.take(order, axis=0)
    objects = instances(CategoryStats, [
        names, stats.base_n[order].tolist(), _none_for_nan(stats.median[order]),
        _none_for_nan(stats.mad[order]), round_cents(s[:, 0]), n[:, 0].tolist(),
        _set_at(s[:, 2].tolist(), n[:, 2] == 0, 0),
        list(zip(*s[:, 4:7].T.tolist(), strict=True))])
    return {i: dict(pairs) for i, pairs in per_user(
        parts.i, list(zip(names, objects, strict=True))).items()}


def _set_at(values: list[Any], where: Array, value: Any) -> list[Any]:
    """``values`` with ``value`` at the rows flagged in ``where`` (a few: one pass over
    them only, where a comprehension would test every row)."""
    for r in where.nonzero()[0].tolist():
        values[r] = value
    return values


def _none_for_nan(values: Array) -> list[float | None]:
    """``values`` as Python floats, NaN as None."""
    return _set_at(values.tolist(), np.isnan(values), None)


def _recent(expenses: Frame, kept: _Kept, keys: list[str], found: Found
            ) -> dict[int, tuple[Expense, ...]]:
    """Per user ``i``: the last 7 days' expenses (those with an id), sorted by day then id,
    each marked ``scheduled`` when a scheduled payment has its category, day and amount
    (as ``schedule_effects`` marks them)."""
    rows = (kept.offset > -7).nonzero()[0]  # ids are only read for these days
    if not len(rows):
        return {}
    # Only these rows' ids (NULL elsewhere: the read lists them for the last 7 days), a
    # row without one left out. pyarrow's take, its stable sort of the ids (UTF-8 bytes
    # sort as Python's code points) and numpy's lexsort cost a fixed ~30 µs: a few rows
    # (one traveler's) are listed and sorted by Python, as fast as those on a batch.
    many = len(rows) >= _MANY_IDS
    if many:
        taken = expenses.get_column("expense_id").gather(kept.r[rows]).to_arrow()
        ids = taken.to_pylist()
    else:
        ids = _values_at(expenses.get_column("expense_id"), kept.r[rows])
    if None in ids:
        valid = np.array([e is not None for e in ids], dtype=bool)
        rows = rows[valid]
        ids = [e for e in ids if e is not None]
        if many:
            taken = taken.filter(valid)
    # A kept row shows the lowest id of its copies (the duplicate rule's).
    at = kept.r[rows]
    copied = [(k, e) for r, e in kept.lowest.items()
              if (k := int(at.searchsorted(r))) < len(at) and at[k] == r]
    for k, e in copied:
        ids[k] = e
    # By user, day, then id; rows of one day and id in row order (stable sorts' ties).
    if many and not copied:
        rank = np.empty(len(ids), dtype=np.int64)
        rank[pc.sort_indices(taken).to_numpy()] = np.arange(len(ids))
        order = np.lexsort((rank, kept.day[rows], kept.i[rows]))
    else:
        i_, d_ = kept.i[rows].tolist(), kept.day[rows].tolist()
        order = np.array(sorted(range(len(ids)), key=lambda k: (i_[k], d_[k], ids[k])),
                         dtype=np.int64)
    rows = rows[order]
    s = found.scheduled
    paid = set(zip(kept.i[s].tolist(), kept.key[s].tolist(), kept.day[s].tolist(),
                   kept.amount[s].tolist(), strict=True))
    users, days = kept.i[rows].tolist(), kept.day[rows].tolist()
    codes, amounts = kept.key[rows].tolist(), kept.amount[rows].tolist()
    dates = {d: date.fromordinal(d) for d in set(days)}  # a week's days, each made once
    made = instances(Expense, [
        [ids[k] for k in order.tolist()], [keys[k] for k in codes], amounts,
        [dates[d] for d in days],
        [(i, k, d, a) in paid for i, k, d, a in zip(users, codes, days, amounts,
                                                     strict=True)]])
    return per_user(users, made)


def _budgets(budgets: _Budgets, parts: _Parts, sums: _UserSums, texts: _Texts,
             todays: Mapping[int, date]) -> dict[int, tuple[BudgetStatus, ...]]:
    """Per user ``i``: their budgets kept (see :func:`_checked`), in row order, with the
    sums ``_budget`` takes over the categories it counts, rounded to cents; a sum of
    nothing but Python's integer 0 stays 0, a category with no expense counts 0.0.

    A budget without a category sums every category of its user in category order
    (:class:`_UserSums`), a float when one of the terms is; none for a user without a
    category (Python's 0). A budget with a category takes that category's figure (0.0 +
    it: itself), or 0.0 for a category without expense (``spent.get(category, [0.0] *
    12)``); its dues are always a float."""
    if not len(budgets.i):
        return {}
    i = budgets.i
    named = np.array([c is not None for c in budgets.category], dtype=bool)
    # Each named budget's row in ``parts`` (the last, zeros, for a category without one).
    row = parts.find(i, np.array([-1 if c is None else texts.codes.get(c, -1)
                                  for c in budgets.category], dtype=np.int64), texts.width)
    values = np.concatenate((parts.values, _ZEROS))
    floats = np.concatenate((parts.floats, _TRUES))
    at = sums.at(i)
    # Row c of ``columns``: each budget's column of part c (``_PARTS``) for its period.
    columns = _PART_COLUMNS + budgets.k
    value = np.where(named, values[row, columns], sums.values[at, columns])
    flag = np.where(named, floats[row, columns], sums.floats[at, columns])
    # Every part rounded in one pass (Python's 0 stays 0), then cut into its parts.
    rounded = _set_at(round_cents(value.ravel()), ~flag.ravel(), 0)
    cents = [rounded[c * len(i):(c + 1) * len(i)] for c in range(len(_PARTS))]
    users = i.tolist()
    bounds = [_bounds(p, todays[u]) for u, p in zip(users, budgets.period,
                                                          strict=True)]
    made = instances(BudgetStatus, [
        budgets.budget_id, budgets.category, budgets.limit, budgets.period,
        [b[0] for b in bounds], [b[1] for b in bounds], cents[0], cents[1], budgets.alert,
        cents[2], cents[3]])
    return per_user(users, made)
