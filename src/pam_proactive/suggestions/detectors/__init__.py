"""Pure detectors: ``(ctx, now, settings) -> DetectorResult``, no I/O, no wall clock.

Each returns its candidates and, when its inputs are too thin, structured notes saying why it
stayed silent (it never writes into the context), and never raises on malformed inputs.
:func:`run_detectors` runs them in order and applies the user's opt-out and disabled types
or groups.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from types import MappingProxyType

from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import UserContext
from pam_proactive.suggestions.detectors._common import Detector
from pam_proactive.suggestions.detectors.anomaly import detect_spending_anomaly
from pam_proactive.suggestions.detectors.budget import detect_budgets
from pam_proactive.suggestions.detectors.departure import detect_departure_reminder
from pam_proactive.suggestions.detectors.economy import detect_fuel_economy_drop
from pam_proactive.suggestions.detectors.events import detect_event_travel_planning
from pam_proactive.suggestions.detectors.fuel import detect_fuel_low
from pam_proactive.suggestions.detectors.maintenance import detect_documents, detect_maintenance
from pam_proactive.suggestions.models import (
    TYPE_GROUPS,
    Candidate,
    Detection,
    DetectorResult,
    Note,
    is_allowed,
)

ALL_DETECTORS: list[Detector] = [
    detect_fuel_low,
    detect_budgets,
    detect_spending_anomaly,
    detect_event_travel_planning,
    detect_departure_reminder,
    detect_maintenance,
    detect_documents,
    detect_fuel_economy_drop,
]

# Detector (function name) -> the suggestion types it can produce.
DETECTOR_TYPES: Mapping[str, frozenset[str]] = MappingProxyType({
    "detect_fuel_low": frozenset({"fuel_low"}),
    "detect_budgets": frozenset(
        {"budget_exceeded", "budget_forecast_overspend", "budget_threshold"}
    ),
    "detect_spending_anomaly": frozenset({"spending_anomaly"}),
    "detect_event_travel_planning": frozenset({"event_travel_planning"}),
    "detect_departure_reminder": frozenset({"departure_reminder"}),
    "detect_maintenance": frozenset({"maintenance_overdue", "maintenance_due_soon"}),
    "detect_documents": frozenset({"document_expiring"}),
    "detect_fuel_economy_drop": frozenset({"fuel_economy_drop"}),
})


def is_disabled(ctx: UserContext, suggestion_type: str) -> bool:
    """Whether the user switched off ``suggestion_type``, its group, or everything."""
    return not is_allowed(ctx.profile, suggestion_type)


def detector_types(detector: Detector) -> frozenset[str]:
    """The suggestion types ``detector`` can produce (all known types for one not listed in
    :data:`DETECTOR_TYPES`, so an added detector is never skipped by mistake)."""
    return DETECTOR_TYPES.get(getattr(detector, "__name__", ""), frozenset(TYPE_GROUPS))


def run_detectors(
    ctx: UserContext,
    now: datetime,
    settings: DetectorSettings | None = None,
    *,
    types: Collection[str] | None = None,
) -> Detection:
    """Every detector's result for ``ctx`` at ``now``, merged: candidates in
    :data:`ALL_DETECTORS` order minus the types the user disabled (by type or
    ``group:<name>``), notes without duplicates, and skipped rows by reason (the largest
    count any detector reported). ``types`` restricts the run to those suggestion types: a
    detector producing none of them is not run, and other types' candidates are dropped.
    Nothing at all when the user opted out."""
    if ctx.profile.opted_out:
        return Detection((), (), ())
    chosen = settings or DetectorSettings()
    wanted = frozenset(types) if types is not None else None
    found: list[Candidate] = []
    notes: dict[Note, None] = {}
    skipped: dict[str, int] = {}
    for detector in ALL_DETECTORS:
        if wanted is not None and not detector_types(detector) & wanted:
            continue
        result: DetectorResult = detector(ctx, now, chosen)
        found.extend(
            c for c in result.candidates
            if not is_disabled(ctx, c.type) and (wanted is None or c.type in wanted)
        )
        notes.update(dict.fromkeys(result.notes))
        for reason, count in result.skipped:
            skipped[reason] = max(skipped.get(reason, 0), count)
    return Detection(tuple(found), tuple(notes), tuple(sorted(skipped.items())))


__all__ = [
    "ALL_DETECTORS",
    "DETECTOR_TYPES",
    "Candidate",
    "Detection",
    "DetectorResult",
    "DetectorSettings",
    "Note",
    "detector_types",
    "is_disabled",
    "run_detectors",
]
