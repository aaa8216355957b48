"""Engine values as plain JSON: dataclasses, UUIDs, dates, sets and enums."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from enum import Enum
from typing import Any
from uuid import UUID

from pam_proactive.analysis.bounds import (
    MESSAGE_MAX_CHARS,
    TITLE_MAX_CHARS,
    bound_data,
    cut_text,
)
from pam_proactive.suggestions.adaptation import Adaptation, explained
from pam_proactive.suggestions.answers import LiveSnooze
from pam_proactive.suggestions.explain import explanation
from pam_proactive.suggestions.store import SuggestionRecord


def to_jsonable(value: Any) -> Any:
    """``value`` as JSON-ready Python: dataclasses become objects, UUIDs strings, dates and
    times ISO-8601, enums their lower-case name, sets sorted lists, durations seconds, and
    NaN or infinite floats null (JSON has no such numbers)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [to_jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, date | datetime | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Enum):
        return value.name.lower()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def suggestion_json(record: SuggestionRecord, snooze: LiveSnooze | None = None,
                    adaptations: Sequence[Adaptation] = ()) -> dict[str, Any]:
    """One stored suggestion as JSON (the shape of :func:`to_jsonable`, built directly: it is
    the API's hottest path, and ``data`` is already JSON from the jsonb column), with ``why``:
    its explanation, naming ``snooze`` (the subject's snooze in force) and the traveler's
    ``adaptations`` of its type when given."""
    notified = record.notified_rank
    # Capped as they leave the engine (analysis.bounds), rows stored before the cut included.
    data = bound_data(record.data)
    applied = None if snooze is None else (snooze.created_at, snooze.until, snooze.priority)
    return {
        "id": str(record.id), "user_id": str(record.user_id), "type": record.type,
        "priority": record.priority.label, "title": cut_text(record.title, TITLE_MAX_CHARS),
        "message": cut_text(record.message, MESSAGE_MAX_CHARS),
        "data": data, "dedup_key": record.dedup_key,
        "computed_for": record.computed_for.isoformat(),
        "created_at": record.created_at.isoformat(), "updated_at": record.updated_at.isoformat(),
        "expires_at": _iso(record.expires_at), "status": record.status,
        "status_changed_at": record.status_changed_at.isoformat(),
        "notified_rank": None if notified is None else notified.label,
        "held_by": None if record.held_by is None else str(record.held_by),
        "why": explanation(record.type, record.priority.label, data, applied,
                           explained(adaptations)),
    }
