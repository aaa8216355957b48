"""The travel and calendar sections of a batch's contexts: trips with their effective status,
the believed location, and upcoming events with their local dates (pure).

Column-wise over the whole batch, at any size (one traveler or thousands): each column is
taken out of its frame once, the tests every row needs (dates, distances, statuses, which
events share a start) run as numpy over those arrays, and one pass over the rows builds the
objects. No Polars query runs here: on a small batch its fixed cost (~0.2 ms a query) was
most of the section. The rare rows (text-encoded route JSON, malformed route data, texts to
cut, events sharing a start) go through the shared per-row helpers of ``data/assemble.py``
(the tests' oracle uses them too), and so do the coordinates (once per distinct pair of
texts), so one rule stays in one place.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pam_proactive.analysis.bounds import TEXT_MAX_CHARS
from pam_proactive.analysis.dates import zone
from pam_proactive.analysis.events import day_of_event
from pam_proactive.analysis.limits import MAX_TRIP_MILES
from pam_proactive.context import (
    CalendarContext,
    CalendarEvent,
    Coordinates,
    Location,
    Profile,
    QualityBuilder,
    TravelContext,
    Trip,
)
from pam_proactive.data.assemble import (
    coordinates,
    in_zone,
    route_text_coordinates,
    same_text,
    trip_location,
)
from pam_proactive.data.columnar._rows import cut_columns
from pam_proactive.data.columnar.columns import Frame
from pam_proactive.data.columnar.frames import BatchFrames
from pam_proactive.data.columnar.objects import instances, per_user

# Effective trip statuses by code (the oracle's ``effective_trip_status``), as :func:`_statuses`
# computes them.
_STATUSES = np.array(["active", "completed", "planned", "cancelled"], dtype=object)
_ACTIVE, _COMPLETED, _PLANNED, _CANCELLED = range(4)

# Route data the coordinate columns stand for (``build_trip``); "string" is route JSON stored
# as text, anything else is malformed.
_ROUTE_IN_COLUMNS = frozenset({None, "object", "null"})

_TRIP_TEXT = (0, 1)  # a trip's (origin, destination) (see _trips)
_EVENT_TEXT = (0, 1, 2)  # title, event_type, location_name (see calendar_section)


def _any_long(texts: Iterable[str | None]) -> bool:
    """Whether a text of ``texts`` is longer than TEXT_MAX_CHARS (Python's ``len``, as
    ``cut_text`` cuts): a C-speed test of the whole column before any row is looked at."""
    return max(map(len, filter(None, texts)), default=0) > TEXT_MAX_CHARS


def _todays(users: NDArray[Any], people: Frame) -> NDArray[np.datetime64]:
    """Each row's user's local date (``today``), from the rows' positions ``users`` (the
    people frame's row of position ``i`` is ``i - 1``: see ``BatchFrames``)."""
    days: NDArray[np.datetime64] = people.get_column("today").to_numpy()[users - 1]
    return days


def _statuses(stored: NDArray[Any], start: NDArray[np.datetime64],
              end: NDArray[np.datetime64], today: NDArray[np.datetime64]) -> list[str]:
    """Each trip's effective status (the oracle's ``effective_trip_status``) from its stored
    status, start and end dates (NaT for none) and its user's ``today``."""
    # The end as repaired (never before the start), else the start: fmax skips NaT. Other
    # comparisons with NaT are false: an undated trip is settled by its stored status below.
    code = (np.fmax(start, end) < today) * _COMPLETED + (start > today) * _PLANNED
    undated = np.isnat(start)
    if undated.any():
        code[undated] = np.where(stored[undated] == "active", _ACTIVE, np.where(
            stored[undated] == "completed", _COMPLETED, _PLANNED))
    code[stored == "cancelled"] = _CANCELLED
    result: list[str] = _STATUSES[code].tolist()
    return result


def _finite_values(array: NDArray[np.float64]) -> list[float | None]:
    """A float column's values (``array``, NaN for null) with NaN and infinities as None
    (``assemble.finite``)."""
    values: list[float | None] = array.tolist()
    finite = np.isfinite(array)
    if not finite.all():
        for k in (~finite).nonzero()[0].tolist():
            values[k] = None
    return values


