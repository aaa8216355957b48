"""Logs carry whitelisted fields only: traveler data passed as `extra` never reaches output."""

from __future__ import annotations

import logging

from pam_proactive.logs import SafeFormatter


def test_unlisted_extras_are_dropped() -> None:
    record = logging.makeLogRecord({
        "msg": "slow query", "levelname": "WARNING", "name": "pam_proactive.db",
        "statement": "expenses", "seconds": 1.5,
        "email": "ann@example.com", "amount": 123.45, "location": "Moab, UT",
    })
    line = SafeFormatter().format(record)
    assert "statement=expenses" in line and "seconds=1.5" in line
    for secret in ("ann@example.com", "123.45", "Moab"):
        assert secret not in line
