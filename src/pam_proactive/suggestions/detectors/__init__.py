"""Pure detectors: ``(ctx, now, settings) -> list[Candidate]``, no I/O, no wall clock.

Each stays silent, with a note in ``ctx.data_quality.notes``, when its inputs are too thin,
and never raises on malformed inputs. :func:`run_detectors` runs them all in order and applies
the user's opt-out and disabled types or groups.
"""

from __future__ import annotations

from datetime import datetime

from pam_proactive.context import UserContext
from pam_proactive.suggestions.detectors._common import Detector
from pam_proactive.suggestions.detectors.anomaly import detect_spending_anomaly
from pam_proactive.suggestions.detectors.budget import detect_budgets
from pam_proactive.suggestions.detectors.departure import detect_departure_reminder
from pam_proactive.suggestions.detectors.economy import detect_fuel_economy_drop
from pam_proactive.suggestions.detectors.events import detect_event_travel_planning
from pam_proactive.suggestions.detectors.fuel import detect_fuel_low
from pam_proactive.suggestions.detectors.maintenance import detect_documents, detect_maintenance
from pam_proactive.suggestions.detectors.settings import DetectorSettings
from pam_proactive.suggestions.models import TYPE_GROUPS, Candidate

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


def is_disabled(ctx: UserContext, suggestion_type: str) -> bool:
    """Whether the user switched off ``suggestion_type``, its group, or everything."""
    profile = ctx.profile
    if profile.opted_out:
        return True
    disabled = profile.disabled_types or frozenset()
    group = TYPE_GROUPS.get(suggestion_type)
    return suggestion_type in disabled or (group is not None and f"group:{group}" in disabled)


def run_detectors(
    ctx: UserContext, now: datetime, settings: DetectorSettings | None = None
) -> list[Candidate]:
    """Every detector's candidates, in :data:`ALL_DETECTORS` order, minus the types the user
    disabled (by type or ``group:<name>``); none at all when the user opted out."""
    chosen = settings or DetectorSettings()
    if ctx.profile.opted_out:
        return []
    found: list[Candidate] = []
    for detector in ALL_DETECTORS:
        found.extend(c for c in detector(ctx, now, chosen) if not is_disabled(ctx, c.type))
    return found


__all__ = ["ALL_DETECTORS", "Candidate", "DetectorSettings", "is_disabled", "run_detectors"]
