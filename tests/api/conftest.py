"""Fixtures of the API tests: one seeded database and one running server per module."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date
from uuid import UUID

import httpx
import pytest

from api.harness import JWKS, JWT_SECRET, TOKEN, Server, running
from conftest import MakeDatabase, settings_for
from planting import Planter


@dataclass(frozen=True)
class World:
    """Two planted travelers (A and B) with some traveler rows each."""

    uri: str
    a: UUID
    b: UUID


@pytest.fixture(scope="module")
async def world(make_database: MakeDatabase) -> World:
    uri = await make_database("seed")
    with Planter(uri, "seed") as p:
        a, b = p.user(), p.user()
        for uid in (a, b):
            p.expense(uid, 42.0, "fuel", date(2026, 11, 20))
            p.budget(uid, "fuel", 100.0)
    return World(uri, a, b)


def api_settings(uri: str, **overrides: object):  # type: ignore[no-untyped-def]
    """Settings of the test servers: token, HS256 secret and an ES256 JWKS configured."""
    base: dict[str, object] = {"database_url": uri, "api_token": TOKEN,
                               "supabase_jwt_secret": JWT_SECRET, "supabase_jwks": JWKS,
                               "stream_poll_seconds": 0.2, "stream_heartbeat_seconds": 1.0,
                               "rate_limit_per_minute": 6000, "rate_limit_burst": 1000}
    base.update(overrides)
    return settings_for("seed", **base)


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[Server]:
    with running(api_settings(world.uri)) as srv:
        yield srv


@pytest.fixture
async def client(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
        yield c
