"""HTTP errors as JSON: ``{"error": <code>, "detail": <what to do>}`` with the right status.

An unhandled error becomes a ``500`` with a fresh correlation id, in the body and in the
``X-Correlation-Id`` header, logged as one line with that id, the exception's type and the
place it was raised (``module:function:line``), never its message or frame locals."""

from __future__ import annotations

import logging
import math
import re
import traceback
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pam_proactive.errors import (
    DataSourceError,
    InvalidPreferencesError,
    InvalidUserIdError,
    PamError,
    SchemaError,
    TransientDataSourceError,
    UnknownUserError,
)

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error answered as ``status`` with a machine-readable ``code`` and a ``detail`` that
    says what to do next. Never carries traveler data."""

    def __init__(self, status: int, code: str, detail: str, *,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}


def unauthorized(code: str, detail: str) -> ApiError:
    """401: credentials missing or invalid."""
    return ApiError(401, code, detail,
                    headers={"WWW-Authenticate": f'Bearer error="{code}"'})


def forbidden(detail: str) -> ApiError:
    """403: valid credentials that do not allow this request."""
    return ApiError(403, "forbidden", detail)


def not_found(detail: str) -> ApiError:
    """404: no such user or suggestion."""
    return ApiError(404, "not_found", detail)


def conflict(detail: str) -> ApiError:
    """409: the request contradicts the current state (e.g. already closed)."""
    return ApiError(409, "conflict", detail)


def too_many_requests(retry_after: float) -> ApiError:
    """429 with ``Retry-After`` in whole seconds (at least 1)."""
    seconds = max(1, math.ceil(retry_after))
    return ApiError(429, "rate_limited",
                    f"too many requests from this caller: retry after {seconds} s",
                    headers={"Retry-After": str(seconds)})


def body(code: str, detail: Any) -> dict[str, Any]:
    """The JSON body of every error response."""
    return {"error": code, "detail": detail}


def _from_pam(exc: PamError) -> ApiError:
    if isinstance(exc, UnknownUserError):
        return not_found(str(exc))
    if isinstance(exc, InvalidUserIdError | InvalidPreferencesError):
        return ApiError(422, "invalid_request", str(exc))
    if isinstance(exc, SchemaError):
        return ApiError(503, "schema_mismatch", str(exc))
    if isinstance(exc, TransientDataSourceError):
        return ApiError(503, "database_unavailable", str(exc), headers={"Retry-After": "5"})
    if isinstance(exc, DataSourceError):
        return ApiError(503, "database_error", str(exc))
    return ApiError(500, "internal_error", "the engine failed; see the server log")


CORRELATION_HEADER = "X-Correlation-Id"


def raised_at(exc: BaseException) -> str:
    """``module:function:line`` of the frame that raised ``exc`` (the innermost one)."""
    frames = list(traceback.walk_tb(exc.__traceback__))
    if not frames:
        return "?"
    frame, line = frames[-1]
    return f"{frame.f_globals.get('__name__', '?')}:{frame.f_code.co_name}:{line}"


def internal_error(exc: BaseException) -> JSONResponse:
    """The ``500`` answer to ``exc``, logged as one line under a new correlation id."""
    correlation = uuid.uuid4().hex
    log.error("unhandled error", extra={"correlation_id": correlation,
                                        "error": type(exc).__name__, "where": raised_at(exc)})
    detail = f"the server failed; quote correlation id {correlation} to its operator"
    return JSONResponse({**body("internal_error", detail), "correlation_id": correlation},
                        status_code=500, headers={CORRELATION_HEADER: correlation})


class CatchAll:
    """ASGI middleware (outside the routes' own handlers): any exception that escapes them
    becomes :func:`internal_error`. Once a response has started (a stream), it can only be
    logged and the connection ended."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            response = internal_error(exc)
            if not started:
                await response(scope, receive, send)


# What each kind of invalid parameter should be, in words that never quote the input.
# ``{...}`` fields come from the error's context: the route's own bounds, never the input.
_INVALID: Mapping[str, str] = {
    "missing": "is required",
    "int_parsing": "should be a whole number",
    "int_type": "should be a whole number",
    "int_from_float": "should be a whole number",
    "float_parsing": "should be a number",
    "float_type": "should be a number",
    "bool_parsing": "should be true or false",
    "greater_than_equal": "should be at least {ge}",
    "greater_than": "should be more than {gt}",
    "less_than_equal": "should be at most {le}",
    "less_than": "should be less than {lt}",
    "string_too_long": "should have at most {max_length} characters",
    "string_too_short": "should have at least {min_length} characters",
    "string_pattern_mismatch": "should match {pattern}",
    "enum": "should be {expected}",
    "literal_error": "should be {expected}",
    "uuid_parsing": "should be a UUID, e.g. 0b7c2f4e-1d2a-4c1b-9e7f-3a5d6c8b9e01",
    "uuid_type": "should be a UUID, e.g. 0b7c2f4e-1d2a-4c1b-9e7f-3a5d6c8b9e01",
    "datetime_parsing": "should be an ISO-8601 moment, e.g. 2026-11-25T12:00:00Z",
    "datetime_from_date_parsing": "should be an ISO-8601 moment, e.g. 2026-11-25T12:00:00Z",
    "datetime_type": "should be an ISO-8601 moment, e.g. 2026-11-25T12:00:00Z",
    "json_invalid": "is not valid JSON",
    "timezone_aware": "should have its UTC offset, e.g. 2026-11-25T12:00:00Z",
    "time_delta_parsing": "should be a duration: ISO 8601 such as PT2H, or seconds",
    "time_delta_type": "should be a duration: ISO 8601 such as PT2H, or seconds",
    "model_attributes_type": "should be a JSON object",
    "dict_type": "should be a JSON object",
}

# A location segment naming one member of a union of bodies (``body.SnoozeUntil.until``):
# the model's class name, which says nothing to the caller.
_UNION_MEMBER = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def _choices(pattern: str) -> list[str]:
    """The words of a route's ``^(a|b|c)$`` pattern, or [] for any other pattern."""
    inner = pattern.removeprefix("^(").removesuffix(")$")
    if inner == pattern or not all(w.replace("_", "").isalnum() for w in inner.split("|")):
        return []
    return inner.split("|")


def invalid_detail(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """One ``{"loc", "msg"}`` per invalid parameter (``query.now``, ``path.user_id``,
    ``body.note``): the first problem of each, said once and without echoing the input.
    Past a parameter's own name a location could be a key the caller sent, so it is not
    shown; a key the endpoint does not take is reported on its parent, unnamed; a body that
    fits none of a union's forms is one ``body`` entry (see :func:`_union_detail`)."""
    plain: list[Mapping[str, Any]] = []
    union: list[tuple[str, Mapping[str, Any]]] = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if not isinstance(part, int)]
        if len(loc) > 2 and _UNION_MEMBER.match(loc[1]):
            union.append((".".join(loc[2:3]), error))
        else:
            plain.append(error)
    out = _plain_detail(plain)
    if union and "body" not in out:
        out["body"] = _union_detail(union)
    return [{"loc": where, "msg": msg} for where, msg in out.items()]


def _union_detail(errors: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """What is wrong with a body that fits none of a union's forms: each problem with a
    field it sent (named by the form's own field names, never the caller's keys), else the
    fields one of which it must have."""
    problems: dict[str, str] = {}
    required: dict[str, None] = {}
    for field, error in errors:
        kind = str(error.get("type", ""))
        if kind == "missing":
            required[field] = None
        elif kind != "extra_forbidden" and field not in problems:
            problems[field] = _message(error)
    if problems:
        return "; ".join(f"{field} {msg}" for field, msg in problems.items())
    return "should have one of: " + ", ".join(required)


def _plain_detail(errors: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if not isinstance(part, int)]
        kind = str(error.get("type", ""))
        if kind == "extra_forbidden":  # the last segment is the caller's own key
            loc = loc[:-1]
        where = ".".join(loc[:2]) or "request"
        if where not in out:
            out[where] = ("has a field it does not take" if kind == "extra_forbidden"
                          else _message(error))
    return out


def _message(error: Mapping[str, Any]) -> str:
    """One error's problem in words, from its type and context (never its input)."""
    kind = str(error.get("type", ""))
    context = error.get("ctx") or {}
    if kind == "value_error":  # the engine's own validators: messages without input
        return str(context.get("error", "is not valid"))
    choices = _choices(str(context.get("pattern", "")))
    if kind == "string_pattern_mismatch" and choices:
        return "should be one of " + ", ".join(choices)
    try:
        return _INVALID[kind].format(**context)
    except (KeyError, IndexError):
        return f"is not valid ({kind})"


def install_error_handlers(app: FastAPI) -> None:
    """Answer ApiError, engine errors, validation errors and HTTP errors as JSON bodies, and
    anything else as :func:`internal_error`."""

    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return JSONResponse(body(exc.code, exc.detail), status_code=exc.status,
                            headers=exc.headers)

    async def pam_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, PamError)
        mapped = _from_pam(exc)
        if mapped.status == 500:
            return internal_error(exc)
        if mapped.status > 500:
            log.warning("request failed", extra={"status_code": mapped.status,
                                                 "error": type(exc).__name__})
        return await api_error(request, mapped)

    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse(body("invalid_request", invalid_detail(exc.errors())),
                            status_code=422)

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed",
                413: "payload_too_large"}.get(exc.status_code, "http_error")
        return JSONResponse(body(code, exc.detail), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    app.add_exception_handler(ApiError, api_error)
    app.add_middleware(CatchAll)
    app.add_exception_handler(PamError, pam_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
