"""The dashboard: its data from a real database (with and without the job and fleet tables),
and the page in a real headless chromium: charts drawn from live data, refreshed when new
suggestions are stored, no console errors, a screenshot in tests/artifacts/dashboard.png."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest

from conftest import MakeDatabase, settings_for
from pam_proactive.api import dashboard, metrics
from pam_proactive.engine import Engine, open_engine
from pam_proactive.jobs.pipeline.sweeps import sweep
from pam_proactive.suggestions import answers
from pam_proactive.suggestions.store import list_suggestions
from planting import Planter
from serving import get, serve, small_app

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
SCHEMA = "pam_proactive"
NEXT_DAY = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHART_IDS = ("chart-relevance", "chart-types", "chart-priorities", "chart-jobs",
             "chart-queries", "chart-cache", "chart-fleet")

# The columns the dashboard reads of the jobs' and fleet reports' tables (their migrations
# live on other branches; these are the same names and types).
# The jobs' and reports' migrations create these tables; the dashboard tests replace them
# with minimal ones of their own (or none) to control exactly what the page shows.
DROP_JOB_AND_FLEET_TABLES = """
DROP TABLE IF EXISTS pam_proactive.job_ranges, pam_proactive.job_runs,
  pam_proactive.fleet_vehicles, pam_proactive.fleet_alerts, pam_proactive.fleet_reports CASCADE;
"""

OTHER_TABLES = DROP_JOB_AND_FLEET_TABLES + """
CREATE TABLE pam_proactive.job_runs (id bigserial PRIMARY KEY, job text NOT NULL,
  status text NOT NULL, started_at timestamptz NOT NULL, finished_at timestamptz,
  touched_at timestamptz NOT NULL, users integer NOT NULL DEFAULT 0);
CREATE TABLE pam_proactive.fleet_reports (id bigserial PRIMARY KEY,
  computed_for timestamptz NOT NULL, fleet_score double precision, vehicles integer NOT NULL,
  critical integer NOT NULL, threshold double precision NOT NULL);
CREATE TABLE pam_proactive.fleet_vehicles (report_id bigint NOT NULL, user_id uuid NOT NULL,
  health_score integer NOT NULL, items jsonb NOT NULL DEFAULT '[]');
INSERT INTO pam_proactive.job_runs (job, status, started_at, finished_at, touched_at, users)
SELECT j, CASE WHEN n = 3 AND j = 'fleet_report' THEN 'failed' ELSE 'ok' END,
  ts, ts + make_interval(secs => 2 + n), ts + make_interval(secs => 2 + n), 100 * n
FROM unnest(ARRAY['monitor_user_context', 'fleet_report']) AS j,
  generate_series(1, 4) AS n,
  LATERAL (SELECT timestamptz '2026-11-25 12:00+00' + make_interval(hours => n)) AS t(ts);
INSERT INTO pam_proactive.fleet_reports (computed_for, fleet_score, vehicles, critical,
  threshold) VALUES ('2026-11-24 06:00+00', 81, 40, 1, 60), ('2026-11-25 06:00+00', 78, 40, 2, 60);
INSERT INTO pam_proactive.fleet_vehicles (report_id, user_id, health_score, items) VALUES
  (2, 'aaaaaaaa-0000-4000-8000-000000000001', 35, '[{"task": "x"}, {"task": "y"}]'),
  (2, 'bbbbbbbb-0000-4000-8000-000000000002', 52, '[{"task": "x"}]'),
  (2, 'cccccccc-0000-4000-8000-000000000003', 90, '[]');
