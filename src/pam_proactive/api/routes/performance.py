"""The seed's performance dashboard fields as JSON (operator only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from pam_proactive.api.auth import Caller
from pam_proactive.api.schemas import ERRORS
from pam_proactive.api.serialize import to_jsonable
from pam_proactive.api.state import api_state, operator

router = APIRouter(prefix="/v1", tags=["operations"])


@router.get("/performance", responses=ERRORS)
async def performance(request: Request, _: Caller = Depends(operator)) -> dict[str, Any]:
    """Queries executed, cache hit rate, average and p95 query time (ms), cache size and
    the connection pool's status, for this process since it started."""
    metrics = await api_state(request).engine.data.get_performance_metrics()
    return to_jsonable(metrics)  # type: ignore[no-any-return]
