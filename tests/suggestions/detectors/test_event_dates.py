"""Event dates as the traveler means them, on both sides of UTC and around local midnight.

An all-day event is stored as midnight UTC of its date: it is that date for every traveler
(never the day before west of UTC, nor after east of it). A timed event is shown at its
local time in the traveler's zone. The date printed, the days counted ('tomorrow', 'in 3
days'), the priority window and the expiry all follow the same local date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from pam_proactive.analysis.dates import all_day_date, format_date
from pam_proactive.analysis.events import event_day, event_start
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.cli.contexts import context_lines
from pam_proactive.context import Coordinates
from pam_proactive.suggestions.detectors.events import (
    detect_event_travel_planning,
    event_travel_planning_boundary,
)

from .factory import event, make_context

S = DetectorSettings()
ZONES = ("Pacific/Honolulu", "America/Denver", "Australia/Sydney", "UTC")
# A traveler's position per zone (coordinates given, so nothing depends on place names),
# and the event far from every one of them: Quartzsite, AZ is > 100 miles from each.
HOME = {"Pacific/Honolulu": Coordinates(21.3069, -157.8583),
        "America/Denver": Coordinates(39.73915, -104.9847),
        "Australia/Sydney": Coordinates(-33.8688, 151.2093),
        "UTC": Coordinates(51.5072, -0.1276)}
EVENT_DAY = date(2026, 12, 5)  # a Saturday
STORED = datetime.combine(EVENT_DAY, time.min, tzinfo=UTC)  # how apps store an all-day event


def _local(zone: str, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _run(zone: str, now: datetime, *, all_day: bool = True, starts: datetime = STORED,
         ) -> tuple[str, dict[str, object], datetime | None]:
    ctx = make_context(now=now, timezone=zone, location=HOME[zone],
                       events=[event("ev1", starts, "Quartzsite, AZ", all_day=all_day,
                                     hours=24 if all_day else 3)])
    [found] = detect_event_travel_planning(ctx, now, S).candidates
    return found.message, found.data, found.expires_at


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(("days_before", "hour", "minute"),
                         [(3, 9, 0), (1, 23, 59), (2, 0, 0), (1, 0, 1), (0, 0, 0)])
def test_all_day_event_is_its_own_date_in_every_zone(zone: str, days_before: int, hour: int,
                                                     minute: int) -> None:
    """Wherever the traveler is and whatever the local hour, the event is on Sat Dec 5 and
    the days away are counted from the traveler's local today."""
    today = EVENT_DAY - timedelta(days=days_before)
    now = _local(zone, today, hour, minute)
    message, data, expires = _run(zone, now)
    away = {0: "(today)", 1: "(tomorrow)"}.get(days_before, f"(in {days_before} days)")
    assert f"starts Sat Dec 5 {away} in Quartzsite" in message, message
    assert data["starts_on"] == "2026-12-05" and data["all_day"] is True
    # It starts (and the suggestion expires) at the traveler's local midnight of that date.
    local_midnight = datetime.combine(EVENT_DAY, time.min, tzinfo=ZoneInfo(zone))
    assert expires == local_midnight
    assert data["starts_at"] == local_midnight.isoformat()


@pytest.mark.parametrize("zone", ZONES)
def test_all_day_event_is_past_once_its_local_day_begins(zone: str) -> None:
    """An all-day event starts at the traveler's local midnight of its date: a minute
    later it has started and nothing is suggested any more."""
    now = _local(zone, EVENT_DAY, 0, 1)
    ctx = make_context(now=now, timezone=zone, location=HOME[zone],
                       events=[event("ev1", STORED, "Quartzsite, AZ", all_day=True)])
    assert detect_event_travel_planning(ctx, now, S).candidates == ()


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(("hour", "minute"), [(0, 30), (9, 0), (23, 45)])
def test_timed_event_is_shown_at_its_local_date_and_time(zone: str, hour: int,
                                                         minute: int) -> None:
    starts = _local(zone, EVENT_DAY, hour, minute)
    now = _local(zone, EVENT_DAY - timedelta(days=2), 12)
    message, data, expires = _run(zone, now, all_day=False, starts=starts)
    clock = f"{hour % 12 or 12}:{minute:02d} {'AM' if hour < 12 else 'PM'}"
    assert f"starts Sat Dec 5 at {clock} (in 2 days)" in message, message
    assert data["starts_on"] == "2026-12-05" and expires == starts


def test_all_day_event_stored_as_local_midnight_keeps_its_local_date() -> None:
    """Some apps store an all-day event as the traveler's local midnight rather than UTC's:
    that instant is read as the local date it falls on (the same Sat Dec 5)."""
    for zone in ZONES:
        stored = datetime.combine(EVENT_DAY, time.min, tzinfo=ZoneInfo(zone))
        assert all_day_date(stored, ZoneInfo(zone)) == EVENT_DAY
        message, data, _ = _run(zone, _local(zone, date(2026, 12, 3), 10), starts=stored)
        assert "starts Sat Dec 5 (in 2 days)" in message and data["starts_on"] == "2026-12-05"


@pytest.mark.parametrize("zone", ZONES)
def test_context_prints_the_same_local_date_as_the_suggestion(zone: str) -> None:
    now = _local(zone, date(2026, 12, 3), 20)
    timed = _local(zone, EVENT_DAY, 0, 30)
    ctx = make_context(now=now, timezone=zone, location=HOME[zone], events=[
        event("a", STORED, "Quartzsite, AZ", all_day=True, title="Rally"),
        event("b", timed, "Quartzsite, AZ", title="Swap meet")])
    lines = "\n".join(context_lines(ctx))
    assert "Sat 2026-12-05, all day: Rally" in lines, lines
    assert "Sat 2026-12-05 00:30" in lines, lines
    tz = ZoneInfo(zone)
    for e in ctx.calendar.events:
        assert event_day(e, tz) == EVENT_DAY
        start = event_start(e, tz)
        assert start is not None and start.astimezone(tz).date() == EVENT_DAY


@pytest.mark.parametrize("zone", ZONES)
def test_boundary_moves_with_the_all_day_start(zone: str) -> None:
    """The event enters the 14-day window, and turns medium/high, at the same local
    midnight-based instants the detector uses; one second after each boundary the output
    differs, one second before it does not."""
    now = _local(zone, EVENT_DAY - timedelta(days=20), 12)
    ctx = make_context(now=now, timezone=zone, location=HOME[zone],
                       events=[event("ev1", STORED, "Quartzsite, AZ", all_day=True)])
    assert detect_event_travel_planning(ctx, now, S).candidates == ()
    at = event_travel_planning_boundary(ctx, now, S, ())
    assert at is not None
    local_midnight = datetime.combine(EVENT_DAY, time.min, tzinfo=ZoneInfo(zone))
    assert abs((local_midnight - timedelta(days=S.event_window_days) - at).total_seconds()) <= 1
    assert detect_event_travel_planning(ctx, at - timedelta(seconds=1), S).candidates == ()
    assert detect_event_travel_planning(ctx, at + timedelta(seconds=2), S).candidates


def test_all_day_date_is_the_stored_date() -> None:
    for zone in ZONES:
        assert all_day_date(STORED, ZoneInfo(zone)) == EVENT_DAY
    assert all_day_date(datetime(2026, 12, 5), UTC) == EVENT_DAY  # naive: the date itself
    assert format_date(EVENT_DAY) == "Sat Dec 5"
