"""Logs carry whitelisted fields only (traveler data passed as `extra` never reaches output),
one JSON event per line with the bound job/run/range, sanitized tracebacks, and an audit of
every entity read."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from conftest import MakeDatabase, settings_for
from pam_proactive.db.connection import Database
from pam_proactive.engine import open_engine
from pam_proactive.errors import ConfigurationError, DataSourceError, SchemaError
from pam_proactive.logs import (
    AUDIT_LOGGER,
    JsonFormatter,
    SafeFormatter,
    audit_actor,
    bind,
    configure_logging,
    current_job,
    formatter_for,
)
from planting import Planter


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


# --- JSON format, bound fields, sanitized tracebacks, audit ----------------------------------

SECRET_EMAIL = "ann.traveler@example.com"
SECRET_PLACE = "Quartzsite, AZ"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """pam_proactive's logs, JSON, at DEBUG, into a string."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("pam_proactive")
    saved = root.handlers[:], root.level, root.propagate
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG)
    root.propagate = False
    yield stream
    root.handlers[:], root.level, root.propagate = saved


def lines_of(stream: io.StringIO) -> list[dict[str, object]]:
    text = stream.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_json_lines_carry_bound_fields_and_safe_extras_only(captured: io.StringIO) -> None:
    log = logging.getLogger("pam_proactive.jobs.pipeline.evaluate")
    with bind(job="monitor_user_context", run_id=41):
        with bind(range_lo="0000", range_hi="ffff"):
            assert current_job() == "monitor_user_context"
            log.info("batch stored", extra={"users": 7, "email": SECRET_EMAIL})
        log.warning("after the range")
    log.info("unbound")
    first, second, third = lines_of(captured)
    assert first["msg"] == "batch stored" and first["level"] == "info"
    assert first["logger"] == "pam_proactive.jobs.pipeline.evaluate"
    assert (first["job"], first["run_id"], first["range_lo"], first["range_hi"],
            first["users"]) == ("monitor_user_context", 41, "0000", "ffff", 7)
    assert datetime.fromisoformat(str(first["ts"])).tzinfo is not None
    assert "email" not in first and SECRET_EMAIL not in captured.getvalue()
    assert "range_lo" not in second and second["job"] == "monitor_user_context"
    assert "job" not in third and current_job() is None


async def test_bound_fields_follow_into_tasks(captured: io.StringIO) -> None:
    async def work() -> None:
        logging.getLogger("pam_proactive.x").info("in a task")

    with bind(job="fleet_report", run_id="r9"):
        await asyncio.gather(asyncio.create_task(work()))
    (line,) = lines_of(captured)
    assert (line["job"], line["run_id"]) == ("fleet_report", "r9")


def _explode(email: str) -> None:
    place = SECRET_PLACE  # a local holding traveler data: never rendered
    raise ValueError(f"cannot geocode {place} for {email}")


def test_tracebacks_show_type_and_frames_never_locals_or_messages(
        captured: io.StringIO) -> None:
    log = logging.getLogger("pam_proactive.t")
    try:
        try:
            _explode(SECRET_EMAIL)
        except ValueError as exc:
            raise DataSourceError("query 'trips' failed: ValueError [22P02]") from exc
    except DataSourceError:
        log.exception("sweep failed")
    text = captured.getvalue()
    for secret in (SECRET_EMAIL, SECRET_PLACE, "Quartzsite", "cannot geocode"):
        assert secret not in text
    (line,) = lines_of(captured)
    rendered = line["exc"]
    assert isinstance(rendered, dict)
    assert rendered["type"] == "DataSourceError"
    assert rendered["message"] == "query 'trips' failed: ValueError [22P02]"  # PamError: safe
    cause = rendered["cause"]
    assert cause["type"] == "ValueError" and "message" not in cause
    assert cause["frames"][-1].startswith("test_logs.py:") and cause["frames"][-1].endswith(
        ":_explode")
    assert all(frame.count(":") == 2 for frame in cause["frames"])


def test_text_format_is_sanitized_too() -> None:
    try:
        _explode(SECRET_EMAIL)
    except ValueError:
        record = logging.makeLogRecord({"msg": "failed", "levelname": "ERROR",
                                        "name": "pam_proactive.t", "exc_info": sys.exc_info(),
                                        "email": SECRET_EMAIL, "rows": 3})
    with bind(job="j"):
        text = SafeFormatter().format(record)
    assert "ValueError" in text and ":_explode" in text and "job=j" in text and "rows=3" in text
    assert SECRET_EMAIL not in text and "Quartzsite" not in text


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_format_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(formatter_for("json"), JsonFormatter)
    assert isinstance(formatter_for("text"), SafeFormatter)
    assert isinstance(formatter_for("auto", _Tty()), SafeFormatter)  # a terminal: text
    assert isinstance(formatter_for("auto", io.StringIO()), JsonFormatter)  # a pipe: JSON
    monkeypatch.setenv("PAM_LOG_FORMAT", "yaml")
    with pytest.raises(ConfigurationError, match="PAM_LOG_FORMAT"):
        formatter_for()
    monkeypatch.setenv("PAM_LOG_FORMAT", "json")
    with pytest.raises(ConfigurationError, match="PAM_LOG_LEVEL"):
        configure_logging("LOUD")


async def test_audit_records_each_entity_read_with_its_actor_never_rows(
        make_database: MakeDatabase, captured: io.StringIO) -> None:
    uri = await make_database("seed")
    with Planter(uri, "seed") as p:
        uid = p.user()
        p.expense(uid, 123.45, "food", datetime(2026, 11, 3).date())
        p.trip(uid, "Denver, CO", "Moab, UT", None, None, 350)
    async with open_engine(settings_for("seed"), conninfo=uri) as engine:
        with audit_actor(f"api:user:{uid}"):
            await engine.data.get_contexts([uid], datetime(2026, 11, 25, tzinfo=UTC),
                                           use_cache=False)
        with bind(job="monitor_user_context"):
            await engine.data.get_contexts([uid], datetime(2026, 11, 25, tzinfo=UTC),
                                           use_cache=False)
    audit = [line for line in lines_of(captured) if line["logger"] == AUDIT_LOGGER]
    by_actor = {(a["actor"], a["entity"]): a["rows"] for a in audit}
    assert by_actor[(f"api:user:{uid}", "profiles")] == 1
    assert by_actor[(f"api:user:{uid}", "trips")] == 1
    assert by_actor[("job:monitor_user_context", "expenses")] == 1
    assert len(audit) == 2 * 8  # profiles + 7 entities, once per batch
    for secret in ("123.45", "Moab", "Denver"):
        assert secret not in captured.getvalue()
