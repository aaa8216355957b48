"""A traveler's suggestions: list, feedback (dismiss, acted) and the live stream (SSE)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from pam_proactive.api import repository
from pam_proactive.api.auth import Caller
from pam_proactive.api.errors import conflict, not_found
from pam_proactive.api.limits import LIST_MAX_BYTES, SNAPSHOT_MAX_ITEMS, within_bytes
from pam_proactive.api.routes.users import actor, user_caller
from pam_proactive.api.schemas import ERRORS, NOT_FOUND, RATE_LIMITED, SuggestionListOut
from pam_proactive.api.serialize import suggestion_json
from pam_proactive.api.state import ApiState, api_state, caller, rate_limit
from pam_proactive.api.stream import Subscription
from pam_proactive.logs import audit_actor
from pam_proactive.suggestions.adaptation import Adaptation
from pam_proactive.suggestions.answers import MAX_NOTE, LiveSnooze, Reason
from pam_proactive.suggestions.store import LIVE_STATUSES, SuggestionRecord, SuggestionStatus

router = APIRouter(prefix="/v1", tags=["suggestions"])


async def _known(state: ApiState, user_id: UUID) -> None:
    if not await repository.user_exists(state.engine, user_id):
        raise not_found(f"no traveler with id {user_id}; check the id and the preset")


@router.get("/users/{user_id}/suggestions", response_model=SuggestionListOut,
            responses={**ERRORS, **NOT_FOUND})
async def list_suggestions(
    user_id: UUID, request: Request,
    status: list[SuggestionStatus] | None = Query(
        None, description="keep these statuses (repeat the parameter); default: all"),
    limit: int = Query(100, ge=1, le=1000),
    who: Caller = Depends(user_caller),
) -> Response:
    """The traveler's suggestions, most recently updated first: at most ``limit``, and at
    most 2 MiB of them (``truncated`` is true when some were left out)."""
    state = api_state(request)
    with audit_actor(actor(who)):
        found = await repository.list_user_suggestions(state.engine, user_id, status or (),
                                                       limit)
        if not found:
            await _known(state, user_id)
        snoozes = await repository.live_snoozes(state.engine, found)
        adapted = await repository.adaptations_in_force(state.engine, found)
    # Built from the store's typed records: returned as is, not re-validated per request;
    # each suggestion encoded once, to count the response's bytes as it is built.
    items, truncated = bounded_items(found, snoozes, adapted)
    return Response(_listing(f'"user_id":"{user_id}",', items, truncated),
                    media_type="application/json")


def _listing(head: str, items: list[str], truncated: bool) -> str:
    """``{<head>"suggestions":[<items>],"truncated":<bool>}`` from encoded items."""
    return ("{" + head + '"suggestions":[' + ",".join(items) + '],"truncated":'
            + ("true" if truncated else "false") + "}")


def bounded_items(records: Sequence[SuggestionRecord],
                  snoozes: Mapping[tuple[UUID, str], LiveSnooze],
                  adapted: Mapping[tuple[UUID, str], Sequence[Adaptation]] | None = None
                  ) -> tuple[list[str], bool]:
    """The records as JSON texts (each with its snooze in force, if any, and the adaptations
    of its type), as many as fit in LIST_MAX_BYTES (in order), and whether some were left
    out."""
    adapted = adapted or {}
    encoded = [json.dumps(suggestion_json(r, snoozes.get((r.user_id, r.dedup_key)),
                                          adapted.get((r.user_id, r.type), ())),
                          ensure_ascii=False, separators=(",", ":"))
               for r in records]
    return within_bytes(encoded, lambda text: len(text.encode()) + 1, LIST_MAX_BYTES)


class DismissIn(BaseModel):
    """Why the traveler dismissed the suggestion (optional)."""

    model_config = ConfigDict(extra="forbid")
    reason: Reason | None = Field(None, description="not_useful, wrong (the data or the "
                                  "conclusion is wrong), already_done, too_early or other")
    note: str | None = Field(None, max_length=MAX_NOTE,
                             description="free text (what 'other' means, or a detail); "
                             "never logged")


async def _close(request: Request, suggestion_id: UUID, action: str,
                 answer: DismissIn | None = None) -> dict[str, Any]:
    state = api_state(request)
    who = await caller(request)
    owner = await repository.suggestion_owner(state.engine, suggestion_id)
    if owner is None:
        raise not_found(f"no suggestion with id {suggestion_id}")
    who.require_user(owner)
    now = datetime.now(UTC)
    with audit_actor(actor(who)):
        if action == "dismissed":
            changed = await repository.dismiss(state.engine, suggestion_id, now,
                                               answer.reason if answer else None,
                                               answer.note if answer else None)
        else:
            changed = await repository.mark_acted(state.engine, suggestion_id, now)
    if not changed:
        raise conflict("the suggestion is already closed (dismissed, acted upon, resolved or "
                       "expired): nothing changed")
    return {"id": str(suggestion_id), "status": action, "status_changed_at": now.isoformat()}


@router.post("/suggestions/{suggestion_id}/dismiss",
             responses={**ERRORS, **NOT_FOUND, 409: {"description": "already closed"}})
async def dismiss(suggestion_id: UUID, request: Request,
                  answer: DismissIn | None = Body(None)) -> dict[str, Any]:
    """The traveler dismissed the suggestion: closed, its unsent notifications cancelled,
    and its subject not suggested again within the cooldown (PAM_COOLDOWN_DAYS). An optional
    body gives the reason, kept with the suggestion's type, priority and numbers."""
    return await _close(request, suggestion_id, "dismissed", answer)


