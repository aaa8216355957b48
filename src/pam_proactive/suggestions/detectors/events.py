"""``event_travel_planning``: a calendar event soon, far from the traveler, with no trip there.

A stored suggestion is read later, so its message and ``data`` name the event's local date
and time ('starts Sat Mar 15 at 10:00 AM (in 5 days)', the days counted in calendar days of
the traveler's zone) rather than a count of hours from ``now``: they change only at a local
midnight, not every few minutes.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import date, datetime, tzinfo

from pam_proactive.analysis.boundaries import (
    crossing,
    earliest,
    next_local_midnight,
)
from pam_proactive.analysis.dates import format_date
from pam_proactive.analysis.events import (
    UserPoint,
    analyze_upcoming,
    event_day,
    event_hours,
    event_start,
    upcoming_events,
)
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.analysis.units import format_distance
from pam_proactive.context import CalendarEvent, UserContext
from pam_proactive.suggestions.detectors._common import (
    NOTHING,
    Findings,
    aware_now,
    candidate,
    r1,
    user_zone,
)
from pam_proactive.suggestions.detectors.spec import DetectorSpec, SuggestionType
from pam_proactive.suggestions.models import Candidate, DetectorResult, Priority

TYPE = "event_travel_planning"
SKIP_UNRESOLVED = "event_location_unresolved"
SKIP_NO_TRAVEL = "event_needs_no_travel"  # remote meetings and to-dos (analysis.events rule)


def _priority(days: float, settings: DetectorSettings) -> Priority:
    if days <= settings.event_high_days:
        return Priority.HIGH
    if days <= settings.event_medium_days:
        return Priority.MEDIUM
    return Priority.LOW


def detect_event_travel_planning(
    ctx: UserContext, now: datetime, settings: DetectorSettings
) -> DetectorResult:
    """A candidate per event within ``event_window_days`` whose resolved location is at least
    ``event_min_distance_miles`` from the traveler, with no planned or active trip ending
    within ``event_trip_radius_miles`` of it by the event date. High within
    ``event_high_days``, medium within ``event_medium_days``, else low. Remote meetings and
    to-dos (:func:`pam_proactive.analysis.events.no_travel_reason`) never need a trip: they
    are counted as skipped, with a note."""
    upcoming = upcoming_events(ctx, now, settings)
    if not upcoming:
        return NOTHING  # nothing to judge, nothing to say
    found = Findings(TYPE)
    view = analyze_upcoming(ctx, upcoming, settings)
    found.skip(SKIP_UNRESOLVED, view.unresolved)
    found.skip(SKIP_NO_TRAVEL, view.no_travel)
    if view.unresolved:
        found.note("event location not resolved")
    if view.no_travel:
        found.note("remote meeting or to-do: needs no travel")
    here = view.here
    if here is None:
        found.note("traveler's location unknown")
        return found.result()
    return found.result(
        _candidate(ctx, now, e.event, e.place or "", e.hours_until, e.distance_miles or 0.0,
                   here, settings)
        for e in view.events if e.needs_travel
    )


def _clock(moment: datetime) -> str:
    """'10:00 AM': a wall-clock time, as US-style messages write it."""
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def _starts(event: CalendarEvent, day: date | None, today: date, tz: tzinfo) -> str:
    """When the event starts, in the traveler's zone: its date (an all-day event's own
    date), its local time unless all-day, and how many local days away ('today',
    'tomorrow', 'in 5 days')."""
    start = event_start(event, tz)
    if day is None or start is None:
        return "soon"
    when = format_date(day)
    if not event.all_day:
        when += f" at {_clock(start.astimezone(tz))}"
    days = (day - today).days
    if days == 0:
        return f"{when} (today)"
    if days == 1:
        return f"{when} (tomorrow)"
    return f"{when} (in {days} days)" if days > 1 else when


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
    day = event_day(event, tz)
    title = event.title.strip() or "Your event"
    message = (
        f"“{title}” starts {_starts(event, day, ctx.today, tz)} in {place}, about "
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
            "starts_at": event_start(event, tz),  # local midnight of an all-day event
            "location_name": place,
            "distance_miles": r1(distance),
            "starts_on": day,  # the local date: days away = starts_on - today
            "all_day": event.all_day,
            "user_location": here.described,
            "thresholds": {
                "min_distance_miles": settings.event_min_distance_miles,
                "trip_radius_miles": settings.event_trip_radius_miles,
                "window_days": settings.event_window_days,
            },
            "confidence": 0.7,
        },
        expires_at=event_start(event, tz),
        tags=("trip",),
    )


def event_travel_planning_boundary(
    ctx: UserContext, now: datetime, settings: DetectorSettings, keys: Collection[str]
) -> datetime | None:
    """Events (measured to :func:`~pam_proactive.analysis.events.event_start`: an all-day
    event's local midnight): entering the window (``event_window_days``); for an event
    suggested now (``keys`` holds its dedup key), the medium/high thresholds, its start (it
    leaves the window), and the next local midnight (the wording counts local days:
    'tomorrow', 'in 5 days')."""
    events = ctx.calendar.events
    if not events:
        return None
    window = settings.event_window_days * 24.0
    found: list[datetime | None] = []
    # Of the events beyond the window, the nearest enters it first (the crossing grows with
    # the hours): one crossing is computed, not one per event.
    beyond = math.inf
    for event, hours in zip(events, event_hours(ctx, aware_now(now)), strict=True):
        if hours is None or hours < 0:
            continue
        if hours > window:
            beyond = min(beyond, hours)
        elif keys and f"{TYPE}:{event.event_id}" in keys:  # most travelers have no keys
            found.append(crossing(
                now, hours, strict=[0.0],
                inclusive=[settings.event_high_days * 24.0, settings.event_medium_days * 24.0]))
            found.append(next_local_midnight(ctx))
    if beyond < math.inf:
        found.append(crossing(now, beyond, inclusive=[window]))
    return earliest(found)


SPEC = DetectorSpec(
    name=TYPE,
    types=(SuggestionType(
        TYPE, group="trip", job="predictive",
        rule="An upcoming event is far enough away to need a trip, and the lead time for "
             "planning it has begun."),),
    detect=detect_event_travel_planning,
    boundary=event_travel_planning_boundary,
    settings=("event_window_days", "event_min_distance_miles", "event_trip_radius_miles",
              "event_high_days", "event_medium_days"),
    sub_day=True,
)
