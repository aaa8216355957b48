"""The fleet report on the real database, both presets: planted vehicles scored by hand, the
report stored per run, and the operator alert sent once, only when the critical count grows
(a real HTTP receiver on 127.0.0.1).

``NOW`` is Wednesday 2026-11-25 18:00 UTC = 11:00 in Denver, where every user lives.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest

from conftest import PRESETS, MakeDatabase, settings_for
from pam_proactive.api.metrics import refresh_dead_letters
from pam_proactive.engine import Engine, open_engine
from pam_proactive.jobs.pipeline.delivery import deliver_outbox
from pam_proactive.observability import metrics
from pam_proactive.reports.fleet import (
    ALERT_EVENT,
    FleetReport,
    build_fleet_report,
    dead_alerts,
    latest_fleet_report,
    send_alert,
)
from pam_proactive.suggestions.signing import verify
from planting import Planter
from receiver import Receiver

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
TODAY = date(2026, 11, 25)
SECRET = "whsec_b3BlcmF0b3Itc2VjcmV0LWZvci10aGUtZmxlZXQtdGVzdHM="  # whsec_ + base64


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


def plant_fleet(p: Planter) -> dict[str, UUID]:
    """Five travelers; the scores by hand (100 - 25 overdue - 10 due soon - 20 expired
    document - 15 economy drop):

    * worn: registration expired 24 days ago (-20), oil change overdue since Nov 1 (-25),
      tire rotation due Dec 10 (-10): 45, critical;
    * no_row: no vehicles row (the profile's vehicle), oil change due Dec 5 (-10): 90;
    * clean: a vehicles row, nothing due: 100;
    * thirsty: fills only, 8 mpg lately against a 10 mpg baseline (20 % drop, -15): 85;
    * walker: no vehicle data at all: skipped.
    """
    users = {name: p.user() for name in ("worn", "no_row", "clean", "thirsty", "walker")}
    p.vehicle(users["worn"], registration_expires=day(-24), insurance_expires=day(200))
    p.maintenance(users["worn"], "oil_change", date(2026, 8, 1), None,
                  next_due_date=date(2026, 11, 1))
    p.maintenance(users["worn"], "tire_rotation", date(2026, 6, 10), None,
                  next_due_date=date(2026, 12, 10))
    p.maintenance(users["no_row"], "oil_change", date(2026, 6, 5), None,
                  next_due_date=date(2026, 12, 5))
    p.vehicle(users["clean"], registration_expires=day(300), insurance_expires=day(300))
    odo = 20_000.0
    p.fill(users["thirsty"], day(-100), 30, odo)
    for n in range(1, 10):
        odo += 30 * (10.0 if n <= 6 else 8.0)
        p.fill(users["thirsty"], day(-100 + 10 * n), 30, odo)
    p.expense(users["walker"], 20.0, "food", day(-2))
    return users




@dataclass
class World:
    preset: str
    uri: str
    users: dict[str, UUID]


@pytest.fixture(params=PRESETS)
async def world(request: pytest.FixtureRequest, make_database: MakeDatabase) -> World:
    preset: str = request.param
    uri = await make_database(preset)
    with Planter(uri, preset) as p:
        users = plant_fleet(p)
    return World(preset, uri, users)


@pytest.fixture
async def engine(world: World, receiver: Receiver) -> AsyncIterator[Engine]:
    settings = settings_for(world.preset, operator_webhook_url=receiver.url,
                            operator_webhook_secret=SECRET)
    async with open_engine(settings, conninfo=world.uri) as opened:
        yield opened


def scores(report: FleetReport, users: dict[str, UUID]) -> dict[str, tuple[int, str | None]]:
    names = {uid: name for name, uid in users.items()}
    return {names[v.user_id]: (v.health_score, v.vehicle_id) for v in report.summary.vehicles}


async def test_report_values_by_hand(world: World, engine: Engine) -> None:
    report = await build_fleet_report(engine, NOW)
    got = scores(report, world.users)
    assert {k: s for k, (s, _) in got.items()} == {
        "worn": 45, "no_row": 90, "clean": 100, "thirsty": 85}
    assert got["no_row"][1] is None and got["thirsty"][1] is None  # the profile's vehicle
    assert got["worn"][1] is not None and got["clean"][1] is not None
    assert report.fleet_score == round((45 + 90 + 100 + 85) / 4, 1) == 80.0
    assert report.skipped_no_vehicle == 1 and report.errors == 0
    assert report.summary.overdue_by_task == {"oil_change": 1}
    assert report.summary.expired_documents == {"registration": 1}
    [critical] = report.summary.critical
    assert critical.user_id == world.users["worn"]
    assert [(i.kind, i.subject, i.days_left) for i in critical.items] == [
        ("overdue", "oil_change", -24), ("due_soon", "tire_rotation", 15),
        ("document_expired", "registration", -24)]
    [drop] = next(v for v in report.summary.vehicles
                  if v.user_id == world.users["thirsty"]).items
    assert drop.kind == "economy_drop" and drop.drop_pct == pytest.approx(20.0)

    # the stored report reads back the same, and the JSON has the documented fields
    latest = await latest_fleet_report(engine)
    assert latest is not None and latest.id == report.id
    assert latest.summary == report.summary
    data = latest.to_json()
    assert {"fleet_score", "vehicles", "critical", "overdue_by_task"} <= set(data)
    assert data["critical"][0]["user_id"] == str(world.users["worn"])
    assert {v["vehicle_id"] is None for v in data["vehicles"]} == {True, False}


async def test_alert_once_when_critical_grows(world: World, engine: Engine,
                                              receiver: Receiver) -> None:
    first = await build_fleet_report(engine, NOW, run_id=1)
    assert first.alert is not None and first.alert.sent_at is not None
    assert (first.alert.previous_critical, first.alert.critical) == (0, 1)
    [request] = receiver.requests
    headers, body = request.headers, request.body
    assert verify(SECRET, headers, body) == f"msg_fleet_alert_{first.alert.id}"
    payload = json.loads(body)
    assert (payload["event"], payload["report_id"], payload["previous_critical"],
            payload["critical"]) == (ALERT_EVENT, first.id, 0, 1)
    assert [v["user_id"] for v in payload["critical_vehicles"]] == [str(world.users["worn"])]

    # a retried run returns its report and sends nothing again; so does a second send
    again = await build_fleet_report(engine, NOW, run_id=1)
    assert again.id == first.id
    assert not await send_alert(engine, first.id)
    assert len(receiver.requests) == 1

    # the next run with the same critical count: stored, no alert
    later = await build_fleet_report(engine, NOW + timedelta(hours=6), run_id=2)
    assert later.id != first.id and later.alert is None
    assert len(receiver.requests) == 1

    # one more critical vehicle: the count grows from 1 to 2, one alert
    with Planter(world.uri, world.preset) as p:
        extra = p.user()
        p.maintenance(extra, "brakes", date(2026, 5, 1), None, next_due_date=day(-3))
        p.maintenance(extra, "oil_change", date(2026, 5, 1), None, next_due_date=day(-2))
    grown = await build_fleet_report(engine, NOW + timedelta(hours=12), run_id=3)
    assert [(v.user_id, v.health_score) for v in grown.summary.critical] == [
        (world.users["worn"], 45), (extra, 50)]  # lowest first
    assert grown.alert is not None and (grown.alert.previous_critical, grown.alert.critical) == (
        1, 2)
    assert len(receiver.requests) == 2
    assert json.loads(receiver.requests[1].body)["critical"] == 2

    # every run is kept: the history
    async with await psycopg.AsyncConnection.connect(world.uri) as conn:
        cur = await conn.execute("SELECT run_id, critical FROM pam_proactive.fleet_reports"
                                 " ORDER BY computed_for")
        assert await cur.fetchall() == [(1, 1), (2, 1), (3, 2)]
        cur = await conn.execute("SELECT count(*), count(sent_at) FROM pam_proactive.fleet_alerts")
        assert await cur.fetchone() == (2, 2)
    latest = await latest_fleet_report(engine)
    assert latest is not None and latest.id == grown.id
    earlier = await latest_fleet_report(engine, NOW + timedelta(hours=7))
    assert earlier is not None and earlier.id == later.id


async def test_unsent_alert_is_sent_by_the_retried_run(world: World, receiver: Receiver) -> None:
    async with open_engine(settings_for(world.preset), conninfo=world.uri) as no_webhook:
        first = await build_fleet_report(no_webhook, NOW, run_id=7)
    assert first.alert is not None and first.alert.sent_at is None  # recorded, not sent
    settings = settings_for(world.preset, operator_webhook_url=receiver.url,
                            webhook_secret=SECRET)  # the suggestion webhook's secret
    async with open_engine(settings, conninfo=world.uri) as engine:
        retried = await build_fleet_report(engine, NOW, run_id=7)
        assert retried.id == first.id
        assert retried.alert is not None and retried.alert.sent_at is not None
        await build_fleet_report(engine, NOW, run_id=7)
    [request] = receiver.requests
    headers, body = request.headers, request.body
    # Signed the Standard Webhooks way; the alert's id is its stable webhook-id.
    assert verify(SECRET, headers, body) == f"msg_fleet_alert_{first.alert.id}"


async def test_one_travelers_failure_is_counted_and_the_report_goes_on(
        world: World, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    import pam_proactive.reports.fleet as fleet_module
    from pam_proactive.analysis.fleet import vehicle_health as real

    broken = world.users["clean"]

    def failing_for_one(ctx: Any, *args: Any) -> Any:
        if ctx.user_id == broken:
            raise ValueError("corrupt row")
        return real(ctx, *args)

    monkeypatch.setattr(fleet_module, "vehicle_health", failing_for_one)
    report = await build_fleet_report(engine, NOW)
    assert report.errors == 1
    assert broken not in {v.user_id for v in report.summary.vehicles}
    assert len(report.summary.vehicles) == 3


async def _alert_row(uri: str) -> tuple[Any, ...]:
    async with await psycopg.AsyncConnection.connect(uri) as conn:
        cur = await conn.execute("SELECT attempts, sent_at IS NOT NULL, dead_at IS NOT NULL,"
                                 " deliver_after, last_error, leased_until"
                                 " FROM pam_proactive.fleet_alerts")
        row = await cur.fetchone()
    assert row is not None
    return row


async def test_a_failing_operator_webhook_is_retried_on_the_schedule_then_dead(
        world: World, engine: Engine, receiver: Receiver) -> None:
    """The operator alert follows the notifications' schedule: one attempt per delivery run
    when due, never sooner; dead after the 8th failure, counted and shown."""
    receiver.outage = 500
    report = await build_fleet_report(engine, NOW, run_id=1)
    assert report.alert is not None and report.alert.sent_at is None
    attempts, sent, dead, due, error, leased = await _alert_row(world.uri)
    assert (attempts, sent, dead, error, leased) == (1, False, False, "HTTP 500", None)
    assert timedelta(seconds=4.5) <= due - NOW <= timedelta(seconds=5.5)  # 5 s, jitter 10 %
    # Not due yet: a delivery run does not touch it.
    await deliver_outbox(engine, NOW + timedelta(seconds=4))
    assert len(receiver.requests) == 1
    moment = NOW
    for attempt in range(2, 9):  # every later delivery run once it is due
        moment = due
        await deliver_outbox(engine, moment)
        attempts, sent, dead, due, error, _ = await _alert_row(world.uri)
        assert attempts == attempt and not sent and len(receiver.requests) == attempt
        assert dead == (attempt == 8)
    assert await dead_alerts(engine) == 1
    await refresh_dead_letters(engine)  # what a /metrics scrape does: the alert rule's input
    assert metrics.REGISTRY.get_sample_value(
        "pam_outbox_dead", {"channel": "operator_webhook"}) == 1
    dead_report = await latest_fleet_report(engine)
    assert dead_report is not None and dead_report.alert is not None
    shown = dead_report.to_json()["alert"]
    assert shown["dead_at"] == moment.isoformat() and shown["attempts"] == 8
    # Dead: nothing retries it, even once the receiver works again.
    receiver.outage = None
    await deliver_outbox(engine, moment + timedelta(days=30))
    assert len(receiver.requests) == 8 and await dead_alerts(engine) == 1
    # One webhook-id throughout: the receiver's deduplication key.
    assert {verify(SECRET, r.headers, r.body) for r in receiver.requests} == {
        f"msg_fleet_alert_{report.alert.id}"}


async def test_an_operator_alert_outage_recovers_once_and_holds_no_lock(
        world: World, engine: Engine, receiver: Receiver) -> None:
    receiver.outage = 503
    report = await build_fleet_report(engine, NOW, run_id=1)
    assert report.alert is not None and report.alert.sent_at is None
    *_, due, _, _ = await _alert_row(world.uri)
    # The receiver is back but slow: while it holds the request, the alert's row is not
    # locked (the claim committed) — another transaction locks it at once.
    receiver.outage = None
    receiver.delay = 2.0
    sending = asyncio.create_task(deliver_outbox(engine, due))
    await asyncio.sleep(0.8)
    assert not sending.done()
    async with await psycopg.AsyncConnection.connect(world.uri) as conn:
        started = time.perf_counter()
        cur = await conn.execute("SELECT leased_until > now() FROM pam_proactive.fleet_alerts"
                                 " FOR UPDATE NOWAIT")
        assert await cur.fetchall() == [(True,)]  # leased, not locked
        assert time.perf_counter() - started < 0.5
        await conn.rollback()
    await sending
    attempts, sent, dead, _, _, leased = await _alert_row(world.uri)
    assert (attempts, sent, dead, leased) == (2, True, False, None)
    receiver.delay = 0.0
    await deliver_outbox(engine, due + timedelta(days=2))  # sent: never again
    answered = [(r.status, verify(SECRET, r.headers, r.body)) for r in receiver.requests]
    assert answered == [(503, f"msg_fleet_alert_{report.alert.id}"),
                        (200, f"msg_fleet_alert_{report.alert.id}")]  # accepted once
    assert await dead_alerts(engine) == 0
