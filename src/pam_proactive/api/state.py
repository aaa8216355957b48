"""What every request handler reaches: the engine, authentication, rate limits, the stream."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import Request

from pam_proactive.api.auth import Authenticator, Caller
from pam_proactive.api.errors import ApiError, too_many_requests
from pam_proactive.api.limits import StreamSlots
from pam_proactive.api.ratelimit import TokenBucketLimiter
from pam_proactive.api.readiness import Check
from pam_proactive.api.stream import SuggestionHub
from pam_proactive.config import Settings
from pam_proactive.engine import Engine


@dataclass(slots=True)
class ApiState:
    """One per application, set up by its lifespan."""

    settings: Settings
    engine: Engine
    auth: Authenticator
    limiter: TokenBucketLimiter
    hub: SuggestionHub
    checks: Sequence[Check]
    streams: StreamSlots


def api_state(request: Request) -> ApiState:
    """The application's state; 503 while it is starting or stopping."""
    state: ApiState | None = getattr(request.app.state, "api", None)
    if state is None:
        raise ApiError(503, "starting", "the server is starting or stopping: retry shortly",
                       headers={"Retry-After": "1"})
    return state


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def caller(request: Request) -> Caller:
    """The authenticated caller of this request (401 when credentials are missing/wrong)."""
    state = api_state(request)
    return await state.auth.authenticate(request.headers.get("authorization"), _client(request))


async def operator(request: Request) -> Caller:
    """An operator caller (403 for a traveler's JWT)."""
    who = await caller(request)
    who.require_operator()
    return who


def rate_limit(request: Request, who: Caller) -> None:
    """Take one token from the caller's bucket; 429 with Retry-After when it is empty."""
    wait = api_state(request).limiter.take(who.rate_key)
    if wait > 0:
        raise too_many_requests(wait)
