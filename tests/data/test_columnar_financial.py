"""The column-wise financial section against its oracle, the per-object ``build_financial`` of
``tests/oracle/per_object.py``, on hand-written rows (pure: no database). Contexts must be equal
down to their ``repr`` (every float bit, an empty sum's integer 0) and the quality counts the
same."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import numpy as np
import pyarrow as pa
import pytest

from oracle.per_object import build_financial, cut_texts, frames_from_rows
from pam_proactive.analysis.bounds import TEXT_MAX_CHARS
from pam_proactive.analysis.outliers import OutlierRule
from pam_proactive.context import DataQuality, FinancialContext, QualityBuilder
from pam_proactive.data.assemble import FAR_FUTURE_DAYS
from pam_proactive.data.columnar.columns import STRING, Column
from pam_proactive.data.columnar.financial import (
    _GRID_CELLS,
    _SHORT_TEXTS,
    _codes,
    _Groups,
    financial_section,
)
from pam_proactive.data.columnar.recurring import _FEW_HEADS, batch_schedules, schedule_core
from pam_proactive.data.rows import UserRow

RULE = OutlierRule()
NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
Row = tuple[Any, ...]
# One user: today, expenses (category, amount, offset, id or None, description), budgets
# (budget_id, category, limit, period, alert_threshold_pct).
Expenses = Sequence[tuple[Any, Any, int, str | None, str | None]]
Budgets = Sequence[tuple[str, str | None, Any, str, Any]]


def _batch(users: Sequence[tuple[date, Expenses, Budgets]]
           ) -> tuple[list[UserRow], list[tuple[date, str, bool]], dict[str, list[Row]]]:
    """The batch statements' rows of ``users`` (positions 1..n)."""
    rows: list[UserRow] = []
    expenses: list[Row] = []
    budgets: list[Row] = []
    for i, (today, mine, theirs) in enumerate(users, start=1):
        rows.append(UserRow(UUID(int=i), "active", "metric", "UTC", "USD", None, None, None,
                            None, None, None, False, None, None, None, None))
        if mine:
            expenses.append((i, [e[0] for e in mine], [e[1] for e in mine],
                             [e[2] for e in mine],
                             [e[3] for e in mine if e[2] > -7] or None,
                             [e[4] for e in mine]))
        budgets += [(i, bid, cat, limit, period, today - timedelta(days=400), None, pct)
                    for bid, cat, limit, period, pct in theirs]
    fetched: dict[str, list[Row]] = {
        "expenses": expenses, "budgets": budgets, "trips": [], "events": [], "fuel": [],
        "maintenance": [], "vehicles": [], "after_now": []}
    return rows, [(u[0], "UTC", False) for u in users], fetched


def _oracle(users: Sequence[tuple[date, Expenses, Budgets]]
            ) -> dict[int, tuple[FinancialContext, DataQuality]]:
    rows, todays, fetched = _batch(users)
    out = {}
    for i, (user, (today, _zone, _invalid)) in enumerate(zip(rows, todays, strict=True),
                                                         start=1):
        q = QualityBuilder()
        mine = {"expenses": [r for r in fetched["expenses"] if r[0] == i],
                "budgets": [r for r in fetched["budgets"] if r[0] == i],
                "trips": [], "events": [], "maintenance": []}
        _user, cut, _vehicle = cut_texts(user, mine, None, q)
        expense = cut["expenses"][0] if cut["expenses"] else None
        out[i] = (build_financial(expense, cut["budgets"], today, q, RULE), q.freeze())
    return out


def _columnar(users: Sequence[tuple[date, Expenses, Budgets]], reverse: bool = False
              ) -> dict[int, tuple[FinancialContext, DataQuality]]:
    rows, todays, fetched = _batch(users)
    if reverse:  # the expense rows of the last user first
        fetched["expenses"].reverse()
    frames = frames_from_rows(rows, todays, NOW, fetched)
    quality = {i: QualityBuilder() for i in range(1, len(users) + 1)}
    section = financial_section(frames, RULE, quality)
    return {i: (fin, quality[i].freeze()) for i, fin in section.items()}


def check(users: Sequence[tuple[date, Expenses, Budgets]], reverse: bool = False
          ) -> dict[int, Any]:
    """Both paths on ``users``: the same contexts (repr: every bit) and quality counts;
    with ``reverse``, the section reads the users' expense rows in reverse user order."""
    old, new = _oracle(users), _columnar(users, reverse)
    assert old.keys() == new.keys() == set(range(1, len(users) + 1))
    for i in old:
        assert repr(new[i][0]) == repr(old[i][0]), i
        assert new[i][1] == old[i][1], i
    return new


