"""The travel and calendar sections of a batch's contexts: trips with their effective status,
the believed location, and upcoming events with their local dates (pure)."""

from __future__ import annotations

from collections.abc import Mapping

from pam_proactive.context import CalendarContext, Profile, QualityBuilder, TravelContext
from pam_proactive.data.assemble import build_calendar, build_travel
from pam_proactive.data.columnar._rows import cut_columns, rows_by_user
from pam_proactive.data.columnar.frames import BatchFrames
from pam_proactive.data.rows import TripRow

_TRIP_TEXT = (TripRow._fields.index("origin"), TripRow._fields.index("destination"))


def travel_section(frames: BatchFrames, profiles: Mapping[int, Profile],
                   quality: Mapping[int, QualityBuilder]) -> dict[int, TravelContext]:
    """Every batch user's :class:`TravelContext`, by position ``i``."""
    trips = rows_by_user(frames.trips)
    out = {}
    for i, today in frames.people.select("i", "today").iter_rows():
        q = quality[i]
        rows = [TripRow._make(cut_columns(r, _TRIP_TEXT, q)) for r in trips.get(i, ())]
        out[i] = build_travel(rows, profiles[i], today, q)
    return out


def calendar_section(frames: BatchFrames,
                     quality: Mapping[int, QualityBuilder]) -> dict[int, CalendarContext]:
    """Every batch user's :class:`CalendarContext`, by position ``i``."""
    events = rows_by_user(frames.events)
    out = {}
    for i, zone in frames.people.select("i", "zone").iter_rows():
        q = quality[i]
        out[i] = build_calendar([cut_columns(r, (2, 6, 7), q) for r in events.get(i, ())],
                                zone, q)
    return out
