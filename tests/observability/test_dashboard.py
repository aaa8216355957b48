"""The dashboard: its data from a real database (with and without the job and fleet tables),
and the page in a real headless chromium: charts drawn from live data, refreshed when new
suggestions are stored, whole ids, times in UTC that say so, distinct axis labels, legends
beside the titles, totals and working pages, no console errors, a screenshot in
tests/artifacts/dashboard.png."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from conftest import MakeDatabase, settings_for
from pam_proactive.api import dashboard, dashboard_data, metrics
from pam_proactive.api.limits import DASHBOARD_MAX_OFFSET
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
# Time-ordered ids of one batch share their first 8 hex digits (a millisecond timestamp), as
# the demo's do: shortened, they would all read as one traveler.
SHARED_PREFIX = "019ad1c2"
UTC_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")
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
  threshold) VALUES ('2026-11-24 06:00+00', 81, 40, 1, 60), ('2026-11-25 06:00+00', 58, 80, 50, 60);
-- The latest report: 50 vehicles below its threshold (scores 9 + n, n findings mod 3) and
-- one healthy, all with ids of one time-ordered batch.
INSERT INTO pam_proactive.fleet_vehicles (report_id, user_id, health_score, items)
SELECT 2, ('""" + SHARED_PREFIX + """-ffff-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid,
  CASE WHEN n > 50 THEN 90 ELSE 9 + n END,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('task', k)), '[]') FROM generate_series(1, n % 3) k)
FROM generate_series(1, 51) AS n;
"""


def vehicle_id(n: int) -> str:
    """The id of the critical vehicle scoring 9 + ``n`` in OTHER_TABLES."""
    return f"{SHARED_PREFIX}-ffff-7000-8000-{n:012x}"


def plant_batch(uri: str, count: int) -> list[UUID]:
    """``count`` travelers over their food budget, with time-ordered ids of one batch."""
    users = []
    with Planter(uri, "seed") as p:
        for n in range(count):
            uid = p.user(user_id=UUID(f"{SHARED_PREFIX}-{n:04x}-7000-8000-{n:012x}"))
            p.budget(uid, "food", 1000)
            p.expense(uid, 850, "food", date(2026, 11, 3))
            users.append(uid)
    return users


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


async def dashboard_json(base: str, query: str = "") -> dict[str, Any]:
    status, ctype, body = await get(base + dashboard.DATA_PATH + query)
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
    assert data["jobs"] == {"available": False, "runs": [], "total": 0, "days": 30}
    assert data["fleet"] == {"available": False, "history": [], "critical": {
        "items": [], "offset": 0, "limit": 20, "total": 0}}
    assert data["suggestions"]["by_type"] == {"labels": ["2026-11-25"], "series": {
        "budget_threshold": [1], "departure_reminder": [1], "fuel_low": [1]}}
    assert data["suggestions"]["by_priority"]["series"] == {"medium": [2], "low": [1]}
    assert data["suggestions"]["statuses"] == {"open": 3}
    assert data["outbox"] == {"pending": 3, "delivered": 0, "failing": 0, "dead": 0}
    recent = data["suggestions"]["recent"]
    assert {k: v for k, v in recent.items() if k != "items"} == {
        "offset": 0, "limit": 20, "total": 3}
    assert sorted(r["user"] for r in recent["items"]) == sorted(str(u) for u in users)
    assert set(recent["items"][0]) == {"user", "type", "priority", "status", "created_at",
                                       "updated_at"}
    assert data["health"]["database"] == "reachable"
    assert status == 200 and ctype.startswith("text/html")
    assert "budget_threshold" in page and 'class="big good"' in page
    assert "table yet" not in page  # a missing table is "no runs yet", drawn by the script
    for text in (json.dumps(data), page):  # titles and messages name places: never shown
        assert "Moab" not in text and "Denver" not in text