TODAY = date(2026, 11, 25)  # a Wednesday


def test_empty_batch() -> None:
    assert check([]) == {}


def test_users_without_expenses_or_budgets() -> None:
    found = check([(TODAY, [], []), (TODAY, [], [("b1", None, 500.0, "monthly", None)])])
    assert found[1][0] == FinancialContext(0, (), {}, ())
    budget = found[2][0].budgets[0]
    assert (budget.spent, budget.period_start) == (0, date(2026, 11, 1))


def test_a_batch_whose_expenses_are_all_skipped() -> None:
    found = check([(TODAY, [("a", math.nan, -1, "x", None), ("a", None, -100, None, None)],
                    [("b", "a", 5.0, "weekly", None)]),
                   (TODAY, [("a", 5.0, 3, None, None)], [])])
    assert dict(found[1][1].skipped) == {"expense_amount_invalid": 2}
    assert found[1][0].budgets[0].spent == 0
    assert found[2][0] == FinancialContext(0, (), {}, ())


@pytest.mark.parametrize("ids", [("b", "a"), ("a", "b")])
def test_duplicates_keep_the_lowest_id_in_either_order(ids: tuple[str, str]) -> None:
    mine = [("food", 12.5, -1, ids[0], "lunch"), ("food", 12.5, -1, ids[1], "lunch"),
            ("food", 12.5, -1, "c", "dinner"),  # another description: not a copy
            ("food", 30.0, -40, None, None), ("food", 30.0, -40, None, None),
            (None, 3.0, -2, "d", None), (None, 3.0, -2, "e", None)]
    found = check([(TODAY, mine, [])])
    fin, quality = found[1]
    assert dict(quality.skipped) == {"expense_duplicate": 3}
    assert [(e.expense_id, e.category) for e in fin.recent_expenses] == [
        ("d", "uncategorized"), ("a", "food"), ("c", "food")]


def test_recent_expenses_sorted_by_the_ids_shown() -> None:
    # The copy's lowest id ("a") sorts its row before "m"; a recent row without an id is
    # left out; one day's rows by id, the days in order.
    mine = [("food", 9.0, -1, "z", "x"), ("food", 7.0, -1, "m", None),
            ("food", 9.0, -1, "a", "x"), ("fuel", 5.0, -1, None, None),
            ("fuel", 4.0, -3, "q", None), ("fuel", 4.5, -3, "b", None),
            ("food", 1.0, 0, "c", None)]
    fin, quality = check([(TODAY, mine, []), (TODAY, list(reversed(mine)), [])])[1]
    assert dict(quality.skipped) == {"expense_duplicate": 1}
    assert [e.expense_id for e in fin.recent_expenses] == ["b", "q", "a", "m", "c"]


def test_invalid_amounts_and_far_future_dates() -> None:
    mine = [("fuel", None, -1, "a", None), ("fuel", math.nan, -2, "b", None),
            ("fuel", -5.0, -3, "c", None), ("fuel", 0.0, -4, "d", None),
            ("fuel", math.inf, -5, "e", None), ("fuel", 40.0, -6, "f", None),
            ("fuel", 41.0, FAR_FUTURE_DAYS + 1, None, None),  # far future: counted
            ("fuel", 42.0, FAR_FUTURE_DAYS, None, None),  # not spent yet: just left out
            ("fuel", math.nan, FAR_FUTURE_DAYS + 5, None, None)]  # invalid amount first
    fin, quality = check([(TODAY, mine, [])])[1]
    assert dict(quality.skipped) == {"expense_amount_invalid": 6,
                                     "expense_date_far_future": 1}
    assert fin.categories["fuel"].count_30d == 1


def _spread(today: date) -> list[tuple[Any, Any, int, str | None, str | None]]:
    """Expenses on every day from 400 days ago to today, at amounts that differ."""
    return [("misc", 1.0 + (k % 17) * 0.37, -k, f"id{k:03d}" if k < 7 else None, None)
            for k in range(0, 400)]


