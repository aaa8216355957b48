"""A real API server for tests: uvicorn in a thread on a free loopback port, on a real
embedded database, plus JWT minting and suggestion planting helpers."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI

from pam_proactive.api.app import create_app
from pam_proactive.config import Settings, load_settings
from pam_proactive.context import Profile
from pam_proactive.db.connection import Database
from pam_proactive.suggestions.digest import DigestPolicy
from pam_proactive.suggestions.models import Candidate, Priority
from pam_proactive.suggestions.store import ApplyResult, DeliveryPolicy, apply_candidates

TOKEN = "operator-token-0123456789abcdef"
JWT_SECRET = "test-jwt-secret-with-at-least-32-characters!!"
SCHEMA = "pam_proactive"

# An ES256 key pair generated here, published as the project's JWKS (no network).
ES_KEY = ec.generate_private_key(ec.SECP256R1())
ES_KID = "test-es256"
_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ES_KEY.public_key()))
JWKS = json.dumps({"keys": [{**_jwk, "kid": ES_KID, "alg": "ES256", "use": "sig"}]})


def user_jwt(sub: UUID | str, *, alg: str = "HS256", aud: str = "authenticated",
             expires_in: float = 3600, key: Any = None, kid: str | None = ES_KID) -> str:
    """A Supabase-style access token for ``sub``."""
    now = datetime.now(UTC)
    claims = {"sub": str(sub), "aud": aud, "role": "authenticated",
              "iat": int(now.timestamp()), "exp": int((now + timedelta(seconds=expires_in))
                                                      .timestamp())}
    if alg == "HS256":
        return jwt.encode(claims, key or JWT_SECRET, algorithm="HS256")
    return jwt.encode(claims, key or ES_KEY, algorithm=alg, headers={"kid": kid} if kid else None)


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


class Server:
    """A running uvicorn serving ``app``; ``url`` is its base URL."""

    def __init__(self, app: FastAPI) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()


@asynccontextmanager
async def serving_here(app: FastAPI) -> AsyncIterator[str]:
    """``app`` served by uvicorn in the caller's own event loop (an engine opened in this loop
    can be shared with it: a pool must never be used from two loops); yields the base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                            timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if task.done() or time.monotonic() > deadline:
                raise RuntimeError("the API server did not start")
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@contextmanager
def running(settings: Settings, **kwargs: Any) -> Iterator[Server]:
    """A server on ``settings`` (its DATABASE_URL) for the duration of the block."""
    server = Server(create_app(settings, **kwargs))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def profile(user_id: UUID) -> Profile:
    """A plain profile for applying candidates (UTC, no quiet hours, no cap)."""
    return Profile(user_id=user_id, status="active", units="imperial", timezone="UTC",
                   currency="USD", region=None, vehicle_class="class_c", fuel_type="gasoline",
                   towing=False, coordinates=None, opted_out=False, disabled_types=frozenset(),
                   quiet_start=None, quiet_end=None, daily_cap=None)


def candidate(user_id: UUID, key: str, priority: Priority = Priority.MEDIUM,
              at: datetime | None = None) -> Candidate:
    """A budget candidate for ``user_id`` about subject ``key``."""
    return Candidate(user_id=str(user_id), type="budget_exceeded", priority=priority,
                     title="Over budget", message="You are over your fuel budget.",
                     dedup_key=f"budget_exceeded:{key}", data={"spent": 120.5, "limit": 100},
                     computed_for=at or datetime.now(UTC))


async def store(uri: str, user_ids: Sequence[UUID], candidates: Sequence[Candidate],
                now: datetime | None = None) -> ApplyResult:
    """Store ``candidates`` as a sweep of ``user_ids`` would (the store's own code), each
    notification on its own (the daily digest off: it is tested in test_digest.py)."""
    async with Database(uri, load_settings(database_url=uri)) as db:
        return await apply_candidates(db, schema=SCHEMA, user_ids=list(user_ids),
                                      candidates=candidates,
                                      profiles={u: profile(u) for u in user_ids},
                                      now=now or datetime.now(UTC),
                                      policy=DeliveryPolicy(digest=DigestPolicy(enabled=False)))


def new_id() -> UUID:
    """A fresh user or suggestion id."""
    return uuid.uuid4()
