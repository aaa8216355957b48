"""The detector registry: every list derives from the specs, and a broken spec fails."""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any, cast

import pytest

from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import UserContext
from pam_proactive.jobs.schedule import JOBS, MONITOR_TYPES, PATTERN_TYPES, PREDICTIVE_TYPES
from pam_proactive.suggestions import detectors
from pam_proactive.suggestions.detectors import (
    REGISTRY,
    DetectorSpec,
    Registry,
    RegistryError,
    SuggestionType,
    UnknownName,
    is_allowed,
    recheck_at,
    run_detectors,
)
from pam_proactive.suggestions.detectors._common import Findings, candidate
from pam_proactive.suggestions.explain import explanation
from pam_proactive.suggestions.models import DetectorResult, Priority
from pam_proactive.suggestions.relations import Relation

from .factory import NOW, make_context
from .registry_helpers import fake_spec, never

REAL = REGISTRY.specs


def silent(ctx: UserContext, now: datetime, settings: DetectorSettings) -> DetectorResult:
    return DetectorResult()


def with_spec(spec: DetectorSpec) -> Registry:
    return Registry((*REAL, spec))


# --- the real registry ---------------------------------------------------------------------

def test_the_real_registry_validates_and_derives_the_shipped_lists() -> None:
    Registry(REAL)  # validates again from scratch
    assert len(REAL) == 8 and len(REGISTRY.types) == 11
    assert set(REGISTRY.type_groups.values()) == {"fuel", "budget", "trip", "maintenance"}
    assert REGISTRY.types == MONITOR_TYPES | PATTERN_TYPES | PREDICTIVE_TYPES
    assert not (MONITOR_TYPES & PATTERN_TYPES or MONITOR_TYPES & PREDICTIVE_TYPES
                or PATTERN_TYPES & PREDICTIVE_TYPES)
    assert all(s.boundary is not None for s in REAL)
    assert set(REGISTRY.rules) == REGISTRY.types


def test_every_scheduled_job_runs_known_types_only() -> None:
    for job in JOBS:
        if job.types is not None:
            assert job.types and job.types <= REGISTRY.types, job.name


@pytest.mark.parametrize("spec", REAL, ids=lambda s: s.name)
def test_a_spec_names_every_setting_its_module_reads(spec: DetectorSpec) -> None:
    """The fields read as ``settings.<field>`` in the detector's module (detector and
    boundary) are the ones its spec lists."""
    source = inspect.getsource(inspect.getmodule(spec.detect))  # type: ignore[arg-type]
    fields = {f.name for f in dataclasses.fields(DetectorSettings)}
    read = set(re.findall(r"settings\.(\w+)", source)) & fields
    assert read == set(spec.settings)


# --- a broken spec fails -------------------------------------------------------------------

def test_a_detector_without_a_boundary_fails() -> None:
    broken = dataclasses.replace(fake_spec(silent), boundary=None)
    with pytest.raises(RegistryError, match="no time boundary"):
        with_spec(broken)


def test_a_type_without_a_group_fails() -> None:
    with pytest.raises(RegistryError, match="belongs to no group"):
        with_spec(fake_spec(silent, group=""))


def test_two_detectors_claiming_one_type_fail() -> None:
    with pytest.raises(RegistryError, match="'fuel_low' claimed by detectors 'fuel_low'"):
        with_spec(fake_spec(silent, kind="fuel_low"))


def test_a_type_naming_an_unknown_job_group_fails() -> None:
    with pytest.raises(RegistryError, match="unknown job group 'nightly'"):
        with_spec(fake_spec(silent, job=cast(Any, "nightly")))


def test_other_broken_specs_fail() -> None:
    with pytest.raises(RegistryError, match="used twice"):
        with_spec(fake_spec(silent, name="budget", kind="other_kind"))
    with pytest.raises(RegistryError, match="emits no suggestion type"):
        with_spec(DetectorSpec("empty", (), silent, never))
    with pytest.raises(RegistryError, match="unknown settings"):
        with_spec(dataclasses.replace(fake_spec(silent), settings=("fuel_hgih_pct",)))
    with pytest.raises(RegistryError, match="no rule"):
        with_spec(DetectorSpec("x", (SuggestionType("x", "fuel", "monitor", " "),), silent,
                               never))
    with pytest.raises(RegistryError, match="runs no suggestion type"):
        Registry((fake_spec(silent),))  # nothing for the pattern and predictive jobs
    with pytest.raises(RegistryError, match="unknown types"):
        REGISTRY.check_relations([Relation("departure_reminder", frozenset({"fuel_lo"}),
                                           "fuel", "a typo")])


