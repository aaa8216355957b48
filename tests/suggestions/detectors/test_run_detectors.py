"""run_detectors and detect_each: order, opt-out, disabled types and groups, failures."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import UserContext
from pam_proactive.suggestions.detectors import (
    ALL_DETECTORS,
    DETECT_CHUNK,
    DETECTOR_TYPES,
    REGISTRY,
    TYPE_GROUPS,
    Detection,
    DetectorResult,
    Note,
    detect_each,
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


def test_detect_each_is_run_detectors_of_each_context_in_order() -> None:
    # More than one chunk, travelers of every kind interleaved: the chunked run (detector by
    # detector) gives each one what running them alone gives, in the order given.
    kinds = [busy(), make_context(), busy(opted_out=True),
             busy(disabled_types=frozenset({"group:maintenance"})),
             make_context(budgets=[budget("b1", 0.0, 10)])]
    contexts = [make_context() if i % 7 == 3 else kinds[i % len(kinds)]
                for i in range(2 * DETECT_CHUNK + 5)]
    alone = [run_detectors(ctx, NOW) for ctx in contexts]
    assert detect_each(contexts, NOW) == alone
    assert detect_each(contexts, NOW, types={"fuel_low"}) == [
        run_detectors(ctx, NOW, types={"fuel_low"}) for ctx in contexts]
    assert sum(len(d.candidates) for d in alone) > 2 * DETECT_CHUNK  # they did find things


def test_a_traveler_whose_detector_raises_gets_the_exception_and_no_later_detector(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bad, good = busy(), busy()
    later_calls: list[UserContext] = []
    first, second, *rest = REGISTRY.specs

    def failing(ctx: UserContext, now: datetime, settings: DetectorSettings) -> DetectorResult:
        if ctx is bad:
            raise ZeroDivisionError("one traveler's bad data")
        return first.detect(ctx, now, settings)

    def watched(ctx: UserContext, now: datetime, settings: DetectorSettings) -> DetectorResult:
        later_calls.append(ctx)
        return second.detect(ctx, now, settings)

    monkeypatch.setattr(REGISTRY, "specs", (replace(first, detect=failing),
                                            replace(second, detect=watched), *rest))
    found = detect_each([good, bad, good], NOW)
    assert isinstance(found[1], ZeroDivisionError)
    assert found[0] == found[2] and isinstance(found[0], Detection)
    assert types(found[0]) == ["fuel_low", "budget_exceeded", "maintenance_overdue",
                               "document_expiring"]
    assert later_calls == [good, good]  # the failed traveler's later detectors did not run
    with pytest.raises(ZeroDivisionError):
        run_detectors(bad, NOW)
