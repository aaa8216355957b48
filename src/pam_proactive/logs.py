"""Logging that cannot leak traveler data: JSON lines (or text on a terminal), whitelisted fields.

Records carry a message and whitelisted structured fields (statement names, counts, timings,
the bound job, run id and batch range); any other ``extra`` field is dropped from the output,
so a careless ``extra={"email": ...}`` never reaches a log file.

Exceptions are rendered as their type and a sanitized traceback of ``file:line:function``
frames only: no frame locals, no source lines, and no ``str(exc)`` — an exception's message
may quote a value (``ValueError: invalid literal ... 'Moab'``) — except for :class:`PamError`,
whose messages are written to be safe (ids and setting names only).

Format: ``PAM_LOG_FORMAT`` = ``json`` (one object per line), ``text`` (human-readable) or
``auto`` (text when stderr is a terminal, else JSON; the default). Level: ``PAM_LOG_LEVEL``.

The audit log (logger ``pam_proactive.audit``) records every privileged read of traveler data:
who (``audit_actor``), which entity and how many rows — never the rows.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from types import MappingProxyType, TracebackType
from typing import Any

from pam_proactive.errors import ConfigurationError, PamError

SAFE_FIELDS = ("job", "run_id", "range_lo", "range_hi", "actor", "entity", "statement",
               "seconds", "users", "attempt", "batch", "rows", "status_code", "data_dir",
               "error", "channel", "outcome", "correlation_id", "where")

FORMATS = ("json", "text", "auto")
# Libraries whose records go through the same handler and formatter: uvicorn's own logging
# setup, and Python's last-resort handler for the others, would write plain-text lines. Their
# INFO and DEBUG records are not vetted for traveler data, so they log from WARNING up.
THIRD_PARTY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi",
                       "psycopg", "psycopg.pool", "psycopg_pool", "celery", "kombu")
_THIRD_PARTY_FLOOR = logging.WARNING
_OURS = "_pam_proactive_handler"  # marks the handler configure_logging put on the root
AUDIT_LOGGER = "pam_proactive.audit"

_BOUND: contextvars.ContextVar[Mapping[str, object]] = contextvars.ContextVar(
    "pam_log_bound", default=MappingProxyType({}))
_ACTOR: contextvars.ContextVar[str | None] = contextvars.ContextVar("pam_audit_actor",
                                                                   default=None)
audit_log = logging.getLogger(AUDIT_LOGGER)


@contextmanager
def bind(*, job: str | None = None, run_id: object = None, range_lo: object = None,
         range_hi: object = None) -> Iterator[None]:
    """Add job, run id and batch range fields to every record logged inside the block
    (also in tasks it starts: context variables are copied). Nested binds add to outer ones."""
    given = {"job": job, "run_id": run_id, "range_lo": range_lo, "range_hi": range_hi}
    token = _BOUND.set({**_BOUND.get(), **{k: v for k, v in given.items() if v is not None}})
    try:
        yield
    finally:
        _BOUND.reset(token)


def current_job() -> str | None:
    """The job bound by :func:`bind` in this context, if any."""
    job = _BOUND.get().get("job")
    return None if job is None else str(job)


@contextmanager
def audit_actor(actor: str) -> Iterator[None]:
    """Name who reads traveler data inside the block: ``job:<name>`` or ``api:user:<id>``..."""
    token = _ACTOR.set(actor)
    try:
        yield
    finally:
        _ACTOR.reset(token)


def current_actor() -> str:
    """The actor set by :func:`audit_actor`, or the bound job, or ``unknown``."""
    actor = _ACTOR.get()
    if actor:
        return actor
    job = current_job()
    return f"job:{job}" if job else "unknown"


def audit_read(entity: str, rows: int) -> None:
    """Audit one privileged read: the current actor read ``rows`` rows of ``entity``."""
    audit_log.info("read", extra={"actor": current_actor(), "entity": entity, "rows": rows})


# --- rendering --------------------------------------------------------------------------------


def _fields(record: logging.LogRecord) -> dict[str, object]:
    """The record's whitelisted fields, bound context first (explicit extras win)."""
    out: dict[str, object] = {k: v for k, v in _BOUND.get().items() if k in SAFE_FIELDS}
    for key in SAFE_FIELDS:
        if key in record.__dict__:
            out[key] = record.__dict__[key]
    return out


