"""The `pam-proactive` command line against real databases (the CLI runs its own event loop,
so each invocation runs in a worker thread)."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from typer.testing import CliRunner, Result

from conftest import MakeDatabase
from pam_proactive.cli.main import app
from planting import Planter

NOW = "2026-11-25T18:00:00+00:00"  # 11:00 in Denver
JSONL_KEYS = {"user_id", "type", "priority", "title", "message", "data", "dedup_key", "status"}

runner = CliRunner()


async def invoke(*args: str) -> Result:
    return await asyncio.to_thread(runner.invoke, app, list(args))


def count(uri: str, table: str) -> int:
    with psycopg.connect(uri) as conn:
        row = conn.execute(f"SELECT count(*) FROM pam_proactive.{table}".encode()).fetchone()
        return int(row[0]) if row else 0


def flat(text: str) -> str:
    """Terminal output with rich's line wrapping undone."""
    return " ".join(text.split())


def plant_pair(uri: str, preset: str) -> tuple[UUID, UUID]:
    """A user at 85 % of a 1,000 food budget (threshold, low) and one whose trip leaves in
    37 hours (departure reminder, medium)."""
    with Planter(uri, preset) as p:
        budget = p.user()
        p.budget(budget, "food", 1000)
        p.expense(budget, 850, "food", date(2026, 11, 3))
        departing = p.user()
        p.trip(departing, "Denver, CO", "Moab, UT", date(2026, 11, 27), date(2026, 11, 28), 350)
    return budget, departing


