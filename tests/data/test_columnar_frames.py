"""Frames from row tuples (``frames.frame_of_rows``): columns of native values are kept as they
are, anything else converted value by value (``_frame_of_columns``); both give the same frame
for any rows, with the schema's dtypes. Empty frames are shared, one per schema."""

from __future__ import annotations

import math
from datetime import UTC as dt_utc
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from frame_equality import assert_same_frame
from pam_proactive.data.columnar.columns import (
    BOOLEAN,
    DATE,
    DATETIME_UTC,
    FLOAT64,
    INT32,
    INT64,
    STRING,
    UTC,
    Dtype,
    Frame,
)
from pam_proactive.data.columnar.frames import (
    SCHEMAS,
    USERS,
    _frame_of_columns,
    empty,
    frame_of_rows,
    people_frame,
)

_INT32 = st.integers(-(2**31), 2**31 - 1)
_ZONES = st.sampled_from([dt_utc, timezone(timedelta(hours=11)), timezone(timedelta(hours=-9.5))])
# Each dtype's native values (what the views' usual types load as), and values of other
# types that custom views may return (numerics as Decimal or text, ids as UUID or int).
_NATIVE: dict[Dtype, st.SearchStrategy[Any]] = {
    INT32: _INT32,
    INT64: st.integers(-(2**63), 2**63 - 1),
    FLOAT64: st.floats(allow_nan=True, allow_infinity=True),
    STRING: st.text(max_size=8),
    DATE: st.dates(),
    DATETIME_UTC: st.datetimes(datetime(1900, 1, 1), datetime(2100, 1, 1),
                               timezones=st.one_of(st.none(), _ZONES)),
    BOOLEAN: st.booleans(),
}
# Values of other types that custom views may return for numbers and text: numerics as
# Decimal or text, ids as UUID or integers, integers as floats or booleans.
_OTHER: dict[Dtype, st.SearchStrategy[Any]] = {
    INT32: st.integers() | st.booleans() | st.floats(),
    FLOAT64: st.integers() | st.decimals(allow_nan=True, places=2) | st.just(Decimal("1.10"))
    | st.sampled_from(["12.5", "1e5", "", "NaN", "x"]),
    STRING: st.integers() | st.uuids() | st.floats() | st.decimals(places=2),
    BOOLEAN: st.integers(0, 2),
    DATETIME_UTC: st.dates(),
}


@st.composite
def _rows(draw: st.DrawFn, odd: bool) -> tuple[str, list[tuple[Any, ...]]]:
    """A source key and up to 6 rows of its schema: native values and None, plus other
    types of numbers and text when ``odd``."""
    key = draw(st.sampled_from(sorted(SCHEMAS)))
    columns = []
    for dtype in SCHEMAS[key].values():
        value = st.none() | _NATIVE[dtype]
        other = _OTHER.get(dtype)
        columns.append(value | other if odd and other is not None else value)
    return key, draw(st.lists(st.tuples(*columns), max_size=6))


def _dtypes(frame: Frame) -> dict[str, Dtype]:
    return {name: column.dtype for name, column in frame.columns.items()}


@settings(max_examples=150, deadline=None, database=None)
@given(_rows(odd=False))
def test_native_rows_give_the_schema_and_the_value_by_value_frame(
    drawn: tuple[str, list[tuple[Any, ...]]],
) -> None:
    key, rows = drawn
    frame = frame_of_rows(rows, SCHEMAS[key])
    assert _dtypes(frame) == dict(SCHEMAS[key]) and frame.height == len(rows)
    if rows:
        assert_same_frame(frame, _frame_of_columns(rows, SCHEMAS[key]))


@settings(max_examples=150, deadline=None, database=None)
@given(_rows(odd=True))
def test_any_rows_give_the_value_by_value_frame(drawn: tuple[str, list[tuple[Any, ...]]]
                                                ) -> None:
    key, rows = drawn
    if rows:
        assert_same_frame(frame_of_rows(rows, SCHEMAS[key]),
                          _frame_of_columns(rows, SCHEMAS[key]))


def test_edge_values_cross_either_way_alike() -> None:
    schema = SCHEMAS["after_now"]  # INT32, STRING, INT64
    for rows in ([(2**31, "x", 1)], [(1, "x", 2**63)], [(True, "x", 1)], [(1, UUID(int=5), 1)],
                 [(1, None, None), (None, "y", -(2**63))]):
        assert_same_frame(frame_of_rows(rows, schema), _frame_of_columns(rows, schema))
    # An integer beyond INT32 is null, as the value-by-value conversion makes it.
    assert frame_of_rows([(2**31, "x", 1)], schema).get_column("i").to_list() == [None]
    assert frame_of_rows([(2**31, "x", 1)] * 99, schema).get_column("i").null_count() == 99
    # A naive datetime is taken as UTC, an aware one converted: the same instant, in UTC.
    events = SCHEMAS["events"]
    aware = datetime(2026, 11, 26, 5, 0, tzinfo=timezone(timedelta(hours=11)))
    row = (1, "e", "t", aware, aware.astimezone(dt_utc).replace(tzinfo=None), True, None, None)
    starts, ends = next(frame_of_rows([row], events).iter_rows())[3:5]
    assert starts == ends == datetime(2026, 11, 25, 18, 0, tzinfo=dt_utc)
    assert starts.tzinfo is ends.tzinfo is UTC


def test_custom_view_types_convert_as_before() -> None:
    # Numerics as Decimal or text, ids as UUID or integers (what Polars' non-strict
    # conversion gave them, checked value by value when this replaced it).
    budgets = SCHEMAS["budgets"]
    uuid = UUID(int=5)
    rows = [(1, uuid, "food", Decimal("12.50"), "monthly", None, None, "80"),
            (2, 7, None, "x", "weekly", None, None, Decimal("NaN")),
            (3.0, "b", "", "1e5", None, None, None, "")]
    frame = frame_of_rows(rows, budgets)
    got = list(frame.iter_rows())
    assert [r[:2] for r in got] == [(1, str(uuid)), (2, "7"), (3, "b")]
    assert [r[3] for r in got][::2] == [12.5, 1e5] and got[1][3] is None
    assert got[0][7] == 80.0 and math.isnan(got[1][7]) and got[2][7] is None
    assert frame.get_column("amount_limit").null_count() == 1


def test_empty_frames_are_made_once_per_schema() -> None:
    for schema in (*SCHEMAS.values(), USERS):
        frame = frame_of_rows([], schema)
        assert frame.height == 0 and _dtypes(frame) == dict(schema)
        assert frame is empty(schema) is empty(dict(schema))
    assert people_frame([]) is empty(USERS)
    people = people_frame([(date(2026, 11, 25), "UTC", False), (date(2026, 11, 26),
                                                                 "Asia/Tokyo", True)])
    assert list(people.iter_rows()) == [(1, date(2026, 11, 25), "UTC", False),
                                        (2, date(2026, 11, 26), "Asia/Tokyo", True)]
    assert _dtypes(people) == dict(USERS)
    many = people_frame([(date(2026, 11, 25), "UTC", False)] * 300)
    assert many.height == 300 and many.get_column("i").to_list() == list(range(1, 301))
    assert _dtypes(many) == dict(USERS)
