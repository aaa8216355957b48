"""Credentials: the JWT forms Supabase issues (HS256, ES256 from a JWKS), each way a token
can be wrong, rate limits per caller, and the loopback-only mode without a token."""

from __future__ import annotations

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from typer.testing import CliRunner

from api.conftest import World, api_settings
from api.harness import JWT_SECRET, TOKEN, Server, bearer, running, user_jwt
from pam_proactive.api.ratelimit import TokenBucketLimiter
from pam_proactive.api.server import check_bind, is_loopback
from pam_proactive.cli.main import app
from pam_proactive.errors import ConfigurationError


async def get(server: Server, path: str, token: str | None = None) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
        return await c.get(path, headers=bearer(token) if token else None)


async def test_es256_jwt_from_the_jwks(server: Server, world: World) -> None:
    path = f"/v1/users/{world.a}/suggestions"
    assert (await get(server, path, user_jwt(world.a, alg="ES256"))).status_code == 200
    assert (await get(server, f"/v1/users/{world.b}/suggestions",
                      user_jwt(world.a, alg="ES256"))).status_code == 403
    stranger = ec.generate_private_key(ec.SECP256R1())
    forged = await get(server, path, user_jwt(world.a, alg="ES256", key=stranger))
    assert forged.status_code == 401 and "signature" in forged.json()["detail"]
    unknown_kid = await get(server, path, user_jwt(world.a, alg="ES256", key=stranger,
                                                   kid="other"))
    assert unknown_kid.status_code == 401 and "JWKS" in unknown_kid.json()["detail"]


@pytest.mark.parametrize(("token_kind", "reason"), [
    ("expired", "expired"), ("audience", "audience"), ("secret", "signature"),
    ("no_sub", "'sub'"), ("sub_not_uuid", "subject"), ("none_alg", "algorithm"),
    ("garbage", "malformed"),
])
async def test_bad_jwts_are_401(server: Server, world: World, token_kind: str,
                                reason: str) -> None:
    tokens = {
        "expired": user_jwt(world.a, expires_in=-60),
        "audience": user_jwt(world.a, aud="anon"),
        "secret": user_jwt(world.a, key="another-secret-another-secret-another!"),
        "no_sub": jwt.encode({"aud": "authenticated", "exp": 4102444800}, JWT_SECRET,
                             algorithm="HS256"),
        "sub_not_uuid": user_jwt("admin"),
        "none_alg": jwt.encode({"sub": str(world.a), "aud": "authenticated",
                                "exp": 4102444800}, None,  # type: ignore[arg-type]
                               algorithm="none"),
        "garbage": "a.b.c",
    }
    got = await get(server, f"/v1/users/{world.a}/suggestions", tokens[token_kind])
    assert got.status_code == 401, got.text
    assert got.json()["error"] == "invalid_token"
    assert reason in got.json()["detail"]


async def test_rate_limit_per_caller(world: World) -> None:
    settings = api_settings(world.uri, rate_limit_per_minute=1, rate_limit_burst=2)
    with running(settings) as server:
        a = user_jwt(world.a)
        path = f"/v1/users/{world.a}/context"
        assert [(await get(server, path, a)).status_code for _ in range(2)] == [200, 200]
        limited = await get(server, path, a)
        assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
        assert int(limited.headers["retry-after"]) >= 1
        # Export and the stream draw on the same bucket; cheap reads do not.
        assert (await get(server, f"/v1/users/{world.a}/export", a)).status_code == 429
        assert (await get(server, f"/v1/users/{world.a}/suggestions/stream",
                          a)).status_code == 429
        assert (await get(server, f"/v1/users/{world.a}/suggestions", a)).status_code == 200
        # Another caller has its own bucket.
        assert (await get(server, f"/v1/users/{world.b}/context",
                          user_jwt(world.b))).status_code == 200
        assert (await get(server, path, TOKEN)).status_code == 200


async def test_without_a_token_loopback_callers_are_operators(world: World) -> None:
    settings = api_settings(world.uri, api_token=None)
    with running(settings) as server:
        assert (await get(server, "/v1/performance")).status_code == 200
        # A traveler's JWT still only reaches its own data.
        assert (await get(server, "/v1/performance", user_jwt(world.a))).status_code == 403


def test_no_token_means_loopback_only(world: World) -> None:
    settings = api_settings(world.uri, api_token=None)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")
    check_bind(settings, "127.0.0.1")
    with pytest.raises(ConfigurationError, match="PAM_API_TOKEN"):
        check_bind(settings, "0.0.0.0")
    check_bind(api_settings(world.uri), "0.0.0.0")  # with a token: allowed

    refused = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"],
                                 env={"DATABASE_URL": world.uri, "PAM_API_TOKEN": ""})
    assert refused.exit_code == 2
    assert "--host 0.0.0.0" in refused.output and "PAM_API_TOKEN" in refused.output


def test_secrets_stay_out_of_repr(world: World) -> None:
    settings = api_settings(world.uri)
    text = repr(settings) + str(settings)
    assert TOKEN not in text and JWT_SECRET not in text


def test_bad_api_settings_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from pam_proactive.config import load_settings

    monkeypatch.setenv("PAM_API_TOKEN", "short")
    with pytest.raises(ConfigurationError, match="PAM_API_TOKEN"):
        load_settings()
    monkeypatch.delenv("PAM_API_TOKEN")
    monkeypatch.setenv("SUPABASE_JWKS", "{not json")
    with pytest.raises(ConfigurationError, match="SUPABASE_JWKS"):
        load_settings()


def test_token_bucket() -> None:
    clock = [0.0]
    limiter = TokenBucketLimiter(per_minute=60, burst=2, max_keys=2, clock=lambda: clock[0])
    assert [limiter.take("a"), limiter.take("a")] == [0.0, 0.0]
    assert limiter.take("a") == pytest.approx(1.0)  # one token a second
    clock[0] = 0.5
    assert limiter.take("a") == pytest.approx(0.5)
    clock[0] = 1.0
    assert limiter.take("a") == 0.0
    assert limiter.take("b") == 0.0 and limiter.take("c") == 0.0  # 'a' forgotten (max_keys)
    assert limiter.take("a") == 0.0  # full bucket again
    assert TokenBucketLimiter(per_minute=0, burst=1).take("x") == 0.0  # off


def test_serve_command_end_to_end(world: World) -> None:
    """`pam-proactive serve` as a user runs it: says where it listens, answers, stops on
    Ctrl-C."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    exe = Path(sys.executable).parent / "pam-proactive"
    env = {**os.environ, "DATABASE_URL": world.uri, "PAM_API_TOKEN": ""}
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                got = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "serve died"
                time.sleep(0.2)
        assert got.status_code == 200 and got.json()["ready"] is True
        assert httpx.get(f"http://127.0.0.1:{port}/v1/performance").status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    # uvicorn re-raises the captured SIGINT after its graceful shutdown: 130, no traceback.
    assert proc.returncode in (0, 130, -signal.SIGINT), err
    assert "Traceback" not in err
    assert "loopback only" in " ".join(err.split()) and "PAM_API_TOKEN" in err
