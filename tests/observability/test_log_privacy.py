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
    lines = run_cli(uri, "demo", "--travelers", "60", "--now", NOW)
    lines += run_cli(uri, "sweep", "--now", NOW)
    with psycopg.connect(uri) as conn:
        row = conn.execute("SELECT id::text FROM profiles ORDER BY id LIMIT 1").fetchone()
    assert row is not None
    lines += run_cli(uri, "context", row[0], "--now", NOW)

    records = [json.loads(line) for line in lines if line.startswith("{")]
    # One JSON event per line; besides them only the CLI's own notes to the user (--now in
    # the past), which are still scanned below.
    assert [x for x in lines if not x.startswith("{")] == [
        x for x in lines if x.startswith("note: ")]
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


async def test_no_personal_value_in_the_api_servers_log_lines(make_database: MakeDatabase
                                                              ) -> None:
    import signal
    import socket
    import time

    import httpx

    uri = await make_database("seed")
    run_cli(uri, "demo", "--travelers", "30", "--now", NOW)
    run_cli(uri, "job", "analyze_user_patterns", "--now", NOW)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": uri, "PAM_LOG_LEVEL": "DEBUG",
           "PAM_LOG_FORMAT": "json"}
    env.pop("PAM_API_TOKEN", None)
    proc = subprocess.Popen([str(CLI), "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/health/ready", timeout=5).status_code in (200, 503):
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None, "serve not up"
                time.sleep(0.2)
        with psycopg.connect(uri) as conn:
            ids = [r[0] for r in conn.execute("SELECT id::text FROM profiles ORDER BY id"
                                              " LIMIT 3").fetchall()]
        with httpx.Client(base_url=base, timeout=30) as c:
            for uid in ids:
                for path in ("context", "suggestions", "insights", "export"):
                    assert c.get(f"/v1/users/{uid}/{path}").status_code == 200, path
            for path in ("/v1/fleet/report", "/v1/jobs/runs", "/v1/performance",
                         "/v1/dashboard/data", "/", "/metrics"):
                assert c.get(path).status_code == 200, path
            assert c.get("/v1/users/not-a-uuid/context").status_code == 422
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    lines = err.splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert records and all(r["logger"] for r in records)
    actors = {r.get("actor") for r in records if r["logger"] == "pam_proactive.audit"}
    assert "api:operator" in actors, actors
    texts, numbers = pii_values(uri)
    assert find_leaks(lines, patterns(texts, numbers)) == []