@pytest.mark.parametrize("today", [
    date(2026, 11, 22),  # a Sunday
    date(2026, 11, 23),  # a Monday
    date(2026, 1, 1),  # the year's first day (and a Thursday)
    date(2026, 3, 31),  # prior months clamped to their lengths (Feb 28)
    date(2024, 2, 29),  # a leap day
    date(2026, 12, 31),
])
def test_period_boundaries(today: date) -> None:
    budgets = [("w", "misc", 10.0, "weekly", 80), ("m", "misc", 50.0, "monthly", None),
               ("y", None, 900.0, "yearly", 90.5)]
    fin, _quality = check([(today, _spread(today), budgets)])[1]
    assert [b.period for b in fin.budgets] == ["weekly", "monthly", "yearly"]


def test_budget_rows_skipped_repaired_and_totals() -> None:
    budgets = [("a", None, 100.0, "monthly", None), ("b", "food", 0.0, "monthly", 80),
               ("c", "food", math.nan, "weekly", 80), ("d", "food", 50.0, "daily", 80),
               ("e", "  ", 50.0, "weekly", 80), ("f", "food", 50.0, "weekly", 0),
               ("g", "food", 50.0, "weekly", 150), ("h", "food", 50.0, "weekly", math.nan),
               ("i", "other", 20.0, "yearly", 100)]
    mine = [("food", 10.004, 0, "x", None), ("food", 5.0049, -1, "y", None),
            ("fuel", 33.335, -20, None, None)]
    _fin, quality = check([(TODAY, mine, budgets)])[1]
    assert dict(quality.skipped) == {"budget_category_invalid": 1, "budget_limit_invalid": 2,
                                     "budget_period_invalid": 1}
    assert dict(quality.repaired) == {"budget_threshold_defaulted": 3}


def test_long_category_texts_are_cut_and_counted() -> None:
    long = "x" * (TEXT_MAX_CHARS + 5)
    mine = [(long, 5.0, -1, "a", None), (long, 6.0, -2, "b", None),
            ("y" * TEXT_MAX_CHARS, 7.0, -3, "c", None),
            (long, math.nan, -1, "d", None)]  # cut before it is skipped, as before
    fin, quality = check([(TODAY, mine, [("b", long, 50.0, "weekly", None)])])[1]
    assert dict(quality.repaired) == {"text_cut": 4}
    assert all(len(name) <= TEXT_MAX_CHARS for name in fin.categories)


def test_baselines_even_and_odd_counts_and_outliers() -> None:
    # Odd and even baseline counts; medians whose halves are not exact (0.1 + 0.2).
    odd: list[tuple[Any, Any, int, str | None, str | None]]
    odd = [("a", v, -10 - k, None, None) for k, v in enumerate((0.1, 0.2, 0.3, 7.0, 0.2))]
    even = [("b", v, -10 - k, None, None) for k, v in enumerate((0.1, 0.2, 0.7, 0.3, 5e307,
                                                                  1.7e308))]
    big = [("a", 50.0, -1, "o1", None), ("b", 2.0, 0, "o2", None), ("a", 0.2, 0, "o3", None)]
    fin, _quality = check([(TODAY, [*odd, *even, *big], [("t", None, 10.0, "weekly", 80)])])[1]
    assert fin.budgets[0].outlier_spent == 50.0


def _series(category: str, amount: float, step: int, count: int, start: int,
            jitter: Sequence[int] = (0,)) -> list[tuple[Any, Any, int, str | None, str | None]]:
    out: list[tuple[Any, Any, int, str | None, str | None]] = []
    for k in range(count):
        offset = start - k * step + jitter[k % len(jitter)]
        out.append((category, amount * (1 + 0.01 * (k % 3)), offset,
                    f"{category}{k:02d}" if offset > -7 else None, None))
    return out


def test_recurring_payments_scheduled_and_due() -> None:
    mine = (_series("rent", 950.0, 30, 5, -1, (0, 2, -1))  # roughly monthly
            + _series("gym", 20.0, 7, 12, 0)  # weekly
            + _series("phone", 45.0, 14, 6, -3, (0, 1))  # biweekly
            + _series("coffee", 4.0, 1, 60, 0))  # every day: no schedule
    budgets = [("a", None, 3000.0, "monthly", None), ("b", "gym", 100.0, "weekly", None),
               ("c", "rent", 12000.0, "yearly", None)]
    found = check([(date(2026, 11, 30), mine, budgets), (date(2026, 2, 28), mine, budgets)])
    for fin, _quality in found.values():
        assert any(e.scheduled for e in fin.recent_expenses)
        assert any(b.scheduled_spent > 0 for b in fin.budgets)
        assert any(b.scheduled_due > 0 for b in fin.budgets)


@pytest.mark.parametrize("seed", range(6))
def test_random_batches(seed: int) -> None:
    check(_random_users(seed))


