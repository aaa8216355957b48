"""A job run in this process reaches /metrics once per run (however many ranges it had),
with its duration and its period, and its ranges log with the job, run id and range bounds."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import MakeDatabase, settings_for
from pam_proactive.api import metrics as metrics_route
from pam_proactive.engine import open_engine
from pam_proactive.jobs.scheduling.execute import run_job
from pam_proactive.jobs.scheduling.schedule import job_named
from pam_proactive.logs import current_actor, formatter_for
from planting import Planter
from serving import get, serve, small_app

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
JOB = "monitor_user_context"


def scrape_value(text: str, name: str, **labels: str) -> float:
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


async def test_a_run_is_counted_once_in_the_scrape(make_database: MakeDatabase,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    uri = await make_database("seed")
    with Planter(uri, "seed") as p:
        users = [p.user() for _ in range(5)]
        p.budget(users[0], "food", 100)
        p.expense(users[0], 150, "food", NOW.date())
    lines: list[tuple[dict[str, Any], str]] = []  # (JSON line, audit actor) at emit time
    formatter = formatter_for("json")

    class Lines(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append((json.loads(formatter.format(record)), current_actor()))

    handler = Lines()
    handler.setLevel(logging.DEBUG)
    logging.getLogger("pam_proactive").addHandler(handler)
    try:
        settings = settings_for("seed", job_range_size=2)
        async with open_engine(settings, conninfo=uri) as engine, \
                serve(small_app(engine, metrics_route.router)) as base:
            before = (await get(base + "/metrics"))[2]
            with caplog.at_level(logging.DEBUG, logger="pam_proactive"):
                outcome = await run_job(engine, job_named(JOB), NOW)
                again = await run_job(engine, job_named(JOB), NOW + timedelta(minutes=5))
            after = (await get(base + "/metrics"))[2]
    finally:
        logging.getLogger("pam_proactive").removeHandler(handler)
    assert outcome.status == "ok" and outcome.run.ranges == 3  # 5 users, 2 per range
    assert again.status == "duplicate"

    def delta(name: str, **labels: str) -> float:
        return scrape_value(after, name, **labels) - scrape_value(before, name, **labels)

    assert delta("pam_job_runs_total", job_name=JOB, outcome="ok") == 1
    assert delta("pam_job_duration_seconds_count", job_name=JOB, outcome="ok") == 1
    assert scrape_value(after, "pam_job_period_seconds", job_name=JOB) == 900
    assert scrape_value(after, "pam_job_last_success_timestamp_seconds", job_name=JOB) > 0
    bound = [(line, actor) for line, actor in lines if line.get("run_id") == outcome.run.id]
    assert bound, "no log line inside the ranges carried the run id"
    assert all(line["job"] == JOB and "range_lo" in line and "range_hi" in line
               for line, _ in bound)
    assert {actor for _, actor in bound} == {f"job:{JOB}"}