@router.post("/suggestions/{suggestion_id}/acted",
             responses={**ERRORS, **NOT_FOUND, 409: {"description": "already closed"}})
async def acted(suggestion_id: UUID, request: Request) -> dict[str, Any]:
    """The traveler acted on the suggestion: closed like a dismissal (with the same
    cooldown while their data catches up)."""
    return await _close(request, suggestion_id, "acted")


def sse(event: str, data: Any, event_id: str | None = None) -> str:
    """One server-sent event."""
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def _events(state: ApiState, user_id: UUID, sub: Subscription) -> AsyncIterator[str]:
    live = await repository.list_user_suggestions(state.engine, user_id, LIVE_STATUSES,
                                                  SNAPSHOT_MAX_ITEMS)
    snoozes = await repository.live_snoozes(state.engine, live)
    adapted = await repository.adaptations_in_force(state.engine, live)
    items, truncated = bounded_items(live, snoozes, adapted)
    snapshot = _listing("", items, truncated)
    # The client's reconnection delay, then the current state; changes follow.
    yield f"retry: 2000\nevent: snapshot\ndata: {snapshot}\n\n"
    heartbeat = state.settings.stream_heartbeat_seconds
    while True:
        try:
            change = await asyncio.wait_for(sub.queue.get(), heartbeat)
        except TimeoutError:
            yield f": heartbeat {datetime.now(UTC).isoformat()}\n\n"
            continue
        yield sse("suggestion", {"change": change.kind,
                                 "suggestion": suggestion_json(change.suggestion)},
                  change.event_id)
        if sub.overflowed and sub.queue.empty():
            yield sse("reset", {"reason": "this client fell behind: reconnect for a snapshot"})
            return


@router.get("/users/{user_id}/suggestions/stream",
            responses={**ERRORS, **NOT_FOUND, **RATE_LIMITED,
                       200: {"content": {"text/event-stream": {}},
                             "description": "server-sent events"}})
async def stream(user_id: UUID, request: Request,
                 who: Caller = Depends(user_caller)) -> StreamingResponse:
    """Server-sent events: first a `snapshot` of the live suggestions, then a `suggestion`
    event (change: created, escalated, updated or closed) within about a poll interval
    (PAM_STREAM_POLL_SECONDS) of each change being committed, and a comment line as
    heartbeat every PAM_STREAM_HEARTBEAT_SECONDS. Rate limited per connection, and at most
    PAM_STREAM_MAX_PER_USER open at once per traveler (429 past it). The snapshot holds at
    most 1,000 suggestions and 2 MiB (``truncated`` says when some were left out)."""
    rate_limit(request, who)
    state = api_state(request)
    await _known(state, user_id)
    release = state.streams.take(user_id)  # 429 past PAM_STREAM_MAX_PER_USER

    async def body() -> AsyncIterator[str]:
        try:
            async with state.hub.subscribe(user_id) as sub:
                async for chunk in _events(state, user_id, sub):
                    yield chunk
        finally:
            release()

    events = body()
    state.streams.release_with(events, release)
    return StreamingResponse(events, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
