"""A traveler whose detectors fail is skipped and counted; their suggestions are kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from conftest import MakeDatabase, settings_for
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import UserContext
from pam_proactive.engine import open_engine
from pam_proactive.jobs.pipeline.sweeps import sweep
from pam_proactive.suggestions import detectors
from pam_proactive.suggestions.models import DetectorResult
from planting import Planter
from suggestions.detectors.registry_helpers import with_detector

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
        def buggy(ctx: UserContext, now: datetime, settings: DetectorSettings) -> DetectorResult:
            raise ZeroDivisionError("secret@example.com")

        monkeypatch.setattr(detectors, "REGISTRY", with_detector(buggy))
        report = await sweep(engine, NOW + timedelta(hours=1), user_ids=[user])
    assert report.detector_errors == 1 and report.users == 1
    assert sum(report.by_type.values()) == 0 and "resolved" not in report.lifecycle
    with psycopg.connect(uri) as conn:
        rows = conn.execute("SELECT type, status FROM pam_proactive.suggestions").fetchall()
    assert rows == [("budget_exceeded", "delivered")]


async def test_a_lost_connection_while_storing_retries_the_batch_once(
    make_database: MakeDatabase
) -> None:
    uri = await make_database("seed")
    with Planter(uri, "seed") as p:
        user = p.user()
        p.budget(user, "food", 100)
        p.expense(user, 120, "food", NOW.date())
    # The first write of a suggestion kills its own server process: a real transient error.
    # (A sequence, not a table, counts the tries: nextval survives the rollback.)
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("""
            CREATE SEQUENCE public.store_tries;
            CREATE FUNCTION public.fail_first_store() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF nextval('public.store_tries') = 1 THEN
                    PERFORM pg_terminate_backend(pg_backend_pid());
                END IF;
                RETURN NULL;
            END $$;
            CREATE TRIGGER fail_first_store BEFORE INSERT ON pam_proactive.suggestions
                FOR EACH STATEMENT EXECUTE FUNCTION public.fail_first_store();
        """)
    async with open_engine(settings_for("seed"), conninfo=uri) as engine:
        report = await sweep(engine, NOW, user_ids=[user])
        stats = engine.db.metrics.snapshot()["statements"]
    assert report.store_retries == 1
    assert report.lifecycle["created"] == 1 and report.lifecycle["notified"] == 1
    assert stats["store.insert_new"]["errors"] == 1 and stats["store.insert_new"]["count"] == 2
    with psycopg.connect(uri) as conn:
        assert conn.execute("SELECT count(*) FROM pam_proactive.suggestions").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM pam_proactive.outbox").fetchone() == (1,)
