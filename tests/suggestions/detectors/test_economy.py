"""fuel_economy_drop: last 3 full-to-full intervals 15%+ below the previous 180 days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import FuelFill
from pam_proactive.suggestions.detectors.economy import detect_fuel_economy_drop
from pam_proactive.suggestions.models import Candidate, DetectorResult, Priority

from .factory import NOW, TODAY, fill, make_context, notes_of

S = DetectorSettings()


def fills_for(mpgs: list[float], last: date = TODAY, every: int = 7) -> list[FuelFill]:
    """Full fills 300 miles apart, ``every`` days apart, ending on ``last``."""
    first = last - timedelta(days=every * len(mpgs))
    out = [fill("f0", first, 20_000, 30)]
    for n, mpg in enumerate(mpgs, start=1):
        out.append(fill(f"f{n}", first + timedelta(days=every * n), 20_000 + 300 * n, 300 / mpg))
    return out


def run(fills: list[FuelFill]) -> tuple[list[Candidate], DetectorResult]:
    ctx = make_context(fills=fills)
    result = detect_fuel_economy_drop(ctx, NOW, S)
    return list(result.candidates), result


def test_drop_of_twenty_percent_fires() -> None:
    [found], _ = run(fills_for([10.0] * 8 + [8.0, 8.0, 8.0]))
    assert (found.type, found.priority) == ("fuel_economy_drop", Priority.MEDIUM)
    assert found.data["baseline_mpg"] == pytest.approx(10.0)
    assert found.data["recent_mpg"] == pytest.approx(8.0)
    assert found.data["drop_pct"] == pytest.approx(20.0)
    assert found.dedup_key == "fuel_economy_drop:veh-1:f11"
    assert found.title == "Fuel economy down 20%"
    assert "averaged 8 mpg, 20% worse than your usual 10 mpg (median of 8 earlier" in (
        found.message
    )


def test_recent_median_resists_one_bad_fill() -> None:
    assert run(fills_for([10.0] * 8 + [6.0, 9.5, 9.5]))[0] == []


def test_fourteen_percent_is_a_near_miss() -> None:
    assert run(fills_for([10.0] * 8 + [8.6, 8.6, 8.6]))[0] == []


def test_needs_six_baseline_intervals() -> None:
    found, result = run(fills_for([10.0] * 5 + [7.0, 7.0, 7.0]))
    assert found == []
    assert "fuel_economy_drop: not enough full-to-full fill-ups for a baseline" in (
        notes_of(result)
    )


def test_baseline_only_counts_the_previous_180_days() -> None:
    # every 30 days: the 3 recent intervals start 90 days ago; of the 8 baseline intervals
    # only those ending within the 180 days before that (7 of them) count -> enough
    assert len(run(fills_for([10.0] * 8 + [8.0] * 3, every=30))[0]) == 1
    # every 40 days: only 5 baseline intervals end within those 180 days -> not enough
    assert run(fills_for([10.0] * 8 + [8.0] * 3, every=40))[0] == []


def test_stale_recent_intervals_are_silent() -> None:
    old = fills_for([10.0] * 8 + [8.0] * 3, last=TODAY - timedelta(days=61))
    found, result = run(old)
    assert found == []
    assert "fuel_economy_drop: no recent full-to-full fill-ups" in notes_of(result)
