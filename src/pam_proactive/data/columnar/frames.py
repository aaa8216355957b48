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
    order): each value as :func:`_plain` gives it, cast to its column's dtype.

    Rows whose every value already is its dtype's Python type (or None), as the views' usual
    types load, go to Polars as rows in one call (~30 us a frame); any other value (a numeric
    as Decimal, an id as UUID, a number as text: custom views) takes the column-by-column
    conversion, which gives the same frame for native values
    (tests/data/test_columnar_frames.py)."""
    if not rows:
        return empty(schema)
    natives = _natives(tuple(schema.items()))
    kinds = {tuple(map(type, row)) for row in rows}  # a few distinct ones: nulls, subtypes
    if all(len(k) == len(natives) and all(t in n for t, n in zip(k, natives, strict=True))
           for k in kinds):
        try:
            return pl.DataFrame(rows, schema=dict(schema), orient="row")
        except pl.exceptions.PolarsError:
            pass  # an integer beyond its dtype: the column-wise conversion makes it null
    return _frame_of_columns(rows, schema)


def _frame_of_columns(rows: Sequence[Sequence[Any]], schema: Mapping[str, pl.DataType]
                      ) -> pl.DataFrame:
    columns = list(zip(*rows, strict=True))
    return pl.DataFrame({name: pl.Series(name, [_plain(v) for v in col], dtype=dtype,
                                         strict=False)
                         for (name, dtype), col in zip(schema.items(), columns, strict=True)})


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
    return frame_of_rows([(i, *t) for i, t in enumerate(todays, start=1)], USERS)


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


__all__ = ["SCHEMAS", "BatchFrames", "TripRow", "empty", "frame_of_rows", "frames_from_rows",
           "people_frame"]
