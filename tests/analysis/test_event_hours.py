"""The hours to each event as :func:`event_hours` gives them (all-day events measured to a
cached UTC midnight, dates read from ``starts_on``) equal those to :func:`event_start`."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from pam_proactive.analysis.dates import hours_until, utc_midnight_in, zone
from pam_proactive.analysis.events import day_of_event, event_day, event_hours, event_start
from pam_proactive.context import CalendarContext
from suggestions.detectors.factory import event, make_context

ZONES = ("Pacific/Honolulu", "America/Denver", "Australia/Sydney", "Pacific/Apia", "UTC")
NOW = datetime(2026, 3, 7, 18, 30, tzinfo=UTC)  # the day before the US moves its clocks


@pytest.mark.parametrize("name", ZONES)
@pytest.mark.parametrize("stored", [False, True])
def test_event_hours_are_the_hours_to_event_start(name: str, stored: bool) -> None:
    tz = zone(name)
    events = []
    for days in range(-1, 4):
        day = NOW.date() + timedelta(days=days)
        events.append(event(f"a{days}", datetime.combine(day, time.min, tzinfo=UTC), "Moab, UT",
                            all_day=True, hours=24))
        events.append(event(f"t{days}", datetime.combine(day, time(9, 15), tzinfo=ZoneInfo(name)),
                            "Moab, UT", all_day=False, hours=2))
    if stored:  # as the data layer builds them
        events = [replace(e, starts_on=day_of_event(e.starts_at, e.all_day, tz)) for e in events]
    ctx = make_context(now=NOW, timezone=name)
    ctx = replace(ctx, calendar=CalendarContext(tuple(events)))
    expected = [hours_until(start, NOW, tz) if (start := event_start(e, tz)) else None
                for e in events]
    assert event_hours(ctx, NOW) == expected
    for e in events:
        assert event_day(e, tz) == day_of_event(e.starts_at, e.all_day, tz)


def test_utc_midnight_is_the_local_midnight_in_utc() -> None:
    tz = zone("America/Denver")
    moment = utc_midnight_in(date(2026, 3, 8), tz)
    assert moment is not None and moment.tzinfo is UTC
    assert moment == datetime(2026, 3, 8, tzinfo=tz) and moment.hour == 7
    assert utc_midnight_in(date.min, zone("Australia/Sydney")) is None  # before year 1 in UTC
