"""Response shapes, for the OpenAPI document (handlers return JSON built from engine values)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

PriorityLabel = Literal["low", "medium", "high", "critical"]


class ErrorOut(BaseModel):
    """Every error: a machine-readable code and what to do next."""

    error: str = Field(examples=["missing_credentials"])
    detail: Any


class HealthOut(BaseModel):
    status: Literal["ok"]


class CheckOut(BaseModel):
    name: str
    ok: bool
    detail: str


class ReadyOut(BaseModel):
    ready: bool
    checks: list[CheckOut]


class SuggestionOut(BaseModel):
    id: UUID
    user_id: UUID
    type: str
    priority: PriorityLabel
    title: str
    message: str
    data: dict[str, Any]
    dedup_key: str
    computed_for: datetime
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    status: Literal["open", "delivered", "dismissed", "acted", "resolved", "expired"]
    status_changed_at: datetime
    notified_rank: PriorityLabel | None
    held_by: UUID | None = Field(
        default=None,
        description="the live suggestion this one is part of: it carries the same advice, so "
                    "this one is listed but not notified (see the README's relations)")
    why: dict[str, Any] | None = Field(
        None, description="why it is shown: the rule that fired, the numbers and thresholds "
        "it compared, and the snooze in force (if any)")


class SuggestionListOut(BaseModel):
    user_id: UUID
    suggestions: list[SuggestionOut]
    truncated: bool = Field(description="true when suggestions past the response's byte "
                            "bound (2 MiB) were left out: ask again with a lower limit or "
                            "a status filter")


class ExportOut(BaseModel):
    """Everything the engine stores about one traveler."""

    user_id: UUID
    exported_at: datetime
    suggestions: list[SuggestionOut]
    outbox: list[dict[str, Any]]
    deliveries: list[dict[str, Any]]
    preferences: dict[str, Any] | None
    insights: list[dict[str, Any]] | None = Field(
        description="null when this installation stores no insights")
    truncated: list[str] = Field(
        description="tables cut at the export's bounds (10,000 rows per table, 16 MiB in "
        "all); `pam-proactive export-user` exports everything")
    snoozes: list[dict[str, Any]] = Field(default_factory=list,
                                          description="the traveler's snoozes")
    feedback: list[dict[str, Any]] = Field(
        default_factory=list, description="dismissal reasons (with notes) and useful ratings")


class EraseOut(BaseModel):
    user_id: UUID
    deleted: dict[str, int] = Field(description="rows deleted per engine table")


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in ((401, "credentials missing or invalid"),
                         (403, "valid credentials that do not reach this resource"),
                         (422, "malformed id or parameter"),
                         (503, "database unavailable"))
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut, "description": "unknown id"}}
RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorOut, "description": "rate limited; see the Retry-After header"}}
