"""The API's bounds: request bodies (413 past :data:`REQUEST_BODY_MAX_BYTES`, refused before
they are read whole), the bytes of a suggestion list, a stream snapshot and an export, and
the concurrent streams of one traveler (429 past ``PAM_STREAM_MAX_PER_USER``).

A suggestion's own fields are capped by :mod:`pam_proactive.analysis.bounds`; the budgets
here bound how many of them one response carries."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar
from uuid import UUID

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pam_proactive.analysis.bounds import bound_shown, json_size
from pam_proactive.api.errors import ApiError, body
from pam_proactive.db.connection import retry_cap

T = TypeVar("T")

# No endpoint takes more than a small JSON body (none takes one today).
REQUEST_BODY_MAX_BYTES = 65_536
# A suggestions list or a stream snapshot: at most this many bytes of suggestions (each at
# most ~20 KB, analysis.bounds); past it the newest that fit are sent with "truncated": true.
LIST_MAX_BYTES = 2 * 1024 * 1024
# A stream snapshot holds at most this many live suggestions (newest first).
SNAPSHOT_MAX_ITEMS = 1000
# The export over HTTP: at most this many rows per table (oldest first) and this many bytes
# in all; tables cut are named in "truncated". `pam-proactive export-user` has no cap.
EXPORT_MAX_ROWS = 10_000
EXPORT_MAX_BYTES = 16 * 1024 * 1024
# The dashboard's lists (recent suggestions, critical vehicles) come a page of this many rows
# at a time; a page starts at most this many rows in (deeper pages are for the CLI and the
# export, not a dashboard that re-reads its page every few seconds).
DASHBOARD_PAGE_ROWS = 20
DASHBOARD_MAX_OFFSET = 10_000


def within_bytes(items: Sequence[T], size: Callable[[T], int], budget: int
                 ) -> tuple[list[T], bool]:
    """The longest prefix of ``items`` whose sizes sum to at most ``budget`` bytes, and
    whether items were left out."""
    kept: list[T] = []
    used = 0
    for item in items:
        used += size(item)
        if used > budget:
            return kept, True
        kept.append(item)
    return kept, False


# A traveler's context: its texts are cut as they are read, but its lists (a month of events,
# a year of trips, 400 days of fill-ups) are bounded by time, not count. Past this many
# bytes the longest lists are cut (their first items kept) and named in "truncated".
CONTEXT_MAX_BYTES = 4 * 1024 * 1024


def bound_document(doc: dict[str, Any], budget: int) -> dict[str, Any]:
    """``doc`` (JSON-ready) within ``budget`` bytes: while it is larger, its largest list is
    halved (its first items kept). Adds ``truncated``: the dotted paths of the lists cut
    (empty when the document fit)."""
    cut: list[str] = []
    while json_size(doc) > budget:
        lists = list(_lists(doc, ""))
        if not lists:
            break
        path, parent, key, items = max(lists, key=lambda found: json_size(found[3]))
        if not items:
            break
        parent[key] = items[: len(items) // 2]
        if path not in cut:
            cut.append(path)
    return {**doc, "truncated": cut}


def _lists(value: Any, path: str) -> Iterator[tuple[str, Any, Any, list[Any]]]:
    """(dotted path, parent, key, list) of every non-empty list inside ``value``; items of a
    list share its path."""
    children: Iterable[tuple[Any, Any, str]]
    if isinstance(value, dict):
        children = ((k, v, f"{path}.{k}" if path else str(k)) for k, v in value.items())
    elif isinstance(value, list):
        children = ((i, v, path) for i, v in enumerate(value))
    else:
        return
    for key, child, where in children:
        if isinstance(child, list) and child:
            yield where, value, key, child
        if isinstance(child, dict | list):
            yield from _lists(child, where)


_EXPORT_LISTS = ("suggestions", "outbox", "deliveries", "insights")


def bound_export(export: dict[str, Any]) -> dict[str, Any]:
    """A JSON-ready export within :data:`EXPORT_MAX_BYTES`: each suggestion's and each
    notification payload's shown fields capped (analysis.bounds), then each list kept to
    the rows that fit in what the lists before it left; lists cut are added to
    ``truncated``."""
    out = dict(export)
    cut = list(out.get("truncated") or ())
    out["suggestions"] = [bound_shown(s) for s in out.get("suggestions") or ()]
    out["outbox"] = [{**row, "payload": bound_shown(row["payload"])}
                     if isinstance(row.get("payload"), dict) else row
                     for row in out.get("outbox") or ()]
    left = EXPORT_MAX_BYTES - json_size({k: v for k, v in out.items()
                                         if k not in _EXPORT_LISTS})
    for name in _EXPORT_LISTS:
        rows = out.get(name)
        if rows is None:
            continue
        kept, dropped = within_bytes(rows, lambda row: json_size(row) + 1, max(left, 0))
        left -= sum(json_size(row) + 1 for row in kept)
        out[name] = kept
        if dropped and name not in cut:
            cut.append(name)
    out["truncated"] = cut
    return out


_TOO_LARGE = f"the request body is larger than {REQUEST_BODY_MAX_BYTES} bytes"


class _TooLarge(HTTPException):
    """The request body went past the limit while it was being read: an HTTP error, so
    that FastAPI's body parsing passes it on as it is and the error handlers answer 413."""

    def __init__(self) -> None:
        super().__init__(413, _TOO_LARGE)