async def test_pages_and_totals(engine_with_tables: Engine, uri_tables: str,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    engine = engine_with_tables
    users = plant_batch(uri_tables, 25)
    assert len({str(u)[:8] for u in users}) == 1  # what a shortened id would have shown
    await sweep(engine, NOW, user_ids=users, deliver=False)
    monkeypatch.setattr(dashboard_data, "RUNS_LIMIT", 3)
    async with serve(small_app(engine, dashboard.router)) as base:
        pages = [await dashboard_json(base, f"?recent_offset={offset}"
                                      f"&critical_offset={2 * offset}")
                 for offset in (0, 20, 40)]
        async with httpx.AsyncClient(base_url=base) as client:
            refused = [(await client.get(dashboard.DATA_PATH, params={name: value})).status_code
                       for name in ("recent_offset", "critical_offset")
                       for value in (-1, DASHBOARD_MAX_OFFSET + 1)]
            deepest = await client.get(dashboard.DATA_PATH,
                                       params={"recent_offset": DASHBOARD_MAX_OFFSET})
    assert refused == [422] * 4 and deepest.status_code == 200
    with pytest.raises(ValueError, match="0 to"):
        await dashboard_data.dashboard_data(engine, NOW, critical_offset=DASHBOARD_MAX_OFFSET + 1)
    recent = [p["suggestions"]["recent"] for p in pages]
    assert [(r["offset"], r["total"], len(r["items"])) for r in recent] == [
        (0, 25, 20), (20, 25, 5), (40, 25, 0)]
    shown = [item["user"] for r in recent for item in r["items"]]
    assert sorted(shown) == sorted(str(u) for u in users)  # whole ids, each once
    critical = [p["fleet"]["critical"] for p in pages]
    assert [(c["offset"], c["total"], len(c["items"])) for c in critical] == [
        (0, 50, 20), (40, 50, 10), (80, 50, 0)]
    assert [v["user"] for v in critical[0]["items"]] == [vehicle_id(n) for n in range(1, 21)]
    assert [v["score"] for v in critical[1]["items"]] == list(range(50, 60))
    assert critical[0]["items"][1] == {"user": vehicle_id(2), "score": 11, "findings": 2}
    # The newest 3 of the window's 8 runs, oldest first.
    jobs = pages[0]["jobs"]
    assert jobs["total"] == 8 and [r["started_at"] for r in jobs["runs"]] == [
        "2026-11-25T15:00:00+00:00", "2026-11-25T16:00:00+00:00", "2026-11-25T16:00:00+00:00"]


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
                "--disable-sync", "--no-first-run", "--window-size=1400,2600"):
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
  const x = chart.options.scales && chart.options.scales.x;
  out[id] = {labels: chart.data.labels.length, names: chart.data.labels.map(String),
             xTitle: x && x.title && x.title.display ? x.title.text : null,
             datasets: chart.data.datasets.map(d => [d.label, d.data.reduce(
               (a, b) => a + (b || 0), 0)]),
             drawn: chart.chartArea !== undefined && chart.chartArea.width > 0};
}
return {charts: out, refreshes: window.pamDashboard.refreshes};
"""


SNAPSHOT = """
const all = q => Array.from(document.querySelectorAll(q));
const rows = id => all('#' + id + ' tbody tr').map(
  tr => Array.from(tr.cells).map(td => td.textContent).join(' '));
