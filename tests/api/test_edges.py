"""Robust edges of the API: every query parameter validated to its domain (422, said once
per parameter, never echoing the input), unhandled errors as a JSON 500 with a correlation id
logged as one JSON line, third-party loggers in JSON lines, and JWT errors that say the real
reason without echoing the token's header."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import psycopg
import pytest
from fastapi import APIRouter
from psycopg.conninfo import conninfo_to_dict

from api.conftest import World, api_settings
from api.harness import JWT_SECRET, TOKEN, bearer, serving_here
from conftest import MakeDatabase
from pam_proactive.api.app import create_app
from pam_proactive.engine import open_engine
from pam_proactive.logs import THIRD_PARTY_LOGGERS, configure_logging
from planting import Planter

OP = bearer(TOKEN)


@pytest.mark.parametrize("now", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
                                 "2090-01-01T00:00:00+14:00", "1990-06-01T00:00:00"])
async def test_now_outside_its_range_is_422(client: httpx.AsyncClient, world: World,
                                            now: str) -> None:
    got = await client.get(f"/v1/users/{world.a}/context", params={"now": now}, headers=OP)
    assert got.status_code == 422, got.text
    assert got.json() == {"error": "invalid_request", "detail": [
        {"loc": "query.now", "msg": "should be within 20 years of the current time"}]}


async def test_a_422_on_a_body_says_each_problem_once_and_never_echoes(
        client: httpx.AsyncClient, world: World) -> None:
    """A snooze body fits one of two forms: a bad one is one entry naming the form's own
    field, not one per form under the models' class names; a key the caller made up is not
    repeated back."""
    marker = "zz-echo-marker"
    sid = "0b7c2f4e-1d2a-4c1b-9e7f-3a5d6c8b9e01"
    cases = [({"for": marker}, "for should be a duration: ISO 8601 such as PT2H, or seconds"),
             ({"until": "2026-11-25T12:00:00"},
              "until should have its UTC offset, e.g. 2026-11-25T12:00:00Z"),
             ({marker: 1}, "should have one of: until, for")]
    for sent, said in cases:
        got = await client.post(f"/v1/suggestions/{sid}/snooze", json=sent, headers=OP)
        assert got.status_code == 422, got.text
        assert got.json() == {"error": "invalid_request",
                              "detail": [{"loc": "body", "msg": said}]}, got.text
        assert marker not in got.text and "Snooze" not in got.text
    extra = await client.post(f"/v1/suggestions/{sid}/dismiss",
                              json={"reason": "wrong", marker: marker}, headers=OP)
    assert extra.status_code == 422, extra.text
    assert extra.json()["detail"] == [{"loc": "body", "msg": "has a field it does not take"}]
    assert marker not in extra.text


async def test_now_inside_its_range_replays(client: httpx.AsyncClient, world: World) -> None:
    for moment in (datetime.now(UTC) - timedelta(days=19 * 365),
                   datetime.now(UTC) + timedelta(days=365)):
        got = await client.get(f"/v1/users/{world.a}/context",
                               params={"now": moment.isoformat()}, headers=OP)
        assert got.status_code == 200, got.text


async def test_a_422_says_each_problem_once_and_never_echoes(client: httpx.AsyncClient,
                                                              world: World) -> None:
    marker = "zz-echo-marker"
    got = await client.get(f"/v1/users/{world.a}/suggestions",
                           params=[("status", marker), ("status", marker + "2"),
                                   ("limit", marker)], headers=OP)
    assert got.status_code == 422
    assert got.json()["detail"] == [
        {"loc": "query.status",
         "msg": "should be 'open', 'delivered', 'dismissed', 'acted', 'resolved' or 'expired'"},
        {"loc": "query.limit", "msg": "should be a whole number"}]
    assert marker not in got.text
    too_many = await client.get(f"/v1/users/{world.a}/suggestions?limit=5000", headers=OP)
    assert too_many.json()["detail"] == [{"loc": "query.limit", "msg": "should be at most 1000"}]
    bad_id = await client.post("/v1/suggestions/zz-echo-marker-9/dismiss", headers=OP)
    assert bad_id.status_code == 422 and marker not in bad_id.text
    assert bad_id.json()["detail"][0]["loc"] == "path.suggestion_id"
    for path in ("/v1/jobs/runs?job=" + marker, "/v1/jobs/runs?limit=0",
                 f"/v1/users/{world.a}/insights?kind={marker}", "/?refresh=0",
                 f"/v1/users/{world.a}/context?now={marker}"):
        bad = await client.get(path, headers=OP)
        assert bad.status_code == 422 and marker not in bad.text, (path, bad.text)
        assert len(bad.json()["detail"]) == 1


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The engine's logging set up as a service has it (JSON lines), into the yielded
    buffer; undone after."""
    import logging

    names = ("pam_proactive", "", *THIRD_PARTY_LOGGERS)
    saved = {n: (list(logging.getLogger(n).handlers), logging.getLogger(n).level,
                 logging.getLogger(n).propagate) for n in names}
    buffer = io.StringIO()
    configure_logging("WARNING", "json", buffer)
    yield buffer
    for n, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(n)
        logger.handlers[:], logger.level, logger.propagate = handlers, level, propagate


