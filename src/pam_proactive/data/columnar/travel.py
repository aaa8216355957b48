"""The travel and calendar sections of a batch's contexts: trips with their effective status,
the believed location, and upcoming events with their local dates (pure).

Column-wise over the whole batch: what Polars computes exactly like the per-object builders
of ``data/assemble.py`` (repaired dates and distances, effective statuses, plain decimal
coordinates, the rows that need a closer look) is computed there; then one pass over the
rows builds the objects. The rare rows (text-encoded route JSON, coordinates that are not
plain decimals, texts to cut, events sharing a start) go through the per-row helpers of the
oracle, so one rule stays in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

import polars as pl

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
    _TRIP_STATUSES,
    _coordinates,
    _in_zone,
    _route_text_coordinates,
    _same_text,
    trip_location,
)
from pam_proactive.data.columnar._rows import cut_columns
from pam_proactive.data.columnar.frames import BatchFrames
from pam_proactive.data.columnar.objects import instances, per_user
from pam_proactive.data.columnar.vehicle import today_of_rows
from pam_proactive.data.rows import TripRow

_TRIP_TEXT = (TripRow._fields.index("origin"), TripRow._fields.index("destination"))
_EVENT_TEXT = (2, 6, 7)  # title, event_type, location_name (frames.EVENTS)

# A coordinate text Polars and Python's float() read alike (both round correctly): an
# optional minus, digits, optional decimals. Anything else (exponents, blanks, 'NaN', '1_0',
# JSON objects) is read by the oracle's own ``_coordinates``.
_PLAIN_DECIMAL = r"^-?[0-9]+(\.[0-9]+)?$"

# Bits of a trip row's ``again`` column: what the pass must look at in the row again. Each
# is rare in real data; the pass counts it (or reads the row with the oracle's helpers).
_ODD_COORDINATES = 1  # a coordinate text that is not a plain decimal: ``_coordinates``
_ROUTE_TEXT = 2  # route JSON stored as text: ``_route_text_coordinates``
_TEXT_CUT = 4  # origin or destination longer than TEXT_MAX_CHARS: ``cut_text``
_FLAGS = (  # bit, skipped or repaired, reason
    (8, "repair", "trip_end_before_start"),
    (16, "repair", "trip_distance_negative"),
    (32, "skip", "trip_distance_implausible"),
    (64, "skip", "route_data_malformed"),  # neither an object, null, nor text
)


def _too_long(name: str) -> pl.Expr:
    """Whether the text column ``name`` is longer than TEXT_MAX_CHARS (in characters, as
    Python's ``len``: the values ``cut_text`` cuts)."""
    return (pl.col(name).str.len_chars() > TEXT_MAX_CHARS).fill_null(False)


def _finite(name: str) -> pl.Expr:
    """The float column ``name`` with NaN and infinities as null (``assemble._finite``)."""
    value = pl.col(name)
    return pl.when(value.is_finite()).then(value)


def _degrees(name: str) -> pl.Expr:
    """A coordinate text as a float when it is a plain decimal, else null."""
    text = pl.col(name)
    return pl.when(text.str.contains(_PLAIN_DECIMAL)).then(text.cast(pl.Float64, strict=False))


def _point(lat: str, lng: str) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(latitude, longitude, whether the per-row helper must read them) of a point as
    ``_coordinates`` gives it, from the texts ``lat``, ``lng`` and their plain decimal
    readings ``_lat``, ``_lng`` (null unless both are valid)."""
    la, ln = pl.col(f"_{lat}"), pl.col(f"_{lng}")
    both = pl.col(lat).is_not_null() & pl.col(lng).is_not_null()
    # A plain decimal is never NaN: the bounds are Python's.
    ok = (la.is_between(-90, 90) & ln.is_between(-180, 180)).fill_null(False)
    return (pl.when(ok).then(la), pl.when(ok).then(ln),
            both & (la.is_null() | ln.is_null()))


def _bit(condition: pl.Expr, bit: int) -> pl.Expr:
    return pl.when(condition).then(pl.lit(bit, pl.Int8)).otherwise(pl.lit(0, pl.Int8))


_TEXTS = ("origin_lat", "origin_lng", "destination_lat", "destination_lng")


def _trip_columns(frames: BatchFrames) -> pl.DataFrame:
    """The trips with every value the per-object ``build_trip`` derives from one row."""
    derived, selected = _trip_expressions()
    # Eager, with each row's date from a lookup: a lazy query with a join costs about twice
    # as much on a small batch (its planning is the fixed cost).
    return frames.trips.with_columns(today_of_rows(frames.trips["i"], frames.people),
                                     *derived).select(*selected)


@cache
def _trip_expressions() -> tuple[tuple[pl.Expr, ...], tuple[pl.Expr | str, ...]]:
    """The expressions of :func:`_trip_columns` (the derived inputs, then the selection),
    made once: building them costs more than running them on a small batch."""
    start, end = pl.col("start_date"), pl.col("end_date")
    end_fixed = pl.when(end < start).then(start).otherwise(end)
    today = pl.col("today")
    status = pl.col("status")
    effective = (
        pl.when(status == "cancelled").then(pl.lit("cancelled"))
        .when(start.is_null()).then(
            pl.when(status.is_in(sorted(_TRIP_STATUSES))).then(status)
            .otherwise(pl.lit("planned")))
        .when(start > today).then(pl.lit("planned"))
        .when(pl.coalesce(end_fixed, start) < today).then(pl.lit("completed"))
        .otherwise(pl.lit("active")))
    distance = pl.col("_distance")
    negative = (distance < 0).fill_null(False)
    implausible = (distance > MAX_TRIP_MILES).fill_null(False)
    route = pl.col("route_type")
    o_lat, o_lng, o_odd = _point("origin_lat", "origin_lng")
    d_lat, d_lng, d_odd = _point("destination_lat", "destination_lng")
    counted = {
        "trip_end_before_start": end < start,
        "trip_distance_negative": negative,
        "trip_distance_implausible": implausible,
        "route_data_malformed": route.is_not_null() & ~route.is_in(["object", "null", "string"]),
    }
    again = pl.sum_horizontal(
        _bit(o_odd | d_odd, _ODD_COORDINATES), _bit(route == "string", _ROUTE_TEXT),
        _bit(_too_long("origin") | _too_long("destination"), _TEXT_CUT),
        *(_bit(counted[reason], bit) for bit, _kind, reason in _FLAGS))
    derived = (_finite("distance_miles").alias("_distance"),
               *(_degrees(c).alias(f"_{c}") for c in _TEXTS))
    selected = (
        "i", "trip_id", effective.alias("status"), "origin", "destination", "start_date",
        end_fixed.alias("end_date"),
        pl.when(~negative & ~implausible).then(distance).alias("distance"),
        _finite("estimated_cost").alias("cost"),
        o_lat.alias("o_lat"), o_lng.alias("o_lng"), d_lat.alias("d_lat"),
        d_lng.alias("d_lng"), again.fill_null(0).alias("again"),
    )
    return derived, selected


class _Points(dict[tuple[float, float], Coordinates]):
    """One :class:`Coordinates` per point of a batch (frozen, so shared by the trips that
    start or end there: trips mostly go between a traveler's few places)."""

    def __missing__(self, key: tuple[float, float]) -> Coordinates:
        point = Coordinates(*key)
        # -0.0 equals 0.0 as a key but prints otherwise: such a point is never shared.
        if key[0] and key[1]:
            self[key] = point
        return point


def travel_section(frames: BatchFrames, profiles: Mapping[int, Profile],
                   quality: Mapping[int, QualityBuilder]) -> dict[int, TravelContext]:
    """Every batch user's :class:`TravelContext`, by position ``i`` (``build_travel``)."""
    trips = _trip_columns(frames)
    (users, tid, status, origin, dest, start, end, miles, cost, olat, olng, dlat, dlng,
     again) = (c.to_list() for c in trips.iter_columns())
    points = _Points()
    # Both or neither of a point's degrees are set.
    o_xy = [None if la is None else points[la, ln] for la, ln in zip(olat, olng, strict=True)]
    d_xy = [None if la is None else points[la, ln] for la, ln in zip(dlat, dlng, strict=True)]
    for k in [k for k, bits in enumerate(again) if bits]:  # rare: read from the stored row
        origin[k], dest[k], o_xy[k], d_xy[k] = _look_again(
            frames.trips.row(k), again[k], quality[users[k]], o_xy[k], d_xy[k])
    made = instances(Trip, (tid, status, origin, dest, start, end, miles, cost, o_xy, d_xy))
    by_user = per_user(users, made)  # the frame holds each user's rows together
    out = {}
    for i, profile in profiles.items():
        mine = by_user.get(i, ())
        if profile.coordinates is not None:
            location: Location | None = Location(profile.coordinates, None, "profile")
        else:
            location = trip_location(mine) if mine else None
        out[i] = TravelContext(mine, location)
    return out


def _look_again(stored: tuple[Any, ...], again: int, quality: QualityBuilder,
                o_xy: Coordinates | None, d_xy: Coordinates | None,
                ) -> tuple[str | None, str | None, Coordinates | None, Coordinates | None]:
    """A trip's origin, destination and points from its stored row (a :data:`TRIPS` row of
    the frames) when its ``again`` bits say so, its repairs and skips counted."""
    row = TripRow._make(stored)
    for bit, kind, reason in _FLAGS:
        if again & bit:
            (quality.repair if kind == "repair" else quality.skip)(reason)
    if again & _ODD_COORDINATES:
        o_xy = _coordinates(row.origin_lat, row.origin_lng)
        d_xy = _coordinates(row.destination_lat, row.destination_lng)
    if again & _ROUTE_TEXT:
        o_xy, d_xy, bad = _route_text_coordinates(row.route_text)
        if bad:
            quality.skip("route_data_malformed")
        else:
            quality.repair("route_data_text_encoded")
    if again & _TEXT_CUT:
        row = TripRow._make(cut_columns(row, _TRIP_TEXT, quality))
    return row.origin, row.destination, o_xy, d_xy


def calendar_section(frames: BatchFrames,
                     quality: Mapping[int, QualityBuilder]) -> dict[int, CalendarContext]:
    """Every batch user's :class:`CalendarContext`, by position ``i`` (``build_calendar``)."""
    # Each user's zone, as build_calendar resolves it (zone() is cached per name).
    zones = {i: zone(name) for i, name in zip(frames.people["i"].to_list(),
                                               frames.people["zone"].to_list(), strict=True)}
    empty = CalendarContext(())
    if frames.events.is_empty():  # a small batch often has none: no query then
        return dict.fromkeys(zones, empty)
    events = frames.events.select(
        "i", "event_id", "title", "starts_at", "ends_at", pl.col("all_day").fill_null(False),
        "event_type", "location_name",
        # Only events sharing their user and start can be copies of one another: the
        # duplicate key (texts compared by ``_same_text``) is built for those only.
        pl.struct("i", "starts_at").is_duplicated().alias("shared"),
        (_too_long("title") | _too_long("event_type") | _too_long("location_name"))
        .alias("cut"),
    )
    users: list[int] = []
    kept: list[tuple[Any, ...]] = []  # each event's fields, made into objects at the end
    seen: set[tuple[int, str, datetime, str]] = set()
    row: tuple[Any, ...]
    for row in zip(*(c.to_list() for c in events.iter_columns()), strict=True):
        i, eid, title, starts, ends, all_day, etype, place, shared, cut = row
        if cut:
            _i, _e, title, _s, _t, _a, etype, place = cut_columns(
                (i, eid, title, starts, ends, all_day, etype, place), _EVENT_TEXT, quality[i])
        if shared:
            key = (i, _same_text(title), starts, _same_text(place))
            if key in seen:
                quality[i].skip("event_duplicate")
                continue
            seen.add(key)
        if ends is None:
            ends = starts
        elif ends < starts:
            quality[i].repair("event_end_before_start")
            ends = starts
        tz = zones[i]
        if not all_day:
            local = _in_zone(starts, tz)
            ends = local if ends is starts else _in_zone(ends, tz)
            starts = local
        users.append(i)
        kept.append((str(eid), title or "", starts, ends, all_day, etype or "personal",
                     (place or "").strip() or None, day_of_event(starts, all_day, tz)))
    made = instances(CalendarEvent, list(zip(*kept, strict=True)) if kept else [()] * 8)
    by_user = per_user(users, made)  # the frame holds each user's rows together
    return {i: CalendarContext(by_user[i]) if i in by_user else empty for i in zones}
