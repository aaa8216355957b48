"""Generation of upcoming calendar events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from pam_proactive.demo.encoding import (
    DAY,
    BoolArr,
    BytesArr,
    Clock,
    FloatArr,
    IntArr,
    Rng,
    ascii_array,
    or_null,
)
from pam_proactive.demo.generate.arrays import (
    segments,
)
from pam_proactive.demo.generate.travelers import (
    PLANNED,
    Trips,
)
from pam_proactive.demo.reference import (
    BIRTHDAY,
    EVENT_LOCATED,
    EVENT_SHARE,
    EVENT_TITLE,
    EVENT_TYPES,
    GREAT_CIRCLE,
    HOLIDAY,
    HOLIDAYS,
    MAINT_EVENT,
    MEETING,
    NEAREST,
    PERSONAL,
    REMINDERS,
    REMOTE_SHARE,
    REMOTE_TITLES,
    TOWN_ZONE,
    TRIP_EVENT,
)


@dataclass(frozen=True, eq=False)
class Events:
    """Upcoming calendar events (flat rows)."""

    owner: IntArr
    kind: IntArr  # index into EVENT_TYPES
    title: BytesArr
    start_s: IntArr
    end_s: IntArr
    all_day: BoolArr
    place: IntArr  # town, -1 when none
    reminder: BytesArr
    created_s: IntArr
    remote: BoolArr  # a call or video meeting: no place (its location may say "Zoom")


_AWAY_SHARE = 0.025
"""Share of in-person events (personal, rally, birthday, holiday) held in another town than
the one the traveler will be in: the only ones that can need a trip planned."""
_LOCAL_MILES = 60.0  # a neighbouring town counts as local within this (great circle)
_AWAY_MILES = 110.0  # an away event is at least this far (the detector acts from 100)
_DRIVE_PER_DAY = 400.0  # miles an RV covers in a day: away events are reachable in time


def _base_town(trips: Trips) -> IntArr:
    """Where each traveler is, or will be once the trip under way ends: the engine's idea of
    their position (the destination of the current trip, else of the last one)."""
    rows = np.arange(len(trips.count))
    going = trips.places[rows, np.minimum(trips.completed + 1, trips.places.shape[1] - 1)]
    base: IntArr = np.where(trips.active, going, trips.here)
    return base


def _next_arrival(trips: Trips) -> IntArr:
    """Day the first planned trip of each traveler arrives at its destination (-1: none)."""
    planned = trips.status == PLANNED
    slot = planned.argmax(axis=1)
    arrival: IntArr = np.where(planned.any(axis=1), trips.end[np.arange(len(slot)), slot], -1)
    return arrival


def _event_places(rng: Rng, trips: Trips, owner: IntArr, kind: IntArr,
                  days_away: FloatArr) -> IntArr:
    """Where in-person events happen: in the traveler's town (or a neighbour within
    ``_LOCAL_MILES``), rallies also at the next planned stop (the traveler's events there
    are dated after arriving); a few (``_AWAY_SHARE``) in a town 110+ miles away that can be
    driven to before the event (``_DRIVE_PER_DAY`` a day). -1: no location."""
    m = len(owner)
    located = rng.random(m) < np.array(EVENT_LOCATED)[kind]
    base = _base_town(trips)[owner]
    neighbour = NEAREST[base, rng.integers(0, NEAREST.shape[1], m)]
    miles = GREAT_CIRCLE[base, neighbour]
    local = np.where((rng.random(m) < 0.3) & (miles <= _LOCAL_MILES), neighbour, base)
    social = np.isin(kind, (PERSONAL, TRIP_EVENT, BIRTHDAY, HOLIDAY))
    reachable = (miles >= _AWAY_MILES) & (miles <= _DRIVE_PER_DAY * np.maximum(days_away, 0.5))
    away = social & reachable & (rng.random(m) < _AWAY_SHARE)
    place = np.where(away, neighbour, local)
    return np.where(located, place, -1)


def _zone_offsets(clock: Clock, zones: BytesArr) -> tuple[BytesArr, IntArr]:
    """The distinct zones of ``zones`` and, per zone, its UTC offset (seconds) on each day
    from today to today + 32, read at 19:00 UTC (midday across the US, clear of any
    2 AM DST change). Returns (zone names, offsets of shape (zones, 33))."""
    names = np.unique(zones)
    days = clock.today + np.arange(33)
    offsets = np.empty((len(names), len(days)), dtype=np.int64)
    for i, name in enumerate(names):
        zone = ZoneInfo(name.decode("ascii"))
        for j, day in enumerate(days):
            moment = datetime.fromtimestamp(int(day) * DAY + 19 * 3600, zone)
            offset = moment.utcoffset()
            offsets[i, j] = int(offset.total_seconds()) if offset is not None else 0
    return names, offsets


def _daytime_starts(rng: Rng, clock: Clock, zone: BytesArr, kind: IntArr) -> IntArr:
    """Start (UTC seconds) of timed events at a plausible local hour of the traveler's zone:
    8:00 AM to 7:45 PM in quarter hours (appointments and calls 9 AM to 4:45 PM), on one of
    the next 30 days, at least half an hour after now."""
    m = len(zone)
    names, offsets = _zone_offsets(clock, zone)
    z = np.searchsorted(names, zone)
    business = np.isin(kind, (MAINT_EVENT, MEETING))
    quarter = np.where(business, rng.integers(36, 68, m), rng.integers(32, 80, m))
    day = rng.integers(0, 30, m)
    start: IntArr = np.zeros(m, dtype=np.int64)
    for _ in range(3):  # a start already past (or too close to now) moves a day later
        start = (clock.today + day) * DAY + quarter * 900 - offsets[z, day]
        day = np.where(start < clock.now_s + 1_800, day + 1, day)
    return start


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th (n < 0: counted from the end) ``weekday`` (Monday = 0) of a month."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7 + 7 * (-n - 1))


def holidays_between(first_day: int, last_day: int) -> list[tuple[int, bytes]]:
    """(day number, event title) of the holidays of ``HOLIDAYS`` in [first_day, last_day]
    (UTC day numbers), in date order."""
    epoch = date(1970, 1, 1)
    found = []
    for year in range((epoch + timedelta(first_day)).year, (epoch + timedelta(last_day)).year + 1):
        for title, month, day, n in HOLIDAYS:
            when = date(year, month, day) if n == 0 else _nth_weekday(year, month, day, n)
            number = (when - epoch).days
            if first_day <= number <= last_day:
                found.append((number, title.encode("ascii")))
    return sorted(found)


def _holiday_events(rng: Rng, clock: Clock, kind: IntArr, start: IntArr, all_day: BoolArr,
                    title: BytesArr) -> None:
    """Dates each holiday event on a real holiday of the coming 30 days, all day, named
    after it; without one in that window, the event is a generic social one (personal)."""
    rows = np.flatnonzero(kind == HOLIDAY)
    coming = holidays_between(clock.today + 1, clock.today + 30)
    if not coming:
        kind[rows] = PERSONAL
        return
    pick = rng.integers(0, len(coming), len(rows))
    days = np.array([d for d, _ in coming], dtype=np.int64)
    names = np.array([t for _, t in coming], dtype=np.bytes_)
    named = rng.random(len(rows)) < 0.7  # others keep a generic title on the holiday
    start[rows] = days[pick] * DAY
    all_day[rows] = True
    title[rows] = np.where(named, names[pick], title[rows])


def make_events(rng: Rng, clock: Clock, trips: Trips) -> Events:
    """1-5 events per user in the 30 days after now: timed ones at a local daytime hour of
    the traveler's zone, all-day ones at midnight UTC of their date (the app's convention for
    a date); rallies at the next planned stop are dated after the trip there arrives."""
    n = len(trips.count)
    owner, _ = segments(rng.integers(1, 6, n))
    m = len(owner)
    kind = rng.choice(len(EVENT_TYPES), m, p=EVENT_SHARE).astype(np.int64)
    all_day_share = np.array((0.05, 0.6, 0.05, 0.0, 0.2, 0.9, 0.9))[kind]
    all_day = rng.random(m) < all_day_share
    timed_start = _daytime_starts(rng, clock, TOWN_ZONE[trips.here[owner]], kind)
    day_start = (clock.today + rng.integers(1, 31, m)) * DAY
    start = np.where(all_day, day_start, timed_start)
    title = EVENT_TITLE.pick(rng, kind).astype(_TITLE_DTYPE)
    _holiday_events(rng, clock, kind, start, all_day, title)
    # A rally at the next planned stop, a day or two after arriving there.
    arrival = _next_arrival(trips)[owner]
    at_stop = (kind == TRIP_EVENT) & all_day & (arrival >= 0) & (rng.random(m) < 0.5)
    stop_day = arrival + rng.integers(0, 3, m)
    at_stop &= stop_day <= clock.today + 30
    start = np.where(at_stop, np.maximum(stop_day, clock.today + 1) * DAY, start)
    remote = (kind == MEETING) & (rng.random(m) < REMOTE_SHARE)
    title[remote] = ascii_array(REMOTE_TITLES)[
        rng.integers(0, len(REMOTE_TITLES), int(remote.sum()))]
    rally_days = np.where(kind == TRIP_EVENT, rng.integers(1, 5, m), 1)
    end = np.where(all_day, start + rally_days * DAY, start + 900 * rng.integers(2, 17, m))
    reminder = np.array(REMINDERS, dtype=np.bytes_)[rng.integers(0, len(REMINDERS), m)]
    reminder = or_null(reminder, rng.random(m) < 0.4)
    created = clock.now_s - rng.integers(3_600, 45 * DAY, m)
    days_away = (start - clock.now_s) / DAY
    place = _event_places(rng, trips, owner, kind, days_away)
    place = np.where(at_stop & (place >= 0), trips.next_stop[owner], place)
    place = np.where(remote, -1, place)
    order = np.lexsort((start, owner))
    return Events(
        owner[order],
        kind[order],
        title[order],
        start[order],
        end[order],
        all_day[order],
        place[order],
        reminder[order],
        created[order],
        remote[order],
    )


_TITLE_DTYPE = "S40"  # wide enough for every title, so none is cut when replaced in place
