"""Logs carry whitelisted fields only: traveler data passed as `extra` never reaches output."""

from __future__ import annotations

import logging

import pytest

from conftest import MakeDatabase, settings_for
from pam_proactive.db.connection import Database
from pam_proactive.errors import DataSourceError, SchemaError
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



async def test_database_errors_never_quote_row_values(make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    async with Database(uri, settings_for("seed")) as db:
        with pytest.raises(DataSourceError) as bad_value:
            await db.fetch("cast", "SELECT %s::uuid", ("ann@example.com",))
        with pytest.raises(SchemaError) as missing:
            await db.fetch("gone", "SELECT * FROM no_such_table")
    assert "ann@example.com" not in str(bad_value.value)
    assert "[22P02]" in str(bad_value.value) and "'cast'" in str(bad_value.value)
    assert "no_such_table" in str(missing.value)
