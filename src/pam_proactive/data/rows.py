"""Row types of the batch statements whose rows are read by name (pure: no I/O).

A statement with one of these row types selects exactly its fields, in order, under these
names (``data/queries.py`` builds the select lists from ``_fields`` or aliases each column),
and :meth:`Database.fetch` checks the names of the columns it gets against the fields, so the
Python that reads ``row.timezone`` no longer depends on where the column sits in the SQL.
Values are as the views hold them: the assembly still validates each one (bad data is
skipped or repaired and counted, never trusted because of a type here).
"""

from __future__ import annotations

from datetime import date, time
from typing import Any, NamedTuple
from uuid import UUID


class UserRow(NamedTuple):
    """A ``traveler_users`` row (``users_by_id``) joined with the engine's preferences."""

    user_id: UUID
    status: str | None
    units: str | None
    timezone: str | None
    currency: str | None
    region: str | None
    vehicle_type: str | None
    fuel_type: str | None
    towing: bool | None
    latitude: Any  # numeric or float: validated by the assembly
    longitude: Any
    opted_out: bool | None
    disabled_types: list[str] | None
    quiet_start: time | None
    quiet_end: time | None
    daily_cap: int | None


class TripRow(NamedTuple):
    """A ``traveler_trips`` row of one batch user (``trips``), with the route's end points
    pulled out of ``route_data`` when it is a JSON object."""

    i: int  # the user's 1-based position in the batch
    trip_id: Any
    status: str | None
    origin: str | None
    destination: str | None
    start_date: date | None
    end_date: date | None
    distance_miles: Any  # numeric or float: validated by the assembly
    estimated_cost: Any
    origin_lat: str | None  # text, as ``#>>`` returns it
    origin_lng: str | None
    destination_lat: str | None
    destination_lng: str | None
    route_text: str | None  # route_data when it is text-encoded JSON, to be parsed
    route_type: str | None  # jsonb_typeof(route_data)
