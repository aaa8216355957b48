"""Logging that cannot leak traveler data.

Records carry a message and whitelisted structured fields (statement names, counts, timings);
any other ``extra`` field is dropped from the output, so a careless ``extra={"email": ...}``
never reaches a log file. The standard library never prints frame locals in tracebacks.
"""

from __future__ import annotations

import logging
import os

SAFE_FIELDS = ("statement", "seconds", "users", "attempt", "batch", "rows", "status_code",
               "data_dir", "error")


class SafeFormatter(logging.Formatter):
    """``time level logger: message key=value ...`` with whitelisted keys only."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The record with its safe extra fields appended; other extras are omitted."""
        base = super().format(record)
        extras = [f"{k}={getattr(record, k)}" for k in SAFE_FIELDS if hasattr(record, k)]
        return base + (" " + " ".join(extras) if extras else "")


def configure_logging(level: str | None = None) -> None:
    """Send pam_proactive's logs to stderr at ``level`` (default: PAM_LOG_LEVEL or WARNING)."""
    handler = logging.StreamHandler()
    handler.setFormatter(SafeFormatter())
    root = logging.getLogger("pam_proactive")
    root.handlers[:] = [handler]
    root.setLevel((level or os.environ.get("PAM_LOG_LEVEL", "WARNING")).upper())
    root.propagate = False
