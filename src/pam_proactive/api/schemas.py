"""Response shapes, for the OpenAPI document (handlers return JSON built from engine values)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

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
                    "this one is listed but not notified (docs/suggestions.md)")
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
    adaptations: list[dict[str, Any]] = Field(
        default_factory=list, description="what the traveler's dismissal reasons changed, "
        "each explained (reset ones included)")


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


_CLOCK = r"^[0-9]{2}:[0-9]{2}$"
# What a daily digest may gather: critical always goes out at once.
DigestPriority = Literal["low", "medium", "high"]


class PreferencesOut(BaseModel):
    """A traveler's notification preferences (the defaults while none are stored)."""

    user_id: UUID
    opted_out: bool
    disabled_types: list[str]
    timezone: str | None = Field(description="IANA zone; null: the traveler's profile's")
    quiet_start: str | None = Field(description="local HH:MM; null with quiet_end: none")
    quiet_end: str | None
    daily_cap: int | None = Field(description="notifications a local day; null: no cap")
    digest: bool | None = Field(
        None, description="gather non-urgent notifications into one daily digest; null: the "
        "engine's default (PAM_DIGEST, on)")
    digest_hour: int | None = Field(
        None, description="local hour (0-23) the digest is sent; null: the engine's default "
        "(PAM_DIGEST_HOUR, 8)")
    digest_priorities: list[DigestPriority] | None = Field(
        None, description="priorities the digest gathers; null: the engine's default "
        "(PAM_DIGEST_PRIORITIES, low and medium)")
    updated_at: datetime | None


class PreferencesIn(BaseModel):
    """The fields to change; a field sent as null is cleared, a field left out is kept. The
    rules (a real IANA zone, a cap of 0 to 100, both quiet-hour ends or neither, a digest
    hour of 0 to 23, digest priorities among low, medium, high) are checked by the database
    function Supabase apps call too."""

    model_config = ConfigDict(extra="forbid", strict=True)

    opted_out: bool | None = None
    disabled_types: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_:\-]{1,64}$")]] | None = (
        Field(None, max_length=64, examples=[["fuel_low"]]))
    timezone: str | None = Field(None, pattern=r"^[A-Za-z0-9_+\-/]{1,64}$",
                                 examples=["America/Denver"])
    quiet_start: str | None = Field(None, pattern=_CLOCK, examples=["22:00"])
    quiet_end: str | None = Field(None, pattern=_CLOCK, examples=["07:00"])
    daily_cap: int | None = Field(None, examples=[3])
    digest: bool | None = Field(None, examples=[True])
    digest_hour: int | None = Field(None, examples=[8])
    digest_priorities: list[Annotated[str, Field(max_length=16)]] | None = Field(
        None, max_length=8, examples=[["low", "medium"]])