def jsonl(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


@pytest.fixture(scope="module")
async def seed_db(make_database: MakeDatabase) -> tuple[str, UUID, UUID]:
    uri = await make_database("seed")
    return (uri, *plant_pair(uri, "seed"))


async def test_sweep_jsonl_prints_each_suggestion_and_a_rerun_stores_nothing(
        seed_db: tuple[str, UUID, UUID], monkeypatch: pytest.MonkeyPatch) -> None:
    uri, budget, departing = seed_db
    monkeypatch.delenv("PAM_CHANNELS", raising=False)
    monkeypatch.delenv("PAM_WEBHOOK_URL", raising=False)
    # Each notification on its own (released below): the daily digest is test_digest.py's.
    monkeypatch.setenv("PAM_DIGEST", "false")
    lines = jsonl(await invoke("sweep", "--format", "jsonl", "--now", NOW,
                               "--database-url", uri))
    assert all(set(line) >= JSONL_KEYS for line in lines)
    assert sorted((line["user_id"], line["type"], line["priority"], line["status"])
                  for line in lines) == sorted([
        (str(budget), "budget_threshold", "low", "open"),
        (str(departing), "departure_reminder", "medium", "open")])
    by_type = {line["type"]: line for line in lines}
    threshold = by_type["budget_threshold"]
    assert threshold["data"]["spent_pct"] == 85.0 and threshold["data"]["limit"] == 1000.0
    assert threshold["dedup_key"].startswith("budget:") and threshold["title"]
    assert "850" in threshold["message"]
    departure = by_type["departure_reminder"]
    # Local midnight of the start date (37 h after NOW), not a count of hours from NOW.
    assert departure["data"]["starts_at"] == "2026-11-27T00:00:00-07:00"
    assert departure["data"]["start_date"] == "2026-11-27"
    assert departure["title"] == "Your trip to Moab, UT starts on Fri Nov 27"
    assert departure["computed_for"] == NOW
    assert (count(uri, "suggestions"), count(uri, "outbox")) == (2, 2)

    again = jsonl(await invoke("sweep", "--format", "jsonl", "--now", NOW,
                               "--database-url", uri))
    # Found again, still open: no channel is recorded, so nothing was released as delivered.
    assert sorted((line["type"], line["status"]) for line in again) == [
        ("budget_threshold", "open"), ("departure_reminder", "open")]
    assert (count(uri, "suggestions"), count(uri, "outbox")) == (2, 2)
    # Declared outbox-only (recorded): the outbox rows are the delivery, released.
    monkeypatch.setenv("PAM_CHANNELS", "none")
    third = jsonl(await invoke("sweep", "--format", "jsonl", "--now", NOW,
                               "--database-url", uri))
    assert {line["status"] for line in third} == {"open"}  # stored before the delivery
    fourth = jsonl(await invoke("sweep", "--format", "jsonl", "--now", NOW,
                                "--database-url", uri))
    assert sorted((line["type"], line["status"]) for line in fourth) == [
        ("budget_threshold", "delivered"), ("departure_reminder", "delivered")]
    assert (count(uri, "suggestions"), count(uri, "outbox")) == (2, 2)


async def test_sweep_table_format_prints_the_report(seed_db: tuple[str, UUID, UUID]) -> None:
    uri, budget, _ = seed_db
    result = await invoke("sweep", "--now", NOW, "--user-ids", str(budget), "--dry-run",
                          "--database-url", uri)
    assert result.exit_code == 0, result.output
    text = flat(result.stdout)
    assert "Suggestions of this sweep (1)" in text and "budget_threshold" in text
    assert "type budget_threshold" in text


async def test_sweep_dry_run_stores_nothing(make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    budget, departing = plant_pair(uri, "seed")
    lines = jsonl(await invoke("sweep", "--format", "jsonl", "--dry-run", "--now", NOW,
                               "--user-ids", f"{budget},{departing}", "--database-url", uri))
    assert sorted((line["type"], line["status"]) for line in lines) == [
        ("budget_threshold", "candidate"), ("departure_reminder", "candidate")]
    as_one = await invoke("sweep", "--format", "json", "--dry-run", "--now", NOW,
                          "--user-ids", f"{budget},{departing}", "--database-url", uri)
    assert as_one.exit_code == 0, as_one.output
    # The same suggestions as one JSON array (one document), not one per line.
    assert sorted(json.loads(as_one.stdout), key=str) == sorted(lines, key=str)
    assert (count(uri, "suggestions"), count(uri, "outbox")) == (0, 0)


async def test_sweep_rejects_a_bad_format_and_a_bad_now(seed_db: tuple[str, UUID, UUID]
                                                        ) -> None:
    uri = seed_db[0]
    bad_format = await invoke("sweep", "--format", "xml", "--database-url", uri)
    assert bad_format.exit_code == 2
    assert "'--format': 'xml' is not one of 'table', 'json', 'jsonl'" in bad_format.stderr
    bad_now = await invoke("sweep", "--now", "yesterday", "--database-url", uri)
    assert bad_now.exit_code == 2
    assert bad_now.stderr.startswith("error: --now yesterday: should be ISO-8601")


async def test_context_json(seed_db: tuple[str, UUID, UUID]) -> None:
    uri, budget, _ = seed_db
    result = await invoke("context", str(budget), "--format", "json", "--now", NOW,
                          "--database-url", uri)
    assert result.exit_code == 0, result.output
    ctx = json.loads(result.stdout)
    assert ctx["user_id"] == str(budget)
    assert ctx["today"] == "2026-11-25" and ctx["profile"]["timezone"] == "America/Denver"
    assert ctx["financial"]["month_spent"] == 850.0
    (food,) = ctx["financial"]["budgets"]
    assert (food["category"], food["limit"], food["spent"]) == ("food", 1000.0, 850.0)
    # The deprecated spelling prints the same document, with a note on stderr.
    old = await invoke("context", str(budget), "--json", "--now", NOW, "--database-url", uri)
    assert old.exit_code == 0 and json.loads(old.stdout) == ctx
    assert old.stderr.startswith("note: --json is deprecated")


async def test_context_rejects_a_bad_user_id(seed_db: tuple[str, UUID, UUID]) -> None:
    result = await invoke("context", "not-a-uuid", "--now", NOW, "--database-url", seed_db[0])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: USER_ID not-a-uuid: not a user id")
    assert result.stderr.count("\n") == 1 and result.stdout == ""
    missing = uuid4()
    unknown = await invoke("context", str(missing), "--now", NOW, "--database-url", seed_db[0])
    assert unknown.exit_code == 1 and unknown.stdout == ""
    assert unknown.stderr == f"error: no traveler with id {missing}; check the id and the preset\n"


async def test_migrate_twice_then_sweep_on_wheels_wins_live(make_database: MakeDatabase
                                                            ) -> None:
    uri = await make_database("wheels-wins-live", migrate_engine=False)
    first = await invoke("migrate", "--preset", "wheels-wins-live", "--database-url", uri)
    assert first.exit_code == 0, first.output
    assert flat(first.stdout) == (
        "applied: 0001_engine_preferences, 0002_suggestions, 0003_job_runs, 0004_reports,"
        " 0005_suggestion_changes, 0006_evaluation_state, 0007_evaluation_scope,"
        " 0008_delivery_leases, 0009_relations, 0010_relevance_feedback,"
        " 0011_traveler_actions, 0012_fleet_alert_delivery, 0013_traveler_answers,"
        " 0014_digest, 0015_adaptation, preset:wheels-wins-live")
    second = await invoke("migrate", "--preset", "wheels-wins-live", "--database-url", uri)
    assert second.exit_code == 0, second.output
    assert flat(second.stdout) == "applied: nothing (up to date)"

    budget, departing = plant_pair(uri, "wheels-wins-live")
    lines = jsonl(await invoke("sweep", "--format", "jsonl", "--now", NOW,
                               "--preset", "wheels-wins-live", "--database-url", uri))
    assert sorted((line["user_id"], line["type"], line["priority"]) for line in lines) == sorted([
        (str(budget), "budget_threshold", "low"),
        (str(departing), "departure_reminder", "medium")])
    departure = next(line for line in lines if line["type"] == "departure_reminder")
    # 350 miles stored as 563.27 km in trip_routes, read back in miles.
    assert departure["data"]["distance_miles"] == pytest.approx(350.0, abs=0.05)
    assert count(uri, "suggestions") == 2

    context = await invoke("context", str(budget), "--format", "json", "--now", NOW,
                           "--preset", "wheels-wins-live", "--database-url", uri)
    assert context.exit_code == 0, context.output
    assert json.loads(context.stdout)["user_id"] == str(budget)
