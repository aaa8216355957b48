"""``event_travel_planning``: a calendar event soon, far from the traveler, with no trip there."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from pam_proactive.analysis.dates import aware, format_date, hours_until, local_date
from pam_proactive.analysis.fuel import record_skip_once
from pam_proactive.analysis.geo import haversine_miles, resolve_place, valid_coordinates
from pam_proactive.analysis.units import format_distance
from pam_proactive.context import CalendarEvent, Coordinates, Trip, UserContext
from pam_proactive.suggestions.detectors._common import (
    aware_now,
    candidate,
    note,
    r1,
    user_zone,
)
from pam_proactive.suggestions.detectors.settings import DetectorSettings
from pam_proactive.suggestions.models import Candidate, Priority

TYPE = "event_travel_planning"
SKIP_UNRESOLVED = "event_location_unresolved"


@dataclass(frozen=True, slots=True)
class UserPoint:
    """Where the traveler is believed to be, and a phrase saying how we know."""

    point: Coordinates
    described: str


def _text(value: object) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def trip_destination(trip: Trip) -> Coordinates | None:
    """A trip's destination: its coordinates, else its resolved place name."""
    return valid_coordinates(trip.destination_coordinates) or resolve_place(_text(trip.destination))


def user_location(ctx: UserContext) -> UserPoint | None:
    """The traveler's position: the context's location (coordinates, else its resolved place
    name), else the destination of the current or most recent trip."""
    location = ctx.travel.location
    if location is not None:
        name = _text(location.place_name)
        # Only the profile's own position is known to be current; trip-derived ones are not.
        where = (
            "your current location" if location.source == "profile" else "your last known location"
        )
        where = f"{where} ({name})" if name else where
        point = valid_coordinates(location.coordinates) or resolve_place(name)
        if point is not None:
            return UserPoint(point, where)
    started = [
        t
        for t in ctx.travel.trips
        if t.status in ("active", "completed")
        and isinstance(t.start_date, date)
        and t.start_date <= ctx.today
    ]
    # The current trip first, then the latest completed one.
    started.sort(
        key=lambda t: (t.status == "active", t.start_date.toordinal() if t.start_date else 0)
    )
    for trip in reversed(started):
        point = trip_destination(trip)
        if point is not None:
            name = _text(trip.destination)
            label = f"{name}, " if name else ""
            kind = "your current trip" if trip.status == "active" else "your last trip"
            return UserPoint(point, f"{label}the destination of {kind}")
    return None


def _covers(trip: Trip, event_day: date, settings: DetectorSettings) -> bool:
    """Whether ``trip`` gets the traveler there by ``event_day``: it arrives (end date, else
    start date) by then, or, when allowed, it is under way or departs by then."""
    start, end = trip.start_date, trip.end_date
    arrival = end if isinstance(end, date) else start
    if not isinstance(arrival, date):
        return True  # a trip there with no dates is still a plan; don't nag
    if arrival <= event_day:
        return True
    return settings.event_trip_spanning_covers and isinstance(start, date) and start <= event_day


def covering_trip(
    ctx: UserContext, point: Coordinates, event_day: date, settings: DetectorSettings
) -> Trip | None:
    """A planned or active trip ending near ``point`` in time for ``event_day``, if any."""
    for trip in ctx.travel.trips:
        if trip.status not in ("planned", "active"):
            continue
        destination = trip_destination(trip)
        if destination is None:
            continue
        near = haversine_miles(destination, point) <= settings.event_trip_radius_miles
        if near and _covers(trip, event_day, settings):
            return trip
    return None


def _priority(days: float, settings: DetectorSettings) -> Priority:
    if days <= settings.event_high_days:
        return Priority.HIGH
    if days <= settings.event_medium_days:
        return Priority.MEDIUM
    return Priority.LOW


def _upcoming(
    ctx: UserContext, now: datetime, settings: DetectorSettings
) -> list[tuple[CalendarEvent, float]]:
    """Events starting in [now, now + window], with hours until each starts."""
    tz = user_zone(ctx)
    found = []
    for event in ctx.calendar.events:
        hours = hours_until(event.starts_at, aware_now(now), tz)
        if hours is not None and 0 <= hours <= settings.event_window_days * 24:
            found.append((event, hours))
    return found


