"""A traveler whose detectors fail is skipped and counted; their suggestions are kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from conftest import MakeDatabase, settings_for
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import UserContext
from pam_proactive.engine import open_engine
from pam_proactive.jobs.sweep import sweep
from pam_proactive.suggestions import detectors
from pam_proactive.suggestions.models import Candidate
from planting import Planter

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


async def test_detector_failure_is_isolated(make_database: MakeDatabase,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    uri = await make_database("seed")
    with Planter(uri, "seed") as p:
        user = p.user()
        p.budget(user, "food", 100)
        p.expense(user, 120, "food", NOW.date())
    async with open_engine(settings_for("seed"), conninfo=uri) as engine:
        first = await sweep(engine, NOW, user_ids=[user])
        assert first.lifecycle["created"] == 1 and first.detector_errors == 0
        # A detector with a bug, raising on this traveler's data.
        def buggy(ctx: UserContext, now: datetime, settings: DetectorSettings) -> list[Candidate]:
            raise ZeroDivisionError("secret@example.com")

        monkeypatch.setattr(detectors, "ALL_DETECTORS", [*detectors.ALL_DETECTORS, buggy])
        report = await sweep(engine, NOW + timedelta(hours=1), user_ids=[user])
    assert report.detector_errors == 1 and report.users == 1
    assert sum(report.by_type.values()) == 0 and "resolved" not in report.lifecycle
    with psycopg.connect(uri) as conn:
        rows = conn.execute("SELECT type, status FROM pam_proactive.suggestions").fetchall()
    assert rows == [("budget_exceeded", "delivered")]
