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

from pam_proactive.analysis.boundaries import crossing, next_local_midnight, recheck_at
from pam_proactive.context import UserContext
from pam_proactive.suggestions.detectors import DetectorSettings, run_detectors
from pam_proactive.suggestions.models import Candidate
from suggestions.detectors.factory import NOW, event, make_context, trip
from suggestions.detectors.test_properties import contexts, plausible_contexts

SETTINGS = DetectorSettings()


def signature(found: list[Candidate]) -> list[tuple[Any, ...]]:
    """What the property compares: everything a traveler sees, in detector order."""
    return [(c.type, c.dedup_key, c.priority, c.title, c.message, c.data) for c in found]


def check(ctx: UserContext, now: datetime, share: float) -> None:
    before = list(run_detectors(ctx, now, SETTINGS).candidates)
    keys = {c.dedup_key for c in before}
    recheck = recheck_at(ctx, now, SETTINGS, keys)
    assert recheck.at >= now.astimezone(UTC) - timedelta(microseconds=1)
    midnight = next_local_midnight(ctx)
    if midnight is not None:  # at least once per local day (now, for a day already over)
        assert recheck.at <= max(midnight, now.astimezone(UTC))
    span = recheck.at - now.astimezone(UTC)
    later = now + span * share
    if later >= recheck.at or span <= timedelta(0):
        return
    assert signature(list(run_detectors(ctx, later, SETTINGS).candidates)) == signature(
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


@settings(max_examples=200, deadline=None)
@given(hours=st.floats(-30, 400), share=shares)
@example(hours=24.45, share=0.999)
@example(hours=0.05, share=0.5)
def test_event_and_departure_edges(hours: float, share: float) -> None:
    """Events and departures at any distance from now, the densest boundaries."""
    start = NOW + timedelta(hours=hours)
    ctx = make_context(
        events=[event("e1", start, location_name="Quartzsite, AZ")],
        trips=[trip("t1", "planned", (start - timedelta(hours=7)).date(), distance=300)],
    )
    check(ctx, NOW, share)


def test_crossing_lands_before_a_rounding_edge() -> None:
    def r1(hours: float) -> object:
        return round(hours, 1)

    # 10.26 h shows 10.3 until it reaches 10.25: the boundary is 36 s away, less 1 s.
    moment = crossing(NOW, 10.26, grids=[(0.1, r1)])
    assert moment is not None
    assert abs((moment - NOW).total_seconds() - 35.0) < 1e-3
    # Exactly on an edge, the figure flips at once when rounding says so (10.55 shows 10.6,
    # just below it 10.5)...
    assert crossing(NOW, 10.55, grids=[(0.1, r1)]) == NOW
    # ...and not when it does not (10.25 shows 10.2 on both sides): the next edge counts.
    later = crossing(NOW, 10.25, grids=[(0.1, r1)])
    assert later is not None and abs((later - NOW).total_seconds() - 359.0) < 1e-3


def test_daily_floor_without_anything_time_dependent() -> None:
    ctx = make_context()
    found = recheck_at(ctx, NOW, SETTINGS, set())
    assert found.reason == "daily"
    assert found.at == next_local_midnight(ctx)
    assert found.at.astimezone(UTC).date() == date(2025, 3, 11)
