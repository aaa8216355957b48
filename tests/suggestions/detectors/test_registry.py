"""The detector registry: every list derives from the specs, and a broken spec fails."""

from __future__ import annotations

import dataclasses
import inspect
import re
from datetime import datetime, timedelta
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings

from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import UserContext
from pam_proactive.jobs.scheduling.schedule import (
    JOBS,
    MONITOR_TYPES,
    PATTERN_TYPES,
    PREDICTIVE_TYPES,
)
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
from pam_proactive.suggestions.explain import explanation
from pam_proactive.suggestions.models import DetectorResult
from pam_proactive.suggestions.relations import Relation

from . import example_fuel_log as example
from .factory import NOW, TODAY, fill, make_context
from .registry_helpers import fake_spec, never
from .test_properties import contexts

REAL = REGISTRY.specs


def silent(ctx: UserContext, now: datetime, settings: DetectorSettings) -> DetectorResult:
    return DetectorResult()


def with_spec(spec: DetectorSpec) -> Registry:
    return Registry((*REAL, spec))


# --- the real registry ---------------------------------------------------------------------

def test_the_real_registry_validates_and_derives_the_shipped_lists() -> None:
    Registry(REAL)  # validates again from scratch
    assert len(REAL) == 8 and len(REGISTRY.types) == 11
    # The engine's own types (the adaptation offer) have a group and a rule, but no job.
    assert [t.name for t in REGISTRY.own] == ["adaptation_offer"]
    assert REGISTRY.group_of("adaptation_offer") == "adaptation"
    assert "adaptation_offer" in REGISTRY.rules and "adaptation_offer" not in REGISTRY.types
    assert set(REGISTRY.type_groups.values()) == {"fuel", "budget", "trip", "maintenance",
                                                  "adaptation"}
    assert REGISTRY.types == MONITOR_TYPES | PATTERN_TYPES | PREDICTIVE_TYPES
    assert not (MONITOR_TYPES & PATTERN_TYPES or MONITOR_TYPES & PREDICTIVE_TYPES
                or PATTERN_TYPES & PREDICTIVE_TYPES)
    assert all(s.boundary is not None for s in REAL)
    assert set(REGISTRY.rules) == REGISTRY.types | {"adaptation_offer"}


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


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ctx=contexts())
def test_a_detectors_notes_carry_its_spec_name(ctx: UserContext) -> None:
    """Notes and recheck reasons name a detector the same way."""
    for spec in REAL:
        assert {n.detector for n in spec.detect(ctx, NOW, DetectorSettings()).notes
                } <= {spec.name}


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
    with pytest.raises(RegistryError, match="recheck reason of its own"):
        with_spec(fake_spec(silent, name="daily"))  # a recheck would not say whose
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


# --- adding a detector touches its module only (docs/adding-a-detector.md) -----------------

def test_a_new_spec_reaches_every_derived_list(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = with_spec(example.SPEC)
    assert registry.detectors[-1] is example.detect_fuel_log_stale
    assert registry.detector_types["fuel_log_stale"] == {"fuel_log_stale"}
    assert registry.type_groups["fuel_log_stale"] == "fuel"
    assert registry.job_types("pattern") == PATTERN_TYPES | {"fuel_log_stale"}
    assert registry.job_types("monitor") == MONITOR_TYPES
    assert registry.rules["fuel_log_stale"].startswith("No fill-up was logged")

    # The engine reads the registry it is given: run, opt-out group, recheck, explanation.
    monkeypatch.setattr(detectors, "REGISTRY", registry)
    stale = make_context(fills=[fill("f1", TODAY - timedelta(days=61), 10_000, 40)])
    found = run_detectors(stale, NOW, types=registry.job_types("pattern"))
    assert [c.type for c in found.candidates] == ["fuel_log_stale"]
    quiet = make_context(fills=[fill("f1", TODAY - timedelta(days=61), 10_000, 40)],
                         disabled_types=frozenset({"group:fuel"}))
    assert run_detectors(quiet, NOW).candidates == ()
    assert explanation("fuel_log_stale", "low", {})["rule"]["description"] == (
        "No fill-up was logged within the allowed number of days.")


def test_the_new_detectors_boundary_is_where_its_output_changes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(detectors, "REGISTRY", with_spec(example.SPEC))
    fills = [fill("f1", TODAY - timedelta(days=60), 10_000, 40)]
    ctx = make_context(fills=fills, timezone="America/Denver")
    assert run_detectors(ctx, NOW, types={"fuel_log_stale"}).candidates == ()
    recheck = recheck_at(ctx, NOW, DetectorSettings(), set(), types={"fuel_log_stale"})
    assert recheck.reason == "fuel_log_stale"  # credited before the daily floor on a tie
    later = recheck.at + timedelta(seconds=1)
    moved = make_context(fills=fills, timezone="America/Denver", now=later)
    assert moved.today == ctx.today + timedelta(days=1)
    assert [c.type for c in run_detectors(moved, later).candidates] == ["fuel_log_stale"]


def test_an_engine_type_must_not_be_a_detectors_nor_have_a_job() -> None:
    own = REGISTRY.own[0]
    with pytest.raises(RegistryError, match="also a detector's"):
        Registry(REAL, own=(dataclasses.replace(own, name="fuel_low"),))
    with pytest.raises(RegistryError, match="run by no job group"):
        Registry(REAL, own=(dataclasses.replace(own, job="monitor"),))
    with pytest.raises(RegistryError, match="group and a rule"):
        Registry(REAL, own=(dataclasses.replace(own, rule=" "),))
