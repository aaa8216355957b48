"""The cached and date-wise shortcuts of the time boundaries give what the plain rules give.

``earliest_day_boundary`` computes one local midnight (that of the earliest date ahead)
where ``earliest(day_boundary(...))`` computes one per date; ``zone_midnight`` caches
``local_midnight`` by (date, zone name); ``no_travel_reason`` and ``resolve_place`` cache by
their texts. Zones with clock changes at midnight or of a whole day are included.
"""

from __future__ import annotations

from datetime import UTC, date

from hypothesis import example, given, settings
from hypothesis import strategies as st

from pam_proactive.analysis.boundaries import (
    day_boundary,
    earliest,
    earliest_day_boundary,
    next_local_midnight,
    tomorrow,
)
from pam_proactive.analysis.dates import local_midnight, zone, zone_midnight
from pam_proactive.analysis.events import _no_travel, no_travel_reason
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
