"""GET/PATCH /v1/users/{id}/preferences: the traveler's own, validated by the same database
function a Supabase app's update_my_preferences calls (the same refusals, word for word)."""

from __future__ import annotations

from uuid import uuid4

import httpx
import psycopg
from psycopg.types.json import Jsonb

from api.conftest import World
from api.harness import TOKEN, bearer, user_jwt

OP = bearer(TOKEN)


def function_refusal(uri: str, changes: dict[str, object]) -> str:
    """The message the engine schema's update_preferences gives for ``changes``."""
    with psycopg.connect(uri, autocommit=True) as conn:
        try:
            conn.execute("SELECT pam_proactive.update_preferences(%s, %s)",
                         (uuid4(), Jsonb(changes)))
        except psycopg.errors.InvalidParameterValue as exc:
            return exc.diag.message_primary or ""
    raise AssertionError(f"{changes} was accepted")


async def test_a_traveler_reads_and_changes_their_own(client: httpx.AsyncClient,
                                                       world: World) -> None:
    mine, theirs = bearer(user_jwt(world.a)), bearer(user_jwt(world.b))
    url = f"/v1/users/{world.a}/preferences"
    got = await client.get(url, headers=mine)
    assert got.status_code == 200, got.text
    assert got.json()["user_id"] == str(world.a)
    assert (await client.get(url, headers=theirs)).status_code == 403
    assert (await client.patch(url, json={"daily_cap": 1}, headers=theirs)).status_code == 403

    changed = await client.patch(url, headers=mine, json={
        "timezone": "Europe/Paris", "quiet_start": "22:00", "quiet_end": "07:00",
        "daily_cap": 2, "disabled_types": ["fuel_low"]})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["timezone"], body["quiet_start"], body["quiet_end"], body["daily_cap"],
            body["disabled_types"]) == ("Europe/Paris", "22:00", "07:00", 2, ["fuel_low"])
    assert (await client.get(url, headers=OP)).json() == body  # the operator reads it too
    with psycopg.connect(world.uri) as conn:
        stored = conn.execute("SELECT timezone, daily_cap FROM pam_proactive.user_preferences"
                              " WHERE user_id = %s", (world.a,)).fetchone()
    assert stored == ("Europe/Paris", 2)

    # Fields left out are kept; null clears.
    cleared = await client.patch(url, headers=mine, json={"daily_cap": None})
    assert cleared.status_code == 200
    assert cleared.json()["daily_cap"] is None and cleared.json()["timezone"] == "Europe/Paris"


async def test_refusals_are_the_database_functions(client: httpx.AsyncClient,
                                                   world: World) -> None:
    url = f"/v1/users/{world.b}/preferences"
    before = (await client.get(url, headers=OP)).json()
    refusals: list[dict[str, object]] = [
        {"timezone": "Mars/Olympus"}, {"daily_cap": 101}, {"daily_cap": -1},
        {"quiet_start": "23:00"}, {"disabled_types": ["Fuel_Low"]}, {"digest_hour": 24},
        {"digest_hour": -1}, {"digest_priorities": ["critical"]}, {"digest_priorities": []},
        {"digest_priorities": ["low", "urgent"]}]
    for changes in refusals:
        refused = await client.patch(url, headers=OP, json=changes)
        assert refused.status_code == 422, (changes, refused.text)
        assert refused.json() == {"error": "invalid_request",
                                  "detail": function_refusal(world.uri, changes)}
    # Shapes the schema refuses before the database: an unknown field, a wrong type.
    shapes: list[dict[str, object]] = [
        {"user_id": str(world.a)}, {"daily_cap": "3"}, {"opted_out": "yes"},
        {"quiet_start": "22h"}, {"digest": "yes"}, {"digest_hour": "8"},
        {"digest_priorities": "low"}]
    for changes in shapes:
        assert (await client.patch(url, headers=OP, json=changes)).status_code == 422
    assert (await client.get(url, headers=OP)).json() == before
    unknown = f"/v1/users/{uuid4()}/preferences"
    assert (await client.get(unknown, headers=OP)).status_code == 404
    assert (await client.patch(unknown, headers=OP, json={"daily_cap": 1})).status_code == 404


async def test_the_digest_choices_round_trip(client: httpx.AsyncClient, world: World) -> None:
    url = f"/v1/users/{world.a}/preferences"
    mine = bearer(user_jwt(world.a))
    # Nothing chosen: null, the engine's defaults apply (PAM_DIGEST, _HOUR, _PRIORITIES).
    await client.patch(url, headers=mine, json={"digest": None, "digest_hour": None,
                                                "digest_priorities": None})
    fresh = (await client.get(url, headers=mine)).json()
    assert (fresh["digest"], fresh["digest_hour"], fresh["digest_priorities"]) == (
        None, None, None)
    changed = await client.patch(url, headers=mine, json={
        "digest": True, "digest_hour": 19, "digest_priorities": ["medium", "low", "medium"]})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    # Stored once each, in rank order.
    assert (body["digest"], body["digest_hour"], body["digest_priorities"]) == (
        True, 19, ["low", "medium"])
    assert (await client.get(url, headers=OP)).json() == body
    with psycopg.connect(world.uri) as conn:
        stored = conn.execute("SELECT digest, digest_hour, digest_priorities FROM"
                              " pam_proactive.user_preferences WHERE user_id = %s",
                              (world.a,)).fetchone()
    assert stored == (True, 19, ["low", "medium"])
    off = await client.patch(url, headers=mine, json={"digest": False})
    assert (off.json()["digest"], off.json()["digest_hour"]) == (False, 19)