@pytest.mark.parametrize("seed", range(2))
def test_expense_rows_not_in_user_order(seed: int) -> None:
    """The statements return each user's rows together, by user; another order of users
    gives the same contexts (each user's categories in order of their first expense)."""
    users = _random_users(seed)
    found = check(users, reverse=True)
    assert sum(len(fin.categories) for fin, _quality in found.values()) > 40


def _random_users(seed: int) -> Sequence[tuple[date, Expenses, Budgets]]:
    rnd = random.Random(seed)
    categories = ["food", "fuel", "rent", None, "", "camp"]
    users = []
    for _ in range(40):
        today = date(2026, 1, 1) + timedelta(days=rnd.randrange(-400, 400))
        mine: list[tuple[Any, Any, int, str | None, str | None]] = []
        for n in range(rnd.randrange(0, 60)):
            offset = rnd.choice([rnd.randrange(-130, 1), rnd.randrange(-400, 500)])
            amount = rnd.choice([round(rnd.uniform(1, 200), 2), rnd.choice([9.99, 10.0]),
                                 None, math.nan, -1.0])
            mine.append((rnd.choice(categories), amount, offset,
                         f"{rnd.randrange(10**6):06d}-{n}" if offset > -7 else None,
                         rnd.choice([None, "x"])))
        if rnd.random() < 0.3 and mine:
            mine.append(mine[rnd.randrange(len(mine))])  # an exact copy
        for _ in range(rnd.randrange(0, 3)):
            mine += _series(rnd.choice(["rent", "gym"]), rnd.choice([20.0, 99.5]),
                            rnd.choice([7, 14, 30, 31]), rnd.randrange(2, 8),
                            -rnd.randrange(0, 20), (0, rnd.randrange(-2, 3)))
        rnd.shuffle(mine)
        budgets = [(f"b{k}", rnd.choice([*categories, "food"]), rnd.choice([100.0, -1.0]),
                    rnd.choice(["weekly", "monthly", "yearly", "daily"]),
                    rnd.choice([None, 80, 0])) for k in range(rnd.randrange(0, 4))]
        users.append((today, mine, budgets))
    return users


@pytest.mark.parametrize("seed", range(8))
def test_random_recurring_payments(seed: int) -> None:
    """Series at every cadence with days off by up to 3, amounts off by up to 6 %, copies
    on the same day under another description, stops and restarts, month ends: the edges
    of the finder's tolerances."""
    rnd = random.Random(1000 + seed)
    users = []
    for _ in range(30):
        today = date(2026, 1, 1) + timedelta(days=rnd.randrange(-200, 400))
        mine: list[tuple[Any, Any, int, str | None, str | None]] = []
        for s in range(rnd.randrange(1, 5)):
            step = rnd.choice([7, 14, 28, 30, 31, 61])
            start = -rnd.randrange(0, 40)
            if rnd.random() < 0.3:  # on a month's last days
                start = (date(today.year, today.month, 1) - timedelta(days=rnd.randrange(1, 3))
                         ).toordinal() - today.toordinal()
            base = rnd.choice([9.99, 20.0, 54.5, 100.0])
            category = rnd.choice(["rent", "gym", "phone"])
            for k in range(rnd.randrange(2, 9)):
                offset = start - k * step + rnd.choice([0, 0, 0, 1, -1, 2, -2, 3])
                amount = round(base * (1 + rnd.choice([0, 0, 0.01, -0.03, 0.05, -0.05, 0.06])),
                               2)
                note = rnd.choice([None, None, f"n{s}", "other"])
                mine.append((category, amount, offset,
                             f"{rnd.randrange(10**6):06d}" if offset > -7 else None, note))
        for _ in range(rnd.randrange(0, 30)):
            offset = -rnd.randrange(0, 120)
            mine.append((rnd.choice(["rent", "food"]), rnd.choice([20.0, 9.99, 5.0]), offset,
                         f"{rnd.randrange(10**6):06d}" if offset > -7 else None, None))
        rnd.shuffle(mine)
        budgets = [("w", None, 100.0, "weekly", None), ("m", "rent", 500.0, "monthly", None)]
        if rnd.random() < 0.5:
            budgets.append(("y", "gym", 900.0, "yearly", None))
        users.append((today, mine, budgets))
    found = check(users)
    assert any(b.scheduled_spent for fin, _q in found.values() for b in fin.budgets)


# The size switches of the section's primitives: each side against the same reference.


