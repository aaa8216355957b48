"""The change feed, the incremental sweep's reasons, recorded-after-now counts, doctor's
indexes and the trigger command, on a real database (both presets where they apply)."""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from typer.testing import CliRunner

from conftest import PRESETS, MakeDatabase, settings_for
from pam_proactive.cli.main import app
from pam_proactive.db.doctor import diagnose
from pam_proactive.engine import open_engine
from pam_proactive.jobs.pipeline.evaluate import Evaluation, evaluate
from pam_proactive.jobs.pipeline.selection import ChangedOrDue
from pam_proactive.jobs.pipeline.state import FEED, feed_for
from pam_proactive.jobs.pipeline.sweeps import incremental_sweep
from planting import Planter

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=15)
runner = CliRunner()


@pytest.mark.parametrize("preset", PRESETS)
async def test_feed_sees_inserts_once_and_a_late_commit_in_the_overlap(
        make_database: MakeDatabase, preset: str) -> None:
    uri = await make_database(preset)
    with Planter(uri, preset) as p:
        alice = p.user(timezone="America/Denver")
        bob = p.user(timezone="America/Denver")
        p.fill(alice, date(2026, 11, 25), 20, 1000, created_at=NOW - timedelta(minutes=5))
    settings = settings_for(preset, change_overlap_seconds=600)
    async with open_engine(settings, conninfo=uri) as engine:
        feed = feed_for(engine, "test")
        first = await feed.changes(NOW - timedelta(minutes=10), NOW)
        assert {(c.source, c.user_id) for c in first} >= {("fuel", alice)}
        await feed.advance(first, NOW)
        # Stamped before the cursor (a transaction that began earlier, committed later):
        # still handed over, once, thanks to the overlap.
        with Planter(uri, preset) as p:
            p.fill(bob, date(2026, 11, 25), 15, 2000, created_at=NOW - timedelta(minutes=2))
            p.fill(bob, date(2026, 11, 25), 15, 2100, created_at=LATER + timedelta(hours=1))
        second = await feed.changes(NOW, LATER)
        assert [(c.source, c.user_id) for c in second] == [("fuel", bob)]
        await feed.advance(second, LATER)
        assert await feed.changes(LATER, LATER) == []  # the one after LATER waits for it