async def test_an_unhandled_error_is_a_json_500_with_a_correlation_id(
        world: World, json_log: io.StringIO) -> None:
    extra = APIRouter()

    @extra.get("/broken")
    async def broken_route() -> dict[str, str]:
        raise RuntimeError("secret-detail of a bug")

    settings = api_settings(world.uri)
    async with open_engine(settings) as engine:
        app = create_app(settings, engine=engine, extra_routers=(extra,))
        async with serving_here(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as c:
            got = await c.get("/broken")
            again = await c.get("/broken")
            err = json_log.getvalue()
    assert got.status_code == 500
    correlation = got.headers["X-Correlation-Id"]
    assert got.json() == {"error": "internal_error", "correlation_id": correlation,
                          "detail": f"the server failed; quote correlation id {correlation} "
                                    "to its operator"}
    assert again.headers["X-Correlation-Id"] != correlation
    assert "secret-detail" not in got.text + err
    lines = err.splitlines()
    assert len(lines) == 2, err  # one line per failure, nothing from uvicorn
    line = json.loads(lines[0])
    assert line["correlation_id"] == correlation and line["error"] == "RuntimeError"
    assert line["where"] == f"{__name__}:broken_route:{broken_route.__code__.co_firstlineno + 2}"
    assert line["level"] == "error" and "exc" not in line


async def test_a_served_api_logs_json_lines_only_through_an_outage(
        make_database: MakeDatabase, pg_server: str) -> None:
    """`pam-proactive serve` whose database goes away: psycopg's pool and uvicorn write
    through the engine's JSON formatter, not plain text, and a request gets its 503 after
    the short retries of a request."""
    uri = await make_database("seed")
    with Planter(uri, "seed") as p:
        user = p.user()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    exe = Path(sys.executable).parent / "pam-proactive"
    env = {**os.environ, "DATABASE_URL": uri, "PAM_API_TOKEN": TOKEN, "PAM_LOG_FORMAT": "json",
           "PAM_LOG_LEVEL": "INFO", "PAM_QUERY_TIMEOUT": "2"}  # retries: the default 30 s
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    dbname = conninfo_to_dict(uri)["dbname"]
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/health", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "serve died"
                time.sleep(0.2)
        ok = httpx.get(f"{base}/v1/users/{user}/suggestions", headers=OP, timeout=10)
        assert ok.status_code == 200
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                         " WHERE datname = %s", (dbname,))
        try:
            asked = time.monotonic()
            down = httpx.get(f"{base}/v1/users/{user}/suggestions", headers=OP, timeout=30)
            assert down.status_code == 503, down.text
            assert down.headers["Retry-After"] == "5"
            # A request retries for REQUEST_RETRY_SECONDS (2 s), not PAM_RETRY_MAX_SECONDS:
            # attempts of up to PAM_QUERY_TIMEOUT (2 s) each waiting for a connection.
            assert time.monotonic() - asked < 12
            assert "retries of one request=2" in down.json()["detail"]
        finally:
            with psycopg.connect(pg_server, autocommit=True) as conn:
                conn.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    lines = [line for line in err.splitlines() if line.strip()]
    logged = [json.loads(line) for line in lines if line.startswith("{")]  # one object each
    # Anything else is the start-up notice (a console message, not a log record; it may wrap).
    notice = " ".join(line.strip() for line in lines if not line.startswith("{"))
    assert notice.startswith(f"serving http://127.0.0.1:{port}:"), err
    assert notice.endswith("per-user endpoints only") and notice.count("serving") == 1, err
    loggers = {entry["logger"] for entry in logged}
    assert "psycopg.pool" in loggers, err  # the pool did complain, in JSON
    assert "Traceback" not in err


@pytest.mark.parametrize(("claims", "header", "reason"), [
    ({"exp": 4102444800, "nbf": 4000000000}, None, "not valid yet"),
    ({"exp": 4102444800, "iat": 4000000000}, None, "not valid yet"),
    ({"exp": 4102444800, "sub": 12345}, None, "'sub' claim is not a string"),
    ({"exp": 4102444800, "aud": "anon"}, None, "audience is not 'authenticated'"),
    ({"exp": 1}, None, "expired"),
    ({"exp": 4102444800}, {"alg": "HS512-zz-marker"}, "algorithm is not accepted"),
])
async def test_jwt_errors_say_the_real_reason(client: httpx.AsyncClient, world: World,
                                              claims: dict[str, object],
                                              header: dict[str, str] | None,
                                              reason: str) -> None:
    full = {"sub": str(world.a), "aud": "authenticated", **claims}
    token = jwt.encode(full, JWT_SECRET, algorithm="HS256")
    if header is not None:  # a header PyJWT would not write: re-encoded by hand
        import base64

        def b64(value: bytes) -> str:
            return base64.urlsafe_b64encode(value).rstrip(b"=").decode()

        _, payload, signature = token.split(".")
        token = ".".join((b64(json.dumps({"typ": "JWT", **header}).encode()), payload,
                          signature))
    got = await client.get(f"/v1/users/{world.a}/suggestions", headers=bearer(token))
    assert got.status_code == 401, got.text
    assert got.json()["error"] == "invalid_token"
    assert reason in got.json()["detail"], got.json()
    assert "zz-marker" not in got.text and "signature does not verify" not in got.text
