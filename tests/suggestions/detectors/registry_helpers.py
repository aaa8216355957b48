"""Throwaway detector specs for tests: a registry with one more detector, built the way a
real detector module builds its spec."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import UserContext
from pam_proactive.suggestions.detectors import REGISTRY, DetectorSpec, Registry, SuggestionType
from pam_proactive.suggestions.detectors.spec import Detector, JobGroup


def never(ctx: UserContext, now: datetime, settings: DetectorSettings,
          keys: Collection[str]) -> datetime | None:
    """A boundary saying only new data can change the output."""
    return None


def fake_spec(detect: Detector, *, name: str = "fake", kind: str = "fake_kind",
              group: str = "budget", job: JobGroup = "monitor") -> DetectorSpec:
    """A spec of one detector emitting the one type ``kind``."""
    return DetectorSpec(name, (SuggestionType(kind, group, job, "A test condition holds."),),
                        detect, never)


def with_detector(detect: Detector) -> Registry:
    """The real registry plus ``detect`` (run last), as a fake spec."""
    return Registry((*REGISTRY.specs, fake_spec(detect)))