def _too_large() -> JSONResponse:
    return JSONResponse(body("payload_too_large", _TOO_LARGE), status_code=413)


class BodyLimit:
    """ASGI middleware: a request whose ``Content-Length`` is past the limit is answered 413
    without reading it; a body without one (chunked) is counted as it is read and refused
    once it passes the limit, so no more than one chunk past it is ever held."""

    def __init__(self, app: ASGIApp, limit: int = REQUEST_BODY_MAX_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await _too_large()(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge:
            if not started:
                await _too_large()(scope, receive, send)


# Transient database errors met while answering a request are retried this long at most
# (PAM_RETRY_MAX_SECONDS if shorter); then the request is answered 503 with Retry-After.
REQUEST_RETRY_SECONDS = 2.0


class RequestRetries:
    """ASGI middleware: the work of each request retries transient database errors for at
    most :data:`REQUEST_RETRY_SECONDS` (``db.connection.retry_cap``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with retry_cap(REQUEST_RETRY_SECONDS):
            await self.app(scope, receive, send)


class StreamSlots:
    """Open streams per traveler, at most ``per_user`` each (this process's count)."""

    def __init__(self, per_user: int) -> None:
        self.per_user = per_user
        self._open: dict[UUID, int] = {}

    def open_streams(self, user_id: UUID) -> int:
        """Streams of ``user_id`` open now."""
        return self._open.get(user_id, 0)

    def take(self, user_id: UUID) -> Callable[[], None]:
        """Count one more stream of ``user_id``, or raise 429 when it has ``per_user`` open;
        returns the release (idempotent)."""
        if self._open.get(user_id, 0) >= self.per_user:
            raise ApiError(429, "too_many_streams",
                           f"this traveler already has {self.per_user} open streams "
                           "(PAM_STREAM_MAX_PER_USER): close one first",
                           headers={"Retry-After": "5"})
        self._open[user_id] = self._open.get(user_id, 0) + 1
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            left = self._open.get(user_id, 1) - 1
            if left > 0:
                self._open[user_id] = left
            else:
                self._open.pop(user_id, None)

        return release

    @staticmethod
    def release_with(owner: object, release: Callable[[], None]) -> None:
        """Also release when ``owner`` (the stream's body) is collected without having run,
        e.g. when the client left before the response started."""
        weakref.finalize(owner, release)
