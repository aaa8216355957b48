""""Why am I seeing this": a short structured explanation of a stored suggestion.

Pure: built from the suggestion's type, priority and ``data`` (the numbers its detector
compared, with the thresholds under ``data["thresholds"]``), the snooze in force, if any,
and the traveler's adaptations that apply (``adaptation.explained``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pam_proactive.suggestions import detectors

# A stored suggestion of a type no detector emits any more (rows outlive code).
_UNKNOWN_RULE = "A detector of this engine found the condition named by the type."


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def explanation(type_: str, priority: str, data: Mapping[str, Any],
                snooze: tuple[datetime, datetime, str] | None = None,
                adaptations: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The explanation of one suggestion: ``rule`` (its type and the rule in a sentence, from
    its detector's spec),
    ``numbers`` (the numeric values it compared, units as in ``data``), ``thresholds`` (the
    limits it compared them with), ``snooze`` (created_at, until and the priority snoozed,
    ISO 8601, or None) and ``adaptations`` (what the traveler's answers changed for its type,
    each with the sentence saying so)."""
    thresholds = data.get("thresholds")
    return {
        "rule": {"type": type_, "priority": priority,
                 "description": detectors.REGISTRY.rules.get(type_, _UNKNOWN_RULE)},
        "numbers": {k: v for k, v in data.items() if _number(v)},
        "thresholds": ({k: v for k, v in thresholds.items() if _number(v)}
                       if isinstance(thresholds, Mapping) else {}),
        "snooze": None if snooze is None else {
            "created_at": snooze[0].isoformat(), "until": snooze[1].isoformat(),
            "priority": snooze[2],
            "effect": "not notified until then, unless its priority rises above this one"},
        "adaptations": [dict(a) for a in adaptations],
    }
