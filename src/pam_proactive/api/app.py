"""The FastAPI application: ``create_app(settings)`` for `pam-proactive serve`, or
``create_app(settings, engine=engine)`` to share a running process's engine (pool, cache,
metrics), as `pam-proactive run` does.

Other components add routers by appending to :data:`EXTRA_ROUTERS` (e.g. ``/metrics``, the
dashboard at ``/``); they are included in every app created afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import APIRouter, FastAPI

from pam_proactive import __version__
from pam_proactive.api import dashboard, metrics
from pam_proactive.api.auth import Authenticator
from pam_proactive.api.errors import install_error_handlers
from pam_proactive.api.limits import BodyLimit, RequestRetries, StreamSlots
from pam_proactive.api.ratelimit import TokenBucketLimiter
from pam_proactive.api.readiness import DEFAULT_CHECKS, Check
from pam_proactive.api.routes import (
    adaptations,
    answers,
    health,
    operations,
    performance,
    suggestions,
    users,
)
from pam_proactive.api.state import ApiState
from pam_proactive.api.stream import SuggestionHub
from pam_proactive.config import Settings
from pam_proactive.engine import Engine, open_engine

ROUTERS: tuple[APIRouter, ...] = (health.router, performance.router, users.router,
                                  suggestions.router, answers.router, adaptations.router,
                                  operations.router)

# Routers of other components: /metrics, and the dashboard at / with its data.
EXTRA_ROUTERS: tuple[APIRouter, ...] = (metrics.router, dashboard.router)

_SECURITY = {"bearer": {"type": "http", "scheme": "bearer",
                        "description": "PAM_API_TOKEN (operator) or a Supabase user JWT"}}


def create_app(settings: Settings, *, engine: Engine | None = None,
               migrate_first: bool = False,
               checks: Sequence[Check] = DEFAULT_CHECKS,
               extra_routers: Sequence[APIRouter] | None = None) -> FastAPI:
    """The API application. Without ``engine`` its lifespan opens the process's engine
    (applying migrations first when ``migrate_first``) and closes it at shutdown; with one
    it shares it and leaves it open. ``checks`` are the readiness checks; ``extra_routers``
    defaults to :data:`EXTRA_ROUTERS`."""
    auth = Authenticator(settings)  # a wrong key setting fails here, before serving

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            shared = engine
            if shared is None:
                shared = await stack.enter_async_context(
                    open_engine(settings, migrate_first=migrate_first))
            hub = SuggestionHub(shared, settings.stream_poll_seconds)
            await hub.start()
            stack.push_async_callback(hub.stop)
            app.state.api = ApiState(
                settings=settings, engine=shared, auth=auth,
                limiter=TokenBucketLimiter(settings.rate_limit_per_minute,
                                           settings.rate_limit_burst),
                hub=hub, checks=tuple(checks),
                streams=StreamSlots(settings.stream_max_per_user))
            try:
                yield
            finally:
                app.state.api = None

    app = FastAPI(title="pam-proactive", version=__version__, lifespan=lifespan,
                  description="Proactive suggestions for travelers: health, performance, "
                  "each traveler's context and suggestions (with a live stream), and the "
                  "privacy export and erasure of what the engine stores.")
    app.state.api = None  # until the lifespan sets it: requests get 503, never open access
    app.add_middleware(RequestRetries)
    app.add_middleware(BodyLimit)  # inside the error handlers' catch-all (added next)
    install_error_handlers(app)
    for router in (*ROUTERS, *(EXTRA_ROUTERS if extra_routers is None else extra_routers)):
        app.include_router(router)
    _document_security(app)
    return app


def _document_security(app: FastAPI) -> None:
    """Declare the bearer scheme in the OpenAPI document (checked by the handlers)."""
    original = app.openapi

    def openapi() -> dict[str, object]:
        if app.openapi_schema is None:
            schema = original()
            schema.setdefault("components", {})["securitySchemes"] = _SECURITY
            for path, item in schema.get("paths", {}).items():
                if path.startswith("/v1/"):
                    for operation in item.values():
                        operation["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
