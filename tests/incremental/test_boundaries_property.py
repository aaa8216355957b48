"""Property: before the reported boundary, the detectors say exactly what they said at `now`.

For arbitrary contexts (the detector property tests' generators), evaluating at any moment in
[now, recheck_at) gives the same candidates (type, dedup_key, priority, title, message,
data) as evaluating at `now`. The context stays fixed, as it does when no new data arrives.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pam_proactive.analysis.boundaries import MARGIN, crossing, next_local_midnight
from pam_proactive.context import UserContext
from pam_proactive.suggestions.detectors import DetectorSettings, recheck_at, run_detectors
from pam_proactive.suggestions.models import Candidate
from suggestions.detectors.factory import NOW, event, make_context, trip
from suggestions.detectors.test_properties import contexts, plausible_contexts

SETTINGS = DetectorSettings()


def signature(found: list[Candidate]) -> list[tuple[Any, ...]]:
    """What the property compares: everything a traveler sees, in detector order."""
    return [(c.type, c.dedup_key, c.priority, c.title, c.message, c.data) for c in found]


def check(ctx: UserContext, now: datetime, share: float,
          detectors: DetectorSettings = SETTINGS) -> None:
    before = list(run_detectors(ctx, now, detectors).candidates)
    keys = {c.dedup_key for c in before}
    recheck = recheck_at(ctx, now, detectors, keys)
    assert recheck.at >= now.astimezone(UTC)  # recheck_at never goes before now
    midnight = next_local_midnight(ctx)
    if midnight is not None:  # at least once per local day (now, for a day already over)
        assert recheck.at <= max(midnight, now.astimezone(UTC))
    span = recheck.at - now.astimezone(UTC)
    later = now + span * share
    if later >= recheck.at or span <= timedelta(0):
        return
    assert signature(list(run_detectors(ctx, later, detectors).candidates)) == signature(
        before), recheck


shares = st.floats(min_value=0.0, max_value=1.0, exclude_max=True)
common = settings(max_examples=150, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@common
@given(ctx=plausible_contexts(), hours=st.floats(0, 23.99), share=shares)
def test_no_change_before_the_boundary_on_realistic_contexts(
        ctx: UserContext, hours: float, share: float) -> None:
    now = datetime.combine(ctx.today, datetime.min.time(), tzinfo=UTC) + timedelta(hours=hours)
    check(ctx, now, share)


@common
@given(ctx=plausible_contexts(), share=st.sampled_from([0.5, 0.9, 0.99, 0.999999]))
def test_no_change_just_before_the_boundary(ctx: UserContext, share: float) -> None:
    check(ctx, ctx.now, share)


@common
@given(ctx=contexts(), share=shares)
def test_no_change_before_the_boundary_on_arbitrary_contexts(
        ctx: UserContext, share: float) -> None:
    check(ctx, ctx.now, share)


# With the default 48 h/24 h a departure's thresholds fall on local midnights (the daily
# floor hides them); these put every threshold at another time of day.
ODD = DetectorSettings(departure_window_hours=50.5, departure_high_hours=30.25,
                       event_high_days=2.3, event_medium_days=6.6, event_window_days=13)


# Window entries matter only when they come before the next local midnight (15 h after NOW):
# an event 312-351 h out, a departure's midnight 63 h out; weight those, and late shares.
edge_hours = st.one_of(st.floats(-30, 400), st.floats(300, 360), st.floats(60, 90))
late_shares = st.one_of(shares, st.floats(0.9, 1.0, exclude_max=True))


@settings(max_examples=400, deadline=None)
@given(hours=edge_hours, share=late_shares, detectors=st.sampled_from([SETTINGS, ODD]))
@example(hours=24.45, share=0.999, detectors=SETTINGS)
@example(hours=0.05, share=0.5, detectors=SETTINGS)
@example(hours=40.0, share=0.999, detectors=ODD)
def test_event_and_departure_edges(hours: float, share: float,
                                   detectors: DetectorSettings) -> None:
    """Events and departures at any distance from now, the densest boundaries."""
    start = NOW + timedelta(hours=hours)
    ctx = make_context(
        events=[event("e1", start, location_name="Quartzsite, AZ")],
        trips=[trip("t1", "planned", (start - timedelta(hours=7)).date(), distance=300)],
    )
    check(ctx, NOW, share, detectors)


def test_crossing_lands_just_before_the_next_threshold() -> None:
    # 50 h out, the 48 h threshold is reached in 2 h (less the 1 s margin); 24 h is later.
    moment = crossing(NOW, 50.0, inclusive=[48.0, 24.0])
    assert moment is not None and (moment - NOW).total_seconds() == 2 * 3600 - 1
    # An inclusive threshold already reached is behind; a strict one flips only past it.
    assert crossing(NOW, 48.0, inclusive=[48.0]) is None
    at_start = crossing(NOW, 0.0, strict=[0.0])
    assert at_start == NOW
    assert crossing(NOW, -1.0, strict=[0.0]) is None


def test_a_reminder_and_an_event_suggestion_wait_for_the_next_local_midnight() -> None:
    """No sub-day grid: a departure 39 h out (its 24 h mark is the next local midnight) and
    an event 5.3 days out (3 days is 55 h away) are next rechecked at local midnight, 15 h
    later (they used to be every 0.1 h and 0.1 day), and say the same until then."""
    ctx = make_context(
        events=[event("e1", NOW + timedelta(days=5.3), location_name="Quartzsite, AZ")],
        trips=[trip("t1", "planned", NOW.date() + timedelta(days=2), distance=300)],
    )
    found = list(run_detectors(ctx, NOW, SETTINGS).candidates)
    assert {c.type for c in found} >= {"departure_reminder", "event_travel_planning"}
    recheck = recheck_at(ctx, NOW, SETTINGS, {c.dedup_key for c in found})
    midnight = datetime(2025, 3, 11, 6, 0, tzinfo=UTC)
    assert midnight == next_local_midnight(ctx)
    # The 24 h mark falls on that midnight, less the margin every crossing keeps.
    assert midnight - MARGIN <= recheck.at <= midnight
    later = NOW + (recheck.at - NOW) * 0.999
    assert signature(list(run_detectors(ctx, later, SETTINGS).candidates)) == signature(found)


def test_daily_floor_without_anything_time_dependent() -> None:
    ctx = make_context()
    found = recheck_at(ctx, NOW, SETTINGS, set())
    assert found.reason == "daily"
    assert found.at == next_local_midnight(ctx)
    assert found.at.astimezone(UTC).date() == date(2025, 3, 11)
