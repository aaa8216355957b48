"""Pure detectors: ``(ctx, now, settings) -> DetectorResult``, no I/O, no wall clock.

Each detector is one module holding its detect function, its time boundary and its
:class:`~pam_proactive.suggestions.detectors.spec.DetectorSpec` (``SPEC``); :data:`REGISTRY`
lists the specs in run order and derives every list the engine reads (types, groups, job
groups, boundaries, rules). Each detector returns its candidates and, when its inputs are
too thin, structured notes saying why it stayed silent (it never writes into the context),
and never raises on malformed inputs. :func:`run_detectors` runs them in order and applies
the user's opt-out and disabled types or groups; :func:`recheck_at` says when their output
can next change with no new data.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta

from pam_proactive.analysis.boundaries import Recheck, next_local_midnight, recheck_from
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import Profile, UserContext
from pam_proactive.suggestions.detectors import (
    anomaly,
    budget,
    departure,
    documents,
    economy,
    events,
    fuel,
    maintenance,
)
from pam_proactive.suggestions.detectors._common import NOTHING
from pam_proactive.suggestions.detectors.engine_types import ENGINE_TYPES
from pam_proactive.suggestions.detectors.registry import Registry, RegistryError, UnknownName
from pam_proactive.suggestions.detectors.spec import (
    Detector,
    DetectorSpec,
    JobGroup,
    SuggestionType,
)
from pam_proactive.suggestions.models import Candidate, Detection, DetectorResult, Note
from pam_proactive.suggestions.relations import RELATIONS

# The one list of detectors, in run order (candidates come out in this order).
REGISTRY = Registry((
    fuel.SPEC,
    budget.SPEC,
    anomaly.SPEC,
    events.SPEC,
    departure.SPEC,
    maintenance.SPEC,
    documents.SPEC,
    economy.SPEC,
), own=ENGINE_TYPES)
REGISTRY.check_relations(RELATIONS)

# Derived views, for readers that want a plain value.
ALL_DETECTORS: tuple[Detector, ...] = REGISTRY.detectors
DETECTOR_TYPES: Mapping[str, frozenset[str]] = REGISTRY.detector_types  # by detector name
TYPE_GROUPS: Mapping[str, str] = REGISTRY.type_groups  # suggestion type -> opt-out group


def is_allowed(profile: Profile, suggestion_type: str) -> bool:
    """True when ``profile`` accepts suggestions of ``suggestion_type``: False when the user
    opted out, or disabled the type itself or its group (``group:<name>``). The one rule both
    the detectors and the store apply; an unknown type raises :class:`UnknownName`."""
    group = REGISTRY.group_of(suggestion_type)
    if profile.opted_out:
        return False
    disabled = profile.disabled_types
    return suggestion_type not in disabled and f"group:{group}" not in disabled


def is_disabled(ctx: UserContext, suggestion_type: str) -> bool:
    """Whether the user switched off ``suggestion_type``, its group, or everything."""
    return not is_allowed(ctx.profile, suggestion_type)


def run_detectors(
    ctx: UserContext,
    now: datetime,
    settings: DetectorSettings | None = None,
    *,
    types: Collection[str] | None = None,
) -> Detection:
    """Every detector's result for ``ctx`` at ``now``, merged: candidates in
    :data:`REGISTRY` order minus the types the user disabled (by type or
    ``group:<name>``), notes without duplicates, and skipped rows by reason (the largest
    count any detector reported). ``types`` restricts the run to those suggestion types
    (each must be known): a detector producing none of them is not run, and other types'
    candidates are dropped. Nothing at all when the user opted out."""
    if ctx.profile.opted_out:
        return Detection((), (), ())
    chosen = settings or DetectorSettings()
    specs = REGISTRY.specs if types is None else REGISTRY.producing(types)
    wanted = frozenset(types) if types is not None else None
    found: list[Candidate] = []
    notes: dict[Note, None] = {}
    skipped: dict[str, int] = {}
    for spec in specs:
        result: DetectorResult = spec.detect(ctx, now, chosen)
        if result is NOTHING:  # most detectors find nothing and say nothing for most travelers
            continue
        if result.candidates:
            found.extend(
                c for c in result.candidates
                if not is_disabled(ctx, c.type) and (wanted is None or c.type in wanted)
            )
        if result.notes:
            notes.update(dict.fromkeys(result.notes))
        for reason, count in result.skipped:
            skipped[reason] = max(skipped.get(reason, 0), count)
    return Detection(tuple(found), tuple(notes),
                     tuple(sorted(skipped.items())) if skipped else ())


def recheck_at(ctx: UserContext, now: datetime, settings: DetectorSettings,
               keys: Collection[str], expiries: Iterable[datetime | None] = (),
               refresh_margin: timedelta = timedelta(hours=1),
               types: Collection[str] | None = None) -> Recheck:
    """When to evaluate ``ctx`` again: the earliest of every detector's boundary (only those
    of ``types``' detectors when given: a scheduled job's group), a refresh ahead of the
    candidates' rolling ``expiries`` and the next local midnight. ``keys`` are the dedup keys
    of the candidates computed at ``now``."""
    # Daily boundaries that cannot come before the next local midnight are not computed.
    midnight = next_local_midnight(ctx)
    boundaries = REGISTRY.boundaries(ctx, now, settings, keys, types, until=midnight)
    return recheck_from(now, boundaries, midnight, expiries, refresh_margin)


__all__ = [
    "ALL_DETECTORS",
    "DETECTOR_TYPES",
    "REGISTRY",
    "TYPE_GROUPS",
    "Candidate",
    "Detection",
    "DetectorResult",
    "DetectorSettings",
    "DetectorSpec",
    "JobGroup",
    "Note",
    "Recheck",
    "Registry",
    "RegistryError",
    "SuggestionType",
    "UnknownName",
    "is_allowed",
    "is_disabled",
    "recheck_at",
    "run_detectors",
]
