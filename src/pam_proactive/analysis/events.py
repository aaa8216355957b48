"""Upcoming calendar events seen from the traveler's position: where each is, how far, whether
a trip already gets the traveler there, and whether it needs travel at all (pure).

Shared by the ``event_travel_planning`` detector and the data facade's upcoming-events view.

The no-travel rule (:func:`no_travel_reason`): an event never needs a trip when

* it is **remote**: one of :data:`REMOTE_WORDS` is a word of its title or of its location name
  (``call``, ``video``, ``zoom``, ``teams``, ``meet``, ``webinar``, ``online``, ``virtual``,
  ...), or its location is a web address;
* it is a **to-do**: its ``event_type`` is ``reminder``, or its title starts with one of
  :data:`TASK_VERBS` ("Pay insurance", "Renew registration", "File taxes") or contains one of
  :data:`TASK_WORDS` ("Rent due", "Tax deadline").

``meet`` and ``teams`` alone are ambiguous in a title ("Meet the group at Quartzsite"), so in
a title only the phrases "google meet" and "microsoft teams" count; as a location the bare
words count.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from functools import lru_cache
from itertools import pairwise

from pam_proactive.analysis.dates import (
    all_day_date,
    aware,
    hours_between,
    hours_until,
    local_date,
    midnight_in,
    utc_midnight_in,
    zone,
)
from pam_proactive.analysis.geo import haversine_miles, resolve_place, valid_coordinates
from pam_proactive.analysis.records import quick_init
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import CalendarEvent, Coordinates, Trip, UserContext

# Words (whole words, any case) that make an event remote, in its title or location.
REMOTE_WORDS = frozenset({
    "call", "calls", "video", "videocall", "zoom", "webinar", "online", "virtual", "facetime",
    "skype", "webex", "teleconference", "conference call", "livestream",
    "google meet", "microsoft teams", "ms teams", "teams call", "teams meeting",
})
# Also remote when they are (a word of) the location name.
REMOTE_LOCATION_WORDS = REMOTE_WORDS | {"meet", "teams", "phone", "internet", "web"}
# A title starting with one of these verbs is a task done from anywhere.
# Verbs that also start trips ("Check in at ...", "Book club", "Sign the lease") are left out.
TASK_VERBS = frozenset({
    "pay", "renew", "file", "submit", "email", "e-mail", "text", "phone", "call", "order",
    "cancel", "schedule", "reserve", "remember", "reminder", "send", "mail",
})
# A title containing one of these words is a deadline, not a place to be.
TASK_WORDS = frozenset({"due", "deadline", "reminder", "expires", "expiring", "overdue"})
TODO_EVENT_TYPES = frozenset({"reminder"})

REMOTE = "remote"
TO_DO = "to_do"

_WORD = re.compile(r"[a-z0-9][a-z0-9'-]*")
_URL = re.compile(r"https?://|www\.|\.(com|net|org|us|io)\b", re.IGNORECASE)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _has_any(words: list[str], vocabulary: frozenset[str]) -> bool:
    singles = set(words)
    pairs = {f"{a} {b}" for a, b in pairwise(words)}
    return bool(vocabulary & (singles | pairs))


# Titles and places repeat across travelers (and a sweep sees each event's texts again at
# each run): the rule is applied once per distinct (title, place, type), for texts of at most
# this many characters (longer ones are judged uncached, so the cache stays small).
_MAX_CACHED_TEXT = 300


def no_travel_reason(event: CalendarEvent) -> str | None:
    """:data:`REMOTE` or :data:`TO_DO` when the event needs no trip by the module's rule,
    else None."""
    title, place, kind = event.title, event.location_name, event.event_type
    if len(title) + len(place or "") + len(kind) > _MAX_CACHED_TEXT:
        return _no_travel(title, place, kind)
    return _cached_no_travel(title, place, kind)


def _no_travel(title_text: str, place_name: str | None, event_type: str) -> str | None:
    title = _words(title_text)
    place = place_name or ""
    if _has_any(title, REMOTE_WORDS) or _URL.search(place):
        return REMOTE
    if place and _has_any(_words(place), REMOTE_LOCATION_WORDS):
        return REMOTE
    if event_type.strip().lower() in TODO_EVENT_TYPES:
        return TO_DO
    if title and (title[0] in TASK_VERBS or _has_any(title, TASK_WORDS)):
        return TO_DO
    return None


_cached_no_travel = lru_cache(maxsize=8192)(_no_travel)


@quick_init
@dataclass(frozen=True, slots=True)
class UserPoint:
    """Where the traveler is believed to be, and a phrase saying how we know."""

    point: Coordinates
    described: str


def trip_destination(trip: Trip) -> Coordinates | None:
    """A trip's destination: its coordinates, else its resolved place name."""
    return valid_coordinates(trip.destination_coordinates) or resolve_place(trip.destination)


