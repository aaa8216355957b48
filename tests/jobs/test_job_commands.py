"""`jobs`, `job NAME` and `runs` from the command line, and beat's schedule from JOBS."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from conftest import create_database
from pam_proactive.cli.main import app
from pam_proactive.jobs.scheduling.celery_tasks import (
    CronSlots,
    beat_schedule,
    create_app,
    time_limits,
)
from pam_proactive.jobs.scheduling.schedule import JOBS
from planting import Planter

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
runner = CliRunner()


def test_jobs_lists_each_job_on_one_line_when_piped() -> None:
    result = runner.invoke(app, ["jobs", "--now", "2026-11-30T23:50:00+00:00"],
                           env={"DATABASE_URL": None, "SUPABASE_DB_URL": None})
    assert result.exit_code == 0, result.output
    title, header, *lines = result.output.strip().splitlines()
    assert title.startswith("scheduled jobs (next fire after 2026-11-30T23:50:00+00:00)")
    # Plain columns two spaces apart or more, under a header row.
    assert re.split(r"\s{2,}", header) == ["job", "cron (UTC)", "next fire (UTC)",
                                           "detector group"]
    assert [line.split()[0] for line in lines] == [j.name for j in JOBS]
    monitor = re.split(r"\s{2,}", lines[0])
    assert monitor[1] == "*/15 * * * *"
    assert monitor[2] == "2026-12-01T00:00Z"
    assert monitor[3] == ("budget_exceeded,departure_reminder,document_expiring,fuel_low,"
                          "maintenance_overdue")
    assert re.split(r"\s{2,}", lines[3])[2:] == ["2026-12-01T00:00Z", "-"]


def test_job_runs_once_and_reports_json(pg_server: str) -> None:
    uri = asyncio.run(create_database(pg_server, "seed"))
    with Planter(uri, "seed") as p:
        user = p.user()
        p.budget(user, "food", 100)
        p.expense(user, 120, "food", NOW.date())
    args = ["job", "monitor_user_context", "--now", "2026-11-25T18:07:00+00:00",
            "--format", "json", "--database-url", uri]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    record = json.loads(first.stdout)  # stderr may carry log lines
    assert {k: record[k] for k in ("job", "slot", "status", "users", "created", "escalated",
                                   "resolved", "errors")} == {
        "job": "monitor_user_context", "slot": "2026-11-25T18:00:00+00:00", "status": "ok",
        "users": 1, "created": 1, "escalated": 0, "resolved": 0, "errors": 0}
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and json.loads(again.stdout)["status"] == "duplicate"
    listed = runner.invoke(app, ["runs", "--format", "json", "--database-url", uri])
    assert [r["id"] for r in json.loads(listed.stdout)] == [record["id"]]
    table = runner.invoke(app, ["runs", "--job", "monitor_user_context", "--database-url", uri])
    title, header, row = table.stdout.splitlines()[:3]
    assert title == "recent job runs" and header.split()[:5] == ["id", "job", "slot", "(UTC)",
                                                                 "status"]
    assert row.split()[:5] == [str(record["id"]), "monitor_user_context", "2026-11-25T18:00Z",
                               "ok", "1"]
    assert row.split()[-1] == "inprocess"  # the runner: the last column
    # With a database, `jobs` adds each job's last finished run.
    scheduled = json.loads(runner.invoke(app, ["jobs", "--format", "json", "--database-url",
                                               uri]).stdout)
    last = {j["job"]: j["last_run"] for j in scheduled}
    assert last["monitor_user_context"]["id"] == record["id"]
    assert last["analyze_user_patterns"] is None
    shown = runner.invoke(app, ["jobs", "--database-url", uri]).stdout.splitlines()
    assert shown[1].split()[-3:] == ["last", "finished", "run"]
    assert shown[2].split()[-1].startswith("ok@") and shown[3].split()[-1] == "-"
    unknown = runner.invoke(app, ["job", "nope", "--database-url", uri])
    assert unknown.exit_code == 2 and "unknown job 'nope'" in unknown.output


def test_beat_schedule_is_generated_from_the_job_definitions() -> None:
    entries = beat_schedule()
    assert list(entries) == [j.name for j in JOBS]
    for job in JOBS:
        entry = entries[job.name]
        assert entry["task"] == "pam.trigger" and entry["args"] == (job.name,)
        assert entry["schedule"] == CronSlots(job.cron, job.tz)
    clock = [NOW + timedelta(minutes=14)]
    slots = CronSlots("*/15 * * * *", nowfun=lambda: clock[0])
    due, wait = slots.is_due(NOW)
    assert not due and wait == 60.0
    clock[0] = NOW + timedelta(hours=3, minutes=1)  # beat was down for 12 slots: fires once
    due, wait = slots.is_due(NOW)
    assert due and wait == 14 * 60.0
    due, _ = slots.is_due(clock[0])  # beat records the firing as the last run
    assert not due


def test_celery_settings_keep_work_safe() -> None:
    from conftest import settings_for

    settings = settings_for("seed", redis_url="redis://127.0.0.1:1/0", job_range_timeout=600)
    conf = create_app(settings).conf
    soft, hard, visibility = time_limits(settings)
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert 600 < soft < hard < visibility == conf.broker_transport_options["visibility_timeout"]
    assert (conf.task_soft_time_limit, conf.task_time_limit) == (soft, hard)
    assert conf.task_routes["pam.range"] == {"queue": "pam.ranges"}
