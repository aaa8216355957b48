"""Frames from row tuples (``frames.frame_of_rows``): rows of native values go to Polars in one
call, anything else value by value (``_frame_of_columns``); both give the same frame for any
rows, with the schema's dtypes for native ones. Empty frames are shared, one per schema."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from pam_proactive.data.columnar.frames import (
    _AS_ROWS_MAX,
    SCHEMAS,
    USERS,
    _frame_of_columns,
    empty,
    frame_of_rows,
    people_frame,
)

_INT32 = st.integers(-(2**31), 2**31 - 1)
_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=11)), timezone(timedelta(hours=-9.5))])
# Each dtype's native values (what the views' usual types load as), and values of other
# types that custom views may return (numerics as Decimal or text, ids as UUID or int).
_NATIVE: dict[type[pl.DataType], st.SearchStrategy[Any]] = {
    pl.Int32: _INT32,
    pl.Int64: st.integers(-(2**63), 2**63 - 1),
    pl.Float64: st.floats(allow_nan=True, allow_infinity=True),
    pl.String: st.text(max_size=8),
    pl.Date: st.dates(),
    pl.Datetime: st.datetimes(datetime(1900, 1, 1), datetime(2100, 1, 1), timezones=_ZONES),
    pl.Boolean: st.booleans(),
}
# Values of other types that custom views may return for numbers and text: numerics as
# Decimal or text, ids as UUID or integers, integers as floats or booleans.
_OTHER: dict[type[pl.DataType], st.SearchStrategy[Any]] = {
    pl.Int32: st.integers() | st.booleans() | st.floats(),
    pl.Float64: st.integers() | st.decimals(allow_nan=True, places=2) | st.just(Decimal("1.10"))
    | st.sampled_from(["12.5", "1e5", "", "NaN", "x"]),
    pl.String: st.integers() | st.uuids() | st.floats() | st.decimals(places=2),
}


@st.composite
def _rows(draw: st.DrawFn, odd: bool) -> tuple[str, list[tuple[Any, ...]]]:
    """A source key and up to 6 rows of its schema: native values and None, plus other
    types of numbers and text when ``odd``."""
    key = draw(st.sampled_from(sorted(SCHEMAS)))
    columns = []
    for dtype in SCHEMAS[key].values():
        value = st.none() | _NATIVE[type(dtype)]
        other = _OTHER.get(type(dtype))
        columns.append(value | other if odd and other is not None else value)
    return key, draw(st.lists(st.tuples(*columns), max_size=6))


@settings(max_examples=150, deadline=None, database=None)
@given(_rows(odd=False))
def test_native_rows_give_the_schema_and_the_value_by_value_frame(
    drawn: tuple[str, list[tuple[Any, ...]]],
) -> None:
    key, rows = drawn
    # As rows, then as many more as make columns.
    for some in (rows, rows * (_AS_ROWS_MAX + 1)):
        frame = frame_of_rows(some, SCHEMAS[key])
        assert dict(frame.schema) == dict(SCHEMAS[key]) and frame.height == len(some)
        if some:
            assert_frame_equal(frame, _frame_of_columns(some, SCHEMAS[key]), check_exact=True)


@settings(max_examples=150, deadline=None, database=None)
@given(_rows(odd=True))
def test_any_rows_give_the_value_by_value_frame(drawn: tuple[str, list[tuple[Any, ...]]]
                                                ) -> None:
    key, rows = drawn
    for some in (rows, rows * (_AS_ROWS_MAX + 1)) if rows else ():
        assert_frame_equal(frame_of_rows(some, SCHEMAS[key]),
                           _frame_of_columns(some, SCHEMAS[key]), check_exact=True)


def test_edge_values_cross_either_way_alike() -> None:
    schema = SCHEMAS["after_now"]  # Int32, String, Int64
    for rows in ([(2**31, "x", 1)], [(1, "x", 2**63)], [(True, "x", 1)], [(1, UUID(int=5), 1)],
                 [(1, None, None), (None, "y", -(2**63))]):
        for some in (rows, rows * (_AS_ROWS_MAX + 1)):
            assert_frame_equal(frame_of_rows(some, schema), _frame_of_columns(some, schema),
                               check_exact=True)
    # An integer beyond Int32 is null, as the value-by-value conversion makes it.
    assert frame_of_rows([(2**31, "x", 1)], schema)["i"].to_list() == [None]
    assert frame_of_rows([(2**31, "x", 1)] * 99, schema)["i"].null_count() == 99
    # A naive datetime is taken as UTC, an aware one converted: the same instant.
    events = SCHEMAS["events"]
    aware = datetime(2026, 11, 26, 5, 0, tzinfo=timezone(timedelta(hours=11)))
    row = (1, "e", "t", aware, aware.astimezone(UTC).replace(tzinfo=None), True, None, None)
    starts, ends = frame_of_rows([row], events).row(0)[3:5]
    assert starts == ends == datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


def test_empty_frames_are_made_once_per_schema() -> None:
    for schema in (*SCHEMAS.values(), USERS):
        frame = frame_of_rows([], schema)
        assert frame.height == 0 and dict(frame.schema) == dict(schema)
        assert frame is empty(schema) is empty(dict(schema))
    assert people_frame([]) is empty(USERS)
    people = people_frame([(date(2026, 11, 25), "UTC", False), (date(2026, 11, 26),
                                                                 "Asia/Tokyo", True)])
    assert people.rows() == [(1, date(2026, 11, 25), "UTC", False),
                             (2, date(2026, 11, 26), "Asia/Tokyo", True)]
    assert dict(people.schema) == dict(USERS)
    many = people_frame([(date(2026, 11, 25), "UTC", False)] * 300)
    assert many.height == 300 and many["i"].to_list() == list(range(1, 301))
    assert dict(many.schema) == dict(USERS)
