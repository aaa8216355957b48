"""A full demo through the CLI at DEBUG, every log line scanned for every seeded personal value.

The demo seeds travelers, builds every context and sweeps (store and delivery); then a second
sweep and one traveler's context. Their log lines (stderr, JSON) are scanned for every email,
name, place, free text, amount and coordinate read back from the database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg

from conftest import MakeDatabase
from pii import find_leaks, patterns, pii_values

CLI = Path(sys.executable).with_name("pam-proactive")
NOW = "2026-11-25T18:00:00+00:00"


def run_cli(uri: str, *args: str) -> list[str]:
    """Run a CLI command at DEBUG with JSON logs; return its stderr lines."""
    env = {**os.environ, "DATABASE_URL": uri, "PAM_LOG_LEVEL": "DEBUG",
           "PAM_LOG_FORMAT": "json", "COLUMNS": "200"}
    done = subprocess.run([str(CLI), *args], env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stderr.splitlines()


async def test_no_personal_value_in_any_log_line(make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    lines = run_cli(uri, "demo", "--users", "60", "--now", NOW)
    lines += run_cli(uri, "sweep", "--now", NOW)
    with psycopg.connect(uri) as conn:
        row = conn.execute("SELECT id::text FROM profiles ORDER BY id LIMIT 1").fetchone()
    assert row is not None
    lines += run_cli(uri, "context", row[0], "--now", NOW)

    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert len(records) == len(lines)  # one JSON event per line, nothing else on stderr
    loggers = {r["logger"] for r in records}
    assert "pam_proactive.audit" in loggers  # DEBUG capture really saw the engine's logs
    assert {r["entity"] for r in records if r["logger"] == "pam_proactive.audit"} >= {
        "profiles", "expenses", "budgets", "trips", "calendar_events", "fuel_log",
        "maintenance_records", "vehicles"}

    texts, numbers = pii_values(uri)
    assert len(texts) > 200 and len(numbers) > 200  # the demo's travelers are really there
    compiled = patterns(texts, numbers)
    assert find_leaks(lines, compiled) == []
    # The scanner does find a value when one is there.
    email = next(t for t in texts if "@" in t)
    amount = next(n for n in numbers if n >= 10)
    assert len(find_leaks([f'{{"msg": "x {email}"}}', f"spent {amount:,.2f} here"],
                          compiled)) >= 2
