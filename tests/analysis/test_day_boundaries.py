"""The cached and date-wise shortcuts of the time boundaries give what the plain rules give.

``event_hours`` is ``event_hours_until`` of each of a context's events; the event boundary
computes one window crossing, that of the nearest event beyond the window.

``earliest_day_boundary`` computes one local midnight (that of the earliest date ahead)
where ``earliest(day_boundary(...))`` computes one per date; ``zone_midnight`` caches
``local_midnight`` by (date, zone name); ``no_travel_reason`` and ``resolve_place`` cache by
their texts. Zones with clock changes at midnight or of a whole day are included.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import example, given, settings
from hypothesis import strategies as st

from pam_proactive.analysis.boundaries import (
    crossing,
    day_boundary,
    earliest,
    earliest_day_boundary,
    next_local_midnight,
    tomorrow,
)
from pam_proactive.analysis.dates import local_midnight, midnight_in, zone, zone_midnight
from pam_proactive.analysis.events import (
    _no_travel,
    event_hours,
    event_hours_until,
    no_travel_reason,
)
from pam_proactive.analysis.geo import _resolve_safely, resolve_place
from pam_proactive.context import CalendarEvent
from suggestions.detectors.factory import NOW, make_context

ZONES = ["America/Denver", "Pacific/Apia", "America/Santiago", "America/Havana",
         "Asia/Tehran", "Australia/Lord_Howe", "Pacific/Kiritimati", "UTC"]
# Around Samoa's skipped day (2011-12-30) and Santiago's and Havana's midnight changes.
near = st.dates(min_value=date(2011, 1, 1), max_value=date(2012, 12, 31))
anywhere = st.dates()


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ZONES), st.one_of(near, anywhere),
       st.lists(st.one_of(st.none(), near, anywhere), max_size=6))
@example("Pacific/Apia", date(2011, 12, 28), [date(2011, 12, 31), date(2011, 12, 30)])
@example("UTC", date.max, [date.max])
@example("Pacific/Kiritimati", date.min, [date(1, 1, 2), date.min])
def test_earliest_day_boundary_is_the_earliest_local_midnight(
        name: str, today: date, days: list[date | None]) -> None:
    ctx = make_context(timezone=name, today=today)
    expected = earliest(day_boundary(ctx, d) for d in days)
    got = earliest_day_boundary(ctx, days)
    assert (got is None) == (expected is None)
    if got is not None and expected is not None:
        assert got.astimezone(UTC) == expected.astimezone(UTC)


@given(st.sampled_from(ZONES), st.one_of(near, anywhere))
@example("UTC", date.max)
def test_tomorrow_starts_at_the_next_local_midnight(name: str, today: date) -> None:
    ctx = make_context(timezone=name, today=today)
    assert earliest_day_boundary(ctx, [tomorrow(ctx)]) == next_local_midnight(ctx)


@given(st.one_of(near, anywhere),
       st.one_of(st.none(), st.sampled_from([*ZONES, "", "Not/AZone", "x" * 65])))
def test_zone_midnight_is_the_local_midnight_of_the_zone(day: date, name: str | None) -> None:
    assert zone_midnight(day, name) == local_midnight(day, zone(name))


def test_cached_texts_give_the_uncached_answers() -> None:
    long_place = "Quartzsite, AZ " + "x" * 400
    for place in ["Moab, UT", "Portland", "Nowhere, ZZ", long_place]:
        assert resolve_place(place) == _resolve_safely(place)
        assert resolve_place(place) == resolve_place(place)  # a hit gives the same
    assert resolve_place("Moab, UT") is not None
    texts: list[tuple[str, str | None, str]] = [
        ("Zoom review", None, "meeting"), ("Pay insurance", "x", ""),
        ("Rally", "Quartzsite, AZ", "personal"),
        ("Rally " + "y" * 400, "Quartzsite, AZ", "personal")]
    for title, where, kind in texts:
        event = CalendarEvent("e", title, NOW, NOW, False, kind, where)
        assert no_travel_reason(event) == _no_travel(title, where, kind)
        assert no_travel_reason(event) == no_travel_reason(event)
    assert no_travel_reason(CalendarEvent("e", "Zoom review", NOW, NOW, False, "m", None))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(ZONES),
       st.lists(st.tuples(st.datetimes(min_value=datetime(2000, 1, 1),
                                       max_value=datetime(2040, 1, 1)),
                          st.booleans(), st.booleans()), max_size=5),
       st.booleans())
def test_event_hours_are_each_events_hours_until(
        name: str, starts: list[tuple[datetime, bool, bool]], naive_now: bool) -> None:
    events = [CalendarEvent(f"e{i}", "Rally", start.replace(tzinfo=UTC) if utc else start,
                            start, all_day, "personal", None)
              for i, (start, all_day, utc) in enumerate(starts)]
    ctx = make_context(timezone=name, events=events)
    now = NOW.replace(tzinfo=None) if naive_now else NOW
    assert event_hours(ctx, now) == [event_hours_until(e, now, zone(name)) for e in events]


@given(st.lists(st.floats(min_value=0.0, max_value=1e7, exclude_min=True), min_size=1,
                max_size=8),
       st.floats(min_value=0.0, max_value=1e4))
@example([1e7, 1e-7], 336.0)
def test_one_crossing_of_the_nearest_hours_is_the_earliest(beyond: list[float],
                                                           window: float) -> None:
    # Events ``beyond`` hours past the window enter it by the same rule: the earliest
    # crossing is that of the nearest (the crossing grows with the hours).
    hours = [window + b for b in beyond if window + b > window]
    expected = earliest(crossing(NOW, h, inclusive=[window]) for h in hours)
    got = crossing(NOW, min(hours), inclusive=[window]) if hours else None
    assert got == expected


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(ZONES), st.one_of(near, anywhere, st.sampled_from([date.min, date.max])))
def test_midnight_in_is_local_midnight(name: str, day: date) -> None:
    """The kept local midnights (all-day events' starts) are local_midnight's, None out of
    range included, asked once or again."""
    tz = zone(name)
    assert midnight_in(day, tz) == local_midnight(day, tz)
    assert midnight_in(day, tz) == local_midnight(day, tz)
