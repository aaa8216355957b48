"""Every endpoint and every error status, against a running server on a real database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import httpx
import psycopg

from api.conftest import World
from api.harness import TOKEN, bearer, candidate, new_id, store, user_jwt
from pam_proactive.suggestions.models import Priority
from planting import Planter

OP = bearer(TOKEN)


async def test_liveness_and_readiness(client: httpx.AsyncClient) -> None:
    live = await client.get("/health")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["ready"] is True
    assert {c["name"]: c["ok"] for c in body["checks"]} == {"database": True, "migrations": True,
                                                           "jobs": True}


async def test_openapi_lists_every_endpoint(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    paths = {(p, m) for p, item in doc["paths"].items() for m in item}
    assert paths >= {
        ("/health", "get"), ("/health/ready", "get"), ("/v1/performance", "get"),
        ("/v1/users/{user_id}/context", "get"), ("/v1/users/{user_id}/suggestions", "get"),
        ("/v1/suggestions/{suggestion_id}/dismiss", "post"),
        ("/v1/suggestions/{suggestion_id}/acted", "post"),
        ("/v1/users/{user_id}/suggestions/stream", "get"),
        ("/v1/users/{user_id}/export", "get"), ("/v1/users/{user_id}/engine-data", "delete")}
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


async def test_performance_needs_the_operator(client: httpx.AsyncClient, world: World) -> None:
    await client.get(f"/v1/users/{world.a}/context", headers=OP)  # at least one query
    ok = await client.get("/v1/performance", headers=OP)
    assert ok.status_code == 200
    metrics = ok.json()
    for field in ("queries_executed", "cache_hit_rate", "average_query_ms", "cache_size",
                  "connection_pool_status"):
        assert field in metrics, field
    assert metrics["queries_executed"] > 0
    assert "pool_size" in metrics["connection_pool_status"]

    missing = await client.get("/v1/performance")
    assert missing.status_code == 401 and missing.json()["error"] == "missing_credentials"
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = await client.get("/v1/performance", headers=bearer("not-the-token"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_credentials"
    basic = await client.get("/v1/performance", headers={"Authorization": "Basic eDp5"})
    assert basic.status_code == 401 and basic.json()["error"] == "invalid_credentials"
    as_user = await client.get("/v1/performance", headers=bearer(user_jwt(world.a)))
    assert as_user.status_code == 403 and as_user.json()["error"] == "forbidden"
    assert "operator" in as_user.json()["detail"]


async def test_context(client: httpx.AsyncClient, world: World) -> None:
    got = await client.get(f"/v1/users/{world.a}/context", headers=OP,
                           params={"now": "2026-11-25T12:00:00+00:00"})
    assert got.status_code == 200, got.text
    ctx = got.json()
    assert ctx["user_id"] == str(world.a)
    assert ctx["now"] == "2026-11-25T12:00:00+00:00"
    assert ctx["financial"]["month_spent"] == 42.0
    assert {"profile", "travel", "calendar", "vehicle", "data_quality"} <= set(ctx)

    own = await client.get(f"/v1/users/{world.a}/context", headers=bearer(user_jwt(world.a)))
    assert own.status_code == 200
    other = await client.get(f"/v1/users/{world.b}/context", headers=bearer(user_jwt(world.a)))
    assert other.status_code == 403 and other.json()["error"] == "forbidden"
    unknown = await client.get(f"/v1/users/{new_id()}/context", headers=OP)
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    malformed = await client.get("/v1/users/not-a-uuid/context", headers=OP)
    assert malformed.status_code == 422 and malformed.json()["error"] == "invalid_request"
    assert (await client.get(f"/v1/users/{world.a}/context")).status_code == 401


async def test_a_held_suggestion_is_listed_as_part_of_its_holder(
        client: httpx.AsyncClient, world: World) -> None:
    with Planter(world.uri, "seed") as p:
        uid = p.user()
    now = datetime.now(UTC)
    trip = replace(candidate(uid, "t"), type="departure_reminder",
                   dedup_key="departure_reminder:t", subjects=("fuel:v1",))
    fuel = replace(candidate(uid, "f"), type="fuel_low", dedup_key="fuel_low:v1",
                   subjects=("fuel:v1",))
    result = await store(world.uri, [uid], [trip, fuel], now)
    assert (result.created, result.notified, result.held_back) == (2, 1, 1)
    listed = await client.get(f"/v1/users/{uid}/suggestions", headers=OP)
    assert listed.status_code == 200
    items = {s["type"]: s for s in listed.json()["suggestions"]}
    assert items["fuel_low"]["held_by"] == items["departure_reminder"]["id"]
    assert items["departure_reminder"]["held_by"] is None
    assert items["fuel_low"]["notified_rank"] is None  # stored and listed, never notified


async def test_suggestions_list_and_feedback(client: httpx.AsyncClient, world: World) -> None:
    now = datetime.now(UTC)
    await store(world.uri, [world.a, world.b],
                [candidate(world.a, "a1"), candidate(world.a, "a2", Priority.HIGH),
                 candidate(world.b, "b1")], now)
    listed = await client.get(f"/v1/users/{world.a}/suggestions", headers=OP,
                              params={"status": "open"})
    assert listed.status_code == 200
    items = listed.json()["suggestions"]
    assert {s["dedup_key"] for s in items} >= {"budget_exceeded:a1", "budget_exceeded:a2"}
    assert all(s["user_id"] == str(world.a) and s["status"] == "open" for s in items)
    high = next(s for s in items if s["dedup_key"] == "budget_exceeded:a2")
    assert high["priority"] == "high"

    a_token = bearer(user_jwt(world.a))
    b_items = (await client.get(f"/v1/users/{world.b}/suggestions", headers=OP)).json()
    b_id = b_items["suggestions"][0]["id"]
    # A's JWT cannot read B's list nor dismiss B's suggestion.
    assert (await client.get(f"/v1/users/{world.b}/suggestions",
                             headers=a_token)).status_code == 403
    denied = await client.post(f"/v1/suggestions/{b_id}/dismiss", headers=a_token)
    assert denied.status_code == 403
    assert (await client.post(f"/v1/suggestions/{b_id}/acted", headers=a_token)).status_code == 403

    # A dismisses its own; a second dismissal (or acting on it) is a conflict.
    a_id = high["id"]
    done = await client.post(f"/v1/suggestions/{a_id}/dismiss", headers=a_token)
    assert done.status_code == 200 and done.json()["status"] == "dismissed"
    again = await client.post(f"/v1/suggestions/{a_id}/dismiss", headers=a_token)
    assert again.status_code == 409 and again.json()["error"] == "conflict"
    assert (await client.post(f"/v1/suggestions/{a_id}/acted", headers=OP)).status_code == 409
    dismissed = await client.get(f"/v1/users/{world.a}/suggestions", headers=a_token,
                                 params={"status": "dismissed"})
    assert [s["id"] for s in dismissed.json()["suggestions"]] == [a_id]

    # The operator marks B's suggestion acted.
    acted = await client.post(f"/v1/suggestions/{b_id}/acted", headers=OP)
    assert acted.status_code == 200 and acted.json()["status"] == "acted"
    async with await psycopg.AsyncConnection.connect(world.uri) as conn:
        cur = await conn.execute("SELECT status FROM pam_proactive.suggestions WHERE id = %s",
                                 (b_id,))
        assert (await cur.fetchone()) == ("acted",)

    assert (await client.post(f"/v1/suggestions/{new_id()}/dismiss",
                              headers=OP)).status_code == 404
    assert (await client.post("/v1/suggestions/123/dismiss", headers=OP)).status_code == 422
    assert (await client.post(f"/v1/suggestions/{a_id}/dismiss")).status_code == 401
    assert (await client.get(f"/v1/users/{new_id()}/suggestions", headers=OP)).status_code == 404
    bad_status = await client.get(f"/v1/users/{world.a}/suggestions", headers=OP,
                                  params={"status": "bogus"})
    assert bad_status.status_code == 422