def _distances(array: NDArray[np.float64], users: list[int],
               quality: Mapping[int, QualityBuilder]) -> list[float | None]:
    """Each trip's distance (miles; ``array``, NaN for null) as ``build_trip`` keeps it:
    none when not finite, negative (repaired) or beyond MAX_TRIP_MILES (skipped), each
    counted."""
    miles: list[float | None] = array.tolist()
    kept = (array >= 0) & (array <= MAX_TRIP_MILES)  # false for NaN (null) and infinities
    if kept.all():
        return miles
    for k in (~kept).nonzero()[0].tolist():
        value = miles[k]
        if value is not None and math.isfinite(value):
            if value < 0:
                quality[users[k]].repair("trip_distance_negative")
            else:
                quality[users[k]].skip("trip_distance_implausible")  # a typo, not a trip
        miles[k] = None
    return miles


class _Points(dict[tuple[str | None, str | None], Coordinates | None]):
    """Each distinct pair of coordinate texts of a batch read once (``coordinates``, the
    oracle's rule): trips mostly go between a traveler's few places, and the frozen
    :class:`Coordinates` is shared by the trips that start or end there. Keyed by the texts,
    so "-0" and "0" stay apart (as floats they would be one key)."""

    def __missing__(self, key: tuple[str | None, str | None]) -> Coordinates | None:
        self[key] = point = coordinates(*key)
        return point


def travel_section(frames: BatchFrames, profiles: Mapping[int, Profile],
                   quality: Mapping[int, QualityBuilder]) -> dict[int, TravelContext]:
    """Every batch user's :class:`TravelContext`, by position ``i`` (``build_travel``)."""
    trips = frames.trips
    by_user = _trips(trips, frames.people, quality) if trips.height else {}
    out = {}
    for i, profile in profiles.items():
        mine = by_user.get(i, ())
        if profile.coordinates is not None:
            location: Location | None = Location(profile.coordinates, None, "profile")
        else:
            location = trip_location(mine) if mine else None
        out[i] = TravelContext(mine, location)
    return out


def _trips(trips: Frame, people: Frame, quality: Mapping[int, QualityBuilder]
           ) -> dict[int, tuple[Trip, ...]]:
    """The trips of the frame (:data:`frames.TRIPS`) by user position (``build_trip``), every
    repair and skip counted."""
    column = trips.columns
    start_date, end_date = column["start_date"], column["end_date"]
    # Numbers from the arrays (``tolist``: floats with NaN for null) where both are needed:
    # one conversion per column. Dates from ``to_list``, which refuses a day Python cannot
    # hold (PostgreSQL's 'infinity'), where numpy's ``tolist`` gives a number.
    at = column["i"].to_numpy()
    users: list[int] = at.tolist()
    start, end = start_date.to_numpy(), end_date.to_numpy()
    starts, ends = start_date.to_list(), end_date.to_list()
    backwards = end < start  # NaT compares false: both dates are set
    for k in backwards.nonzero()[0].tolist():  # read as a one-day trip
        quality[users[k]].repair("trip_end_before_start")
        ends[k] = starts[k]
    status = _statuses(column["status"].to_numpy(), start, end, _todays(at, people))
    miles = _distances(column["distance_miles"].to_numpy(), users, quality)
    costs = _finite_values(column["estimated_cost"].to_numpy())
    points = _Points()
    o_xy, d_xy = (list(map(points.__getitem__, zip(column[f"{side}_lat"].to_list(),
                                                   column[f"{side}_lng"].to_list(), strict=True)))
                  for side in ("origin", "destination"))
    routes: list[str | None] = column["route_type"].to_list()
    if not _ROUTE_IN_COLUMNS.issuperset(routes):  # rare: route JSON as text, or malformed
        texts: list[str | None] = column["route_text"].to_list()
        for k, route in enumerate(routes):
            if route in _ROUTE_IN_COLUMNS:
                continue
            q = quality[users[k]]
            if route != "string":
                q.skip("route_data_malformed")  # neither an object, null, nor text
                continue
            o_xy[k], d_xy[k], bad = route_text_coordinates(texts[k])
            if bad:
                q.skip("route_data_malformed")
            else:
                q.repair("route_data_text_encoded")
    origins, destinations = column["origin"].to_list(), column["destination"].to_list()
    if _any_long(origins) or _any_long(destinations):  # rare: cut and counted per row
        for k, texts_of_row in enumerate(zip(origins, destinations, strict=True)):
            origins[k], destinations[k] = cut_columns(texts_of_row, _TRIP_TEXT,
                                                      quality[users[k]])
    made = instances(Trip, (column["trip_id"].to_list(), status, origins, destinations, starts,
                            ends, miles, costs, o_xy, d_xy))
    return per_user(users, made)  # the frame holds each user's rows together