@pytest.mark.parametrize("from_arrow", [False, True])
@pytest.mark.parametrize("size", [0, 1, 7, _SHORT_TEXTS - 1, _SHORT_TEXTS, 1000])
def test_text_codes_by_dict_and_by_pyarrow(size: int, from_arrow: bool) -> None:
    """Short columns are encoded by a dict, long ones by pyarrow: both give each text's
    code in order of first appearance (NULL: -1) and the texts in that order, whether the
    column holds Python values (the rows path) or an Arrow array (ADBC)."""
    rnd = random.Random(size)
    texts = [rnd.choice([None, "", "fuel", "Fuel", "fuel ", "é", "x" * 300]) for _ in range(size)]
    column = (Column(STRING, arrow=pa.array(texts, type=pa.string())) if from_arrow
              else Column(STRING, texts))
    codes, values = _codes(column)
    index: dict[str, int] = {}
    expected = [-1 if t is None else index.setdefault(t, len(index)) for t in texts]
    assert codes.dtype == np.int64 and codes.tolist() == expected
    assert values == list(index)


@pytest.mark.parametrize(("groups", "rows"), [(1, 0), (1, 1), (1, 60), (3, 40), (8, 52),
                                              (40, 60), (40, 600),
                                              (400, 5000)])
def test_group_sums_on_a_grid_and_by_steps(groups: int, rows: int) -> None:
    """Few groups of few rows are summed along a grid, others by the k-th rows' steps:
    both add each group's values one after the other in row order from 0.0 (every bit
    as Python's ``+=``: the values' magnitudes make another order another float). Flags
    are counted in one reduceat under _MANY_ROWS rows (5,000 here), a column at a time
    from it."""
    rng = np.random.default_rng(groups * 10_000 + rows)
    keys = rng.integers(0, groups, rows) * 7
    values = rng.choice([1e16, 1.0, 0.1, 3.3, 0.0, 1e-3], size=(rows, 3))
    found = _Groups(keys)
    cells = len(found.keys) * (int(np.bincount(found.code).max(initial=0)) + 1)
    assert (found.grid is not None) == (cells <= _GRID_CELLS)
    totals: dict[int, list[float]] = {}
    for key, row in zip(keys.tolist(), values.tolist(), strict=True):
        total = totals.setdefault(key, [0.0, 0.0, 0.0])
        for c, value in enumerate(row):
            total[c] += value
    assert found.keys.tolist() == sorted(totals)
    assert [list(map(repr, r)) for r in found.sums(values).tolist()] == [
        list(map(repr, totals[k])) for k in sorted(totals)]
    # One column (with one group: the grid's running sum, not numpy's pairwise one).
    assert [repr(r[0]) for r in found.sums(values[:, :1]).tolist()] == [
        repr(totals[k][0]) for k in sorted(totals)]
    flags = values > 1.0
    assert found.count(flags).tolist() == [
        np.count_nonzero(flags[keys == k], axis=0).tolist() for k in sorted(totals)]
    assert np.array_equal(found.keys[found.code], keys)


def test_schedules_of_few_and_many_walked_heads() -> None:
    """Up to _FEW_HEADS walked heads, each one's grid is looked up; from it, the distinct
    days' grids: the batch's series are each user's alone."""
    users, days, amounts = [], [], []
    for user in range(2 * _FEW_HEADS):
        first = 739_000 + user % 40
        for k in range(4):  # monthly then weekly: two walked heads each
            users.append(user)
            days.append(first + (30 * k if user % 2 else 7 * k))
            amounts.append(10.0 + user % 3)
    group, day, amount = (np.array(users), np.array(days), np.array(amounts))
    head = np.ones(len(group), dtype=bool)
    batch = batch_schedules(schedule_core(group, amount, day, head))
    assert len(batch.scheduled) >= _FEW_HEADS
    alone = [batch_schedules(schedule_core(group[at], amount[at], day[at], head[at]))
             for at in (np.flatnonzero(group == user) for user in range(2 * _FEW_HEADS))]
    offsets = np.flatnonzero(np.diff(group, prepend=-1)).tolist()
    for name in ("scheduled", "latest"):  # positions: each user's from their first row
        assert np.array_equal(getattr(batch, name), np.concatenate(
            [o + getattr(a, name) for o, a in zip(offsets, alone, strict=True)]))
    assert np.array_equal(batch.cadence, np.concatenate([a.cadence for a in alone]))
    assert np.array_equal(batch.days, np.concatenate([a.days for a in alone]))
