"""HTTP errors as JSON: ``{"error": <code>, "detail": <what to do>}`` with the right status."""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pam_proactive.errors import (
    DataSourceError,
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
    if isinstance(exc, InvalidUserIdError):
        return ApiError(422, "invalid_request", str(exc))
    if isinstance(exc, SchemaError):
        return ApiError(503, "schema_mismatch", str(exc))
    if isinstance(exc, TransientDataSourceError):
        return ApiError(503, "database_unavailable", str(exc), headers={"Retry-After": "5"})
    if isinstance(exc, DataSourceError):
        return ApiError(503, "database_error", str(exc))
    return ApiError(500, "internal_error", "the engine failed; see the server log")


def install_error_handlers(app: FastAPI) -> None:
    """Answer ApiError, engine errors, validation errors and HTTP errors as JSON bodies."""

    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return JSONResponse(body(exc.code, exc.detail), status_code=exc.status,
                            headers=exc.headers)

    async def pam_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, PamError)
        mapped = _from_pam(exc)
        if mapped.status >= 500:
            log.warning("request failed", extra={"status_code": mapped.status,
                                                 "error": type(exc).__name__})
        return await api_error(request, mapped)

    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        # Location and message only: the offending input is not echoed back.
        problems = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")}
                    for e in exc.errors()]
        return JSONResponse(body("invalid_request", problems), status_code=422)

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(body(code, exc.detail), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        # The server logs the traceback; the caller learns nothing of the internals.
        return JSONResponse(body("internal_error", "the server failed; see its log"),
                            status_code=500)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(Exception, unexpected)
    app.add_exception_handler(PamError, pam_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
