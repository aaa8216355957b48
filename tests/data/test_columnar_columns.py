"""The column container (``data/columnar/columns.py``): for every dtype, with and without
nulls, a column made from Python values and one made from Arrow give what Polars gave the
sections before it (the module's table): numpy dtypes, null as NaN / NaT / None, Python
values, null counts; conversions are cached and never shared mutably."""

from __future__ import annotations

import math
from datetime import UTC as dt_utc
from datetime import date, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from frame_equality import assert_same_column, same_values
from pam_proactive.data.columnar.columns import (
    BOOLEAN,
    DATE,
    DATETIME_UTC,
    FLOAT64,
    INT32,
    INT64,
    STRING,
    UTC,
    Column,
    Dtype,
    Frame,
)

_MOMENT = datetime(2026, 11, 25, 18, 0, 0, 123_456, tzinfo=UTC)
# dtype: (values without null, numpy dtype then, numpy dtype with a null, the null in numpy)
_CASES: dict[Dtype, tuple[list[Any], str, str, Any]] = {
    INT32: ([3, -(2**31)], "int32", "float64", math.nan),
    INT64: ([3, 2**40], "int64", "float64", math.nan),
    FLOAT64: ([1.5, math.inf], "float64", "float64", math.nan),
    STRING: (["a", ""], "object", "object", None),
    BOOLEAN: ([True, False], "bool", "object", None),
    DATE: ([date(2026, 11, 25), date(1, 1, 1)], "datetime64[D]", "datetime64[D]", "NaT"),
    DATETIME_UTC: ([_MOMENT, datetime(1900, 1, 1, tzinfo=UTC)], "datetime64[us]",
                   "datetime64[us]", "NaT"),
}


def _both(dtype: Dtype, values: list[Any]) -> tuple[Column, Column]:
    """The column of ``values`` made from Python values and from Arrow."""
    return (Column(dtype, values),
            Column(dtype, arrow=pa.chunked_array([pa.array(values, type=dtype.arrow)])))


def _same_null(got: Any, null: Any) -> bool:
    if isinstance(null, float):
        return isinstance(got, float) and math.isnan(got)
    if null == "NaT":
        return bool(np.isnat(got))
    return got is null


@pytest.mark.parametrize("dtype", list(_CASES), ids=repr)
def test_each_dtype_gives_what_the_sections_had_nulls_included(dtype: Dtype) -> None:
    values, plain, with_null, null = _CASES[dtype]
    for column in _both(dtype, values):
        assert column.null_count() == 0 and len(column) == 2
        array = column.to_numpy()
        assert array.dtype == np.dtype(plain) and not array.flags.writeable
        assert same_values(column.to_list(), values)
        assert column.to_arrow().type == dtype.arrow and column.to_arrow().null_count == 0
    if dtype in (DATE, DATETIME_UTC):  # the days and instants, not local times
        day = (np.datetime64("2026-11-25") if dtype is DATE
               else np.datetime64("2026-11-25T18:00:00.123456"))
        assert _both(dtype, values)[1].to_numpy()[0] == day
    nulled = [None, *values]
    made, read = _both(dtype, nulled)
    for column in (made, read):
        assert column.null_count() == 1 and len(column) == 3
        array = column.to_numpy()
        assert array.dtype == np.dtype(with_null) and _same_null(array[0], null)
        listed = column.to_list()
        assert listed[0] is None and same_values(listed[1:], values)
        assert column.to_arrow().null_count == 1
    assert_same_column(made, read)


def test_timestamps_are_aware_utc_and_dates_plain() -> None:
    for column in _both(DATETIME_UTC, [_MOMENT, None]):
        first = column.to_list()[0]
        assert first == _MOMENT and first.tzinfo is UTC
    for column in _both(DATE, [date(2026, 11, 25)]):
        assert type(column.to_list()[0]) is date
    # A stored NaN is a value, not a null.
    for column in _both(FLOAT64, [math.nan, None]):
        assert column.null_count() == 1 and column.to_arrow().null_count == 1


def test_days_python_cannot_hold_are_refused() -> None:
    # PostgreSQL's 'infinity' as ADBC reads it: beyond Python's dates, an error (as Polars'
    # and pyarrow's lists), never a number.
    beyond = pa.array([2_932_897, None], pa.int32()).cast(pa.date32())
    with pytest.raises(OverflowError):
        Column(DATE, arrow=beyond).to_list()
    assert Column(DATE, arrow=beyond).null_count() == 1
    late = pa.array([253_402_300_800_000_000], pa.int64()).cast(pa.timestamp("us", "UTC"))
    with pytest.raises(OverflowError):
        Column(DATETIME_UTC, arrow=late).to_list()


def test_lists_are_new_and_arrays_are_made_once() -> None:
    for column in _both(STRING, ["a", None, "b"]):
        first = column.to_list()
        first[0] = "changed"
        assert column.to_list() == ["a", None, "b"]
        assert column.to_numpy() is column.to_numpy()
        with pytest.raises(ValueError, match="read-only"):
            column.to_numpy()[0] = "x"


def test_gather_and_rows() -> None:
    at = np.array([2, 0, 2], dtype=np.int64)
    for column in _both(FLOAT64, [1.0, None, 3.0]):
        assert column.gather(at).to_list() == [3.0, 1.0, 3.0]
        assert column.gather(at[:0]).to_list() == []
    frame = Frame({"i": Column(INT32, [1, 2, 3]),
                   "when": Column(DATETIME_UTC, [None, _MOMENT, None])}, 3)
    taken = frame.gather(at)
    assert taken.height == 3 and list(taken.iter_rows()) == [(3, None), (1, None), (3, None)]
    assert frame.get_column("when") is frame.columns["when"]
    assert list(frame.iter_rows())[1] == (2, datetime(2026, 11, 25, 18, 0, 0, 123_456,
                                                      tzinfo=dt_utc))
