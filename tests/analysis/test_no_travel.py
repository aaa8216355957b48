"""The no-travel rule: remote meetings and to-dos never need a trip."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pam_proactive.analysis.events import REMOTE, TO_DO, no_travel_reason
from pam_proactive.context import CalendarEvent

AT = datetime(2025, 3, 12, 16, tzinfo=UTC)


def event(title: str, place: str | None = "Quartzsite, AZ", kind: str = "personal"
          ) -> CalendarEvent:
    return CalendarEvent("e", title, AT, AT, False, kind, place)


@pytest.mark.parametrize(
    ("title", "place", "kind", "reason"),
    [
        ("Video call with team", "Quartzsite, AZ", "meeting", REMOTE),
        ("Call with accountant", "Phoenix, AZ", "personal", REMOTE),
        ("Zoom: quarterly review", None, "meeting", REMOTE),
        ("Webinar on solar", "Bend, OR", "personal", REMOTE),
        ("Virtual rally", "Quartzsite, AZ", "personal", REMOTE),
        ("Quarterly review", "Zoom", "meeting", REMOTE),
        ("Standup", "Microsoft Teams", "meeting", REMOTE),
        ("Standup", "Google Meet", "meeting", REMOTE),
        ("Planning", "online", "meeting", REMOTE),
        ("Planning", "https://meet.example.org/abc", "meeting", REMOTE),
        ("Pay insurance", "Bend, OR", "personal", TO_DO),
        ("Renew registration", "Moab, UT", "personal", TO_DO),
        ("File taxes", "Denver, CO", "personal", TO_DO),
        ("Rent due", "Austin, TX", "personal", TO_DO),
        ("Dentist", "Bend, OR", "reminder", TO_DO),
    ],
)
def test_remote_and_to_do_events_need_no_travel(
    title: str, place: str | None, kind: str, reason: str
) -> None:
    assert no_travel_reason(event(title, place, kind)) == reason


@pytest.mark.parametrize(
    ("title", "place"),
    [
        ("Quartzsite rally", "Quartzsite, AZ"),
        ("Meet the group at the hot springs", "Truth or Consequences, NM"),  # 'meet' in a title
        ("Teams tournament", "Phoenix, AZ"),  # 'teams' in a title
        ("Check in at KOA", "Moab, UT"),  # 'check' starts trips, not to-dos
        ("Book club", "Sedona, AZ"),
        ("Recall the rally", "Quartzsite, AZ"),  # 'call' only as a whole word
        ("Family reunion", "Home"),
    ],
)
def test_events_that_travel_are_kept(title: str, place: str) -> None:
    assert no_travel_reason(event(title, place)) is None
