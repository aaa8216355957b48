"""Server-sent events: a stored suggestion reaches a connected client within 2 s, only its
owner's stream carries it, and a database blip loses nothing."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest

from api.conftest import World
from api.harness import TOKEN, Server, bearer, candidate, new_id, store, user_jwt
from pam_proactive.suggestions.models import Priority


async def events(response: httpx.Response) -> AsyncIterator[tuple[str, Any]]:
    """(event name, decoded data) of each event; ('heartbeat', None) for a comment line."""
    name, data = "message", []
    async for line in response.aiter_lines():
        if line.startswith(":"):
            yield "heartbeat", None
        elif line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])
        elif line == "" and data:
            yield name, json.loads("\n".join(data))
            name, data = "message", []


async def next_event(stream: AsyncIterator[tuple[str, Any]], wanted: str,
                     timeout: float) -> Any:
    async def find() -> Any:
        async for name, data in stream:
            if name == wanted:
                return data
        raise AssertionError("stream ended")

    return await asyncio.wait_for(find(), timeout)


async def next_change(stream: AsyncIterator[tuple[str, Any]], dedup_key: str,
                      timeout: float) -> Any:
    """The next 'suggestion' event about ``dedup_key`` (a store of one subject also resolves
    the user's other live subjects: those events are skipped)."""
    async def find() -> Any:
        async for name, data in stream:
            if name == "suggestion" and data["suggestion"]["dedup_key"] == dedup_key:
                return data
        raise AssertionError("stream ended")

    return await asyncio.wait_for(find(), timeout)


@pytest.fixture
async def sse_client(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=httpx.Timeout(10, read=30)) as c:
        yield c


async def test_new_and_escalated_suggestions_arrive_within_two_seconds(
        sse_client: httpx.AsyncClient, world: World) -> None:
    key = f"stream-{new_id()}"
    url = f"/v1/users/{world.a}/suggestions/stream"
    async with sse_client.stream("GET", url, headers=bearer(user_jwt(world.a))) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = events(response)
        snapshot = await next_event(stream, "snapshot", 5)
        assert isinstance(snapshot["suggestions"], list)

        # B's new suggestion is not on A's stream; A's is, within 2 s of being stored.
        await store(world.uri, [world.b], [candidate(world.b, key)])
        stored = time.monotonic()
        await store(world.uri, [world.a], [candidate(world.a, key)])
        got = await next_change(stream, f"budget_exceeded:{key}", 2.0)
        assert time.monotonic() - stored < 2.0
        assert got["change"] == "created"
        assert got["suggestion"]["user_id"] == str(world.a)
        assert got["suggestion"]["dedup_key"] == f"budget_exceeded:{key}"

        await store(world.uri, [world.a], [candidate(world.a, key, Priority.CRITICAL)])
        escalated = await next_change(stream, f"budget_exceeded:{key}", 2.0)
        assert escalated["change"] == "escalated"
        assert escalated["suggestion"]["priority"] == "critical"
        assert escalated["suggestion"]["id"] == got["suggestion"]["id"]

        assert await next_event(stream, "heartbeat", 3.0) is None


async def test_stream_survives_a_database_blip(sse_client: httpx.AsyncClient,
                                               world: World) -> None:
    key = f"blip-{new_id()}"
    url = f"/v1/users/{world.a}/suggestions/stream"
    async with sse_client.stream("GET", url, headers=bearer(TOKEN)) as response:
        stream = events(response)
        await next_event(stream, "snapshot", 5)
        # Every connection of the server's pool is killed, as a failover or restart would.
        async with await psycopg.AsyncConnection.connect(world.uri, autocommit=True) as conn:
            cur = await conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = 'pam-proactive' AND pid <> pg_backend_pid()")
            killed = (await cur.fetchone() or (0,))[0]
        assert killed >= 1
        await store(world.uri, [world.a], [candidate(world.a, key)], datetime.now(UTC))
        got = await next_change(stream, f"budget_exceeded:{key}", 5.0)
        assert got["change"] == "created"


async def test_stream_access(sse_client: httpx.AsyncClient, world: World) -> None:
    url = f"/v1/users/{world.b}/suggestions/stream"
    other = await sse_client.get(url, headers=bearer(user_jwt(world.a)))
    assert other.status_code == 403
    assert (await sse_client.get(url)).status_code == 401
    unknown = await sse_client.get(f"/v1/users/{new_id()}/suggestions/stream",
                                   headers=bearer(TOKEN))
    assert unknown.status_code == 404
    assert (await sse_client.get("/v1/users/x/suggestions/stream",
                                 headers=bearer(TOKEN))).status_code == 422
