"""Exact equality of column frames (``data/columnar/columns.py``) for the tests: names,
dtypes, heights, null counts, and every value through each accessor the sections use
(``to_list``: same types, NaN equal to NaN, datetimes with the same tzinfo; ``to_numpy``:
same dtype, NaN and NaT equal to themselves)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from pam_proactive.data.columnar.columns import Column, Frame


def same_value(a: Any, b: Any) -> bool:
    """``a`` and ``b`` are the same value: same type, equal (NaN equal to NaN, a float's
    sign kept), a datetime's tzinfo the same."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a)
                                                     == math.copysign(1, b))
    if hasattr(a, "tzinfo") and a.tzinfo is not b.tzinfo:
        return False
    return bool(a == b)


def same_values(a: list[Any], b: list[Any]) -> bool:
    return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))


def assert_same_column(a: Column, b: Column, name: str = "") -> None:
    assert a.dtype is b.dtype, name
    assert len(a) == len(b) and a.null_count() == b.null_count(), name
    assert same_values(a.to_list(), b.to_list()), (name, a.to_list(), b.to_list())
    x, y = a.to_numpy(), b.to_numpy()
    assert x.dtype == y.dtype and x.shape == y.shape, (name, x.dtype, y.dtype)
    if x.dtype.kind == "M":
        assert np.array_equal(x.view(np.int64), y.view(np.int64)), name  # NaT alike
    elif x.dtype.kind == "f":
        assert np.array_equal(x, y, equal_nan=True), name
    elif x.dtype.kind == "O":
        assert same_values(x.tolist(), y.tolist()), name
    else:
        assert np.array_equal(x, y), name


def assert_same_frame(a: Frame, b: Frame) -> None:
    """``a`` and ``b`` hold the same columns (names, dtypes, in order) and values."""
    assert list(a.columns) == list(b.columns) and a.height == b.height
    for name, column in a.columns.items():
        assert len(column) == a.height, name
        assert_same_column(column, b.columns[name], name)


def _key(value: Any) -> tuple[Any, ...]:
    """An order of one column's values: nulls last, NaN before them."""
    if value is None:
        return (2,)
    if isinstance(value, float) and math.isnan(value):
        return (1,)
    return (0, value)


def sorted_rows(frame: Frame) -> list[tuple[Any, ...]]:
    """The frame's rows (Python objects) in one order, whatever order it holds them in."""
    return sorted(frame.iter_rows(), key=lambda row: tuple(map(_key, row)))


def assert_same_rows(a: Frame, b: Frame) -> None:
    """``a`` and ``b`` hold the same columns (names, dtypes) and rows, in any order."""
    assert list(a.columns) == list(b.columns) and a.height == b.height
    assert [c.dtype for c in a.columns.values()] == [c.dtype for c in b.columns.values()]
    for x, y in zip(sorted_rows(a), sorted_rows(b), strict=True):
        assert same_values(list(x), list(y)), (x, y)
