"""`pam-proactive fleet` against a real database (the CLI runs its own event loop, so each
invocation runs in a worker thread)."""

from __future__ import annotations

import asyncio
import json
from datetime import date

import psycopg
import pytest
from typer.testing import CliRunner, Result

from conftest import PRESETS, MakeDatabase
from pam_proactive.cli.main import app
from planting import Planter

NOW = "2026-11-25T18:00:00+00:00"  # 11:00 in Denver
runner = CliRunner()


async def invoke(*args: str) -> Result:
    return await asyncio.to_thread(runner.invoke, app, list(args))


@pytest.mark.parametrize("preset", PRESETS)
async def test_fleet_json_then_table_reuse_the_stored_report(make_database: MakeDatabase,
                                                             preset: str) -> None:
    uri = await make_database(preset)
    with Planter(uri, preset) as p:
        worn = p.user()  # no vehicles row: the profile's vehicle
        p.maintenance(worn, "oil_change", date(2026, 5, 1), None, next_due_date=date(2026, 11, 1))
        p.maintenance(worn, "roof_reseal", date(2026, 5, 1), None,
                      next_due_date=date(2026, 11, 20))
        fine = p.user()
        p.vehicle(fine)
    common = ("--now", NOW, "--database-url", uri, "--preset", preset)

    result = await invoke("fleet", *common, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["fleet_score"] == (50 + 100) / 2
    by_user = {v["user_id"]: v for v in data["vehicles"]}
    assert by_user[str(worn)]["vehicle_id"] is None
    assert by_user[str(worn)]["health_score"] == 50
    assert [i["subject"] for i in by_user[str(worn)]["items"]] == ["oil_change", "roof_reseal"]
    assert by_user[str(fine)]["vehicle_id"] is not None
    assert by_user[str(fine)]["items"] == []
    assert [c["user_id"] for c in data["critical"]] == [str(worn)]
    assert data["overdue_by_task"] == {"oil_change": 1, "roof_reseal": 1}

    table = await invoke("fleet", *common)
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert lines[0] == f"fleet report {data['report_id']} for {NOW}"  # the stored one
    assert lines[1].startswith("fleet score: 75 over 2 vehicles")
    assert "overdue by task: oil_change 1, roof_reseal 1" in lines
    [critical] = [line for line in lines if str(worn) in line]
    assert "oil_change overdue (days left -24, -25)" in critical  # one line, not wrapped
    with psycopg.connect(uri) as conn:
        row = conn.execute(b"SELECT count(*) FROM pam_proactive.fleet_reports").fetchone()
        assert row == (1,)

    bad = await invoke("fleet", *common, "--format", "xml")
    assert bad.exit_code == 2 and "--format" in bad.output
