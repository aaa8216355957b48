"""The live dashboard at ``/``: a server-rendered page whose charts refresh themselves from
``GET /v1/dashboard/data``. Offline: Chart.js is vendored in ``api/static`` (MIT, license
beside it), nothing is fetched from elsewhere, and there is no front-end build step.

Access: the page and its static files load without credentials; the data does not. With
``PAM_API_TOKEN`` set, the page is served empty and its script reads the token from the URL
fragment (``/#token=...``, which browsers never send to the server) and sends it as
``Authorization: Bearer`` on each fetch of ``/v1/dashboard/data`` (operator only). Until it
has, the page says so in neutral words and shows no figure (nothing is unknown or failing
yet: the reader has not signed in).

The script draws every chart and table from the data (embedded in the page, then fetched
again every ``refresh`` seconds), so one piece of code formats ids, times (UTC, stated) and
page counts."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from string import Template
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse

from pam_proactive.api.dashboard_data import dashboard_data, empty_data
from pam_proactive.api.limits import DASHBOARD_MAX_OFFSET
from pam_proactive.api.metrics import operator_when_served, probe_database, request_engine
from pam_proactive.engine import Engine

DATA_PATH = "/v1/dashboard/data"
STATIC_PATH = "/dashboard/static"
DEFAULT_REFRESH_SECONDS = 10
_STATIC = {"chart.umd.min.js": "text/javascript", "dashboard.js": "text/javascript",
           "dashboard.css": "text/css", "chart.js-LICENSE.md": "text/markdown"}

router = APIRouter(tags=["dashboard"])


@cache
def _asset(folder: str, name: str) -> bytes:
    return (resources.files("pam_proactive.api") / folder / name).read_bytes()


def _engine(request: Request) -> Engine:
    engine = request_engine(request)
    if engine is None:
        raise HTTPException(503, "the engine is starting: retry shortly",
                            headers={"Retry-After": "1"})
    return engine


def _offset(name: str, what: str) -> Any:
    return Query(0, ge=0, le=DASHBOARD_MAX_OFFSET, alias=name,
                 description=f"rows of {what} to skip (a page starts at most "
                             f"{DASHBOARD_MAX_OFFSET} rows in)")


async def _data(engine: Engine, recent_offset: int, critical_offset: int) -> dict[str, Any]:
    data = await dashboard_data(engine, datetime.now(UTC), recent_offset=recent_offset,
                                critical_offset=critical_offset)
    if data["health"]["database"] == "reachable" and not await probe_database(engine.db):
        data["health"]["database"] = "unreachable"
    return data


def needs_token(request: Request) -> bool:
    """True when the app checks credentials and an operator token is configured: the page is
    then served without data (its script fetches it with the token)."""
    auth = getattr(getattr(request.app.state, "api", None), "auth", None)
    return auth is not None and not auth.open_locally


@router.get(DATA_PATH, summary="Dashboard data",
            dependencies=[Depends(operator_when_served)])
async def get_dashboard_data(
        request: Request,
        recent_offset: int = _offset("recent_offset", "recent suggestions"),
        critical_offset: int = _offset("critical_offset", "critical vehicles"),
) -> dict[str, Any]:
    """Engine health (database, pool, queries, cache), job runs, suggestions per day by type
    and priority, statuses, the outbox, fleet health, a page of the recent suggestions and
    one of the critical vehicles (``items``, ``offset``, ``limit``, ``total``; whole user
    ids; no titles, messages, names, places or amounts). Times are ISO 8601 with offset."""
    return await _data(_engine(request), recent_offset, critical_offset)


@router.get(STATIC_PATH + "/{name}", include_in_schema=False)
async def get_static(name: str) -> Response:
    """A vendored asset of the dashboard."""
    media = _STATIC.get(name)
    if media is None:
        raise HTTPException(404, "no such dashboard asset")
    return Response(_asset("static", name), media_type=media,
                    headers={"Cache-Control": "public, max-age=3600"})


def _card_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """The cards' figures as the page first shows them."""
    h = data["health"]
    return {
        "database": h["database"], "pool_in_use": h["pool"]["in_use"],
        "pool_size": h["pool"]["size"], "pool_max": h["pool"]["max"],
        "pool_waiting": h["pool"]["waiting"], "queries": h["queries"]["queries_executed"],
        "avg_ms": h["queries"]["average_query_ms"], "p95_ms": h["queries"]["p95_query_ms"],
        "slow": h["queries"]["slow_queries"], "errors": h["queries"]["query_errors"],
        "hit_rate": f"{100 * h['cache']['hit_rate']:.1f} %", "cache_size": h["cache"]["size"],
        "evictions": h["cache"]["evictions"], "pending": data["outbox"]["pending"],
        "delivered": data["outbox"]["delivered"], "failing": data["outbox"]["failing"],
        "dead": data["outbox"]["dead"],
    }


# Shown in every figure until the operator has signed in: not a zero, not an error.
SIGNED_OUT = "\u2014"


def render_page(data: dict[str, Any], refresh_seconds: int, *, locked: bool = False) -> str:
    """The dashboard page with ``data`` embedded for the script (which draws the charts and
    tables) and the cards filled in; ``locked``: the script must fetch the data with the
    operator token first, so the cards show a dash and the database no state."""
    cards = _card_values(data)
    if locked:
        cards = dict.fromkeys(cards, SIGNED_OUT)
    database = data["health"]["database"]
    values = {
        **cards, "static": STATIC_PATH, "source": DATA_PATH, "refresh": refresh_seconds,
        "locked": "1" if locked else "0", "max_offset": DASHBOARD_MAX_OFFSET,
        "generated_at": data["generated_at"],
        "db_class": "neutral" if locked else ("good" if database == "reachable" else "bad"),
    }
    escaped = {k: html.escape(str(v)) for k, v in values.items()}
    escaped["initial_json"] = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    template = Template(_asset("templates", "dashboard.html").decode())
    return template.substitute(escaped)


@router.get("/", response_class=HTMLResponse, summary="Dashboard")
async def get_dashboard(
        request: Request,
        refresh: int = Query(DEFAULT_REFRESH_SECONDS, ge=1, le=3600,
                             description="seconds between refreshes"),
        recent_offset: int = _offset("recent_offset", "recent suggestions"),
        critical_offset: int = _offset("critical_offset", "critical vehicles"),
) -> HTMLResponse:
    """The live dashboard (HTML): engine health, job runs, query and cache performance,
    suggestions over time, fleet health, recent suggestions (paged as the data)."""
    engine = _engine(request)
    if needs_token(request):
        return HTMLResponse(render_page(empty_data(datetime.now(UTC)), refresh, locked=True))
    return HTMLResponse(render_page(await _data(engine, recent_offset, critical_offset),
                                    refresh))