@dataclass(frozen=True, slots=True)
class EventAnalysis:
    """One upcoming event seen from the traveler's position."""

    event: CalendarEvent
    hours_until: float
    place: str | None  # the event's location name
    point: Coordinates | None  # resolved offline; None when unresolvable or absent
    distance_miles: float | None  # from the traveler; None when either end is unknown
    covering_trip: Trip | None  # a planned or active trip getting there in time
    needs_travel: bool  # far enough away and no trip covers it


def analyze_events(
    ctx: UserContext, now: datetime, settings: DetectorSettings
) -> tuple[UserPoint | None, list[EventAnalysis]]:
    """The traveler's position and every event starting within ``event_window_days``: where
    it is, how far (miles), and whether a trip already gets the traveler there. Counts
    unresolvable locations in ``data_quality`` (once per context)."""
    here = user_location(ctx)
    tz = user_zone(ctx)
    found: list[EventAnalysis] = []
    unresolved = 0
    for event, hours in _upcoming(ctx, now, settings):
        place = _text(event.location_name)
        point = resolve_place(place)
        if point is None and place is not None:
            unresolved += 1
            note(ctx, TYPE, f"event location {place!r} not resolved")
        distance = haversine_miles(here.point, point) if here and point else None
        event_day = local_date(event.starts_at, tz)
        trip = (covering_trip(ctx, point, event_day, settings)
                if point is not None and event_day is not None else None)
        far = distance is not None and distance >= settings.event_min_distance_miles
        found.append(EventAnalysis(event, hours, place, point, distance, trip,
                                   far and trip is None and event_day is not None))
    record_skip_once(ctx, SKIP_UNRESOLVED, unresolved)
    return here, found


def detect_event_travel_planning(
    ctx: UserContext, now: datetime, settings: DetectorSettings
) -> list[Candidate]:
    """A candidate per event within ``event_window_days`` whose resolved location is at least
    ``event_min_distance_miles`` from the traveler, with no planned or active trip ending
    within ``event_trip_radius_miles`` of it by the event date. High within
    ``event_high_days``, medium within ``event_medium_days``, else low."""
    if not _upcoming(ctx, now, settings):
        return []
    here, events = analyze_events(ctx, now, settings)
    if here is None:
        note(ctx, TYPE, "traveler's location unknown")
        return []
    return [
        _candidate(ctx, now, e.event, e.place or "", e.hours_until, e.distance_miles or 0.0,
                   here, settings)
        for e in events if e.needs_travel
    ]


def _candidate(
    ctx: UserContext,
    now: datetime,
    event: CalendarEvent,
    place: str,
    hours: float,
    distance: float,
    here: UserPoint,
    settings: DetectorSettings,
) -> Candidate:
    days = hours / 24.0
    tz = user_zone(ctx)
    event_day = local_date(event.starts_at, tz)
    when = format_date(event_day) if event_day else "soon"
    if hours < 1:
        away = "within the hour"
    elif hours < 24:
        away = f"in {hours:.0f} hour{'s' if round(hours) != 1 else ''}"
    else:
        away = f"in {days:.0f} day{'s' if round(days) != 1 else ''}"
    title = _text(event.title) or "Your event"
    message = (
        f"“{title}” starts {when} ({away}) in {place}, about "
        f"{format_distance(distance, ctx.profile.units)} from {here.described}. "
        "No planned trip gets you there by then: plan the drive now."
    )
    return candidate(
        ctx,
        now,
        type=TYPE,
        priority=_priority(days, settings),
        title=f"Plan travel for {title}",
        message=message,
        dedup_key=f"{TYPE}:{event.event_id}",
        data={
            "event_id": event.event_id,
            "event_title": title,
            "starts_at": event.starts_at,
            "location_name": place,
            "distance_miles": r1(distance),
            "days_until": r1(days),
            "user_location": here.described,
            "thresholds": {
                "min_distance_miles": settings.event_min_distance_miles,
                "trip_radius_miles": settings.event_trip_radius_miles,
                "window_days": settings.event_window_days,
            },
            "confidence": 0.7,
        },
        expires_at=aware(event.starts_at, tz),
        tags=("trip",),
    )
