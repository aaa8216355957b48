"""Output that a person reads, piped (CliRunner is not a terminal): whole lines, full ids,
fixes copy-pasteable, counts explained, nothing that means nothing."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import date

import psycopg
from typer.testing import CliRunner, Result

from conftest import MakeDatabase
from pam_proactive.cli.main import app
from planting import Planter

NOW = "2026-11-25T18:00:00+00:00"
UUID_RE = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
runner = CliRunner()


async def invoke(*args: str) -> Result:
    return await asyncio.to_thread(runner.invoke, app, list(args))


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def lines_holding(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


async def test_piped_sweep_prints_whole_messages_and_full_ids(make_database: MakeDatabase
                                                              ) -> None:
    uri = await make_database("seed")
    with Planter(uri, "seed") as p:
        users = [p.user() for _ in range(3)]
        for i, uid in enumerate(users):
            p.budget(uid, "food", 1000)
            p.expense(uid, 850 + 100 * i, "food", date(2026, 11, 3))
            p.trip(uid, "Denver, CO", "Moab, UT", date(2026, 11, 27), date(2026, 11, 28), 350)
    jsonl = [json.loads(line) for line in ok(await invoke(
        "sweep", "--dry-run", "--format", "jsonl", "--now", NOW, "--database-url", uri)
    ).splitlines()]
    table = ok(await invoke("sweep", "--dry-run", "--now", NOW, "--database-url", uri))
    assert len(jsonl) >= 6
    for item in jsonl:
        # Each message whole on one line (no word split by wrapping), under its full user id.
        assert lines_holding(table, item["message"]), item["message"]
        assert f"user: {item['user_id']}" in table
    assert "…" not in table and "│" not in table  # no truncated ids, no box drawing
    assert "users swept" in table and "(dry run: nothing stored)" in table


async def test_piped_doctor_prints_each_fix_whole_and_json(make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("DROP INDEX public.calendar_events_user_start_idx")
        conn.execute("ALTER TABLE public.vehicles DROP COLUMN insurance_expires CASCADE")
    result = await invoke("doctor", "--database-url", uri)
    assert result.exit_code == 1  # a missing column stops the engine
    fixes = ["CREATE INDEX CONCURRENTLY IF NOT EXISTS calendar_events_user_id_start_date_idx "
             "ON public.calendar_events (user_id, start_date);",
             # A traveler table is never altered: the fix is advice, whole on its line.
             "preset 'seed' reads it: choose the preset these tables fit (`pam-proactive "
             "doctor --preset NAME`), or write one for your schema: the docs' section "
             "'A schema no preset fits' (docs/writing-a-preset.md)"]
    for fix in fixes:
        assert fix in result.stdout.splitlines(), result.stdout  # a line of its own, whole
    as_json = await invoke("doctor", "--format", "json", "--database-url", uri)
    assert as_json.exit_code == 1
    found = json.loads(as_json.stdout)
    assert {f["fix"] for f in found} >= set(fixes)
    assert {f["severity"] for f in found} <= {"error", "warning"}


async def test_context_is_a_readable_summary(make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    with Planter(uri, "seed") as p:
        uid = p.user()
        p.budget(uid, "food", 1000)
        p.expense(uid, 850, "food", date(2026, 11, 3))
        p.trip(uid, "Denver, CO", "Moab, UT", date(2026, 11, 27), date(2026, 11, 28), 350)
        p.vehicle(uid, name="Big Rig")
    text = ok(await invoke("context", str(uid), "--now", NOW, "--database-url", uri))
    assert text.startswith(f"Traveler {uid}, as of {NOW} (local day Wed 2026-11-25, "
                           "America/Denver)\n")
    assert "Money: 850.00 USD spent this calendar month" in text
    assert "budget food (monthly): 850.00 USD of 1,000.00 USD (85 %)" in text
    assert "planned: Denver, CO to Moab, UT, Fri 2026-11-27 to Sat 2026-11-28, 350 miles" in text
    assert "Vehicle: Big Rig (" in text and "Data quality: " in text
    assert "UserContext(" not in text and "datetime.date(" not in text


async def test_demo_then_seed_then_sweep(make_database: MakeDatabase) -> None:
    """The demo on an empty database shows the ids behind its examples and explains its
    counts; seeding again after it explains how to add travelers; a past --now warns."""
    uri = await make_database("seed")
    text = ok(await invoke("demo", "--travelers", "60", "--now", NOW, "--database-url", uri))
    assert "Why the counts differ: 60 travelers were seeded;" in text
    assert "who opted out (so that their open suggestions are resolved" in text
    assert re.search(r"Of the \d+ suggestions found, \d+ went over", text)
    # Outbox only is recorded for the demo's database: due notifications are delivered.
    delivered = re.search(r"hence ([\d,]+) delivered now\. The demo records its database as "
                          r"outbox only", text)
    assert delivered and int(delivered[1].replace(",", "")) > 0
    with psycopg.connect(uri) as conn:
        assert conn.execute("SELECT channels FROM pam_proactive.delivery_channels"
                            ).fetchall() == [([],)]
        assert conn.execute("SELECT count(*) FROM pam_proactive.outbox"
                            " WHERE delivered_at IS NOT NULL").fetchall() == [
            (int(delivered[1].replace(",", "")),)]
    # The daily digest is on (the default): travelers told at once and those whose non-urgent
    # notifications wait for their digest are counted apart, each as the outbox says.
    told = re.search(r"got a notification: ([\d,]+) at once, ([\d,]+) in their daily digest",
                     " ".join(text.split()))  # rich's line wrapping undone
    assert told and int(told[2]) > 0, text
    with psycopg.connect(uri) as conn:
        assert conn.execute(
            "SELECT count(DISTINCT user_id) FILTER (WHERE NOT digest_item),"
            " count(DISTINCT user_id) FILTER (WHERE digest_item)"
            " FROM pam_proactive.outbox WHERE cancelled_at IS NULL").fetchall() == [
            (int(told[1].replace(",", "")), int(told[2].replace(",", "")))]
    assert "hit rate" not in text  # the demo builds contexts without the cache
    assert f"`pam-proactive context <user id> --now {NOW}`" in text
    shown = [line.removeprefix("user: ") for line in text.splitlines()
             if line.startswith("user: ")]
    assert shown and all(UUID_RE.fullmatch(uid) for uid in shown)
    looked_up = ok(await invoke("context", shown[0], "--now", NOW, "--database-url", uri))
    assert looked_up.startswith(f"Traveler {shown[0]}")

    again = await invoke("seed", "--travelers", "5", "--now", NOW, "--database-url", uri)
    assert again.exit_code == 1 and again.stderr.count("\n") == 1
    assert "already holds the demo travelers of --seed 42" in again.stderr
    assert "--seed 43" in again.stderr
    more = ok(await invoke("seed", "--travelers", "5", "--seed", "43", "--now", NOW,
                           "--database-url", uri))
    assert more.startswith("seeded 5 travelers in ")

    swept = await invoke("sweep", "--dry-run", "--format", "jsonl", "--now", NOW,
                         "--database-url", uri)
    assert swept.exit_code == 0
    assert swept.stderr.startswith("note: --now is ") and "created_at" in swept.stderr


async def test_sweep_names_unknown_ids_and_sweeps_the_others(make_database: MakeDatabase
                                                             ) -> None:
    uri = await make_database("seed")
    with Planter(uri, "seed") as p:
        uid = p.user()
        p.budget(uid, "food", 1000)
        p.expense(uid, 950, "food", date(2026, 11, 3))
    missing = "0b7c2f4e-1d2a-4c1b-9e7f-3a5d6c8b9e01"
    result = await invoke("sweep", "--dry-run", "--format", "jsonl", "--user-ids",
                          f"{uid},{missing}", "--now", NOW, "--database-url", uri)
    assert result.exit_code == 1
    assert [json.loads(line)["user_id"] for line in result.stdout.splitlines()] == [str(uid)]
    assert result.stderr.splitlines()[-1] == (
        f"error: --user-ids: no traveler with id {missing} in this database (check the ids and "
        "--preset); the other ids were swept")


def test_every_lifecycle_count_has_a_sentence() -> None:
    """A sweep report names each lifecycle count in words: a count added to ApplyResult
    without its sentence would print as its bare field name ("held_back (held_back)")."""
    from dataclasses import fields

    from pam_proactive.cli.suggestions import _LIFECYCLE
    from pam_proactive.suggestions.store import ApplyResult

    names = {f.name for f in fields(ApplyResult)}
    assert names == set(_LIFECYCLE), names ^ set(_LIFECYCLE)
    assert all(text and text != name for name, text in _LIFECYCLE.items())
