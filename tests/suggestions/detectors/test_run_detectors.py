"""run_detectors: order, opt-out, disabled types and groups."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import UserContext
from pam_proactive.suggestions.detectors import (
    ALL_DETECTORS,
    DETECTOR_TYPES,
    REGISTRY,
    TYPE_GROUPS,
    Detection,
    Note,
    run_detectors,
)

from .factory import NOW, TODAY, budget, fill, maintenance, make_context


def busy(**overrides: Any) -> UserContext:
    """A context where fuel, budget and maintenance detectors all fire."""
    return make_context(
        fills=[fill("f1", date(2025, 2, 1), 10_000, 40), fill("f2", date(2025, 2, 20), 10_400, 40)],
        vehicle={
            "tank_gallons": 50,
            "odometer_miles": 10_830,
            "registration_expires": TODAY + timedelta(days=5),
        },
        budgets=[budget("b1", 1000, 1200)],
        maintenance=[maintenance("m1", "oil_change", due_date=date(2025, 3, 1))],
        **overrides,
    )


def types(found: Detection) -> list[str]:
    return [c.type for c in found.candidates]


def test_runs_every_detector_in_order() -> None:
    assert types(run_detectors(busy(), NOW, DetectorSettings())) == [
        "fuel_low",
        "budget_exceeded",
        "maintenance_overdue",
        "document_expiring",
    ]
    assert len(ALL_DETECTORS) == 8
    assert run_detectors(busy(), NOW) == run_detectors(busy(), NOW, DetectorSettings())


def test_opted_out_gets_nothing() -> None:
    assert run_detectors(busy(opted_out=True), NOW) == Detection((), (), ())


def test_disabled_type_and_group() -> None:
    found = run_detectors(busy(disabled_types=frozenset({"fuel_low"})), NOW)
    assert "fuel_low" not in types(found)
    found = run_detectors(busy(disabled_types=frozenset({"group:maintenance"})), NOW)
    assert types(found) == ["fuel_low", "budget_exceeded"]


def test_every_type_has_a_group() -> None:
    found = run_detectors(busy(), NOW)
    assert all(c.type in TYPE_GROUPS for c in found.candidates)


def test_types_restricts_the_run_to_those_types() -> None:
    only = run_detectors(busy(), NOW, types={"budget_exceeded", "document_expiring"})
    assert types(only) == ["budget_exceeded", "document_expiring"]
    # A detector that cannot produce a wanted type is not run: its notes are absent too.
    assert all(n.detector in ("budget", "document_expiring") for n in only.notes)
    assert types(run_detectors(busy(), NOW, types=())) == []


def test_detector_types_cover_every_detector_and_every_type() -> None:
    assert {s.name for s in REGISTRY.specs} == set(DETECTOR_TYPES)
    assert [s.detect for s in REGISTRY.specs] == list(ALL_DETECTORS)
    assert frozenset().union(*DETECTOR_TYPES.values()) == frozenset(TYPE_GROUPS) - {
        t.name for t in REGISTRY.own}


def test_notes_are_structured_and_the_context_is_untouched() -> None:
    ctx = make_context(budgets=[budget("b1", 0.0, 10)])
    before = ctx.data_quality
    found = run_detectors(ctx, NOW)
    assert Note("fuel_low", "no fill-ups logged") in found.notes
    assert ctx.data_quality is before and ctx.data_quality.skipped == ()
