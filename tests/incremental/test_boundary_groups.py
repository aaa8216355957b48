"""Property: a scheduled job's scope rechecks on its own detectors' boundaries only, and before
that moment its detector group says exactly what it said at `now`.

Each job's recheck_at (``types`` = its group) is never earlier than the all-detector one, and
the group's candidates at any moment in [now, recheck_at) equal those at `now`. recheck_at,
which stops at the first daily boundary not after the next local midnight, gives the moment
and the reason that every boundary would.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pam_proactive.analysis.boundaries import earliest_recheck
from pam_proactive.context import UserContext
from pam_proactive.jobs.scheduling.schedule import MONITOR_TYPES, PATTERN_TYPES, PREDICTIVE_TYPES
from pam_proactive.suggestions.detectors import (
    REGISTRY,
    DetectorSettings,
    recheck_at,
    run_detectors,
)
from pam_proactive.suggestions.models import Candidate
from suggestions.detectors.test_properties import contexts, plausible_contexts

SETTINGS = DetectorSettings()
GROUPS = (MONITOR_TYPES, PATTERN_TYPES, PREDICTIVE_TYPES)
shares = st.floats(min_value=0.0, max_value=1.0, exclude_max=True)
common = settings(max_examples=150, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def signature(found: list[Candidate]) -> list[tuple[Any, ...]]:
    """Everything a traveler sees of the candidates, in detector order."""
    return [(c.type, c.dedup_key, c.priority, c.title, c.message, c.data) for c in found]


def test_every_detector_type_has_its_boundary() -> None:
    covered = set().union(*(s.type_names for s in REGISTRY.specs if s.boundary is not None))
    assert set().union(*GROUPS) <= covered


@common
@given(ctx=plausible_contexts(), hours=st.floats(0, 23.99), share=shares,
       group=st.sampled_from(GROUPS))
def test_a_groups_output_holds_until_its_own_boundary(
        ctx: UserContext, hours: float, share: float, group: frozenset[str]) -> None:
    now = datetime.combine(ctx.today, datetime.min.time(), tzinfo=UTC) + timedelta(hours=hours)
    before = list(run_detectors(ctx, now, SETTINGS, types=group).candidates)
    keys = {c.dedup_key for c in before}
    everything = recheck_at(ctx, now, SETTINGS, keys)
    mine = recheck_at(ctx, now, SETTINGS, keys, types=group)
    assert mine.at >= everything.at
    assert all(not REGISTRY.detector_types[name].isdisjoint(group)
               for name in REGISTRY.boundaries(ctx, now, SETTINGS, keys, group))
    span = mine.at - now.astimezone(UTC)
    later = now + span * share
    if later >= mine.at or span <= timedelta(0):
        return
    assert signature(list(run_detectors(ctx, later, SETTINGS, types=group).candidates)
                     ) == signature(before), mine


@common
@given(ctx=st.one_of(plausible_contexts(), contexts()), hours=st.floats(0, 23.99),
       group=st.one_of(st.none(), st.sampled_from(GROUPS)))
def test_recheck_at_is_the_earliest_of_every_boundary(
        ctx: UserContext, hours: float, group: frozenset[str] | None) -> None:
    now = datetime.combine(ctx.today, datetime.min.time(), tzinfo=UTC) + timedelta(hours=hours)
    found = run_detectors(ctx, now, SETTINGS, types=group).candidates
    keys = {c.dedup_key for c in found}
    expiries = [c.expires_at for c in found]
    every = REGISTRY.boundaries(ctx, now, SETTINGS, keys, group)  # none left out
    try:
        expected = earliest_recheck(ctx, now, every, expiries)
    except OverflowError:  # the last day of the calendar has no day after it
        with pytest.raises(OverflowError):
            recheck_at(ctx, now, SETTINGS, keys, expiries, types=group)
        return
    assert recheck_at(ctx, now, SETTINGS, keys, expiries, types=group) == expected