def user_location(ctx: UserContext) -> UserPoint | None:
    """The traveler's position: the context's location (coordinates, else its resolved place
    name), else the destination of the current or most recent trip."""
    location = ctx.travel.location
    if location is not None:
        name = (location.place_name or "").strip() or None
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
        if t.status in ("active", "completed") and t.start_date is not None
        and t.start_date <= ctx.today
    ]
    # The current trip first, then the latest completed one.
    started.sort(
        key=lambda t: (t.status == "active", t.start_date.toordinal() if t.start_date else 0)
    )
    for trip in reversed(started):
        point = trip_destination(trip)
        if point is not None:
            name = (trip.destination or "").strip()
            label = f"{name}, " if name else ""
            kind = "your current trip" if trip.status == "active" else "your last trip"
            return UserPoint(point, f"{label}the destination of {kind}")
    return None


def _covers(trip: Trip, event_day: date, settings: DetectorSettings) -> bool:
    """Whether ``trip`` gets the traveler there by ``event_day``: it arrives (end date, else
    start date) by then, or, when allowed, it is under way or departs by then."""
    start, end = trip.start_date, trip.end_date
    arrival = end if end is not None else start
    if arrival is None:
        return True  # a trip there with no dates is still a plan; don't nag
    if arrival <= event_day:
        return True
    return settings.event_trip_spanning_covers and start is not None and start <= event_day


def covering_trip(
    ctx: UserContext, point: Coordinates, event_day: date, settings: DetectorSettings
) -> Trip | None:
    """A planned or active trip ending near ``point`` in time for ``event_day``, if any."""
    return _covering(_open_trips(ctx), point, event_day, settings)


def _open_trips(ctx: UserContext) -> list[tuple[Trip, Coordinates]]:
    """The planned and active trips with a known destination, in their order (looked up once
    per context for all its events)."""
    found = []
    for trip in ctx.travel.trips:
        if trip.status not in ("planned", "active"):
            continue
        destination = trip_destination(trip)
        if destination is not None:
            found.append((trip, destination))
    return found


def _covering(trips: list[tuple[Trip, Coordinates]], point: Coordinates, event_day: date,
              settings: DetectorSettings) -> Trip | None:
    """:func:`covering_trip` among ``trips`` (:func:`_open_trips`)."""
    for trip, destination in trips:
        near = haversine_miles(destination, point) <= settings.event_trip_radius_miles
        if near and _covers(trip, event_day, settings):
            return trip
    return None


def event_day(event: CalendarEvent, tz: tzinfo) -> date | None:
    """The traveler's local date of ``event``: an all-day event's own date (never shifted
    by a time zone, :func:`~pam_proactive.analysis.dates.all_day_date`), a timed event's
    start date in ``tz``. The one rule every output's event date follows.

    ``tz`` is the traveler's zone. The data layer stores this date as ``starts_on`` (this
    rule in that zone), and it is read there when set: an all-day event's conversion to UTC
    costs ~0.5 us, and the detector and its boundary ask for every event."""
    day = event.starts_on
    if day is not None:
        return day
    return day_of_event(event.starts_at, event.all_day, tz)


def day_of_event(starts_at: datetime, all_day: bool, tz: tzinfo) -> date | None:
    """:func:`event_day` of an event starting at ``starts_at`` (as a
    :class:`CalendarEvent` holds it), before the event is built."""
    if all_day:
        return all_day_date(starts_at, tz)
    return local_date(starts_at, tz)


def event_start(event: CalendarEvent, tz: tzinfo) -> datetime | None:
    """When ``event`` starts for the traveler (aware): a timed event at its instant, an
    all-day event at the local midnight starting its date in ``tz``. None out of range."""
    return _start(event, tz, midnight_in)


def _start(event: CalendarEvent, tz: tzinfo,
           midnight: Callable[[date, tzinfo], datetime | None]) -> datetime | None:
    """:func:`event_start`, an all-day event's midnight as ``midnight`` writes it (local, or
    the same instant in UTC for the hours to it)."""
    if not event.all_day:
        return aware(event.starts_at, tz)
    day = event_day(event, tz)
    return midnight(day, tz) if day is not None else None


