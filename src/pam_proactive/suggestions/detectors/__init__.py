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

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
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


# Travelers go through the detectors a chunk at a time, detector by detector: one
# detector's code runs for DETECT_CHUNK travelers in a row instead of the eight detectors
# taking turns on each traveler, and the analyses they share stay memoised for the whole
# chunk (``analysis.memo.CAPACITY`` contexts). Measured on 2,000-traveler batches of demo
# contexts, CPU per traveler in one process, alternating: 93-109 us one traveler at a time,
# 77-85 us in chunks of 64 (16: 91-97, 128: 78-81), the same results.
DETECT_CHUNK = 64


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
    candidates are dropped. Nothing at all when the user opted out. :func:`detect_each`
    with one context; what a detector raises is raised."""
    (found,) = detect_each((ctx,), now, settings, types=types)
    if isinstance(found, Exception):
        raise found
    return found


def detect_each(
    contexts: Sequence[UserContext],
    now: datetime,
    settings: DetectorSettings | None = None,
    *,
    types: Collection[str] | None = None,
) -> list[Detection | Exception]:
    """:func:`run_detectors` of each context, in order, run :data:`DETECT_CHUNK` contexts
    at a time; for a context whose detectors raised, the exception instead (its later
    detectors are not run: one traveler's bad data must not stop the others)."""
    return [found for chunk in detect_chunks(contexts, now, settings, types=types)
            for found in chunk]


def detect_chunks(
    contexts: Sequence[UserContext],
    now: datetime,
    settings: DetectorSettings | None = None,
    *,
    types: Collection[str] | None = None,
) -> Iterator[list[Detection | Exception]]:
    """:func:`detect_each` of ``contexts``, one list per :data:`DETECT_CHUNK` contexts, each
    computed when it is asked for (a caller may hand the event loop a turn between two).
    ``types`` is checked at once, before any chunk."""
    chosen = settings or DetectorSettings()
    specs = REGISTRY.specs if types is None else REGISTRY.producing(types)
    wanted = frozenset(types) if types is not None else None
    return (_chunk(contexts[start:start + DETECT_CHUNK], now, chosen, specs, wanted)
            for start in range(0, len(contexts), DETECT_CHUNK))


class _Merged:
    """One context's results so far (made only for a context some detector reports on)."""

    __slots__ = ("found", "notes", "skipped")

    def __init__(self) -> None:
        self.found: list[Candidate] = []
        self.notes: dict[Note, None] = {}
        self.skipped: dict[str, int] = {}

    def detection(self) -> Detection:
        skipped = self.skipped
        return Detection(tuple(self.found), tuple(self.notes),
                         tuple(sorted(skipped.items())) if skipped else ())


_NO_DETECTION = Detection((), (), ())


def _chunk(contexts: Sequence[UserContext], now: datetime, settings: DetectorSettings,
           specs: Sequence[DetectorSpec], wanted: frozenset[str] | None
           ) -> list[Detection | Exception]:
    """:func:`detect_each` of a few contexts, detector by detector."""
    merged: list[_Merged | Exception | None] = [None] * len(contexts)
    live = [i for i, ctx in enumerate(contexts) if not ctx.profile.opted_out]
    for spec in specs:
        detect = spec.detect
        for i in live:
            so_far = merged[i]
            if isinstance(so_far, Exception):
                continue
            ctx = contexts[i]
            try:
                result: DetectorResult = detect(ctx, now, settings)
                if result is NOTHING:  # most detectors find and say nothing for most travelers
                    continue
                if so_far is None:
                    so_far = merged[i] = _Merged()
                if result.candidates:
                    so_far.found.extend(
                        c for c in result.candidates
                        if not is_disabled(ctx, c.type) and (wanted is None or c.type in wanted)
                    )
                if result.notes:
                    so_far.notes.update(dict.fromkeys(result.notes))
                skipped = so_far.skipped
                for reason, count in result.skipped:
                    skipped[reason] = max(skipped.get(reason, 0), count)
            except Exception as exc:  # kept for the caller, which decides what it means
                merged[i] = exc
    return [_NO_DETECTION if m is None else m if isinstance(m, Exception) else m.detection()
            for m in merged]


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
    "DETECT_CHUNK",
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
    "detect_chunks",
    "detect_each",
    "is_allowed",
    "is_disabled",
    "recheck_at",
    "run_detectors",
]
