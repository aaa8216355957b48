""""Why am I seeing this": a short structured explanation of a stored suggestion.

Pure: built from the suggestion's type, priority and ``data`` (the numbers its detector
compared, with the thresholds under ``data["thresholds"]``), the snooze in force, if any,
and the traveler's adaptations that apply (``adaptation.explained``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

# Each detector's rule in one sentence, by suggestion type.
RULES: Mapping[str, str] = {
    "fuel_low": "The estimated fuel level (from fill-ups and miles driven since) is below the "
                "medium or high threshold, or too low for the next planned leg.",
    "fuel_economy_drop": "Recent miles per gallon fell below the vehicle's own baseline by more "
                         "than the allowed drop.",
    "budget_exceeded": "Spending in the budget's period passed its limit.",
    "budget_forecast_overspend": "At the typical daily pace, spending is projected to pass the "
                                 "budget's limit before the period ends.",
    "budget_threshold": "Spending in the budget's period passed the alert percentage of its "
                        "limit.",
    "spending_anomaly": "A day's spending in a category is far above its usual level.",
    "event_travel_planning": "An upcoming event is far enough away to need a trip, and the "
                             "lead time for planning it has begun.",
    "departure_reminder": "A planned trip's departure is close, and the reminder lead time has "
                          "begun.",
    "maintenance_overdue": "A service is past its due mileage or date.",
    "maintenance_due_soon": "A service is due within the lead distance or lead time.",
    "document_expiring": "A vehicle document (registration, insurance, ...) expires within the "
                         "lead time.",
    "adaptation_offer": "You told us often enough that suggestions of one type were not "
                        "useful that we offer, once, to turn them off.",
}

_UNKNOWN_RULE = "A detector of this engine found the condition named by the type."


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def explanation(type_: str, priority: str, data: Mapping[str, Any],
                snooze: tuple[datetime, datetime, str] | None = None,
                adaptations: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The explanation of one suggestion: ``rule`` (its type and the rule in a sentence),
    ``numbers`` (the numeric values it compared, units as in ``data``), ``thresholds`` (the
    limits it compared them with), ``snooze`` (created_at, until and the priority snoozed,
    ISO 8601, or None) and ``adaptations`` (what the traveler's answers changed for its type,
    each with the sentence saying so)."""
    thresholds = data.get("thresholds")
    return {
        "rule": {"type": type_, "priority": priority,
                 "description": RULES.get(type_, _UNKNOWN_RULE)},
        "numbers": {k: v for k, v in data.items() if _number(v)},
        "thresholds": ({k: v for k, v in thresholds.items() if _number(v)}
                       if isinstance(thresholds, Mapping) else {}),
        "snooze": None if snooze is None else {
            "created_at": snooze[0].isoformat(), "until": snooze[1].isoformat(),
            "priority": snooze[2],
            "effect": "not notified until then, unless its priority rises above this one"},
        "adaptations": [dict(a) for a in adaptations],
    }
