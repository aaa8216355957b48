"""What a traveler's dismissal reasons changed (per-traveler adaptation), and its reversal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Request

from pam_proactive.api import repository
from pam_proactive.api.auth import Caller
from pam_proactive.api.errors import not_found
from pam_proactive.api.routes.users import actor, user_caller
from pam_proactive.api.schemas import ERRORS, NOT_FOUND
from pam_proactive.api.state import api_state
from pam_proactive.engine import Engine
from pam_proactive.logs import audit_actor
from pam_proactive.suggestions import adaptation

router = APIRouter(prefix="/v1/users", tags=["users"])

TypeParam = Path(pattern="^[a-z][a-z0-9_]{0,63}$",
                 description="a suggestion type, e.g. fuel_low")


async def _known(engine: Engine, user_id: UUID) -> None:
    """404 for an id that is neither a traveler nor has adaptations stored (a reset writes
    rows: none for an id that was never a traveler)."""
    if await repository.user_exists(engine, user_id):
        return
    if not await adaptation.list_adaptations(engine.db, engine.settings.engine_schema, user_id,
                                             markers=True, limit=1):
        raise not_found(f"no traveler with id {user_id}")


@router.get("/{user_id}/adaptations", responses={**ERRORS, **NOT_FOUND})
async def list_adaptations(user_id: UUID, request: Request,
                           who: Caller = Depends(user_caller)) -> dict[str, Any]:
    """What the traveler's dismissal reasons changed, per suggestion type (and per subject
    for `wrong`): kind, level, value, the answers counted, since when, and a sentence saying
    what it does. Reset ones are listed with ``in_force`` false."""
    engine = api_state(request).engine
    with audit_actor(actor(who)):
        found = await adaptation.list_adaptations(engine.db, engine.settings.engine_schema,
                                                  user_id)
        if not found:
            await _known(engine, user_id)
    return {"user_id": str(user_id), "adaptations": [a.as_json() for a in found]}


async def _reset(request: Request, user_id: UUID, who: Caller,
                 suggestion_type: str | None) -> dict[str, Any]:
    engine = api_state(request).engine
    by: adaptation.ResetBy = "traveler" if who.user_id is not None else "operator"
    with audit_actor(actor(who)):
        await _known(engine, user_id)
        count = await adaptation.reset(engine.db, engine.settings.engine_schema, user_id,
                                       suggestion_type, datetime.now(UTC), by)
    return {"user_id": str(user_id), "type": suggestion_type, "reset": count, "by": by}


@router.delete("/{user_id}/adaptations/{suggestion_type}", responses={**ERRORS, **NOT_FOUND})
async def reset_type(user_id: UUID, request: Request, suggestion_type: str = TypeParam,
                     who: Caller = Depends(user_caller)) -> dict[str, Any]:
    """Reverse the adaptations of one type: the usual rules apply again, and the answers
    given until now no longer count (a level-2 type's unsent suggestions are notified at the
    next sweep; a `wrong` subject may be suggested again). ``reset``: how many were in force.
    The same function as a Supabase app's ``reset_my_adaptations``."""
    return await _reset(request, user_id, who, suggestion_type)


@router.delete("/{user_id}/adaptations", responses={**ERRORS, **NOT_FOUND})
async def reset_all(user_id: UUID, request: Request,
                    who: Caller = Depends(user_caller)) -> dict[str, Any]:
    """Reverse every adaptation of the traveler (as for one type)."""
    return await _reset(request, user_id, who, None)