def test_lookups_of_unknown_names_raise() -> None:
    with pytest.raises(UnknownName, match="unknown detector 'fuel'"):
        REGISTRY.spec("fuel")
    with pytest.raises(UnknownName, match="unknown suggestion type"):
        REGISTRY.group_of("fuel_lo")
    with pytest.raises(UnknownName, match="unknown job group 'nightly'"):
        REGISTRY.job_types("nightly")
    with pytest.raises(UnknownName, match="unknown suggestion types"):
        run_detectors(make_context(), NOW, types={"budget_exceeded", "fuel_lo"})
    with pytest.raises(UnknownName):
        is_allowed(make_context().profile, "fuel_lo")
    assert REGISTRY.spec_of_type("maintenance_due_soon").name == "maintenance"


# --- adding a detector touches its module only ---------------------------------------------

BOUNDARY = NOW + timedelta(minutes=7)


def detect_tyre_pressure(ctx: UserContext, now: datetime,
                         settings: DetectorSettings) -> DetectorResult:
    """A made-up detector, written as a detector module would be."""
    found = Findings("tyre_pressure")
    found.note("no pressure sensor on record")
    return found.result([candidate(
        ctx, now, type="tyre_pressure_low", priority=Priority.MEDIUM,
        title="Check your tyre pressure", message="A tyre may be low.",
        dedup_key=f"tyre_pressure_low:{ctx.user_id}", data={"thresholds": {"psi": 30}},
        expires_at=None)])


def tyre_pressure_boundary(ctx: UserContext, now: datetime, settings: DetectorSettings,
                           keys: Collection[str]) -> datetime | None:
    return BOUNDARY


TYRE_SPEC = DetectorSpec(
    name="tyre_pressure",
    types=(SuggestionType("tyre_pressure_low", group="maintenance", job="monitor",
                          rule="A tyre's pressure is below the vehicle's minimum."),),
    detect=detect_tyre_pressure,
    boundary=tyre_pressure_boundary,
    settings=("maintenance_soon_days",),
)


def test_a_new_spec_reaches_every_derived_list(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = with_spec(TYRE_SPEC)
    assert registry.detectors[-1] is detect_tyre_pressure
    assert registry.detector_types["tyre_pressure"] == {"tyre_pressure_low"}
    assert registry.type_groups["tyre_pressure_low"] == "maintenance"
    assert registry.job_types("monitor") == MONITOR_TYPES | {"tyre_pressure_low"}
    assert registry.job_types("predictive") == PREDICTIVE_TYPES
    assert registry.rules["tyre_pressure_low"].startswith("A tyre's pressure")
    ctx = make_context()
    assert registry.boundaries(ctx, NOW, DetectorSettings(), (), {"tyre_pressure_low"}) == {
        "tyre_pressure": BOUNDARY}

    # The engine reads the registry it is given: run, opt-out group, recheck, explanation.
    monkeypatch.setattr(detectors, "REGISTRY", registry)
    found = run_detectors(ctx, NOW, types=registry.job_types("monitor"))
    assert [c.type for c in found.candidates][-1] == "tyre_pressure_low"
    assert any(n.detector == "tyre_pressure" for n in found.notes)
    quiet = make_context(disabled_types=frozenset({"group:maintenance"}))
    assert "tyre_pressure_low" not in {c.type for c in run_detectors(quiet, NOW).candidates}
    recheck = recheck_at(ctx, NOW, DetectorSettings(), set(), types={"tyre_pressure_low"})
    assert (recheck.at, recheck.reason) == (BOUNDARY, "tyre_pressure")
    assert explanation("tyre_pressure_low", "medium", {})["rule"]["description"] == (
        "A tyre's pressure is below the vehicle's minimum.")
