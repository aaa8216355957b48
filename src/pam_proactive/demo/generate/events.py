"""Generation of upcoming calendar events."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pam_proactive.demo.encoding import (
    _DAY,
    BoolArr,
    BytesArr,
    IntArr,
    Rng,
    _Clock,
    _or_null,
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
    _NEAREST,
    _REMINDERS,
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


def _event_places(rng: Rng, trips: _Trips, owner: IntArr, kind: IntArr) -> IntArr:
    """Where events happen: trip events often at the next planned stop, others near or far."""
    m = len(owner)
    located = rng.random(m) < np.array(_EVENT_LOCATED)[kind]
    next_stop = trips.next_stop[owner]
    at_next_stop = (kind == 1) & (next_stop >= 0) & (rng.random(m) < 0.5)
    nearby = _NEAREST[trips.here[owner], rng.integers(0, 4, m)]
    nearby = np.where(rng.random(m) < 0.4, trips.here[owner], nearby)
    anywhere = rng.integers(0, len(TOWNS), m)  # usually far from the traveler
    local = np.isin(kind, (0, 2, 3)) & (rng.random(m) < 0.7)
    place = np.where(at_next_stop, next_stop, np.where(local, nearby, anywhere))
    return np.where(located, place, -1)


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
    rally_days = np.where(kind == 1, rng.integers(1, 5, m), 1)
    end = np.where(all_day, start + rally_days * _DAY, start + 900 * rng.integers(2, 17, m))
    reminder = np.array(_REMINDERS, dtype=np.bytes_)[rng.integers(0, len(_REMINDERS), m)]
    reminder = _or_null(reminder, rng.random(m) < 0.4)
    created = clock.now_s - rng.integers(3_600, 45 * _DAY, m)
    order = np.lexsort((start, owner))
    place = _event_places(rng, trips, owner, kind)
    title = _EVENT_TITLE.pick(rng, kind)
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
    )

