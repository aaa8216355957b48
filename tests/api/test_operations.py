"""Second-round endpoints against a running server on the real database: the fleet report,
job runs, a traveler's insights, and the readiness check of the scheduled jobs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import httpx
import pytest

from api.conftest import api_settings
from api.harness import TOKEN, Server, bearer, new_id, running, user_jwt
from conftest import MakeDatabase, settings_for
from pam_proactive.api.readiness import job_staleness, jobs
from pam_proactive.engine import Engine, open_engine
from pam_proactive.jobs.scheduling.execute import run_job
from pam_proactive.jobs.scheduling.schedule import JOBS, job_named
from pam_proactive.reports.fleet import latest_fleet_report
from pam_proactive.reports.insights import get_insights
from planting import Planter

OP = bearer(TOKEN)
NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class Fleet:
    uri: str
    a: UUID  # months of spending: insights
    b: UUID


@pytest.fixture(scope="module")
async def fleet(make_database: MakeDatabase) -> Fleet:
    uri = await make_database("seed")
    today = NOW.date()
    with Planter(uri, "seed") as p:
        a, b = p.user(timezone="UTC"), p.user(timezone="UTC")
        for uid in (a, b):
            p.vehicle(uid, registration_expires=today - timedelta(days=3))
        for months_back in range(4):
            day = date(today.year, today.month, 1) - timedelta(days=31 * months_back)
            p.expense(a, 100.0 + 50 * (months_back == 0), "food", day)
    return Fleet(uri, a, b)


@pytest.fixture(scope="module")
async def engine(fleet: Fleet) -> AsyncIterator[Engine]:
    async with open_engine(settings_for("seed"), conninfo=fleet.uri) as eng:
        yield eng


@pytest.fixture(scope="module")
def server(fleet: Fleet) -> Iterator[Server]:
    with running(api_settings(fleet.uri)) as srv:
        yield srv


@pytest.fixture
async def client(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
        yield c


async def test_fleet_report_computed_on_demand_then_the_stored_one(
        client: httpx.AsyncClient, fleet: Fleet, engine: Engine) -> None:
    assert await latest_fleet_report(engine) is None
    assert (await client.get("/v1/fleet/report")).status_code == 401
    assert (await client.get("/v1/fleet/report",
                             headers=bearer(user_jwt(fleet.a)))).status_code == 403
    first = await client.get("/v1/fleet/report", headers=OP)
    assert first.status_code == 200, first.text
    body = first.json()
    stored = await latest_fleet_report(engine)
    assert stored is not None and body["report_id"] == stored.id
    assert body == stored.to_json()
    assert {v["user_id"] for v in body["vehicles"]} == {str(fleet.a), str(fleet.b)}
    scores = {v["user_id"]: v["health_score"] for v in body["vehicles"]}
    assert all(0 <= s < 100 for s in scores.values())  # both registrations expired
    again = await client.get("/v1/fleet/report", headers=OP)
    assert again.json()["report_id"] == stored.id  # not recomputed: the latest stored one


async def test_job_runs(client: httpx.AsyncClient, fleet: Fleet, engine: Engine) -> None:
    monitor = await run_job(engine, job_named("monitor_user_context"), NOW)
    patterns = await run_job(engine, job_named("analyze_user_patterns"), NOW)
    assert (await client.get("/v1/jobs/runs")).status_code == 401
    assert (await client.get("/v1/jobs/runs", headers=bearer(user_jwt(fleet.a)))
            ).status_code == 403
    every = (await client.get("/v1/jobs/runs", headers=OP)).json()
    assert [r["id"] for r in every][:2] == [patterns.run.id, monitor.run.id]
    one = await client.get("/v1/jobs/runs", params={"job": "monitor_user_context",
                                                    "limit": 1}, headers=OP)
    assert one.status_code == 200
    assert one.json() == [monitor.run.as_dict()]
    assert one.json()[0]["users"] == 2 and one.json()[0]["status"] == "ok"
    bad = await client.get("/v1/jobs/runs", params={"job": "nope"}, headers=OP)
    assert bad.status_code == 422 and "monitor_user_context" in bad.text
    assert (await client.get("/v1/jobs/runs", params={"limit": 0}, headers=OP)
            ).status_code == 422


async def test_insights_per_traveler(client: httpx.AsyncClient, fleet: Fleet,
                                     engine: Engine) -> None:
    await run_job(engine, job_named("analyze_user_patterns"), NOW - timedelta(hours=2))
    expected = await get_insights(engine, fleet.a)
    assert expected, "the pattern job stored no insight for the planted traveler"
    own = await client.get(f"/v1/users/{fleet.a}/insights", headers=bearer(user_jwt(fleet.a)))
    assert own.status_code == 200, own.text
    assert [(i["kind"], i["period_start"], i["values"]) for i in own.json()] == [
        (r.kind, r.period_start.isoformat(), r.values) for r in expected]
    operator = await client.get(f"/v1/users/{fleet.a}/insights", headers=OP)
    assert operator.json() == own.json()
    kind = expected[0].kind
    only = await client.get(f"/v1/users/{fleet.a}/insights", params={"kind": kind},
                            headers=OP)
    assert only.status_code == 200 and {i["kind"] for i in only.json()} == {kind}
    other = await client.get(f"/v1/users/{fleet.a}/insights",
                             headers=bearer(user_jwt(fleet.b)))
    assert other.status_code == 403
    assert (await client.get(f"/v1/users/{new_id()}/insights", headers=OP)).status_code == 404
    assert (await client.get("/v1/users/not-a-uuid/insights", headers=OP)).status_code == 422
    assert (await client.get(f"/v1/users/{fleet.a}/insights", params={"kind": "x"},
                             headers=OP)).status_code == 422
    assert (await client.get(f"/v1/users/{fleet.a}/insights")).status_code == 401


def test_job_staleness_rule() -> None:
    job = job_named("monitor_user_context")  # every 15 min: allowed 30 min
    now = datetime(2026, 11, 25, 18, 7, tzinfo=UTC)
    assert job_staleness(job, None, now, timedelta(minutes=29)) == "never ran"
    assert job_staleness(job, None, now, timedelta(minutes=31)) == "never ran in 31 min up"


async def test_readiness_reports_the_jobs(client: httpx.AsyncClient, engine: Engine) -> None:
    for job in JOBS:  # every job has run by now: fresh runs, ready
        await run_job(engine, job, NOW - timedelta(minutes=1))
    ready = await client.get("/health/ready")
    checks = {c["name"]: c for c in ready.json()["checks"]}
    assert ready.status_code == 200 and checks["jobs"]["ok"], checks
    assert checks["jobs"]["detail"] == f"{len(JOBS)} of {len(JOBS)} jobs ran recently"
    # The same runs seen a day later: the 15-minute job's last run is far too old.
    later = await jobs(engine, now=datetime.now(UTC) + timedelta(days=1))
    assert not later.ok and "monitor_user_context: last run 24 h" in later.detail


async def test_readiness_of_a_fresh_install(make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    async with open_engine(settings_for("seed"), conninfo=uri) as fresh:
        young = await jobs(fresh, uptime=timedelta(minutes=1))
        old = await jobs(fresh, uptime=timedelta(days=3))
    assert young.ok and "never ran yet: monitor_user_context" in young.detail
    assert not old.ok and "monitor_user_context: never ran in 72 h 0 min up" in old.detail
