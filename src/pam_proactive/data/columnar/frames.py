"""A batch's source rows as columns: one Polars frame per source (pure, no I/O).

Every frame has ``i``, the user's 1-based position in the batch (as the batch statements
key their rows: an integer is far cheaper than a UUID to join and group on), then the
source's columns under the names below, with these dtypes. The data layer fills them (from
Arrow, see ``data/columnar/read.py``); :func:`frames_from_rows` builds the same frames from
the row tuples of the batch statements, which is how the per-object path's inputs and the
column-wise path's inputs are proved the same.

Units are the views' (miles, US gallons, the user's currency); values are as stored: the
sections validate every one (bad data is skipped or repaired and counted, never trusted).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl

from pam_proactive.data.rows import TripRow, UserRow

# Users of the batch: position, local date at ``now``, the zone used (an IANA name, 'UTC'
# when the stored one is missing or invalid) and whether the stored zone was invalid.
USERS: Mapping[str, pl.DataType] = {
    "i": pl.Int32(), "today": pl.Date(), "zone": pl.String(), "zone_invalid": pl.Boolean(),
}

# One row per expense of the scanned window (see queries.BatchStatements.expenses), in the
# order the database returned them. ``offset`` is spent_on - today in days (0 = today,
# negative = past); ``expense_id`` is only set for the last 7 days (offset > -7).
EXPENSES: Mapping[str, pl.DataType] = {
    "i": pl.Int32(), "category": pl.String(), "amount": pl.Float64(), "offset": pl.Int32(),
    "expense_id": pl.String(), "description": pl.String(),
}

BUDGETS: Mapping[str, pl.DataType] = {
    "i": pl.Int32(), "budget_id": pl.String(), "category": pl.String(),
    "amount_limit": pl.Float64(), "period": pl.String(), "start_date": pl.Date(),
    "end_date": pl.Date(), "alert_threshold_pct": pl.Float64(),
}

TRIPS: Mapping[str, pl.DataType] = {
    "i": pl.Int32(), "trip_id": pl.String(), "status": pl.String(), "origin": pl.String(),
    "destination": pl.String(), "start_date": pl.Date(), "end_date": pl.Date(),
    "distance_miles": pl.Float64(), "estimated_cost": pl.Float64(),
    "origin_lat": pl.String(), "origin_lng": pl.String(), "destination_lat": pl.String(),
    "destination_lng": pl.String(), "route_text": pl.String(), "route_type": pl.String(),
}

EVENTS: Mapping[str, pl.DataType] = {
    "i": pl.Int32(), "event_id": pl.String(), "title": pl.String(),
    "starts_at": pl.Datetime("us", "UTC"), "ends_at": pl.Datetime("us", "UTC"),
    "all_day": pl.Boolean(), "event_type": pl.String(), "location_name": pl.String(),
}

FUEL: Mapping[str, pl.DataType] = {
    "i": pl.Int32(), "fill_id": pl.String(), "filled_on": pl.Date(),
    "odometer_miles": pl.Float64(), "gallons": pl.Float64(), "total_cost": pl.Float64(),
    "is_full": pl.Boolean(),
}

MAINTENANCE: Mapping[str, pl.DataType] = {
    "i": pl.Int32(), "record_id": pl.String(), "vehicle_id": pl.String(), "task": pl.String(),
    "performed_on": pl.Date(), "mileage_miles": pl.Float64(), "next_due_date": pl.Date(),
    "next_due_mileage_miles": pl.Float64(),
}

VEHICLES: Mapping[str, pl.DataType] = {
    "i": pl.Int32(), "vehicle_id": pl.String(), "name": pl.String(),
    "vehicle_type": pl.String(), "fuel_type": pl.String(), "tank_gallons": pl.Float64(),
    "mpg": pl.Float64(), "odometer_miles": pl.Float64(), "registration_expires": pl.Date(),
    "insurance_expires": pl.Date(),
}

# Rows recorded after ``now``, by user and source (DataQuality.recorded_after_now).
AFTER_NOW: Mapping[str, pl.DataType] = {
    "i": pl.Int32(), "source": pl.String(), "rows": pl.Int64(),
}

SCHEMAS: Mapping[str, Mapping[str, pl.DataType]] = {
    "expenses": EXPENSES, "budgets": BUDGETS, "trips": TRIPS, "events": EVENTS,
    "fuel": FUEL, "maintenance": MAINTENANCE, "vehicles": VEHICLES, "after_now": AFTER_NOW,
}


@dataclass(frozen=True, slots=True)
class BatchFrames:
    """One batch's sources as of ``now``. ``users`` are the profile rows in batch order
    (position ``i`` = index + 1); ``people`` is their :data:`USERS` frame."""

    now: datetime
    users: tuple[UserRow, ...]
    people: pl.DataFrame
    expenses: pl.DataFrame
    budgets: pl.DataFrame
    trips: pl.DataFrame
    events: pl.DataFrame
    fuel: pl.DataFrame
    maintenance: pl.DataFrame
    vehicles: pl.DataFrame
    after_now: pl.DataFrame


def empty(schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """A frame with no rows and ``schema``: one frame per schema, made once and shared (a
    Polars frame is a value: no section changes one in place), since making one costs ~80 us
    and a traveler's batch has several empty sources."""
    return _empty(tuple(schema.items()))


