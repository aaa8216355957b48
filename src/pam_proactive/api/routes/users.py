"""One traveler's context, and the privacy export and erasure of what the engine stores."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AfterValidator

from pam_proactive.analysis.bounds import CLOCK_RANGE_YEARS, clock_problem
from pam_proactive.analysis.insights import KINDS
from pam_proactive.api import repository
from pam_proactive.api.auth import Caller
from pam_proactive.api.errors import not_found
from pam_proactive.api.limits import (
    CONTEXT_MAX_BYTES,
    EXPORT_MAX_ROWS,
    bound_document,
    bound_export,
)
from pam_proactive.api.schemas import (
    ERRORS,
    NOT_FOUND,
    RATE_LIMITED,
    EraseOut,
    ExportOut,
    PreferencesIn,
    PreferencesOut,
)
from pam_proactive.api.serialize import to_jsonable
from pam_proactive.api.state import api_state, caller, rate_limit
from pam_proactive.logs import audit_actor
from pam_proactive.reports.insights import get_insights

router = APIRouter(prefix="/v1/users", tags=["users"])


async def user_caller(user_id: UUID, request: Request) -> Caller:
    """A caller allowed to reach ``user_id``'s data: the operator, or that traveler's JWT."""
    who = await caller(request)
    who.require_user(user_id)
    return who


def actor(who: Caller) -> str:
    """The audit log's name for ``who``: ``api:user:<id>`` or ``api:operator``."""
    return f"api:user:{who.user_id}" if who.user_id is not None else "api:operator"


def clock(now: datetime | None) -> datetime:
    """The request's clock: ``now`` (naive read as UTC) or the current time."""
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def _plausible(now: datetime | None) -> datetime | None:
    problem = None if now is None else clock_problem(now)
    if problem is not None:
        raise ValueError(problem)  # a 422 naming the parameter
    return now


NowParam = Annotated[datetime | None, AfterValidator(_plausible), Query(
    description="ISO-8601 moment to compute as of (default: now), within "
    f"{CLOCK_RANGE_YEARS} years of the current time; replays a past moment")]


@router.get("/{user_id}/context", responses={**ERRORS, **NOT_FOUND, **RATE_LIMITED})
async def context(user_id: UUID, request: Request, now: NowParam = None,
                  who: Caller = Depends(user_caller)) -> dict[str, Any]:
    """The traveler's full context (profile, money, travel, calendar, vehicle, data quality)
    as of ``now``, as `pam-proactive context --format json` prints it, at most 4 MiB: past it the
    largest lists are cut and named in ``truncated``. Rate limited."""
    rate_limit(request, who)
    engine = api_state(request).engine
    with audit_actor(actor(who)):
        ctx = await engine.data.get_comprehensive_user_context(user_id, clock(now))
    return bound_document(to_jsonable(ctx), CONTEXT_MAX_BYTES)


@router.get("/{user_id}/insights", responses={**ERRORS, **NOT_FOUND})
async def insights(user_id: UUID, request: Request,
                   kind: str | None = Query(None, pattern="^(" + "|".join(KINDS) + ")$",
                                            description="only this kind"),
                   who: Caller = Depends(user_caller)) -> list[dict[str, Any]]:
    """The traveler's stored pattern insights (spending trend by category, travel pattern,
    fuel economy trend), latest period first: kind, period (the traveler's local dates),
    values (numbers), computed_for. Recomputed insights replace the stored ones."""
    engine = api_state(request).engine
    with audit_actor(actor(who)):
        found = await get_insights(engine, user_id, kind=kind)
        if not found and not await repository.user_exists(engine, user_id):
            raise not_found(f"no traveler with id {user_id}")
    return [to_jsonable(record) for record in found]


@router.get("/{user_id}/preferences", response_model=PreferencesOut,
            responses={**ERRORS, **NOT_FOUND})
async def preferences(user_id: UUID, request: Request,
                      who: Caller = Depends(user_caller)) -> dict[str, Any]:
    """The traveler's notification preferences: opted out, switched-off suggestion types,
    time zone, quiet hours (local HH:MM) and daily cap; the defaults while none are stored."""
    engine = api_state(request).engine
    with audit_actor(actor(who)):
        found = await repository.preferences(engine, user_id)
        if found["updated_at"] is None and not await repository.user_exists(engine, user_id):
            raise not_found(f"no traveler with id {user_id}")
    return found


@router.patch("/{user_id}/preferences", response_model=PreferencesOut,
              responses={**ERRORS, **NOT_FOUND})
async def update_preferences(user_id: UUID, changes: PreferencesIn, request: Request,
                             who: Caller = Depends(user_caller)) -> dict[str, Any]:
    """Change the fields sent (null clears one; the others are kept) and return the result.
    A refused change (unknown time zone, cap outside 0..100, one quiet-hour end without the
    other) is a 422 naming the field, and changes nothing. The same function as a Supabase
    app's ``update_my_preferences``; the next sweep uses the new preferences."""
    engine = api_state(request).engine
    with audit_actor(actor(who)):
        if not await repository.user_exists(engine, user_id):
            raise not_found(f"no traveler with id {user_id}")
        return await repository.update_preferences(
            engine, user_id, changes.model_dump(exclude_unset=True))


@router.get("/{user_id}/export", response_model=ExportOut,
            responses={**ERRORS, **NOT_FOUND, **RATE_LIMITED})
async def export(user_id: UUID, request: Request,
                 who: Caller = Depends(user_caller)) -> dict[str, Any]:
    """Everything the engine stores about the traveler: suggestions, notifications (outbox)
    and their delivery attempts, engine preferences, and insights where stored. Traveler
    tables (the app's own data) are not included. Rate limited. At most 10,000 rows per
    table (the oldest) and 16 MiB in all; ``truncated`` names the tables cut
    (`pam-proactive export-user` exports everything)."""
    rate_limit(request, who)
    engine = api_state(request).engine
    with audit_actor(actor(who)):
        data = await repository.export_user(engine, user_id, EXPORT_MAX_ROWS)
        if data.empty and not await repository.user_exists(engine, user_id):
            raise not_found(f"no traveler and no engine data with id {user_id}")
    return bound_export({**to_jsonable(data), "exported_at": datetime.now(UTC).isoformat()})


@router.delete("/{user_id}/engine-data", response_model=EraseOut,
               responses={**ERRORS, **NOT_FOUND})
async def erase(user_id: UUID, request: Request,
                who: Caller = Depends(user_caller)) -> dict[str, Any]:
    """Erase everything the engine stores about the traveler (what export returns), in one
    transaction. Traveler tables are never touched; a later sweep computes suggestions
    afresh from them while the traveler exists."""
    engine = api_state(request).engine
    with audit_actor(actor(who)):
        deleted = await repository.erase_user(engine, user_id)
        if not any(deleted.values()) and not await repository.user_exists(engine, user_id):
            raise not_found(f"no traveler and no engine data with id {user_id}")
    return {"user_id": str(user_id), "deleted": deleted}
