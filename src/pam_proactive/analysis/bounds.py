"""The engine's bounds on what travelers and callers hand it (pure): traveler text is cut to
a documented length before it enters a context (so every title, message and ``data`` built
from it is bounded), a suggestion's shown fields are capped again wherever they leave the
engine (API, stream, export, webhook), and a requested clock must be a plausible moment.

One rule per bound, here; the data layer, the API and delivery call these helpers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

ELLIPSIS = "…"
# Characters kept of one traveler text value (an event title or location, a category, a trip's
# origin or destination, a vehicle's name, a service task, a region...): longer ones are cut
# to this many, the last being the ellipsis.
TEXT_MAX_CHARS = 200
# A suggestion's title and message as shown (built from at most a few cut texts and figures;
# these caps also hold for rows stored before the text cut existed).
TITLE_MAX_CHARS = 300
MESSAGE_MAX_CHARS = 2_000
# A suggestion's ``data`` as compact JSON; past it the whole ``data`` is replaced by
# ``{"truncated": true}`` (its strings are first cut to TEXT_MAX_CHARS each).
DATA_MAX_BYTES = 16_384
# A notification's webhook body (compact JSON of its payload) is at most this: title,
# message and data as capped above plus ids and times.
WEBHOOK_BODY_MAX_BYTES = 32_768

# A requested ``now`` (the API's ?now=) must lie within this of the wall clock: replays of
# the past and looks ahead, not dates whose calendar arithmetic overflows (year 1 or 9999).
CLOCK_RANGE = timedelta(days=20 * 366)
CLOCK_RANGE_YEARS = 20


def cut_text(value: str, limit: int = TEXT_MAX_CHARS) -> str:
    """``value`` itself when it has at most ``limit`` characters, else its first
    ``limit - 1`` characters and an ellipsis (``limit`` characters in all)."""
    if len(value) <= limit:
        return value
    return value[: limit - 1] + ELLIPSIS


def cut_strings(value: Any, limit: int = TEXT_MAX_CHARS) -> Any:
    """``value`` (JSON-like: dicts, lists, scalars) with every string longer than ``limit``
    cut by :func:`cut_text`, keys included; unchanged parts are returned as they are."""
    if isinstance(value, str):
        return cut_text(value, limit)
    if isinstance(value, Mapping):
        return {cut_text(str(k), limit): cut_strings(v, limit) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [cut_strings(v, limit) for v in value]
    return value


def json_size(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON (non-JSON values as their ``str``)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False,
                          default=str).encode())


def bound_data(data: Any) -> Any:
    """A suggestion's ``data`` within :data:`DATA_MAX_BYTES`: strings cut, and replaced by
    ``{"truncated": true}`` when still larger."""
    cut = cut_strings(data)
    return cut if json_size(cut) <= DATA_MAX_BYTES else {"truncated": True}


def bound_shown(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A suggestion or notification payload (any mapping with ``title``, ``message`` and
    ``data`` among its keys) with those three capped; other keys are kept as they are."""
    out = dict(fields)
    if isinstance(out.get("title"), str):
        out["title"] = cut_text(out["title"], TITLE_MAX_CHARS)
    if isinstance(out.get("message"), str):
        out["message"] = cut_text(out["message"], MESSAGE_MAX_CHARS)
    if "data" in out:
        out["data"] = bound_data(out["data"])
    return out


def webhook_body(payload: Mapping[str, Any]) -> bytes:
    """The bytes to POST for a notification ``payload``, at most
    :data:`WEBHOOK_BODY_MAX_BYTES`: compact JSON, keys sorted, of :func:`bound_shown`
    (``data`` is dropped to ``{"truncated": true}`` if the rest leaves it no room).
    Delivery should sign and send exactly these bytes."""
    shown = bound_shown(payload)
    body = _compact(shown)
    if len(body) > WEBHOOK_BODY_MAX_BYTES:
        shown["data"] = {"truncated": True}
        body = _compact(shown)
    return body


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False,
                      default=str).encode()


def clock_problem(moment: datetime, wall: datetime | None = None) -> str | None:
    """Why ``moment`` (naive = UTC) cannot be the clock of a computation, or None: it must lie
    within :data:`CLOCK_RANGE_YEARS` years of the wall clock ``wall`` (default: now)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    real = wall or datetime.now(UTC)
    if real - CLOCK_RANGE <= aware <= real + CLOCK_RANGE:
        return None
    return f"should be within {CLOCK_RANGE_YEARS} years of the current time"
