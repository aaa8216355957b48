"""`pam-proactive snooze`, `dismiss`, `useful`, `acted` and `relevance` on a real database."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import psycopg
from typer.testing import CliRunner, Result

from api.harness import candidate, store
from conftest import MakeDatabase
from pam_proactive.cli.answers import parse_duration
from pam_proactive.cli.main import app

runner = CliRunner()
CLI = Path(sys.executable).with_name("pam-proactive")


async def invoke(*args: str) -> Result:
    return await asyncio.to_thread(runner.invoke, app, list(args))


def ids(uri: str, user: UUID) -> dict[str, str]:
    with psycopg.connect(uri) as conn:
        rows = conn.execute("SELECT dedup_key, id::text FROM pam_proactive.suggestions"
                            " WHERE user_id = %s", (user,)).fetchall()
    return {str(k).split(":")[1]: str(i) for k, i in rows}


def test_parse_duration() -> None:
    assert parse_duration("30m") == timedelta(minutes=30)
    assert parse_duration(" 2h") == timedelta(hours=2)
    assert parse_duration("3d") == timedelta(days=3)
    for bad in ("2", "h", "1.5h", "-1h", "PT1H"):
        try:
            parse_duration(bad)
        except ValueError:
            continue
        raise AssertionError(bad)


async def test_answers_and_relevance_from_the_command_line(make_database: MakeDatabase
                                                           ) -> None:
    uri = await make_database("seed")
    u = uuid4()
    await store(uri, [u], [candidate(u, k) for k in ("a", "b", "c", "d")],
                now=datetime.now(UTC))
    sid = ids(uri, u)
    db = ("--database-url", uri)

    snoozed = await invoke("snooze", sid["a"], "--for", "2h", *db)
    assert snoozed.exit_code == 0, snoozed.output
    assert "snoozed until" in snoozed.stdout and "(1 pending notifications held)" in snoozed.stdout
    too_long = await invoke("snooze", sid["a"], "--for", "31d", *db)
    assert too_long.exit_code == 2 and "at most 30 days" in too_long.output
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert (await invoke("snooze", sid["a"], "--until", past, *db)).exit_code == 2
    assert (await invoke("snooze", "nope", "--for", "1h", *db)).exit_code == 2

    wrong = await invoke("dismiss", sid["b"], "--reason", "wrong", *db)
    assert wrong.exit_code == 0 and "dismissed (wrong)" in wrong.stdout, wrong.output
    again = await invoke("dismiss", sid["b"], *db)
    assert again.exit_code == 1 and "already closed" in again.output
    bad = await invoke("dismiss", sid["c"], "--reason", "meh", *db)
    assert bad.exit_code == 2 and "unknown reason" in bad.output
    assert (await invoke("useful", sid["c"], *db)).stdout.strip() == "rated useful"
    assert "already rated" in (await invoke("useful", sid["c"], *db)).stdout
    assert (await invoke("acted", sid["d"], *db)).exit_code == 0

    out = await invoke("relevance", "--format", "json", *db)
    assert out.exit_code == 0, out.output
    body = json.loads(out.stdout)
    [total] = [r for r in body["rows"] if r["week"] is None]
    assert total["type"] == "budget_exceeded" and total["answered"] == 3
    assert total["relevant"] == 2 and total["snoozed"] == 1
    assert total["dismissed"]["wrong"] == 1 and total["wrong_rate"] == 1 / 3
    table = await invoke("relevance", *db)
    assert table.exit_code == 0
    assert "budget_exceeded" in table.stdout and "67%" in table.stdout
    header = table.stdout.splitlines()[1]  # piped: every column under a header row
    assert header.split()[:3] == ["type", "week", "delivered"] and "wrong rate" in header
    assert (await invoke("relevance", "--format", "xml", *db)).exit_code == 2


async def test_a_note_is_stored_and_never_logged(make_database: MakeDatabase) -> None:
    """The CLI at DEBUG with JSON logs, in its own process: the note reaches the database
    (the traveler's export) and no log line."""
    uri = await make_database("seed")
    u = uuid4()
    await store(uri, [u], [candidate(u, "n")], now=datetime.now(UTC))
    note = "Sold the van to Maria Lopez in Moab"
    env = {**os.environ, "DATABASE_URL": uri, "PAM_LOG_LEVEL": "DEBUG", "PAM_LOG_FORMAT": "json"}
    done = await asyncio.to_thread(
        subprocess.run, [str(CLI), "dismiss", ids(uri, u)["n"], "--reason", "other", "--note",
                         note], env=env, capture_output=True, text=True, timeout=300,
        check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "reason other, with a note" in done.stderr  # the dismissal was logged, not its note
    for word in ("Sold", "Maria", "Lopez", "Moab"):
        assert word not in done.stderr and word not in done.stdout
    with psycopg.connect(uri) as conn:
        assert conn.execute("SELECT reason, note FROM pam_proactive.feedback").fetchall() == [
            ("other", note)]
