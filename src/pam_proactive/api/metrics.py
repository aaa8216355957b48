"""``GET /metrics``: the engine's Prometheus metrics in the text exposition format.

Access: with ``PAM_API_TOKEN`` set, the scrape needs it as a bearer token (Prometheus'
``authorization: {credentials: ...}`` in the scrape config); without one the server listens
on loopback only and the scrape is open.

Single process: this process's registry, with the pool gauges refreshed and the database
probed at scrape time. With ``PROMETHEUS_MULTIPROC_DIR`` set (several API workers, Celery
workers on the same host): the sum over every process's files, read by MultiProcessCollector.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from pam_proactive.api.state import operator
from pam_proactive.api.statements import ApiStatements
from pam_proactive.db.connection import Database
from pam_proactive.engine import Engine
from pam_proactive.errors import PamError
from pam_proactive.observability import metrics
from pam_proactive.reports.fleet import ALERT_CHANNEL, dead_alerts
from pam_proactive.suggestions import relevance
from pam_proactive.suggestions.dead_letters import dead_by_channel

log = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 2.0

router = APIRouter(tags=["operations"])


async def operator_when_served(request: Request) -> None:
    """Require the operator (``PAM_API_TOKEN`` as bearer, when one is configured) in an app
    made by ``create_app``: 401 without it, 403 for a traveler's JWT, 503 while starting. An
    app without the API's state (one assembled from these routers alone, as the
    observability tests do) has no authentication to apply."""
    if not hasattr(request.app.state, "api"):
        return
    await operator(request)


def request_engine(request: Request) -> Engine | None:
    """The application's engine: ``app.state.api.engine`` (the API's state) or
    ``app.state.engine``; None while starting."""
    state = getattr(request.app.state, "api", None)
    engine = getattr(state, "engine", None) or getattr(request.app.state, "engine", None)
    return engine if isinstance(engine, Engine) else None


async def probe_database(db: Database, timeout: float = PROBE_TIMEOUT_SECONDS) -> bool:
    """True if the database answers ``SELECT 1`` within ``timeout`` seconds."""
    try:
        probe = ApiStatements.for_schema(db.settings.engine_schema).health_probe
        await asyncio.wait_for(db.fetch(*probe), timeout)
    except (PamError, TimeoutError):
        return False
    return True


async def refresh_dead_letters(engine: Engine, timeout: float = PROBE_TIMEOUT_SECONDS) -> None:
    """Set ``pam_outbox_dead`` from the database; on failure keep the last values (the
    database's own alert covers an unreachable database)."""
    try:
        counts = await asyncio.wait_for(
            dead_by_channel(engine.db, engine.settings.engine_schema), timeout)
        # The operator's fleet alerts are delivered the same way: their dead count too.
        counts[ALERT_CHANNEL] = await asyncio.wait_for(dead_alerts(engine), timeout)
    except (PamError, TimeoutError):
        return
    metrics.set_outbox_dead(counts)


# Scrapes closer together than this reuse the relevance gauges: the figures move by the hour.
RELEVANCE_REFRESH_SECONDS = 60.0
_relevance_at: dict[str, float] = {}


async def _refresh_relevance(engine: Engine) -> None:
    """Re-read the relevance gauges (at most once a minute per schema); a failed or slow read
    leaves the previous values (the scrape itself must not fail)."""
    schema = engine.settings.engine_schema
    clock = time.monotonic()
    if clock - _relevance_at.get(schema, -math.inf) < RELEVANCE_REFRESH_SECONDS:
        return
    _relevance_at[schema] = clock
    try:
        await asyncio.wait_for(
            relevance.publish_metrics(engine.db, schema, datetime.now(UTC)),
            PROBE_TIMEOUT_SECONDS * 5)
    except (PamError, TimeoutError):
        log.warning("the relevance gauges could not be refreshed; kept the previous values")


def exposition() -> bytes:
    """The metrics text: every process's (multiprocess mode) or this process's."""
    path = metrics.multiprocess_dir()
    if path:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(metrics.REGISTRY)


@router.get("/metrics", response_class=Response, summary="Prometheus metrics",
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}},
                             "description": "Prometheus text exposition format"}},
            dependencies=[Depends(operator_when_served)])
async def get_metrics(request: Request) -> Response:
    """The Prometheus text format: query counts and latency by statement, pool, cache, job
    runs, users processed, suggestions by type and priority, deliveries, dead notifications
    (read now), event lag, fleet."""
    engine = request_engine(request)
    if engine is not None:
        up = await probe_database(engine.db)
        metrics.set_db_up(up)
        if up:
            await refresh_dead_letters(engine)
            await _refresh_relevance(engine)
    metrics.refresh_pools()
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
