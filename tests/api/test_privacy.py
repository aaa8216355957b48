"""Export then forget: nothing of the engine's about that traveler remains, traveler rows do,
and other travelers are untouched. Through the API and through the CLI."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import psycopg
from typer.testing import CliRunner

from api.conftest import World
from api.harness import TOKEN, bearer, candidate, new_id, store, user_jwt
from pam_proactive.cli.main import app
from planting import Planter

OP = bearer(TOKEN)
ENGINE_TABLES = {"suggestions": "user_id", "outbox": "user_id", "user_preferences": "user_id"}


def engine_rows(uri: str, user_id: UUID) -> dict[str, int]:
    """Rows per engine table about ``user_id`` (deliveries through their outbox rows)."""
    with psycopg.connect(uri) as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM pam_proactive.{t} WHERE {c} = %s",
                                  (user_id,)).fetchone()[0]  # type: ignore[index]
                  for t, c in ENGINE_TABLES.items()}
        counts["deliveries"] = conn.execute(
            "SELECT count(*) FROM pam_proactive.deliveries d JOIN pam_proactive.outbox o"
            " ON o.id = d.outbox_id WHERE o.user_id = %s", (user_id,)).fetchone()[0]  # type: ignore[index]
    return counts


def traveler_rows(uri: str, user_id: UUID) -> tuple[int, int, int]:
    with psycopg.connect(uri) as conn:
        return tuple(conn.execute(f"SELECT count(*) FROM {t} WHERE {c} = %s",
                                  (user_id,)).fetchone()[0]  # type: ignore[index]
                     for t, c in (("profiles", "id"), ("expenses", "user_id"),
                                  ("budgets", "user_id")))


def plant_traveler(uri: str) -> UUID:
    with Planter(uri, "seed") as p:
        uid = p.user(timezone="Europe/Paris")
        p.expense(uid, 12.5, "food", datetime.now(UTC).date())
        p.budget(uid, "food", 50.0)
    return uid


def add_delivery(uri: str, user_id: UUID) -> None:
    """One delivery attempt of the user's first notification, as a channel records it."""
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("INSERT INTO pam_proactive.deliveries (outbox_id, channel, attempt, ok)"
                     " SELECT min(id), 'webhook', 1, true FROM pam_proactive.outbox"
                     " WHERE user_id = %s", (user_id,))


async def seeded(world: World) -> UUID:
    uid = plant_traveler(world.uri)
    now = datetime.now(UTC)
    await store(world.uri, [uid], [candidate(uid, "p1"), candidate(uid, "p2")], now)
    add_delivery(world.uri, uid)
    return uid


async def test_export_then_forget(client: httpx.AsyncClient, world: World) -> None:
    uid = await seeded(world)
    before_b = engine_rows(world.uri, world.b)
    token = bearer(user_jwt(uid))

    exported = await client.get(f"/v1/users/{uid}/export", headers=token)
    assert exported.status_code == 200, exported.text
    data: dict[str, Any] = exported.json()
    assert data["user_id"] == str(uid)
    assert {s["dedup_key"] for s in data["suggestions"]} == {"budget_exceeded:p1",
                                                            "budget_exceeded:p2"}
    assert len(data["outbox"]) == 2 and all(o["payload"]["user_id"] == str(uid)
                                            for o in data["outbox"])
    assert len(data["deliveries"]) == 1 and data["deliveries"][0]["channel"] == "webhook"
    assert data["preferences"]["timezone"] == "Europe/Paris"
    assert data["insights"] == []  # the insights table exists (reports); none stored for this one
    assert engine_rows(world.uri, uid) == {"suggestions": 2, "outbox": 2, "user_preferences": 1,
                                           "deliveries": 1}

    # Another traveler's JWT can neither export nor erase it.
    other = bearer(user_jwt(world.b))
    assert (await client.get(f"/v1/users/{uid}/export", headers=other)).status_code == 403
    assert (await client.delete(f"/v1/users/{uid}/engine-data", headers=other)).status_code == 403

    erased = await client.delete(f"/v1/users/{uid}/engine-data", headers=token)
    assert erased.status_code == 200
    assert erased.json()["deleted"] == {"deliveries": 1, "outbox": 2, "suggestions": 2,
                                        "user_preferences": 1, "insights": 0,
                                        "feedback": 0, "snoozes": 0, "adaptations": 0}
    assert engine_rows(world.uri, uid) == dict.fromkeys(
        ("suggestions", "outbox", "user_preferences", "deliveries"), 0)
    assert traveler_rows(world.uri, uid) == (1, 1, 1)
    assert engine_rows(world.uri, world.b) == before_b

    empty = (await client.get(f"/v1/users/{uid}/export", headers=OP)).json()
    assert empty["suggestions"] == [] and empty["preferences"] is None
    unknown = new_id()
    assert (await client.get(f"/v1/users/{unknown}/export", headers=OP)).status_code == 404
    assert (await client.delete(f"/v1/users/{unknown}/engine-data",
                                headers=OP)).status_code == 404
    assert (await client.delete("/v1/users/zz/engine-data", headers=OP)).status_code == 422
    assert (await client.delete(f"/v1/users/{uid}/engine-data")).status_code == 401


def test_cli_export_and_forget(world: World) -> None:
    uid = asyncio.run(seeded(world))
    runner = CliRunner()
    env = {"DATABASE_URL": world.uri}
    out = runner.invoke(app, ["export-user", str(uid)], env=env)
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert len(data["suggestions"]) == 2 and len(data["deliveries"]) == 1

    refused = runner.invoke(app, ["forget-user", str(uid)], env=env, input="n\n")
    assert refused.exit_code == 1
    assert engine_rows(world.uri, uid)["suggestions"] == 2

    done = runner.invoke(app, ["forget-user", str(uid), "--yes"], env=env)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["deleted"]["suggestions"] == 2
    assert sum(engine_rows(world.uri, uid).values()) == 0
    assert traveler_rows(world.uri, uid) == (1, 1, 1)

    bad = runner.invoke(app, ["export-user", "nope"], env=env)
    assert bad.exit_code == 2 and "USER_ID" in bad.output