"""


def plant(uri: str) -> list[UUID]:
    with Planter(uri, "seed") as p:
        budget = p.user()
        p.budget(budget, "food", 1000)
        p.expense(budget, 850, "food", date(2026, 11, 3))
        departing = p.user()
        p.trip(departing, "Denver, CO", "Moab, UT", date(2026, 11, 27), date(2026, 11, 28), 350)
        fuel = p.user()
        p.vehicle(fuel, tank_gallons=50, odometer_miles=10_700)
        p.fill(fuel, date(2026, 11, 1), 30, 10_000)
        p.fill(fuel, date(2026, 11, 10), 30, 10_300)
    return [budget, departing, fuel]


async def dashboard_json(base: str) -> dict[str, Any]:
    status, ctype, body = await get(base + dashboard.DATA_PATH)
    assert status == 200 and ctype.startswith("application/json")
    data: dict[str, Any] = json.loads(body)
    return data


async def test_data_without_the_job_and_fleet_tables(make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(DROP_JOB_AND_FLEET_TABLES.encode())
    users = plant(uri)
    async with open_engine(settings_for("seed"), conninfo=uri) as engine:
        await sweep(engine, NOW, user_ids=users, deliver=False)
        async with serve(small_app(engine, dashboard.router)) as base:
            data = await dashboard_json(base)
            status, ctype, page = await get(base + "/")
            with psycopg.connect(uri, autocommit=True) as conn:  # one past its last attempt
                conn.execute(b"UPDATE pam_proactive.outbox SET dead_at = now(), tries = 8"
                             b" WHERE id = (SELECT min(id) FROM pam_proactive.outbox)")
            one_dead = await dashboard_json(base)
            _, _, dead_page = await get(base + "/")
    assert one_dead["outbox"] == {"pending": 2, "delivered": 0, "failing": 0, "dead": 1}
    assert 'data-field="outbox.dead">1</span> dead' in dead_page
    assert data["jobs"] == {"available": False, "runs": []}
    assert data["fleet"] == {"available": False, "history": [], "critical": []}
    assert data["suggestions"]["by_type"] == {"labels": ["2026-11-25"], "series": {
        "budget_threshold": [1], "departure_reminder": [1], "fuel_low": [1]}}
    assert data["suggestions"]["by_priority"]["series"] == {"medium": [2], "low": [1]}
    assert data["suggestions"]["statuses"] == {"open": 3}
    assert data["outbox"] == {"pending": 3, "delivered": 0, "failing": 0, "dead": 0}
    recent = data["suggestions"]["recent"]
    assert sorted(r["user"] for r in recent) == sorted(str(u)[:8] for u in users)
    assert set(recent[0]) == {"user", "type", "priority", "status", "created_at", "updated_at"}
    assert data["health"]["database"] == "reachable"
    assert status == 200 and ctype.startswith("text/html")
    assert "no job_runs table yet" in page and "budget_threshold" in page
    for text in (json.dumps(data), page):  # titles and messages name places: never shown
        assert "Moab" not in text and "Denver" not in text and str(users[0]) not in text


@pytest.fixture
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("chromium and chromedriver are not installed (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--window-size=1400,1500"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the page")
        time.sleep(0.1)


CHART_TOTALS = """
const out = {};
for (const id of arguments[0]) {
  const chart = Chart.getChart(document.getElementById(id));
  if (!chart) { out[id] = null; continue; }
  out[id] = {labels: chart.data.labels.length,
             datasets: chart.data.datasets.map(d => [d.label, d.data.reduce(
               (a, b) => a + (b || 0), 0)]),
             drawn: chart.chartArea !== undefined && chart.chartArea.width > 0};
}
return {charts: out, refreshes: window.pamDashboard.refreshes};
"""


def totals(section: dict[str, Any]) -> list[list[Any]]:
    return [[name, sum(v or 0 for v in values)] for name, values in section["series"].items()]


async def test_dashboard_in_a_real_browser(make_database: MakeDatabase, browser: Any,
                                           engine_with_tables: Engine, uri_tables: str) -> None:
    engine = engine_with_tables
    users = plant(uri_tables)
    await sweep(engine, NOW, user_ids=users)
    # Travelers answer: one suggestion rated useful, one dismissed as wrong.
    stored = await list_suggestions(engine.db, SCHEMA, limit=2)
    assert len(stored) == 2
    await answers.rate_useful(engine.db, SCHEMA, stored[0].id, NOW)
    await answers.dismiss(engine.db, SCHEMA, stored[1].id, NOW, "wrong")
    await engine.data.get_contexts(users, NOW)  # cache misses, then hits
    await engine.data.get_contexts(users, NOW)
    async with serve(small_app(engine, dashboard.router, metrics.router)) as base:
        live = await dashboard_json(base)

        def first_render() -> dict[str, Any]:
            browser.get(base + "/?refresh=1")
            found: dict[str, Any] = wait_for(lambda: (lambda r: r if r["refreshes"] >= 1 else None)(
                browser.execute_script(CHART_TOTALS, CHART_IDS)))
            return found

        shown = await asyncio.to_thread(first_render)
        for chart_id in CHART_IDS:
            assert shown["charts"][chart_id] is not None and shown["charts"][chart_id]["drawn"]
        charts = shown["charts"]
        assert charts["chart-types"]["datasets"] == totals(live["suggestions"]["by_type"])
        assert charts["chart-priorities"]["datasets"] == totals(
            live["suggestions"]["by_priority"])
        assert charts["chart-jobs"]["labels"] == 8
        assert dict(charts["chart-jobs"]["datasets"]) == {
            "monitor_user_context": 3 + 4 + 5 + 6, "fleet_report": 3 + 4 + 5 + 6}
        assert charts["chart-fleet"]["datasets"] == [["critical", 3], ["vehicles", 80]]
        cache = live["health"]["cache"]
        assert charts["chart-cache"]["datasets"][0][1] == (
            cache["hits"] + cache["misses"] + cache["evictions"]) > 0
        assert charts["chart-queries"]["labels"] > 0
        relevance = live["relevance"]
        assert charts["chart-relevance"]["datasets"] == totals(relevance["weeks"])
        assert relevance["weeks"]["labels"] == ["2026-W48"]
        rates = {t: rate for t, [rate] in relevance["weeks"]["series"].items()
                 if rate is not None}  # types delivered but not answered have no rate
        if stored[0].type == stored[1].type:
            assert rates == {stored[0].type: 0.5}
        else:
            assert rates == {stored[0].type: 1.0, stored[1].type: 0.0}

        # New suggestions are stored: the open page shows them without a reload.
        with Planter(uri_tables, "seed") as p:
            uid = p.user()
            p.vehicle(uid, registration_expires=date(2026, 12, 15))
        await sweep(engine, NEXT_DAY, user_ids=[uid])
        after = await dashboard_json(base)
        assert totals(after["suggestions"]["by_type"]) != totals(live["suggestions"]["by_type"])

        def updated() -> dict[str, Any]:
            found: dict[str, Any] = wait_for(
                lambda: (lambda r: r if r["charts"]["chart-types"]["datasets"]
                         == totals(after["suggestions"]["by_type"]) else None)(
                    browser.execute_script(CHART_TOTALS, CHART_IDS)))
            return found

        await asyncio.to_thread(updated)

        def finish() -> tuple[str, list[dict[str, Any]], str]:
            rows = browser.find_elements("css selector", "#recent tbody tr")
            assert rows and rows[0].find_elements("css selector", "td")[0].text == str(uid)[:8]
            critical = [r.text for r in browser.find_elements("css selector",
                                                              "#critical tbody tr")]
            assert critical == ["aaaaaaaa 35 2", "bbbbbbbb 52 1"]
            shown_types = {r.find_elements("css selector", "td")[0].text: r.text for r in
                           browser.find_elements("css selector", "#relevance tbody tr")}
            assert set(shown_types) >= {stored[0].type, stored[1].type}
            assert "100 %" in shown_types[stored[0].type] or stored[0].type == stored[1].type
            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / "dashboard.png"
            browser.save_screenshot(str(shot))
            return str(shot), browser.get_log("browser"), browser.page_source

        shot, console, page = await asyncio.to_thread(finish)
    assert [e for e in console if e["level"] in ("SEVERE", "WARNING")] == []
    assert Path(shot).stat().st_size > 20_000
    assert "Moab" not in page and "Denver" not in page


@pytest.fixture
async def uri_tables(make_database: MakeDatabase) -> str:
    uri = await make_database("seed")
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(OTHER_TABLES.encode())
    return uri


@pytest.fixture
async def engine_with_tables(uri_tables: str) -> Any:
    async with open_engine(settings_for("seed"), conninfo=uri_tables) as engine:
        yield engine
