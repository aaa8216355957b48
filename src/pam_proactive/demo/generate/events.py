"""Generation of upcoming calendar events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from pam_proactive.demo.encoding import (
    _DAY,
    BoolArr,
    BytesArr,
    IntArr,
    Rng,
    _Clock,
    _or_null,
    _s,
)
from pam_proactive.demo.generate.arrays import (
    _segments,
)
from pam_proactive.demo.generate.travelers import (
    _Trips,
)
from pam_proactive.demo.reference import (
    _EVENT_LOCATED,
    _EVENT_SHARE,
    _EVENT_TITLE,
    _EVENT_TYPES,
    _HOLIDAY,
    _HOLIDAYS,
    _MAINT_EVENT,
    _MEETING,
    _NEAREST,
    _PERSONAL,
    _REMINDERS,
    _REMOTE_SHARE,
    _REMOTE_TITLES,
    _TRIP_EVENT,
    TOWNS,
)


@dataclass(frozen=True, eq=False)
class _Events:
    """Upcoming calendar events (flat rows)."""

    owner: IntArr
    kind: IntArr  # index into _EVENT_TYPES
    title: BytesArr
    start_s: IntArr
    end_s: IntArr
    all_day: BoolArr
    place: IntArr  # town, -1 when none
    reminder: BytesArr
    created_s: IntArr
    remote: BoolArr  # a call or video meeting: no place (its location may say "Zoom")


def _event_places(rng: Rng, trips: _Trips, owner: IntArr, kind: IntArr) -> IntArr:
    """Where events happen: trip events often at the next planned stop, others near or far."""
    m = len(owner)
    located = rng.random(m) < np.array(_EVENT_LOCATED)[kind]
    next_stop = trips.next_stop[owner]
    at_next_stop = (kind == _TRIP_EVENT) & (next_stop >= 0) & (rng.random(m) < 0.5)
    nearby = _NEAREST[trips.here[owner], rng.integers(0, 4, m)]
    nearby = np.where(rng.random(m) < 0.4, trips.here[owner], nearby)
    anywhere = rng.integers(0, len(TOWNS), m)  # usually far from the traveler
    local = np.isin(kind, (_PERSONAL, _MAINT_EVENT, _MEETING)) & (rng.random(m) < 0.7)
    place = np.where(at_next_stop, next_stop, np.where(local, nearby, anywhere))
    return np.where(located, place, -1)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th (n < 0: counted from the end) ``weekday`` (Monday = 0) of a month."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7 + 7 * (-n - 1))


def holidays_between(first_day: int, last_day: int) -> list[tuple[int, bytes]]:
    """(day number, event title) of the holidays of ``_HOLIDAYS`` in [first_day, last_day]
    (UTC day numbers), in date order."""
    epoch = date(1970, 1, 1)
    found = []
    for year in range((epoch + timedelta(first_day)).year, (epoch + timedelta(last_day)).year + 1):
        for title, month, day, n in _HOLIDAYS:
            when = date(year, month, day) if n == 0 else _nth_weekday(year, month, day, n)
            number = (when - epoch).days
            if first_day <= number <= last_day:
                found.append((number, title.encode("ascii")))
    return sorted(found)


def _holiday_events(rng: Rng, clock: _Clock, kind: IntArr, start: IntArr, all_day: BoolArr,
                    title: BytesArr) -> None:
    """Dates each holiday event on a real holiday of the coming 30 days, all day, named
    after it; without one in that window, the event is a generic social one (personal)."""
    rows = np.flatnonzero(kind == _HOLIDAY)
    coming = holidays_between(clock.today + 1, clock.today + 30)
    if not coming:
        kind[rows] = _PERSONAL
        return
    pick = rng.integers(0, len(coming), len(rows))
    days = np.array([d for d, _ in coming], dtype=np.int64)
    names = np.array([t for _, t in coming], dtype=np.bytes_)
    named = rng.random(len(rows)) < 0.7  # others keep a generic title on the holiday
    start[rows] = days[pick] * _DAY
    all_day[rows] = True
    title[rows] = np.where(named, names[pick], title[rows])


def _make_events(rng: Rng, clock: _Clock, trips: _Trips) -> _Events:
    """1-5 events per user in the 30 days after now."""
    n = len(trips.count)
    owner, _ = _segments(rng.integers(1, 6, n))
    m = len(owner)
    kind = rng.choice(len(_EVENT_TYPES), m, p=_EVENT_SHARE).astype(np.int64)
    all_day_share = np.array((0.05, 0.6, 0.05, 0.0, 0.2, 0.9, 0.9))[kind]
    all_day = rng.random(m) < all_day_share
    timed_start = (clock.now_s + rng.integers(1_800, 30 * _DAY, m)) // 900 * 900
    day_start = (clock.today + rng.integers(1, 31, m)) * _DAY
    start = np.where(all_day, day_start, timed_start)
    title = _EVENT_TITLE.pick(rng, kind).astype(_TITLE_DTYPE)
    _holiday_events(rng, clock, kind, start, all_day, title)
    remote = (kind == _MEETING) & (rng.random(m) < _REMOTE_SHARE)
    title[remote] = _s(_REMOTE_TITLES)[rng.integers(0, len(_REMOTE_TITLES), int(remote.sum()))]
    rally_days = np.where(kind == _TRIP_EVENT, rng.integers(1, 5, m), 1)
    end = np.where(all_day, start + rally_days * _DAY, start + 900 * rng.integers(2, 17, m))
    reminder = np.array(_REMINDERS, dtype=np.bytes_)[rng.integers(0, len(_REMINDERS), m)]
    reminder = _or_null(reminder, rng.random(m) < 0.4)
    created = clock.now_s - rng.integers(3_600, 45 * _DAY, m)
    place = np.where(remote, -1, _event_places(rng, trips, owner, kind))
    order = np.lexsort((start, owner))
    return _Events(
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
