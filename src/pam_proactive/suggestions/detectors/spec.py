"""What a detector is, as data: one :class:`DetectorSpec` per detector module (pure).

A spec puts side by side everything the engine must know about one detector: its name, the
suggestion types it emits (each with the user's opt-out group, the scheduled job group that
computes it and its rule in one sentence), the detector settings it reads, the pure detect
function and its time boundary. The registry (:mod:`pam_proactive.suggestions.detectors.registry`)
validates the specs and derives every list the engine needs from them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import UserContext
from pam_proactive.suggestions.models import DetectorResult

# The pure detect function: ``(ctx, now, settings) -> DetectorResult``.
Detector = Callable[[UserContext, datetime, DetectorSettings], DetectorResult]

# The time boundary of a detector: ``(ctx, now, settings, keys)`` -> the earliest future
# moment at which its candidates could differ from those computed at ``now`` with no new
# data, or None. ``keys`` are the dedup keys of all candidates computed at ``now`` (a
# sub-day boundary reads them; a daily one ignores them).
Boundary = Callable[[UserContext, datetime, DetectorSettings, Collection[str]], datetime | None]

# The scheduled traveler jobs' detector groups (jobs/schedule.py names one per job).
JobGroup = Literal["monitor", "pattern", "predictive"]
JOB_GROUPS: tuple[JobGroup, ...] = get_args(JobGroup)


@dataclass(frozen=True, slots=True)
class SuggestionType:
    """One suggestion type a detector emits.

    ``group`` is the user's opt-out group (a profile disables it as ``group:<group>``);
    ``job`` the scheduled job group computing it (None for a type the engine writes itself,
    not a detector: see :data:`~pam_proactive.suggestions.detectors.engine_types.ENGINE_TYPES`);
    ``rule`` the condition in one sentence, as "why am I seeing this" shows it.
    """

    name: str
    group: str
    job: JobGroup | None
    rule: str


@dataclass(frozen=True, slots=True)
class DetectorSpec:
    """One detector.

    ``name`` names it in notes (``Note.detector``) and as the reason of a recheck it sets.
    ``sub_day`` says its boundary crosses hour thresholds of ``now`` (it reads the dedup
    keys); the others change only at a local midnight, so their boundary is the local
    midnight of a date after today, never before the next one (``recheck_at`` relies on it
    to skip the daily boundaries that cannot be the earliest). ``settings`` are the
    :class:`DetectorSettings` fields its module reads (the analyses it calls read their own).
    """

    name: str
    types: tuple[SuggestionType, ...]
    detect: Detector
    boundary: Boundary | None
    settings: tuple[str, ...] = ()
    sub_day: bool = False

    @property
    def type_names(self) -> frozenset[str]:
        """The names of the suggestion types it emits."""
        return frozenset(t.name for t in self.types)