@functools.cache
def _empty(schema: tuple[tuple[str, pl.DataType], ...]) -> pl.DataFrame:
    return pl.DataFrame(schema=dict(schema))


def frame_of_rows(rows: Sequence[Sequence[Any]], schema: Mapping[str, pl.DataType]
                  ) -> pl.DataFrame:
    """The frame of ``schema`` from row tuples of its statement (its columns in schema
    order): each value as :func:`_plain` gives it, cast to its column's dtype
    (:func:`frame_of_columns`)."""
    return frame_of_columns(list(zip(*rows, strict=True)), schema) if rows else empty(schema)


def frame_of_columns(columns: Sequence[Sequence[Any]], schema: Mapping[str, pl.DataType]
                     ) -> pl.DataFrame:
    """The frame of ``schema`` from its columns' values (in schema order, of equal length):
    each value as :func:`_plain` gives it, cast to its column's dtype.

    When every value already is its dtype's Python type (or None), as the views' usual types
    load, Polars takes the values as they are: up to :data:`_AS_ROWS_MAX` rows as rows, in
    one call (~30 us a frame), more as one typed column each. Any other value (a numeric as
    Decimal, an id as UUID, a number as text: custom views) takes the value-by-value
    conversion, which gives the same frame for native values
    (tests/data/test_columnar_frames.py)."""
    if not columns or not columns[0]:
        return empty(schema)
    if _native(columns, schema):
        try:
            if len(columns[0]) <= _AS_ROWS_MAX:
                return pl.DataFrame(list(zip(*columns, strict=True)), schema=dict(schema),
                                    orient="row")
            return pl.DataFrame([pl.Series(name, col, dtype=dtype) for (name, dtype), col
                                 in zip(schema.items(), columns, strict=True)])
        except (pl.exceptions.PolarsError, TypeError):
            pass  # an integer beyond its dtype: the value-by-value conversion makes it null
    return _converted(columns, schema)


# Rows up to which a frame is made from rows rather than columns: a row costs more than a
# column's fixed cost beyond (measured, 6-7 columns: 1 row 30 vs 70-130 us, 64 rows 50-110
# vs 60-150 us, 1,300 rows 1.0 vs 0.2 ms).
_AS_ROWS_MAX = 64


def _frame_of_columns(rows: Sequence[Sequence[Any]], schema: Mapping[str, pl.DataType]
                      ) -> pl.DataFrame:
    """The value-by-value conversion of :func:`frame_of_rows`, for any rows (the reference
    of its native fast paths in tests)."""
    return _converted(list(zip(*rows, strict=True)), schema)