def _shared_starts(users: NDArray[Any], starts: NDArray[np.datetime64]) -> list[bool]:
    """Whether each event shares its user and start with another event of the frame (in any
    order): only those can be copies of one another."""
    n = len(users)
    if n < 2:
        return [False] * n
    moments = starts.view(np.int64)  # NaT is one value: null starts are alike, as None
    order = np.lexsort((moments, users))
    by_user, by_start = users[order], moments[order]
    same = (by_user[1:] == by_user[:-1]) & (by_start[1:] == by_start[:-1])
    shared = np.zeros(n, dtype=np.bool_)
    shared[order[1:][same]] = True
    shared[order[:-1][same]] = True
    result: list[bool] = shared.tolist()
    return result


def calendar_section(frames: BatchFrames,
                     quality: Mapping[int, QualityBuilder]) -> dict[int, CalendarContext]:
    """Every batch user's :class:`CalendarContext`, by position ``i`` (``build_calendar``)."""
    # Each user's zone, as build_calendar resolves it (zone() is cached per name).
    people = frames.people
    zones = {i: zone(name) for i, name in zip(people.get_column("i").to_list(),
                                               people.get_column("zone").to_list(), strict=True)}
    empty = CalendarContext(())
    events = frames.events
    if not events.height:  # a small batch often has none
        return dict.fromkeys(zones, empty)
    column = events.columns
    positions, start_column = column["i"], column["starts_at"]
    titles, kinds, places = (column[c].to_list() for c in ("title", "event_type", "location_name"))
    cut = _any_long(titles) or _any_long(kinds) or _any_long(places)
    users: list[int] = []
    kept: list[tuple[Any, ...]] = []  # each event's fields, made into objects at the end
    seen: set[tuple[int, str, datetime, str]] = set()
    for i, eid, title, starts, ends, all_day, etype, place, shared in zip(
            positions.to_list(), column["event_id"].to_list(), titles, start_column.to_list(),
            column["ends_at"].to_list(), column["all_day"].to_list(), kinds, places,
            _shared_starts(positions.to_numpy(), start_column.to_numpy()), strict=True):
        if cut:
            title, etype, place = cut_columns((title, etype, place), _EVENT_TEXT, quality[i])
        if shared:
            key = (i, same_text(title), starts, same_text(place))
            if key in seen:
                quality[i].skip("event_duplicate")
                continue
            seen.add(key)
        if ends is None:
            ends = starts
        elif ends < starts:
            quality[i].repair("event_end_before_start")
            ends = starts
        all_day = all_day is True  # no flag: a timed event
        tz = zones[i]
        if not all_day:
            local = in_zone(starts, tz)
            ends = local if ends is starts else in_zone(ends, tz)
            starts = local
        users.append(i)
        kept.append((str(eid), title or "", starts, ends, all_day, etype or "personal",
                     (place or "").strip() or None, day_of_event(starts, all_day, tz)))
    made = instances(CalendarEvent, list(zip(*kept, strict=True)) if kept else [()] * 8)
    by_user = per_user(users, made)  # the frame holds each user's rows together
    return {i: CalendarContext(by_user[i]) if i in by_user else empty for i in zones}