async def test_incremental_sweep_reasons_and_deletes_at_the_full_pass(
        make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    with Planter(uri, "seed") as p:
        users = [p.user(timezone="America/Denver") for _ in range(4)]
        p.vehicle(users[0], tank_gallons=40)
        p.trip(users[1], "Austin, TX", "Denver, CO", date(2026, 11, 1), date(2026, 11, 3), 900,
               status="completed")
        p.event(users[1], "Rally", NOW + timedelta(days=3, hours=2), location="Quartzsite, AZ")
    settings = settings_for("seed", full_sweep_hours=24)
    async with open_engine(settings, conninfo=uri) as engine:
        first = await incremental_sweep(engine, NOW)
        assert first.full and first.reasons["full"] == 4
        assert first.by_type["event_travel_planning"] == 1
        idle = await incremental_sweep(engine, NOW + timedelta(minutes=1))
        assert idle.evaluated == 0
        with Planter(uri, "seed") as p:
            p.expense(users[2], 30, "food", date(2026, 11, 25),
                      created_at=NOW + timedelta(minutes=2))
        run = await incremental_sweep(engine, LATER)
        assert run.reasons == {"changed": 1}
        # The event comes within 3 days (high) 2 h later: that traveler, and only they, are
        # due then (no local midnight passes in Denver; nothing else moves with the clock).
        run = await incremental_sweep(engine, NOW + timedelta(hours=3))
        assert run.reasons == {"due": 1}
        with psycopg.connect(uri, autocommit=True) as conn:
            conn.execute(b"DELETE FROM calendar_events")
        unseen = await incremental_sweep(engine, NOW + timedelta(hours=3, minutes=1))
        assert unseen.reasons["changed"] == 0  # deletes are invisible to the feed...
        full = await incremental_sweep(engine, NOW + timedelta(hours=25))
        assert full.full  # ...until the full pass, which resolves the event's suggestion
        async with engine.db.connection() as conn:
            cur = await conn.execute(
                "SELECT count(*) FROM pam_proactive.suggestions WHERE status = 'open'"
                " AND type = 'event_travel_planning'")
            assert (await cur.fetchone()) == (0,)


async def test_an_evaluation_stopped_early_or_dry_leaves_the_feed_for_the_next_run(
        make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    with Planter(uri, "seed") as p:
        users = [p.user(timezone="America/Denver") for _ in range(3)]
    async with open_engine(settings_for("seed", batch_size=1), conninfo=uri) as engine:
        await incremental_sweep(engine, NOW)
        with Planter(uri, "seed") as p:
            for uid in users[:2]:
                p.expense(uid, 30, "food", date(2026, 11, 25),
                          created_at=NOW + timedelta(minutes=2))
        run = Evaluation(engine, LATER, ChangedOrDue())
        async with aclosing(aiter(run)) as batches:
            first = await anext(batches)  # a consumer that stops after one batch
        assert first.users == 1 and run.report.batches == 1
        assert (await feed_for(engine, FEED).cursor()).position == NOW  # not handed over
        dry = await evaluate(engine, LATER, ChangedOrDue(), dry_run=True)
        assert dry.users == 2 and dry.evaluated == 0 and not dry.lifecycle
        assert (await feed_for(engine, FEED).cursor()).position == NOW
        again = await incremental_sweep(engine, LATER)
        assert again.reasons == {"changed": 2} and again.users == 2


async def test_triggers_queue_deletes_for_the_next_incremental_run(
        make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    with Planter(uri, "seed") as p:
        alice = p.user(timezone="America/Denver")
        p.event(alice, "Rally", NOW + timedelta(days=5), location="Quartzsite, AZ")
    result = await asyncio.to_thread(runner.invoke, app, [
        "install-triggers", "--apply", "--database-url", uri])
    assert result.exit_code == 0, result.output
    async with open_engine(settings_for("seed"), conninfo=uri) as engine:
        await incremental_sweep(engine, NOW)
        with psycopg.connect(uri, autocommit=True) as conn:
            conn.execute(b"DELETE FROM calendar_events")
        run = await incremental_sweep(engine, NOW + timedelta(minutes=1))
        assert run.reasons == {"changed": 1}


async def test_install_triggers_refuses_production_without_the_flag(
        make_database: MakeDatabase) -> None:
    uri = await make_database("wheels-wins-live")
    args = ["install-triggers", "--preset", "wheels-wins-live", "--database-url", uri]
    printed = await asyncio.to_thread(runner.invoke, app, args)
    assert printed.exit_code == 0 and "CREATE TRIGGER" in printed.output
    refused = await asyncio.to_thread(runner.invoke, app, [*args, "--apply"])
    assert refused.exit_code == 2 and "--i-know-this-is-production" in refused.output
    with psycopg.connect(uri) as conn:
        row = conn.execute(b"SELECT count(*) FROM pg_trigger WHERE tgname = 'pam_proactive_notify'"
                           ).fetchone()
    assert row == (0,)
    applied = await asyncio.to_thread(runner.invoke, app,
                                      [*args, "--apply", "--i-know-this-is-production"])
    assert applied.exit_code == 0, applied.output


@pytest.mark.parametrize("preset", PRESETS)
async def test_rows_recorded_after_now_are_counted_not_missing(
        make_database: MakeDatabase, preset: str) -> None:
    uri = await make_database(preset)
    with Planter(uri, preset) as p:
        alice = p.user(timezone="America/Denver")
        p.fill(alice, date(2026, 11, 20), 20, 1000, created_at=NOW + timedelta(days=1))
        p.expense(alice, 20, "food", date(2026, 11, 20), created_at=NOW - timedelta(days=1))
    async with open_engine(settings_for(preset), conninfo=uri) as engine:
        ctx = (await engine.data.get_contexts([alice], NOW, use_cache=False))[alice]
        later = (await engine.data.get_contexts([alice], NOW + timedelta(days=2),
                                                use_cache=False))[alice]
    assert ctx.vehicle.fills == ()
    assert ctx.data_quality.recorded_after_now == {"fuel_log": 1}
    assert "fuel_log" not in ctx.data_quality.missing_sources
    assert "trips" in ctx.data_quality.missing_sources  # really missing: still reported
    assert later.data_quality.recorded_after_now == {}
    assert len(later.vehicle.fills) == 1


async def test_doctor_prints_the_change_feed_indexes(make_database: MakeDatabase) -> None:
    uri = await make_database("wheels-wins-live")
    async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
        findings = await diagnose(conn, preset="wheels-wins-live", schema="pam_proactive")
    fixes = {f.fix for f in findings if "change feed" in f.problem}
    assert ("CREATE INDEX CONCURRENTLY IF NOT EXISTS fuel_log_created_at_idx ON "
            "public.fuel_log (created_at);") in fixes
    assert len(fixes) == 8
    seed_uri = await make_database("seed")  # the seed preset creates its own
    async with await psycopg.AsyncConnection.connect(seed_uri, autocommit=True) as conn:
        findings = await diagnose(conn, preset="seed", schema="pam_proactive")
    assert [f for f in findings if "change feed" in f.problem] == []


async def test_sweep_incremental_command_reports_its_reasons(make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    with Planter(uri, "seed") as p:
        p.user(timezone="America/Denver")
    base = ["sweep", "--incremental", "--database-url", uri]
    first = await asyncio.to_thread(runner.invoke, app, [*base, "--now", NOW.isoformat()],
                                    terminal_width=200)
    assert first.exit_code == 0, first.output
    assert "evaluated 1 travelers (changed 0, due 0, full 1)" in first.output
    again = await asyncio.to_thread(runner.invoke, app, [*base, "--now", LATER.isoformat()],
                                    terminal_width=200)
    assert "evaluated 0 travelers" in again.output
    both = await asyncio.to_thread(runner.invoke, app, [*base, "--dry-run"])
    assert both.exit_code == 2


async def test_a_traveler_whose_detectors_raise_stays_due(make_database: MakeDatabase,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from pam_proactive.analysis.settings import DetectorSettings
    from pam_proactive.context import UserContext
    from pam_proactive.suggestions import detectors
    from pam_proactive.suggestions.models import DetectorResult
    from suggestions.detectors.registry_helpers import with_detector

    uri = await make_database("seed")
    with Planter(uri, "seed") as p:
        alice = p.user(timezone="America/Denver")
    async with open_engine(settings_for("seed"), conninfo=uri) as engine:
        await incremental_sweep(engine, NOW)

        def buggy(ctx: UserContext, now: datetime, settings: DetectorSettings) -> DetectorResult:
            raise ZeroDivisionError("a bug")

        with Planter(uri, "seed") as p:
            p.expense(alice, 30, "food", date(2026, 11, 25), created_at=NOW + timedelta(minutes=1))
        with monkeypatch.context() as patch:
            patch.setattr(detectors, "REGISTRY", with_detector(buggy))
            failed = await incremental_sweep(engine, LATER)
        assert failed.detector_errors == 1
        retried = await incremental_sweep(engine, LATER + timedelta(minutes=1))
        assert retried.reasons == {"due": 1}  # the change was not lost with the failure
        assert (await incremental_sweep(engine, LATER + timedelta(minutes=2))).evaluated == 0
