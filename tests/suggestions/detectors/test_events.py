"""event_travel_planning: an event soon, 100+ miles away, with no trip getting there."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import CalendarEvent, Location
from pam_proactive.suggestions.detectors.events import detect_event_travel_planning
from pam_proactive.suggestions.models import Candidate, DetectorResult, Priority

from .factory import BOULDER, NOW, QUARTZSITE, TODAY, event, local, make_context, notes_of, trip

S = DetectorSettings()
# The traveler is in Denver; Quartzsite, AZ is about 661 miles away (great circle).


def show(days: int, location: str | None = "Quartzsite, AZ", hour: int = 10) -> CalendarEvent:
    return event(
        "ev1", local(TODAY + timedelta(days=days), hour), location, title="Quartzsite RV Show"
    )


def run(*events: CalendarEvent, **overrides: Any) -> tuple[list[Candidate], DetectorResult]:
    ctx = make_context(events=list(events), **overrides)
    result = detect_event_travel_planning(ctx, NOW, S)
    return list(result.candidates), result


@pytest.mark.parametrize(
    ("days", "priority"),
    [
        (2, Priority.HIGH),
        (3, Priority.MEDIUM),
        (5, Priority.MEDIUM),
        (10, Priority.LOW),
        (13, Priority.LOW),
    ],
)
def test_priority_by_days_until_start(days: int, priority: Priority) -> None:
    # starts at 10:00 local; now is 09:00 local, so "3 days" is 3 days + 1 hour away
    [found], _ = run(show(days))
    assert found.priority is priority
    assert found.dedup_key == "event_travel_planning:ev1"
    assert found.expires_at == local(TODAY + timedelta(days=days), 10)


def test_message_and_data() -> None:
    [found], _ = run(show(5))
    assert found.title == "Plan travel for Quartzsite RV Show"
    assert found.message.startswith(
        "“Quartzsite RV Show” starts Sat Mar 15 at 10:00 AM (in 5 days) in Quartzsite, AZ, "
        "about 662 miles from your current location."
    )
    assert found.data["distance_miles"] == pytest.approx(661.5, abs=1)
    # Dates, not a count from now: what is stored reads the same all day.
    assert found.data["starts_on"] == "2025-03-15" and "days_until" not in found.data


@pytest.mark.parametrize(
    ("days", "hour", "all_day", "shown"),
    [
        (0, 21, False, "starts Mon Mar 10 at 9:00 PM (today) in"),
        (1, 0, False, "starts Tue Mar 11 at 12:00 AM (tomorrow) in"),
        (1, 12, False, "starts Tue Mar 11 at 12:00 PM (tomorrow) in"),
        (2, 0, True, "starts Wed Mar 12 (in 2 days) in"),
    ],
)
def test_wording_names_the_local_date_and_time(days: int, hour: int, all_day: bool,
                                               shown: str) -> None:
    start = local(TODAY + timedelta(days=days), hour)
    [found], _ = run(event("ev1", start, "Quartzsite, AZ", all_day=all_day))
    assert shown in found.message, found.message


def test_wording_stays_the_same_through_the_day() -> None:
    """Evaluated an hour or eight later the same day, the suggestion is unchanged."""
    ctx = make_context(events=[show(5)])
    first = detect_event_travel_planning(ctx, NOW, S).candidates
    for later in (NOW + timedelta(hours=1), NOW + timedelta(hours=8, minutes=7)):
        again = detect_event_travel_planning(ctx, later, S).candidates
        assert [(c.message, c.data, c.priority) for c in again] == [
            (c.message, c.data, c.priority) for c in first]


def test_outside_the_fourteen_day_window_or_past() -> None:
    assert run(show(15))[0] == []
    assert run(event("old", NOW - timedelta(hours=1), "Quartzsite, AZ"))[0] == []


def test_event_nearby_is_silent() -> None:
    assert run(show(5, "Boulder, CO"))[0] == []  # ~25 miles


def test_unresolvable_location_is_skipped_and_counted() -> None:
    found, result = run(show(5, "Grandma's place"), show(6, "Portland"))
    assert found == []
    assert dict(result.skipped) == {"event_location_unresolved": 2}
    assert "event_travel_planning: event location not resolved" in notes_of(result)


def test_unknown_user_location_is_silent_with_a_note() -> None:
    found, result = run(show(5), location=None)
    assert found == []
    assert "event_travel_planning: traveler's location unknown" in notes_of(result)


def test_user_location_from_place_name_or_last_trip() -> None:
    assert len(run(show(5), location="Denver, CO")[0]) == 1
    last = trip("t0", "completed", date(2025, 3, 1), date(2025, 3, 2), destination="Boulder, CO")
    [found], _ = run(show(5), location=None, trips=[last])
    assert "from Boulder, CO, the destination of your last trip" in found.message
    # ...and a last trip that ended near the event means the traveler is already there
    there = replace(last, destination=None, destination_coordinates=QUARTZSITE)
    assert run(show(5), location=None, trips=[there])[0] == []


def test_planned_trip_arriving_by_the_event_covers_it() -> None:
    arrive = trip(
        "t1",
        "planned",
        TODAY + timedelta(days=3),
        TODAY + timedelta(days=4),
        destination="Quartzsite, AZ",
    )
    assert run(show(5), trips=[arrive])[0] == []
    same_day = replace(arrive, end_date=TODAY + timedelta(days=5))
    assert run(show(5), trips=[same_day])[0] == []


def test_trip_by_coordinates_within_fifty_miles_covers_it() -> None:
    near = trip(
        "t1",
        "planned",
        TODAY + timedelta(days=2),
        destination="Desert camp",
        destination_coordinates=QUARTZSITE,
    )
    assert run(show(5), trips=[near])[0] == []
    far = replace(near, destination_coordinates=BOULDER)
    assert len(run(show(5), trips=[far])[0]) == 1


def test_trip_leaving_after_the_event_does_not_cover_it() -> None:
    late = trip(
        "t1",
        "planned",
        TODAY + timedelta(days=6),
        TODAY + timedelta(days=7),
        destination="Quartzsite, AZ",
    )
    assert len(run(show(5), trips=[late])[0]) == 1


def test_trip_spanning_the_event_date_covers_it_unless_disabled() -> None:
    spanning = trip(
        "t1",
        "planned",
        TODAY + timedelta(days=4),
        TODAY + timedelta(days=9),
        destination="Quartzsite, AZ",
    )
    assert run(show(5), trips=[spanning])[0] == []
    strict = replace(S, event_trip_spanning_covers=False)
    ctx = make_context(events=[show(5)], trips=[spanning])
    assert len(detect_event_travel_planning(ctx, NOW, strict).candidates) == 1


def test_cancelled_and_completed_trips_do_not_cover() -> None:
    cancelled = trip("t1", "cancelled", TODAY + timedelta(days=1), destination="Quartzsite, AZ")
    assert len(run(show(5), trips=[cancelled])[0]) == 1


def test_explicit_location_coordinates_win() -> None:
    there = Location(coordinates=QUARTZSITE, place_name="Denver, CO", source="profile")
    assert run(show(5), location=there)[0] == []


def test_remote_meetings_and_to_dos_are_skipped_and_counted() -> None:
    found, result = run(
        event("v", local(TODAY + timedelta(days=2), 10), "Quartzsite, AZ",
              title="Video call with team"),
        event("p", local(TODAY + timedelta(days=2), 10), "Bend, OR", title="Pay insurance"),
        event("z", local(TODAY + timedelta(days=2), 10), "Zoom", title="Quarterly review"),
        show(2),
    )
    assert [c.data["event_title"] for c in found] == ["Quartzsite RV Show"]
    assert dict(result.skipped) == {"event_needs_no_travel": 3}
    assert "event_travel_planning: remote meeting or to-do: needs no travel" in notes_of(result)
