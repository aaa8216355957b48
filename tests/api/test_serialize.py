"""The hot-path suggestion JSON is exactly the generic one."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta

from pam_proactive.api.serialize import suggestion_json, to_jsonable
from pam_proactive.suggestions.explain import explanation
from pam_proactive.suggestions.models import Priority
from pam_proactive.suggestions.store import SuggestionRecord


def test_suggestion_json_matches_to_jsonable() -> None:
    at = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    for expires, notified in ((None, None), (at + timedelta(days=2), Priority.HIGH)):
        record = SuggestionRecord(
            id=uuid.uuid4(), user_id=uuid.uuid4(), type="fuel_low", priority=Priority.CRITICAL,
            title="Fuel low", message="Fill up soon.", data={"level": 12.5, "tags": ["a"]},
            dedup_key="fuel_low:v1", computed_for=at, created_at=at, updated_at=at,
            expires_at=expires, status="open", status_changed_at=at, notified_rank=notified)
        # The explanation ("why") is added to the record's own fields.
        assert suggestion_json(record) == {**to_jsonable(record), "why": explanation(
            "fuel_low", "critical", {"level": 12.5, "tags": ["a"]})}


def test_to_jsonable_edge_values() -> None:
    assert to_jsonable({"x": math.nan, "d": timedelta(minutes=2), "s": {3, 1}}) == {
        "x": None, "d": 120.0, "s": [1, 3]}