const id = document.querySelector('#recent code.uid');
const style = id ? getComputedStyle(id) : null;
return {
  refreshes: window.pamDashboard.refreshes,
  ids: all('#recent code.uid').map(el => el.textContent),
  idStyle: style ? [style.userSelect, style.fontFamily] : [],
  times: all('#recent td.time').map(el => el.textContent),
  generatedAt: document.getElementById('generated-at').textContent,
  legend: all('#legend-jobs li').map(el => el.textContent),
  jobsCaption: document.querySelector('#chart-jobs').closest('figure')
    .querySelector('figcaption').textContent,
  errors: all('.bad, .offline, .warning').map(el => el.textContent),
  emptyCharts: all('.chart .empty').filter(el => !el.hidden).map(el => el.textContent),
  counts: all('.pager .count').map(el => el.textContent),
  relevanceCount: document.getElementById('relevance-count').textContent,
  critical: rows('critical'),
  relevance: rows('relevance'),
  disabled: all('.pager button').map(el => el.disabled),
};
"""


def totals(section: dict[str, Any]) -> list[list[Any]]:
    return [[name, sum(v or 0 for v in values)] for name, values in section["series"].items()]


async def test_dashboard_in_a_real_browser(make_database: MakeDatabase, browser: Any,
                                           engine_with_tables: Engine, uri_tables: str) -> None:
    engine = engine_with_tables
    users = plant(uri_tables) + plant_batch(uri_tables, 25)
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
        # One category per start time (both jobs start on the hour: 4, not 8), each label once.
        assert charts["chart-jobs"]["labels"] == 4
        for chart_id in CHART_IDS:
            names = charts[chart_id]["names"]
            assert len(set(names)) == len(names), (chart_id, names)
        for chart_id in ("chart-types", "chart-priorities", "chart-jobs", "chart-fleet"):
            assert "(UTC)" in charts[chart_id]["xTitle"]
        assert dict(charts["chart-jobs"]["datasets"]) == {
            "monitor_user_context": 3 + 4 + 5 + 6, "fleet_report": 3 + 4 + 5 + 6}
        assert charts["chart-fleet"]["datasets"] == [["critical", 51], ["vehicles", 120]]
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

        recent_total = after["suggestions"]["recent"]["total"]
        assert recent_total == len(users) + 1

        def finish() -> tuple[str, list[dict[str, Any]], str]:
            shown = snapshot()
            first_page = shown["ids"]
            # Whole ids, each traveler its own, though most share their first 8 hex digits.
            assert len(first_page) == 20 and first_page[0] == str(uid)
            assert len(set(first_page)) == 20
            assert sum(i.startswith(SHARED_PREFIX) for i in first_page) >= 16
            assert all(UUID(i) and len(i) == 36 for i in first_page)
            assert shown["idStyle"][0] == "all" and "monospace" in shown["idStyle"][1]
            # Times say their zone.
            assert len(shown["times"]) == 20
            assert all(UTC_TIME.fullmatch(t) for t in shown["times"]), shown["times"]
            assert UTC_TIME.fullmatch(shown["generatedAt"])
            # The jobs chart's legend is its own element, not words in its title.
            assert shown["legend"] == ["monitor_user_context", "fleet_report", "ok", "failed"]
            caption = shown["jobsCaption"]
            assert caption.startswith("Job runs") and "ok" not in caption.split()
            assert "(newest 8 of 8 runs" in caption
            # Nothing is shown as an error: the database is reachable, no chart says empty.
            assert shown["errors"] == [] and shown["emptyCharts"] == []
            # Totals on every list, and pages.
            assert shown["counts"] == [f"1\u201320 of {recent_total}", "1\u201320 of 50"]
            assert shown["relevanceCount"].endswith(" types")
            assert shown["critical"][:2] == [f"{vehicle_id(1)} 10 1", f"{vehicle_id(2)} 11 2"]
            assert shown["disabled"] == [True, False, True, False]
            shown_types = {row.split(" ")[0]: row for row in shown["relevance"]}
            assert set(shown_types) >= {stored[0].type, stored[1].type}
            assert "100 %" in shown_types[stored[0].type] or stored[0].type == stored[1].type
            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / "dashboard.png"
            browser.save_screenshot(str(shot))

            pager("recent", "1").click()
            last = f"21\u2013{recent_total} of {recent_total}"
            shown = wait_for(lambda: (lambda r: r if r["counts"][0] == last else None)(
                snapshot()))
            second_page = shown["ids"]
            assert len(second_page) == recent_total - 20
            assert sorted(first_page + second_page) == sorted(str(u) for u in [*users, uid])
            assert shown["disabled"][:2] == [False, True]
            # The page is kept across refreshes.
            wait_for(lambda: snapshot()["refreshes"] > shown["refreshes"] + 1)
            assert snapshot()["counts"][0] == last
            pager("critical", "1").click()
            wait_for(lambda: snapshot()["counts"][1] == "21\u201340 of 50")
            pager("critical", "1").click()
            shown = wait_for(lambda: (lambda r: r if r["counts"][1] == "41\u201350 of 50"
                                      else None)(snapshot()))
            assert shown["critical"][0] == f"{vehicle_id(41)} 50 2"
            assert shown["disabled"][2:] == [False, True]
            pager("recent", "-1").click()
            wait_for(lambda: snapshot()["counts"][0] == f"1\u201320 of {recent_total}")
            return str(shot), browser.get_log("browser"), browser.page_source

        def snapshot() -> dict[str, Any]:
            # One script reads it all: the tables are rebuilt on every refresh.
            found: dict[str, Any] = browser.execute_script(SNAPSHOT)
            return found

        def pager(name: str, step: str) -> Any:
            return browser.find_element(
                "css selector", f'.pager[data-list="{name}"] button[data-step="{step}"]')

        shot, console, page = await asyncio.to_thread(finish)
    assert [e for e in console if e["level"] in ("SEVERE", "WARNING")] == []
    assert Path(shot).stat().st_size > 20_000
    assert "Moab" not in page and "Denver" not in page


async def test_an_outage_is_said_so(pg_server: str, make_database: MakeDatabase,
                                    browser: Any) -> None:
    uri = await make_database("seed")
    users = plant(uri)
    dbname = conninfo_to_dict(uri)["dbname"]
    cfg = settings_for("seed", retry_max_seconds=0.5, query_timeout=3, pool_min_size=0)
    async with open_engine(cfg, conninfo=uri) as engine:
        await sweep(engine, NOW, user_ids=users, deliver=False)
        async with serve(small_app(engine, dashboard.router)) as base:

            def before() -> dict[str, Any]:
                browser.get(base + "/?refresh=1")
                found: dict[str, Any] = wait_for(lambda: (lambda r: r if r["refreshes"] >= 1
                                                          else None)(outage_view()))
                return found

            def during() -> dict[str, Any]:
                found: dict[str, Any] = wait_for(lambda: (lambda r: r if r["database"]
                                                          == "unreachable" else None)(
                    outage_view()))
                return found

            def outage_view() -> dict[str, Any]:
                found: dict[str, Any] = browser.execute_script(OUTAGE_VIEW)
                return found

            up = await asyncio.to_thread(before)
            try:
                # A real outage: every connection killed, no new one allowed.
                with psycopg.connect(pg_server, autocommit=True) as conn:
                    conn.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false'.encode())
                    conn.execute(b"SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                 b" WHERE datname = %s", (dbname,))
                down = await asyncio.to_thread(during)
            finally:
                with psycopg.connect(pg_server, autocommit=True) as conn:
                    conn.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true'.encode())
    assert up["databaseClass"] == "big good" and up["counts"] == ["1\u20133 of 3", "0 of 0"]
    assert "no runs yet" in up["empty"] and "no fleet reports yet" in up["empty"]
    # Down, nothing claims there is nothing: each empty chart and list says it was not read.
    assert down["databaseClass"] == "big bad" and down["counts"] == ["", ""]
    assert down["empty"] and set(down["empty"]) == {"Not read: the database is unreachable."}
    assert down["rows"] and set(down["rows"]) == {"Not read: the database is unreachable."}


OUTAGE_VIEW = """
const all = q => Array.from(document.querySelectorAll(q));
const db = document.querySelector('[data-field="health.database"]');
return {refreshes: window.pamDashboard.refreshes, database: db.textContent,
        databaseClass: db.className,
        empty: all('.chart .empty').filter(el => !el.hidden).map(el => el.textContent),
        rows: all('td.empty-row').map(el => el.textContent),
        counts: all('.pager .count').map(el => el.textContent)};
"""


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