def _converted(columns: Sequence[Sequence[Any]], schema: Mapping[str, pl.DataType]
               ) -> pl.DataFrame:
    return pl.DataFrame({name: pl.Series(name, [_plain(v) for v in col], dtype=dtype,
                                         strict=False)
                         for (name, dtype), col in zip(schema.items(), columns, strict=True)})


def _native(columns: Sequence[Sequence[Any]], schema: Mapping[str, pl.DataType]) -> bool:
    """Whether every value of ``columns`` is its dtype's Python type or None."""
    natives = _natives(tuple(schema.items()))
    return all(set(map(type, col)) <= native
               for col, native in zip(columns, natives, strict=True))


# The Python type each dtype of the schemas takes without conversion (besides None): exact
# types, so a bool is not an int, nor a datetime a date.
_NATIVE: Mapping[type[pl.DataType], type] = {
    pl.Int32: int, pl.Int64: int, pl.Float64: float, pl.String: str, pl.Boolean: bool,
    pl.Date: date, pl.Datetime: datetime,
}


@functools.cache
def _natives(schema: tuple[tuple[str, pl.DataType], ...]) -> tuple[frozenset[type], ...]:
    """Per column of ``schema``, the Python types that need no conversion (empty for a
    dtype outside :data:`_NATIVE`: every value converted)."""
    found = []
    for _, dtype in schema:
        native = _NATIVE.get(type(dtype))
        found.append(frozenset() if native is None else frozenset({native, type(None)}))
    return tuple(found)


def _plain(value: Any) -> Any:
    """A value Polars takes as its column's dtype: ids (UUIDs, integers) become text,
    numerics become floats (NaN and infinities kept, for the sections to reject)."""
    if value is None or isinstance(value, (str, bool, int, float, date, datetime)):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def people_frame(todays: Sequence[tuple[date, str, bool]]) -> pl.DataFrame:
    """The :data:`USERS` frame of a batch from each user's ``local_today`` (in batch order)."""
    return frame_of_columns([range(1, len(todays) + 1), [t[0] for t in todays],
                             [t[1] for t in todays], [t[2] for t in todays]], USERS)


def frames_from_rows(
    users: Sequence[UserRow], todays: Sequence[tuple[date, str, bool]], now: datetime,
    fetched: Mapping[str, Sequence[Sequence[Any]]],
) -> BatchFrames:
    """The frames of a batch from the row tuples of the batch statements, as the per-object
    path reads them (``fetched`` keys: expenses, budgets, trips, events, fuel, maintenance,
    vehicles, after_now; the expense rows are the per-user arrays of
    ``BatchStatements.expenses``, unrolled here one row per expense)."""
    people = people_frame(todays)
    expenses: list[tuple[Any, ...]] = []
    for i, names, amounts, offsets, recent_ids, notes in fetched["expenses"]:
        ids = iter(recent_ids or ())
        for name, amount, offset, note in zip(names, amounts, offsets, notes or (),
                                              strict=True):
            expense_id = next(ids, None) if offset > -7 else None
            expenses.append((i, name, amount, offset,
                             None if expense_id is None else str(expense_id), note))
    return BatchFrames(
        now=now, users=tuple(users), people=people,
        expenses=frame_of_rows(expenses, EXPENSES),
        budgets=frame_of_rows(fetched["budgets"], BUDGETS),
        trips=frame_of_rows(fetched["trips"], TRIPS),
        events=frame_of_rows(fetched["events"], EVENTS),
        fuel=frame_of_rows(fetched["fuel"], FUEL),
        maintenance=frame_of_rows(fetched["maintenance"], MAINTENANCE),
        vehicles=frame_of_rows(fetched["vehicles"], VEHICLES),
        after_now=frame_of_rows(fetched["after_now"], AFTER_NOW),
    )


__all__ = ["SCHEMAS", "BatchFrames", "TripRow", "empty", "frame_of_columns", "frame_of_rows",
           "frames_from_rows", "people_frame"]
