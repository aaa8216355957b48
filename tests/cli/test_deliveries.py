"""`pam-proactive deliveries`: list, inspect and replay dead notifications, record channels;
against a real database and, for the replay, a real receiver."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from typer.testing import CliRunner, Result

from cli.test_cli import NOW, plant_pair
from conftest import MakeDatabase, settings_for
from pam_proactive.cli.main import app
from pam_proactive.engine import open_engine
from pam_proactive.errors import ConfigurationError
from pam_proactive.jobs.pipeline.delivery import deliver_outbox
from processes import cli_process
from receiver import SECRET, Receiver

# Each notification on its own: the daily digest (tested in test_digest.py) is off.
runner = CliRunner(env={"PAM_DIGEST": "false"})


async def invoke(*args: str) -> Result:
    return await asyncio.to_thread(runner.invoke, app, list(args))


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


async def test_dead_rows_are_listed_inspected_and_replayed_once(
        make_database: MakeDatabase, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PAM_CHANNELS", raising=False)
    uri = await make_database("seed")
    plant_pair(uri, "seed")
    assert ok(await invoke("deliveries", "channels", "--database-url", uri)).startswith(
        "channels: not recorded")
    assert ok(await invoke("deliveries", "channels", "--set", "webhook",
                           "--database-url", uri)) == "channels: webhook\n"
    ok(await invoke("sweep", "--now", NOW, "--database-url", uri))
    # The receiver is down through the whole schedule: both notifications end dead.
    receiver.outage = 500
    settings = settings_for("seed", webhook_url=receiver.url, webhook_secret=SECRET,
                            circuit_failures=1000, delivery_jitter=0)
    now = datetime.fromisoformat(NOW)
    async with open_engine(settings, conninfo=uri) as engine:
        for delay in (0, *settings.retry_delays):
            now += timedelta(seconds=delay)
            await deliver_outbox(engine, now)
    assert len(receiver.requests) == 2 * 8
    listed = ok(await invoke("deliveries", "list", "--database-url", uri)).splitlines()
    assert listed[-1] == "2 dead notification(s)"
    assert listed[:2] == ["dead notifications", listed[1]]  # a title, then a header row
    assert listed[1].split() == ["id", "state", "priority", "event", "tries", "when", "(UTC)",
                                 "webhook-id", "last", "error"]
    assert len(listed) == 5 and all(
        line.split()[1] == "dead" and line.split()[4] == "8" and "HTTP 500" in line
        for line in listed[2:-1])
    rows = [json.loads(line) for line in ok(await invoke(
        "deliveries", "list", "--dead", "--format", "jsonl", "--database-url", uri)).splitlines()]
    assert [r["state"] for r in rows] == ["dead", "dead"]
    assert json.loads(ok(await invoke("deliveries", "list", "--dead", "--format", "json",
                                      "--database-url", uri))) == rows  # one array
    assert "payload" not in rows[0] and "Moab" not in json.dumps(rows)  # no traveler text
    assert ok(await invoke("deliveries", "list", "--pending", "--database-url", uri)) == (
        "0 pending notification(s)\n")
    first = rows[0]["id"]
    shown = ok(await invoke("deliveries", "inspect", str(first), "--database-url", uri))
    assert shown.count("failed") == 8 and "status 500" in shown
    detail = json.loads(ok(await invoke("deliveries", "inspect", str(first), "--format", "json",
                                        "--database-url", uri)))
    assert [a["attempt"] for a in detail["attempts"]] == list(range(1, 9))
    missing = await invoke("deliveries", "inspect", "999999", "--database-url", uri)
    assert missing.exit_code == 1 and "no outbox row 999999" in missing.output
    # Replay once the receiver is back: each is delivered exactly once.
    receiver.outage = None
    later = (now + timedelta(days=1)).isoformat()
    assert ok(await invoke("deliveries", "replay", "--dead", "--now", later,
                           "--database-url", uri)).startswith("replayed 2 notification(s)")
    async with open_engine(settings, conninfo=uri) as engine:
        report = await deliver_outbox(engine, datetime.fromisoformat(later))
        assert report.delivered == 2
        assert ok(await invoke("deliveries", "replay", "--dead", "--now", later,
                               "--database-url", uri)) == "replayed 0 notification(s)\n"
        assert (await deliver_outbox(engine, datetime.fromisoformat(later))).picked == 0
    assert sorted(receiver.accepted().values()) == [1, 1]
    assert ok(await invoke("deliveries", "list", "--database-url", uri)) == (
        "0 dead notification(s)\n")
    with psycopg.connect(uri) as conn:
        statuses = conn.execute(b"SELECT DISTINCT status FROM pam_proactive.suggestions")
        assert statuses.fetchall() == [("delivered",)]


async def test_bad_flags_are_one_line_errors(make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    nothing = await invoke("deliveries", "replay", "--database-url", uri)
    assert nothing.exit_code == 2 and "--dead and/or --id" in nothing.output
    both = await invoke("deliveries", "list", "--dead", "--pending", "--database-url", uri)
    assert both.exit_code == 2 and "choose one" in both.output
    pigeon = await invoke("deliveries", "channels", "--set", "pigeon", "--database-url", uri)
    assert pigeon.exit_code == 2 and "unknown channel 'pigeon'" in pigeon.output
    assert ok(await invoke("deliveries", "channels", "--set", "none", "--database-url", uri)) == (
        "channels: none (outbox only)\n")
    # A process declaring another channel set than the recorded one stops, naming it.
    with pytest.raises(ConfigurationError, match="PAM_CHANNELS=webhook differs"):
        async with open_engine(settings_for("seed", channels="webhook"), conninfo=uri) as e:
            await deliver_outbox(e, datetime.now(UTC))


@pytest.mark.parametrize("command", [["watch"], ["run", "--no-api", "--no-watch"]])
async def test_a_wrong_pam_channels_stops_a_service_at_start_up(
        make_database: MakeDatabase, command: list[str]) -> None:
    uri = await make_database("seed")
    ok(await invoke("deliveries", "channels", "--set", "none", "--database-url", uri))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAM_", "DATABASE_URL"))}
    env |= {"PAM_CHANNELS": "webhook", "DATABASE_URL": uri}
    with cli_process(command, env) as proc:
        output, _ = await asyncio.to_thread(proc.communicate, timeout=60)
    assert proc.returncode == 1, output
    assert "PAM_CHANNELS=webhook differs from the channels recorded in the database (none)" in (
        " ".join(output.split()))