def event_hours_until(event: CalendarEvent, now: datetime, tz: tzinfo) -> float | None:
    """Hours from ``now`` to :func:`event_start` (negative when started), or None."""
    # An all-day event's midnight in UTC: from a UTC ``now``, a difference with no zone
    # lookup, and the same hours.
    start = _start(event, tz, utc_midnight_in)
    return hours_until(start, now, tz) if start is not None else None


def event_hours(ctx: UserContext, now: datetime) -> list[float | None]:
    """:func:`event_hours_until` of each of ``ctx.calendar.events`` (in their order) at
    ``now``, in the user's zone (the zone looked up once). Not memoised: a sweep detects a
    whole batch before it computes the boundaries, so a per-context cache would never hit."""
    events = ctx.calendar.events
    if not events:
        return []
    tz = zone(ctx.profile.timezone)
    at = aware(now, tz)  # once, not once per event
    # event_hours_until's steps, both ends aware already: a sweep asks for every event
    # twice (detector and boundary), ~1.5 us each before.
    found: list[float | None] = []
    for event in events:
        start = _start(event, tz, utc_midnight_in)
        found.append(hours_between(start, at) if start is not None else None)
    return found


def upcoming_events(
    ctx: UserContext, now: datetime, settings: DetectorSettings
) -> list[tuple[CalendarEvent, float]]:
    """Events starting in [now, now + ``event_window_days``], with hours until each starts."""
    events = ctx.calendar.events
    if not events:
        return []
    window = settings.event_window_days * 24
    return [(event, hours) for event, hours in zip(events, event_hours(ctx, now), strict=True)
            if hours is not None and 0 <= hours <= window]


@quick_init
@dataclass(frozen=True, slots=True)
class EventAnalysis:
    """One upcoming event seen from the traveler's position."""

    event: CalendarEvent
    hours_until: float
    place: str | None  # the event's location name
    point: Coordinates | None  # resolved offline; None when unresolvable, absent or remote
    distance_miles: float | None  # from the traveler; None when either end is unknown
    covering_trip: Trip | None  # a planned or active trip getting there in time
    no_travel: str | None  # REMOTE or TO_DO: needs no trip whatever the distance
    needs_travel: bool  # travels somewhere, far enough away, and no trip covers it


@quick_init
@dataclass(frozen=True, slots=True)
class EventsView:
    """The traveler's position and the upcoming events, with the counts behind silences."""

    here: UserPoint | None
    events: tuple[EventAnalysis, ...]
    unresolved: int  # events whose location name could not be placed
    no_travel: int  # remote meetings and to-dos, never a trip


def analyze_events(ctx: UserContext, now: datetime, settings: DetectorSettings) -> EventsView:
    """The traveler's position and every event starting within ``event_window_days``: where
    it is, how far (miles), whether it needs travel at all, and whether a trip already gets
    the traveler there."""
    return analyze_upcoming(ctx, upcoming_events(ctx, now, settings), settings)


def analyze_upcoming(ctx: UserContext, upcoming: list[tuple[CalendarEvent, float]],
                     settings: DetectorSettings) -> EventsView:
    """:func:`analyze_events` of the events :func:`upcoming_events` gave (``upcoming``), for
    a caller that has them already."""
    here = user_location(ctx)
    tz = zone(ctx.profile.timezone)
    found: list[EventAnalysis] = []
    unresolved = skipped = 0
    trips: list[tuple[Trip, Coordinates]] | None = None  # listed at the first event needing them
    for event, hours in upcoming:
        place = event.location_name
        exempt = no_travel_reason(event)
        if exempt is not None:
            skipped += 1
            found.append(EventAnalysis(event, hours, place, None, None, None, exempt, False))
            continue
        point = resolve_place(place)
        if point is None and place is not None:
            unresolved += 1
        distance = haversine_miles(here.point, point) if here and point else None
        day = event_day(event, tz)
        trip = None
        if point is not None and day is not None:
            if trips is None:
                trips = _open_trips(ctx)
            trip = _covering(trips, point, day, settings)
        far = distance is not None and distance >= settings.event_min_distance_miles
        found.append(EventAnalysis(event, hours, place, point, distance, trip, None,
                                   far and trip is None and day is not None))
    return EventsView(here, tuple(found), unresolved, skipped)
