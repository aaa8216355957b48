"""Snooze, dismiss with a reason, "useful", relevance and "why": through the API against the
real database, with the store's own sweeps and a real webhook receiver."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx

from api.conftest import World
from api.harness import SCHEMA, TOKEN, bearer, candidate, new_id, store, user_jwt
from pam_proactive.api import metrics as api_metrics
from pam_proactive.config import load_settings
from pam_proactive.data.changes import ChangeFeed
from pam_proactive.db.connection import Database
from pam_proactive.suggestions.delivery import WebhookChannel, deliver_due, set_channels
from pam_proactive.suggestions.models import Candidate, Priority
from receiver import SECRET, Receiver

OP = bearer(TOKEN)


async def rows(uri: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    async with Database(uri, load_settings(database_url=uri)) as db:
        return await db.fetch("test.rows", query, params)


async def deliver(uri: str, url: str, now: datetime) -> None:
    async with Database(uri, load_settings(database_url=uri)) as db:
        await set_channels(db, SCHEMA, ["webhook"])  # the operator's choice, else nothing sends
        await deliver_due(db, SCHEMA, [WebhookChannel(url, SECRET, timeout=5.0)], now)


async def release(uri: str, now: datetime) -> None:
    """Deliver every due row without channels (released to the app: outbox only, recorded
    as the operator's explicit choice)."""
    async with Database(uri, load_settings(database_url=uri)) as db:
        await set_channels(db, SCHEMA, [])  # outbox only: due rows are released to the app
        await deliver_due(db, SCHEMA, [], now)


def mine(receiver: Receiver, user: UUID) -> list[dict[str, Any]]:
    """The payloads the receiver got about ``user`` (other tests share the database)."""
    bodies = [json.loads(r.body) for r in receiver.requests]
    return [b for b in bodies if b["user_id"] == str(user)]


async def suggestions(client: httpx.AsyncClient, user: UUID) -> dict[str, dict[str, Any]]:
    """The traveler's suggestions by dedup_key (live or not), as the API returns them."""
    got = await client.get(f"/v1/users/{user}/suggestions", headers=bearer(user_jwt(user)))
    assert got.status_code == 200, got.text
    return {s["dedup_key"]: s for s in got.json()["suggestions"]}


async def test_snooze_holds_then_notifies_once_through_a_webhook(
        world: World, client: httpx.AsyncClient, receiver: Receiver) -> None:
    u = new_id()
    t0 = datetime.now(UTC)
    first = await store(world.uri, [u], [candidate(u, "fuel")], now=t0)
    assert first.notified == 1
    [s] = (await suggestions(client, u)).values()
    assert s["why"]["snooze"] is None

    snoozed = await client.post(f"/v1/suggestions/{s['id']}/snooze", json={"for": "PT2H"},
                                headers=bearer(user_jwt(u)))
    assert snoozed.status_code == 200, snoozed.text
    body = snoozed.json()
    assert body["notifications_held"] == 1
    until = datetime.fromisoformat(body["until"])
    assert timedelta(hours=2) - timedelta(seconds=30) < until - t0 <= timedelta(hours=2, seconds=30)
    why = (await suggestions(client, u))[s["dedup_key"]]["why"]
    assert why["snooze"]["until"] == until.isoformat() and why["snooze"]["priority"] == "medium"

    # Nothing is delivered while snoozed, though sweeps keep finding the subject.
    await deliver(world.uri, receiver.url, t0 + timedelta(minutes=1))
    during = await store(world.uri, [u], [candidate(u, "fuel")], now=t0 + timedelta(hours=1))
    assert during.notified == 0 and during.snooze_resumed == 0
    await deliver(world.uri, receiver.url, t0 + timedelta(hours=1))
    assert mine(receiver, u) == []

    # The snooze's end makes the traveler due for an incremental sweep (as a full one would).
    async with Database(world.uri, load_settings(database_url=world.uri)) as db:
        feed = ChangeFeed(db, SCHEMA, "incremental", timedelta(minutes=1))
        assert u not in await feed.due(t0 + timedelta(hours=1), timedelta(days=7))
        assert u in await feed.due(until, timedelta(days=7))

    # After its end: notified once ('resumed'), and never again.
    end = until + timedelta(seconds=1)
    after = await store(world.uri, [u], [candidate(u, "fuel")], now=end)
    assert after.snooze_resumed == 1 and after.notified == 0
    await deliver(world.uri, receiver.url, end)
    again = await store(world.uri, [u], [candidate(u, "fuel")], now=end + timedelta(hours=1))
    assert again.snooze_resumed == 0 and again.notified == 0
    await deliver(world.uri, receiver.url, end + timedelta(hours=1))
    [resumed] = mine(receiver, u)
    assert resumed["event"] == "resumed" and resumed["id"] == s["id"]
    assert resumed["priority"] == "medium"
    [(outcome,)] = await rows(world.uri, "SELECT outcome FROM pam_proactive.snoozes"
                              " WHERE user_id = %s", u)
    assert outcome == "resumed"
    assert (await suggestions(client, u))[s["dedup_key"]]["why"]["snooze"] is None

    # Snoozed again at the same priority: its own end notifies once more.
    second = await client.post(f"/v1/suggestions/{s['id']}/snooze", json={"for": 3600},
                               headers=bearer(user_jwt(u)))
    assert second.status_code == 200 and second.json()["notifications_held"] == 0
    end2 = datetime.fromisoformat(second.json()["until"]) + timedelta(seconds=1)
    assert (await store(world.uri, [u], [candidate(u, "fuel")], now=end2)).snooze_resumed == 1
    await deliver(world.uri, receiver.url, end2)
    assert [p["event"] for p in mine(receiver, u)] == ["resumed", "resumed"]


async def test_an_escalation_breaks_the_snooze_at_once(
        world: World, client: httpx.AsyncClient, receiver: Receiver) -> None:
    u = new_id()
    t0 = datetime.now(UTC)
    await store(world.uri, [u], [candidate(u, "esc")], now=t0)
    [s] = (await suggestions(client, u)).values()
    ok = await client.post(f"/v1/suggestions/{s['id']}/snooze", json={"for": "P1D"},
                           headers=OP)
    assert ok.status_code == 200, ok.text
    # Same priority: still held.
    same = await store(world.uri, [u], [candidate(u, "esc")], now=t0 + timedelta(minutes=5))
    assert same.notified == 0 and same.snooze_broken == 0
    # Higher: the snooze breaks and the escalation is notified at once.
    high = await store(world.uri, [u], [candidate(u, "esc", Priority.HIGH)],
                       now=t0 + timedelta(minutes=10))
    assert high.snooze_broken == 1 and high.escalated == 1 and high.notified == 1
    await deliver(world.uri, receiver.url, t0 + timedelta(minutes=10))
    [sent] = mine(receiver, u)
    assert sent["event"] == "escalated" and sent["priority"] == "high"
    [(outcome,)] = await rows(world.uri, "SELECT outcome FROM pam_proactive.snoozes"
                              " WHERE user_id = %s", u)
    assert outcome == "escalated"


async def test_an_improved_subject_stays_quiet_after_its_snooze(
        world: World, client: httpx.AsyncClient, receiver: Receiver) -> None:
    u = new_id()
    t0 = datetime.now(UTC)
    await store(world.uri, [u], [candidate(u, "imp", Priority.HIGH)], now=t0)
    [s] = (await suggestions(client, u)).values()
    until = t0 + timedelta(hours=3)
    ok = await client.post(f"/v1/suggestions/{s['id']}/snooze",
                           json={"until": until.isoformat()}, headers=OP)
    assert ok.status_code == 200, ok.text
    later = until + timedelta(minutes=1)
    low = await store(world.uri, [u], [candidate(u, "imp", Priority.MEDIUM)], now=later)
    assert low.snooze_resumed == 0 and low.notified == 0
    again = await store(world.uri, [u], [candidate(u, "imp", Priority.MEDIUM)],
                        now=later + timedelta(hours=1))
    assert again.notified == 0
    await deliver(world.uri, receiver.url, later + timedelta(hours=1))
    assert mine(receiver, u) == []
    [(outcome,)] = await rows(world.uri, "SELECT outcome FROM pam_proactive.snoozes"
                              " WHERE user_id = %s", u)
    assert outcome == "improved"


async def test_snooze_bounds_and_access(world: World, client: httpx.AsyncClient) -> None:
    u = new_id()
    now = datetime.now(UTC)
    await store(world.uri, [u], [candidate(u, "b1"), candidate(u, "b2")], now=now)
    by_key = await suggestions(client, u)
    sid = by_key["budget_exceeded:b1"]["id"]
    url = f"/v1/suggestions/{sid}/snooze"
    for bad in ({"until": (now - timedelta(minutes=1)).isoformat()}, {"for": "P31D"},
                {"for": "-PT1H"}, {}, {"for": "PT1H", "until": (now + timedelta(hours=1))
                                       .isoformat()},
                {"until": "2030-01-01T00:00:00"}, {"for": "PT1H", "extra": 1}):
        got = await client.post(url, json=bad, headers=OP)
        assert got.status_code == 422, (bad, got.text)
        assert got.json()["error"] == "invalid_request"
    other = await client.post(url, json={"for": "PT1H"}, headers=bearer(user_jwt(world.a)))
    assert other.status_code == 403
    missing = await client.post(f"/v1/suggestions/{new_id()}/snooze", json={"for": "PT1H"},
                                headers=OP)
    assert missing.status_code == 404
    assert (await client.post(f"/v1/suggestions/{sid}/dismiss", headers=OP)).status_code == 200
    closed = await client.post(url, json={"for": "PT1H"}, headers=OP)
    assert closed.status_code == 409
    # Snoozing again moves the end of the one snooze of the subject.
    other_id = by_key["budget_exceeded:b2"]["id"]
    for duration in ("PT1H", "PT5H"):
        again = await client.post(f"/v1/suggestions/{other_id}/snooze",
                                  json={"for": duration}, headers=OP)
        assert again.status_code == 200
    [(until,)] = await rows(world.uri, "SELECT until FROM pam_proactive.snoozes"
                            " WHERE user_id = %s AND ended_at IS NULL", u)
    assert timedelta(hours=4, minutes=59) < until - now < timedelta(hours=5, minutes=1)


async def test_dismiss_reasons_and_useful_are_stored(world: World,
                                                     client: httpx.AsyncClient) -> None:
    u = new_id()
    await store(world.uri, [u], [candidate(u, k) for k in ("r1", "r2", "r3", "r4")])
    ids = {k.split(":")[1]: s["id"] for k, s in (await suggestions(client, u)).items()}
    as_u = bearer(user_jwt(u))
    for bad in ({"reason": "boring"}, {"reason": "other", "note": "x" * 501},
                {"reason": "wrong", "extra": 1}):
        got = await client.post(f"/v1/suggestions/{ids['r1']}/dismiss", json=bad,
                                headers=as_u)
        assert got.status_code == 422, (bad, got.text)
    wrong = await client.post(f"/v1/suggestions/{ids['r1']}/dismiss",
                              json={"reason": "wrong"}, headers=as_u)
    assert wrong.status_code == 200 and wrong.json()["status"] == "dismissed"
    other = await client.post(f"/v1/suggestions/{ids['r2']}/dismiss",
                              json={"reason": "other", "note": "I sold the van"}, headers=as_u)
    assert other.status_code == 200
    plain = await client.post(f"/v1/suggestions/{ids['r3']}/dismiss", headers=as_u)
    assert plain.status_code == 200  # no body: as before
    useful = await client.post(f"/v1/suggestions/{ids['r4']}/useful", headers=as_u)
    assert useful.status_code == 200 and useful.json()["already_rated"] is False
    twice = await client.post(f"/v1/suggestions/{ids['r4']}/useful", headers=as_u)
    assert twice.status_code == 200 and twice.json()["already_rated"] is True
    assert (await suggestions(client, u))["budget_exceeded:r4"]["status"] == "open"
    assert (await client.post(f"/v1/suggestions/{new_id()}/useful",
                              headers=OP)).status_code == 404
    assert (await client.post(f"/v1/suggestions/{ids['r4']}/useful",
                              headers=bearer(user_jwt(world.b)))).status_code == 403
    stored = await rows(world.uri, "SELECT dedup_key, type, priority, data, verdict, reason,"
                        " note FROM pam_proactive.feedback WHERE user_id = %s ORDER BY id", u)
    data = {"limit": 100, "spent": 120.5}
    assert stored == [
        ("budget_exceeded:r1", "budget_exceeded", "medium", data, "dismissed", "wrong", None),
        ("budget_exceeded:r2", "budget_exceeded", "medium", data, "dismissed", "other",
         "I sold the van"),
        ("budget_exceeded:r3", "budget_exceeded", "medium", data, "dismissed", None, None),
        ("budget_exceeded:r4", "budget_exceeded", "medium", data, "useful", None, None)]
    # The traveler's export shows their feedback; the erasure takes it (and snoozes) too.
    exported = (await client.get(f"/v1/users/{u}/export", headers=as_u)).json()
    assert [(f["reason"], f["note"]) for f in exported["feedback"]] == [
        ("wrong", None), ("other", "I sold the van"), (None, None), (None, None)]
    erased = await client.delete(f"/v1/users/{u}/engine-data", headers=OP)
    assert erased.status_code == 200, erased.text
    assert erased.json()["deleted"]["feedback"] == 4
    assert await rows(world.uri, "SELECT 1 FROM pam_proactive.feedback WHERE user_id = %s",
                      u) == []


async def test_why_explains_the_rule_and_its_numbers(world: World,
                                                     client: httpx.AsyncClient) -> None:
    u = new_id()
    cand = Candidate(user_id=str(u), type="fuel_low", priority=Priority.HIGH, title="Fuel low",
                     message="Refuel soon.", dedup_key="fuel_low:v1",
                     data={"level_pct": 14.5, "range_miles": 60, "unit": "gal",
                           "thresholds": {"medium_pct": 25, "high_pct": 15}},
                     computed_for=datetime.now(UTC))
    await store(world.uri, [u], [cand])
    why = (await suggestions(client, u))["fuel_low:v1"]["why"]
    assert why["rule"]["type"] == "fuel_low" and why["rule"]["priority"] == "high"
    assert "fuel level" in why["rule"]["description"]
    assert why["numbers"] == {"level_pct": 14.5, "range_miles": 60}
    assert why["thresholds"] == {"medium_pct": 25, "high_pct": 15}
    assert why["snooze"] is None


def kind(user: UUID, key: str, **extra: Any) -> Candidate:
    """A spending_anomaly candidate (a type no other test of this module uses)."""
    return Candidate(user_id=str(user), type="spending_anomaly", priority=Priority.MEDIUM,
                     title="Unusual spending", message="Far above usual.",
                     dedup_key=f"spending_anomaly:{key}", data={"amount": 300, "usual": 40},
                     **{"computed_for": datetime.now(UTC), **extra})


async def test_relevance_per_type_and_week(world: World, client: httpx.AsyncClient) -> None:
    u = new_id()
    now = datetime.now(UTC)
    # Another traveler's s7 expired unanswered a few minutes ago.
    v = new_id()
    past = now - timedelta(minutes=10)
    s7 = kind(v, "s7", computed_for=past, expires_at=now - timedelta(minutes=5))
    await store(world.uri, [v], [s7], now=past)
    assert (await store(world.uri, [v], [s7], now=now)).expired == 1
    # Six for u: the daily cap (3) lets three of them be notified, hence delivered.
    await store(world.uri, [u], [kind(u, f"s{i}") for i in range(1, 7)], now=now)
    await release(world.uri, now)
    ids = {k.split(":")[1]: s["id"] for k, s in (await suggestions(client, u)).items()}
    post = client.post
    assert (await post(f"/v1/suggestions/{ids['s1']}/acted", headers=OP)).status_code == 200
    assert (await post(f"/v1/suggestions/{ids['s2']}/useful", headers=OP)).status_code == 200
    for key, answer in (("s3", {"reason": "wrong"}), ("s4", {"reason": "not_useful"}),
                        ("s5", None)):
        got = await post(f"/v1/suggestions/{ids[key]}/dismiss", json=answer, headers=OP)
        assert got.status_code == 200
    assert (await post(f"/v1/suggestions/{ids['s6']}/snooze", json={"for": "PT1H"},
                       headers=OP)).status_code == 200

    assert (await client.get("/v1/relevance", headers=bearer(user_jwt(u)))).status_code == 403
    assert (await client.get("/v1/relevance?weeks=0", headers=OP)).status_code == 422
    got = await client.get("/v1/relevance", headers=OP)
    assert got.status_code == 200, got.text
    body = got.json()
    [total] = [t for t in body["totals"] if t["type"] == "spending_anomaly"]
    [week] = [w for w in body["weeks"] if w["type"] == "spending_anomaly"]
    iso = now.isocalendar()
    assert week["week"] == f"{iso.year}-W{iso.week:02d}"
    for figures in (total, week):
        assert figures["delivered"] == 3 and figures["acted"] == 1 and figures["useful"] == 1
        assert figures["snoozed"] == 1 and figures["expired_unread"] == 1
        assert figures["dismissed"] == {"not_useful": 1, "wrong": 1, "already_done": 0,
                                        "too_early": 0, "other": 0, "unspecified": 1}
        assert figures["answered"] == 5 and figures["relevant"] == 2
        assert figures["relevance_rate"] == 0.4 and figures["wrong_rate"] == 0.2
    assert body["target"] == 0.85

    api_metrics._relevance_at.clear()  # the gauges are re-read at most once a minute
    scraped = (await client.get("/metrics", headers=OP)).text
    assert 'pam_relevance_rate{type="spending_anomaly"} 0.4' in scraped
    assert 'pam_relevance_wrong_rate{type="spending_anomaly"} 0.2' in scraped
    assert 'pam_relevance_answered{type="spending_anomaly"} 5.0' in scraped
