"""A traveler's other answers to a suggestion (snooze, useful) and the operator's relevance
figures (``GET /v1/relevance``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from pam_proactive.api import repository
from pam_proactive.api.auth import Caller
from pam_proactive.api.errors import ApiError, conflict, not_found
from pam_proactive.api.routes.users import actor
from pam_proactive.api.schemas import ERRORS, NOT_FOUND
from pam_proactive.api.state import api_state, caller, operator
from pam_proactive.logs import audit_actor
from pam_proactive.suggestions import answers, relevance

router = APIRouter(prefix="/v1", tags=["suggestions"])

MAX_WEEKS = 53  # GET /v1/relevance reads at most a year of weeks


class SnoozeUntil(BaseModel):
    """Snooze until a moment (with its offset), in the future and at most 30 days ahead."""

    model_config = ConfigDict(extra="forbid")
    until: AwareDatetime


class SnoozeFor(BaseModel):
    """Snooze for a duration (ISO 8601 such as PT2H or P3D, or seconds), at most 30 days."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    for_: timedelta = Field(alias="for")


def _unprocessable(detail: str) -> ApiError:
    return ApiError(422, "invalid_request", detail)


async def _owned(request: Request, suggestion_id: UUID) -> Caller:
    state = api_state(request)
    who = await caller(request)
    owner = await repository.suggestion_owner(state.engine, suggestion_id)
    if owner is None:
        raise not_found(f"no suggestion with id {suggestion_id}")
    who.require_user(owner)
    return who


@router.post("/suggestions/{suggestion_id}/snooze",
             responses={**ERRORS, **NOT_FOUND, 409: {"description": "not live"}})
async def snooze(suggestion_id: UUID, body: SnoozeUntil | SnoozeFor,
                 request: Request) -> dict[str, Any]:
    """Snooze the suggestion's subject: no notification about it until the end (its unsent
    ones are held); then it is notified once if still live and not improved. A rise in
    priority breaks the snooze and is notified at once. At most 30 days; an end in the past
    is a 422."""
    who = await _owned(request, suggestion_id)
    state = api_state(request)
    now = datetime.now(UTC)
    try:
        until = (answers.snooze_end(now, until=body.until) if isinstance(body, SnoozeUntil)
                 else answers.snooze_end(now, duration=body.for_))
    except ValueError as exc:
        raise _unprocessable(str(exc)) from None
    with audit_actor(actor(who)):
        done = await answers.snooze(state.engine.db, state.engine.settings.engine_schema,
                                    suggestion_id, now, until)
    if done is None:
        raise conflict("the suggestion is closed (dismissed, acted upon, resolved or expired): "
                       "only a live one can be snoozed")
    return {"id": str(suggestion_id), "snooze_id": done.id, "until": done.until.isoformat(),
            "notifications_held": done.held}


@router.post("/suggestions/{suggestion_id}/useful", responses={**ERRORS, **NOT_FOUND})
async def useful(suggestion_id: UUID, request: Request) -> dict[str, Any]:
    """The traveler found the suggestion useful: recorded (once) for the relevance figures;
    the suggestion stays as it is."""
    who = await _owned(request, suggestion_id)
    state = api_state(request)
    now = datetime.now(UTC)
    with audit_actor(actor(who)):
        recorded = await answers.rate_useful(state.engine.db,
                                             state.engine.settings.engine_schema,
                                             suggestion_id, now)
    if recorded is None:
        raise not_found(f"no suggestion with id {suggestion_id}")
    return {"id": str(suggestion_id), "useful": True, "already_rated": not recorded}


@router.get("/relevance", responses=ERRORS)
async def get_relevance(request: Request,
                        weeks: int = Query(4, ge=1, le=MAX_WEEKS,
                                           description="ISO weeks back, this one included"),
                        _: Caller = Depends(operator)) -> dict[str, Any]:
    """Relevance per suggestion type and ISO week (UTC): delivered, acted, dismissed by reason,
    snoozed, rated useful, expired unread, the relevance rate ((acted + useful) / answered)
    and the wrong rate (dismissed as wrong / answered); ``totals`` per type over the weeks."""
    state = api_state(request)
    now = datetime.now(UTC)
    with audit_actor("api:operator"):
        rows = await relevance.recent_weeks(state.engine.db,
                                            state.engine.settings.engine_schema, now, weeks)
    return {"since": relevance.week_start(now - timedelta(weeks=weeks - 1)).isoformat(),
            "until": now.isoformat(), "target": relevance.TARGET,
            "totals": [r.as_json() for r in rows if r.week is None],
            "weeks": [r.as_json() for r in rows if r.week is not None]}
