"""A batch's source rows as columns: one :class:`~.columns.Frame` per source (pure, no I/O).

Every frame has ``i``, the user's 1-based position in the batch (as the batch statements
key their rows: an integer is far cheaper than a UUID to join and group on), then the
source's columns under the names below, with these dtypes. The data layer fills them (from
Arrow or psycopg rows, see ``data/columnar/read.py``).

Units are the views' (miles, US gallons, the user's currency); values are as stored: the
sections validate every one (bad data is skipped or repaired and counted, never trusted).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pyarrow as pa

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
from pam_proactive.data.rows import TripRow, UserRow

# Users of the batch: position, local date at ``now``, the zone used (an IANA name, 'UTC'
# when the stored one is missing or invalid) and whether the stored zone was invalid.
USERS: Mapping[str, Dtype] = {
    "i": INT32, "today": DATE, "zone": STRING, "zone_invalid": BOOLEAN,
}

# One row per expense of the scanned window (see queries.BatchStatements.expenses), in the
# order the database returned them. ``offset`` is spent_on - today in days (0 = today,
# negative = past); ``expense_id`` is only set for the last 7 days (offset > -7).
EXPENSES: Mapping[str, Dtype] = {
    "i": INT32, "category": STRING, "amount": FLOAT64, "offset": INT32,
    "expense_id": STRING, "description": STRING,
}

BUDGETS: Mapping[str, Dtype] = {
    "i": INT32, "budget_id": STRING, "category": STRING,
    "amount_limit": FLOAT64, "period": STRING, "start_date": DATE,
    "end_date": DATE, "alert_threshold_pct": FLOAT64,
}

TRIPS: Mapping[str, Dtype] = {
    "i": INT32, "trip_id": STRING, "status": STRING, "origin": STRING,
    "destination": STRING, "start_date": DATE, "end_date": DATE,
    "distance_miles": FLOAT64, "estimated_cost": FLOAT64,
    "origin_lat": STRING, "origin_lng": STRING, "destination_lat": STRING,
    "destination_lng": STRING, "route_text": STRING, "route_type": STRING,
}

EVENTS: Mapping[str, Dtype] = {
    "i": INT32, "event_id": STRING, "title": STRING,
    "starts_at": DATETIME_UTC, "ends_at": DATETIME_UTC,
    "all_day": BOOLEAN, "event_type": STRING, "location_name": STRING,
}

FUEL: Mapping[str, Dtype] = {
    "i": INT32, "fill_id": STRING, "filled_on": DATE,
    "odometer_miles": FLOAT64, "gallons": FLOAT64, "total_cost": FLOAT64,
    "is_full": BOOLEAN,
}

MAINTENANCE: Mapping[str, Dtype] = {
    "i": INT32, "record_id": STRING, "vehicle_id": STRING, "task": STRING,
    "performed_on": DATE, "mileage_miles": FLOAT64, "next_due_date": DATE,
    "next_due_mileage_miles": FLOAT64,
}

VEHICLES: Mapping[str, Dtype] = {
    "i": INT32, "vehicle_id": STRING, "name": STRING,
    "vehicle_type": STRING, "fuel_type": STRING, "tank_gallons": FLOAT64,
    "mpg": FLOAT64, "odometer_miles": FLOAT64, "registration_expires": DATE,
    "insurance_expires": DATE,
}

# Rows recorded after ``now``, by user and source (DataQuality.recorded_after_now).
AFTER_NOW: Mapping[str, Dtype] = {
    "i": INT32, "source": STRING, "rows": INT64,
}

SCHEMAS: Mapping[str, Mapping[str, Dtype]] = {
    "expenses": EXPENSES, "budgets": BUDGETS, "trips": TRIPS, "events": EVENTS,
    "fuel": FUEL, "maintenance": MAINTENANCE, "vehicles": VEHICLES, "after_now": AFTER_NOW,
}


@dataclass(frozen=True, slots=True)
class BatchFrames:
    """One batch's sources as of ``now``. ``users`` are the profile rows in batch order
    (position ``i`` = index + 1); ``people`` is their :data:`USERS` frame."""

    now: datetime
    users: tuple[UserRow, ...]
    people: Frame
    expenses: Frame
    budgets: Frame
    trips: Frame
    events: Frame
    fuel: Frame
    maintenance: Frame
    vehicles: Frame
    after_now: Frame


def empty(schema: Mapping[str, Dtype]) -> Frame:
    """A frame with no rows and ``schema``: one frame per schema, made once and shared (a
    frame is a value: no section changes one), since a traveler's batch has several empty
    sources."""
    return _empty(tuple(schema.items()))


@functools.cache
def _empty(schema: tuple[tuple[str, Dtype], ...]) -> Frame:
    return Frame({name: Column(dtype, ()) for name, dtype in schema}, 0)


def frame_of_rows(rows: Sequence[Sequence[Any]], schema: Mapping[str, Dtype]) -> Frame:
    """The frame of ``schema`` from row tuples of its statement (its columns in schema
    order): each value as :func:`_plain` gives it, cast to its column's dtype
    (:func:`frame_of_columns`)."""
    return frame_of_columns(list(zip(*rows, strict=True)), schema) if rows else empty(schema)


def frame_of_columns(columns: Sequence[Sequence[Any]], schema: Mapping[str, Dtype]) -> Frame:
    """The frame of ``schema`` from its columns' values (in schema order, of equal length):
    each value as :func:`_plain` gives it, cast to its column's dtype (:func:`_cast`).

    A column whose values all are its dtype's Python type (or None), as the views' usual
    types load, is kept as it is (its integers within the dtype's range, its datetimes
    made UTC); any other value (a numeric as Decimal, an id as UUID, a number as text:
    custom views) makes the column's values go through :func:`_cast` one by one, which
    gives the same column for native values (tests/data/test_columnar_frames.py)."""
    if not columns or not columns[0]:
        return empty(schema)
    return Frame({name: _column(dtype, values) for (name, dtype), values
                  in zip(schema.items(), columns, strict=True)}, len(columns[0]))


def frame_of_arrow(arrays: Sequence[pa.Array | pa.ChunkedArray], schema: Mapping[str, Dtype]
                   ) -> Frame:
    """The frame of ``schema`` from its columns as Arrow arrays (in schema order, of equal
    length), each cast to its dtype's Arrow type where it has another (``i`` comes as
    bigint, numerics of a custom view as text). Strict, as the Polars cast this replaces:
    a value the type cannot hold (an integer beyond it, a text that is no number) is an
    error (``pyarrow.ArrowInvalid``). No value becomes a Python object here."""
    if not arrays or not len(arrays[0]):
        return empty(schema)
    return Frame({name: Column(dtype, arrow=array if array.type == dtype.arrow
                               else array.cast(dtype.arrow))
                  for (name, dtype), array in zip(schema.items(), arrays, strict=True)},
                 len(arrays[0]))


def _column(dtype: Dtype, values: Sequence[Any]) -> Column:
    """The column of ``dtype`` of ``values`` (see :func:`frame_of_columns`)."""
    kinds = set(map(type, values))
    if kinds <= _NATIVES[dtype]:
        if dtype is DATETIME_UTC:
            return Column(dtype, [None if v is None else _utc(v) for v in values])
        bounds = _BOUNDS.get(dtype)
        if bounds is None:
            return Column(dtype, values)
        known = values if type(None) not in kinds else [v for v in values if v is not None]
        if not known or (bounds[0] <= min(known) and max(known) <= bounds[1]):
            return Column(dtype, values)
    return Column(dtype, [_cast(dtype, v) for v in values])


# The Python types of each dtype's values kept as they are (exact types: a bool is no int,
# a datetime no date).
_NATIVES: Mapping[Dtype, frozenset[type]] = {
    dtype: frozenset({dtype.python, type(None)})
    for dtype in (INT32, INT64, FLOAT64, STRING, BOOLEAN, DATE, DATETIME_UTC)}
# The integers each integer dtype holds (one beyond is null, as any value it cannot hold).
_BOUNDS: Mapping[Dtype, tuple[int, int]] = {INT32: (-(2**31), 2**31 - 1),
                                            INT64: (-(2**63), 2**63 - 1)}


def _frame_of_columns(rows: Sequence[Sequence[Any]], schema: Mapping[str, Dtype]) -> Frame:
    """The value-by-value conversion of :func:`frame_of_rows`, for any rows (the reference
    of its native fast path in tests)."""
    return Frame({name: Column(dtype, [_cast(dtype, v) for v in values]) for (name, dtype),
                  values in zip(schema.items(), zip(*rows, strict=True), strict=True)},
                 len(rows))


def _cast(dtype: Dtype, value: Any) -> Any:
    """``value`` as :func:`_plain` gives it, then as a value of ``dtype`` (a value it cannot
    hold is None, as the non-strict conversion of Polars, which this replaces, made it).
    STRING takes any value as Python's ``str`` gives it (a UUID's canonical text, an
    integer's digits). A text is read first (:func:`_read`): a number for the numeric
    dtypes, an ISO date or datetime for theirs. An integer dtype then takes integers in its
    range, booleans as 0 and 1, finite floats cut toward zero; FLOAT64 takes numbers
    (booleans as 0.0 and 1.0); BOOLEAN takes numbers (true when not zero); DATE takes
    dates; DATETIME_UTC takes datetimes (naive ones as UTC) and dates (midnight UTC).
    Checked against Polars' conversion value by value when this replaced it: the same
    values, but for a float's or a boolean's text (Polars wrote 'NaN', '1e-8', 'true')."""
    value = _plain(value)
    if value is None:
        return None
    if dtype is STRING:
        return value if type(value) is str else str(value)
    if type(value) is str:
        value = _read(dtype, value)
    kind = type(value)
    if dtype in _BOUNDS:
        if kind is float:
            value = int(value) if math.isfinite(value) else None
        elif kind is bool or kind is int:
            value = int(value)
        else:
            return None
        low, high = _BOUNDS[dtype]
        return value if value is not None and low <= value <= high else None
    if dtype is FLOAT64:
        try:
            return float(value) if kind in (float, int, bool) else None
        except OverflowError:  # an integer beyond any float
            return None
    if dtype is BOOLEAN:
        return bool(value) if kind in (bool, int, float) else None
    if dtype is DATE:
        return value if kind is date else None
    if kind is datetime:  # DATETIME_UTC
        return _utc(value)
    return datetime(value.year, value.month, value.day, tzinfo=UTC) if kind is date else None


def _read(dtype: Dtype, text: str) -> float | date | None:
    """A text of a column of ``dtype`` (not STRING) as a value :func:`_cast` takes: an ISO
    date or datetime (Python's ``fromisoformat``) for DATE and DATETIME_UTC, else a number
    as ``float`` reads it, but for blanks around it or digits grouped by '_' (which Polars
    did not take); None when it is none of those."""
    try:
        if dtype is DATE:
            return date.fromisoformat(text)
        if dtype is DATETIME_UTC:
            return datetime.fromisoformat(text)
        return float(text) if text == text.strip() and "_" not in text else None
    except ValueError:
        return None


def _utc(value: datetime) -> datetime:
    """``value`` in UTC (a naive one read as UTC), with the tzinfo a UTC timestamp's values
    have from Arrow."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def _plain(value: Any) -> Any:
    """A value of a column's Python type, or one :func:`_cast` converts: ids (UUIDs) become
    text, numerics (Decimal, text) become floats (NaN and infinities kept, for the sections
    to reject); a text that is no number stays text."""
    if value is None or isinstance(value, (str, bool, int, float, date, datetime)):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def people_frame(todays: Sequence[tuple[date, str, bool]]) -> Frame:
    """The :data:`USERS` frame of a batch from each user's ``local_today`` (in batch order)."""
    return frame_of_columns([list(range(1, len(todays) + 1)), [t[0] for t in todays],
                             [t[1] for t in todays], [t[2] for t in todays]], USERS)


__all__ = ["SCHEMAS", "BatchFrames", "Frame", "TripRow", "empty", "frame_of_arrow",
           "frame_of_columns", "frame_of_rows", "people_frame"]
