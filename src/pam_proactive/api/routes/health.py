"""Liveness and readiness probes (no credentials: load balancers call them)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from pam_proactive.api.readiness import run_checks
from pam_proactive.api.schemas import HealthOut, ReadyOut
from pam_proactive.api.serialize import to_jsonable
from pam_proactive.api.state import api_state

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthOut)
async def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/health/ready", response_model=ReadyOut,
            responses={503: {"model": ReadyOut, "description": "not ready"}})
async def ready(request: Request) -> JSONResponse:
    """Readiness: every check (database reachable, migrations current, ...) with, for a
    failing one, why. 503 when any fails."""
    state = api_state(request)
    results = await run_checks(state.engine, state.checks)
    ok = all(r.ok for r in results)
    return JSONResponse({"ready": ok, "checks": to_jsonable(results)},
                        status_code=200 if ok else 503)
