"""The application factory: readiness failing with reasons, a shared engine, extra routers."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import APIRouter

from api.conftest import World, api_settings
from api.harness import TOKEN, bearer, running, serving_here
from conftest import MakeDatabase
from pam_proactive.api.app import create_app
from pam_proactive.api.readiness import DEFAULT_CHECKS, CheckResult
from pam_proactive.engine import Engine, open_engine


async def test_not_ready_says_why(make_database: MakeDatabase) -> None:
    uri = await make_database("seed", migrate_engine=False)
    with running(api_settings(uri)) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
            live = await c.get("/health")
            ready = await c.get("/health/ready")
    assert live.status_code == 200
    assert ready.status_code == 503
    checks = {c["name"]: c for c in ready.json()["checks"]}
    assert checks["database"]["ok"] is True
    assert checks["migrations"]["ok"] is False
    assert "pam-proactive migrate" in checks["migrations"]["detail"]


async def test_a_hung_or_failing_check_fails_readiness(world: World) -> None:
    async def hangs(engine: Engine) -> CheckResult:
        await asyncio.sleep(60)
        raise AssertionError("unreachable")

    async def says_no(engine: Engine) -> CheckResult:
        return CheckResult("jobs", False, "sweep last ran 3 h ago (period 1 h)")

    import pam_proactive.api.readiness as readiness

    readiness_timeout = readiness.CHECK_TIMEOUT
    readiness.CHECK_TIMEOUT = 0.5
    try:
        with running(api_settings(world.uri),
                     checks=(*DEFAULT_CHECKS, hangs, says_no)) as server:
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
                ready = await c.get("/health/ready")
    finally:
        readiness.CHECK_TIMEOUT = readiness_timeout
    assert ready.status_code == 503
    checks = {c["name"]: c for c in ready.json()["checks"]}
    assert checks["database"]["ok"] and checks["migrations"]["ok"]
    assert checks["hangs"]["ok"] is False
    assert checks["hangs"]["detail"].startswith("no answer within")
    assert checks["jobs"]["detail"] == "sweep last ran 3 h ago (period 1 h)"


async def test_shared_engine_and_extra_router(world: World) -> None:
    extra = APIRouter()

    @extra.get("/extra")
    async def extra_route() -> dict[str, str]:
        return {"mounted": "yes"}

    @extra.get("/broken")
    async def broken_route() -> dict[str, str]:
        raise RuntimeError("a bug")

    settings = api_settings(world.uri)
    async with open_engine(settings) as engine:
        before = engine.db.metrics.snapshot()["queries_executed"]
        app = create_app(settings, engine=engine, extra_routers=(extra,))
        async with serving_here(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as c:
            assert (await c.get("/extra")).json() == {"mounted": "yes"}
            broken = await c.get("/broken")
            assert broken.status_code == 500
            assert broken.json()["error"] == "internal_error"
            assert "a bug" not in broken.text
            got = await c.get(f"/v1/users/{world.a}/suggestions", headers=bearer(TOKEN))
            assert got.status_code == 200
        # The app used this engine (its metrics counted the request) and left it open.
        assert engine.db.metrics.snapshot()["queries_executed"] > before
        assert (await engine.db.fetch("still_open", "SELECT 1")) == [(1,)]