def sanitized_frames(tb: TracebackType | None) -> list[str]:
    """``file:line:function`` of each frame of ``tb``, outermost first; no values, no source."""
    return [f"{os.path.basename(f.filename)}:{f.lineno}:{f.name}"
            for f in traceback.extract_tb(tb)]


def describe_exception(exc: BaseException) -> dict[str, object]:
    """A log-safe account of ``exc`` and its causes: type, frames, and the message only for
    PamError (other messages may quote traveler data)."""
    out: dict[str, object] = {"type": type(exc).__name__, "frames": sanitized_frames(
        exc.__traceback__)}
    if isinstance(exc, PamError):
        out["message"] = str(exc)
    cause = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    if cause is not None and cause is not exc:
        out["cause"] = describe_exception(cause)
    return out


def _exception(record: logging.LogRecord) -> dict[str, object] | None:
    info = record.exc_info
    if not info or info[1] is None:
        return None
    return describe_exception(info[1])


def _safe(value: object) -> object:
    return value if isinstance(value, int | float | bool | str) or value is None else str(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, the safe fields, and ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON; unlisted extras and frame locals never appear."""
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update({k: _safe(v) for k, v in _fields(record).items()})
        exc = _exception(record)
        if exc is not None:
            line["exc"] = exc
        return json.dumps(line, ensure_ascii=False, default=str)


def _exc_text(exc: Mapping[str, Any]) -> str:
    head = f"{exc['type']}: {exc['message']}" if "message" in exc else str(exc["type"])
    text = head + "".join(f"\n    at {frame}" for frame in exc["frames"])
    if "cause" in exc:
        text += "\n  caused by " + _exc_text(exc["cause"])
    return text


class SafeFormatter(logging.Formatter):
    """``time level logger: message key=value ...`` with whitelisted keys only (terminals)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The record with its safe fields appended and a sanitized exception, if any."""
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            base = super().format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved
        extras = [f"{k}={v}" for k, v in _fields(record).items()]
        line = base + (" " + " ".join(extras) if extras else "")
        exc = _exception(record)
        return line if exc is None else line + "\n  " + _exc_text(exc)


def formatter_for(fmt: str | None = None, stream: Any = None) -> logging.Formatter:
    """The formatter for ``fmt`` (default PAM_LOG_FORMAT, else auto); raises
    ConfigurationError naming PAM_LOG_FORMAT for an unknown value."""
    chosen = (fmt or os.environ.get("PAM_LOG_FORMAT") or "auto").strip().lower()
    if chosen not in FORMATS:
        raise ConfigurationError(
            f"PAM_LOG_FORMAT must be one of {', '.join(FORMATS)}; got {chosen!r}")
    if chosen == "auto":
        target = stream if stream is not None else sys.stderr
        chosen = "text" if getattr(target, "isatty", lambda: False)() else "json"
    return SafeFormatter() if chosen == "text" else JsonFormatter()


def configure_logging(level: str | None = None, fmt: str | None = None,
                      stream: Any = None) -> None:
    """Send pam_proactive's logs to stderr at ``level`` (default: PAM_LOG_LEVEL or WARNING)
    in format ``fmt`` (default: PAM_LOG_FORMAT or auto). Audit records are INFO: run services
    at PAM_LOG_LEVEL=INFO (or DEBUG) to keep the audit trail. ``stream``: another
    destination than stderr (tests)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter_for(fmt, handler.stream))
    name = (level or os.environ.get("PAM_LOG_LEVEL", "WARNING")).upper()
    number = logging.getLevelName(name)
    if not isinstance(number, int):
        raise ConfigurationError(
            f"PAM_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL; got {name!r}")
    ours = logging.getLogger("pam_proactive")
    ours.handlers[:] = [handler]
    ours.setLevel(number)
    ours.propagate = False
    for logger_name in THIRD_PARTY_LOGGERS:
        library = logging.getLogger(logger_name)
        library.handlers[:] = [handler]
        library.setLevel(max(number, _THIRD_PARTY_FLOOR))
        library.propagate = False
    # Any other library's warnings reach the root logger: the same handler (replacing only
    # one installed here before, so a host's own root handlers stay).
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not getattr(h, _OURS, False)]
    setattr(handler, _OURS, True)
    root.addHandler(handler)
