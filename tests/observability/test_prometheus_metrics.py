"""/metrics after real work: a sweep of planted travelers on a real database, deliveries to a
local HTTP receiver, cache lookups; and counts produced in other processes (multiprocess mode).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import MakeDatabase, settings_for
from pam_proactive.api import metrics as metrics_route
from pam_proactive.engine import open_engine
from pam_proactive.jobs.pipeline.sweeps import sweep
from pam_proactive.logs import bind
from pam_proactive.observability import metrics
from pam_proactive.suggestions.dead_letters import replay
from pam_proactive.suggestions.delivery import set_channels
from planting import Planter
from receiver import SECRET
from serving import get, serve, small_app

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
NEXT_DAY = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)
WORKER = Path(__file__).with_name("mp_worker.py")

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> tuple[Samples, set[str]]:
    """Samples keyed by (name, labels), and the family names present."""
    samples: Samples = {}
    families = set()
    for family in text_string_to_metric_families(text):
        families.add(family.name)
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples, families


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(base: str) -> tuple[Samples, set[str]]:
    status, ctype, body = await get(base + "/metrics")
    assert status == 200 and ctype.startswith("text/plain")
    return parse(body)


class Receiver(BaseHTTPRequestHandler):
    """Answers 500 to the very first POST, 200 to every other."""

    posts = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with Receiver.lock:
            Receiver.posts += 1
            first = Receiver.posts == 1
        self.send_response(500 if first else 200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.posts = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


async def test_metrics_after_a_real_sweep(make_database: MakeDatabase, receiver: str) -> None:
    uri = await make_database("seed")
    with Planter(uri, "seed") as p:
        budget = p.user()
        p.budget(budget, "food", 1000)
        p.expense(budget, 850, "food", date(2026, 11, 3))  # 85 %: budget_threshold, low
        departing = p.user()
        p.trip(departing, "Denver, CO", "Moab, UT", date(2026, 11, 27), date(2026, 11, 28), 350)
        fuel = p.user()
        p.vehicle(fuel, tank_gallons=50, odometer_miles=10_700)
        p.fill(fuel, date(2026, 11, 1), 30, 10_000)
        p.fill(fuel, date(2026, 11, 10), 30, 10_300)  # 20 % left: fuel_low, medium
    users = [budget, departing, fuel]
    settings = settings_for("seed", webhook_url=receiver, webhook_secret=SECRET,
                            cache_max_entries=2)
    async with open_engine(settings, conninfo=uri) as engine:
        base_app = small_app(engine, metrics_route.router)
        async with serve(base_app) as base:
            before, _ = await scrape(base)
            with bind(job="monitor_user_context", run_id=7):
                report = await sweep(engine, NOW, user_ids=users)
                with Planter(uri, "seed") as p:  # a day later: overspent, leaving, filled up
                    p.expense(budget, 200, "food", date(2026, 11, 26),
                              created_at=datetime(2026, 11, 26, 15, tzinfo=UTC))
                    p.fill(fuel, date(2026, 11, 26), 40, 10_700,
                           created_at=datetime(2026, 11, 26, 15, tzinfo=UTC))
                second = await sweep(engine, NEXT_DAY, user_ids=users)
            metrics.observe_job_run("monitor_user_context", "ok", 2.5)
            metrics.set_job_period("monitor_user_context", 3600)
            metrics.set_fleet_health(critical=2, vehicles=5)
            metrics.observe_event_lag(0.7)
            for _ in range(2):  # 3 misses, then (max 2 entries) 1 eviction and hits
                await engine.data.get_contexts(users, NOW)
            after, families = await scrape(base)

    assert report.lifecycle["created"] == 3 and second.lifecycle["escalated"] == 2

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    expected_families = {
        "pam_db_queries", "pam_db_query_duration_seconds", "pam_db_slow_queries", "pam_db_up",
        "pam_db_pool_size_connections", "pam_db_pool_in_use_connections",
        "pam_db_pool_waiting_requests", "pam_cache_hits", "pam_cache_misses",
        "pam_cache_evictions", "pam_cache_entries", "pam_job_runs", "pam_job_duration_seconds",
        "pam_job_users_processed", "pam_job_last_success_timestamp_seconds",
        "pam_suggestion_transitions", "pam_deliveries", "pam_outbox_rows",
        "pam_event_lag_seconds", "pam_fleet_critical_vehicles"}
    assert expected_families <= families
    # Queries: every entity read of both sweeps, counted and timed under the source's name.
    assert delta("pam_db_queries_total", statement="expenses", outcome="ok") == 2 + 2
    assert delta("pam_db_query_duration_seconds_count", statement="expenses") == 4
    assert delta("pam_db_queries_total", statement="health_probe", outcome="ok") >= 1
    assert value(after, "pam_db_up") == 1
    assert value(after, "pam_db_pool_size_connections") >= 1
    assert value(after, "pam_db_pool_max_connections") >= settings.pool_max_size
    assert ("pam_db_pool_waiting_requests", frozenset()) in after
    # Cache: 3 + 3 misses (two entries kept of three), evictions on each put beyond two.
    assert delta("pam_cache_misses_total") >= 3 and delta("pam_cache_evictions_total") >= 1
    assert delta("pam_cache_hits_total") + delta("pam_cache_misses_total") == 6
    # Jobs: the run, its duration, the users of both sweeps under the bound job.
    assert delta("pam_job_runs_total", job_name="monitor_user_context", outcome="ok") == 1
    assert delta("pam_job_duration_seconds_count", job_name="monitor_user_context",
                 outcome="ok") == 1
    assert delta("pam_job_users_processed_total", job_name="monitor_user_context") == 6
    assert abs(value(after, "pam_job_last_success_timestamp_seconds",
                     job_name="monitor_user_context") - time.time()) < 60
    assert value(after, "pam_job_period_seconds", job_name="monitor_user_context") == 3600
    # Suggestions by type and priority.
    for transition, type_, priority in (
            ("created", "budget_threshold", "low"), ("created", "departure_reminder", "medium"),
            ("created", "fuel_low", "medium"), ("escalated", "budget_exceeded", "high"),
            ("escalated", "departure_reminder", "high"), ("resolved", "fuel_low", "medium")):
        assert delta("pam_suggestion_transitions_total", transition=transition, type=type_,
                     priority=priority) == 1, (transition, type_)
    # Deliveries: the receiver refused the very first POST. Its row waited for its retry
    # (5 s on the schedule) and was superseded by the next day's escalation of the same
    # suggestion before the next drain: cancelled, never sent twice.
    notified = report.lifecycle["notified"] + second.lifecycle["notified"]
    assert notified == 5
    assert delta("pam_deliveries_total", channel="webhook", outcome="failed") == 1
    assert delta("pam_deliveries_total", channel="webhook", outcome="ok") == notified - 1
    assert delta("pam_outbox_rows_total", outcome="delivered") == notified - 1
    assert delta("pam_outbox_rows_total", outcome="failed") == 1
    assert delta("pam_event_lag_seconds_count") == 1
    assert value(after, "pam_fleet_critical_vehicles") == 2


async def test_counts_of_other_processes_reach_the_scrape(
        make_database: MakeDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two worker processes in multiprocess mode: their counters are summed, their pool
    gauges count while they live and vanish when they exit."""
    uri = await make_database("seed")
    with Planter(uri, "seed") as p:
        ids = []
        for _ in range(2):
            uid = p.user()
            p.budget(uid, "food", 1000)
            p.expense(uid, 850, "food", date(2026, 11, 3))
            ids.append(uid)
    mp_dir = tmp_path / "prom"
    mp_dir.mkdir()
    env = {**os.environ, metrics.MULTIPROC_ENV: str(mp_dir)}
    workers = [subprocess.Popen([sys.executable, str(WORKER), uri, "mp_job", str(uid)],
                                env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
               for uid in ids]
    try:
        for w in workers:
            assert w.stdout is not None
            assert (await asyncio.to_thread(w.stdout.readline)).strip() == "ready"
        monkeypatch.setenv(metrics.MULTIPROC_ENV, str(mp_dir))
        async with serve(small_app(None, metrics_route.router)) as base:
            live, _ = await scrape(base)
            for w in workers:
                assert w.stdin is not None
                w.stdin.close()
            for w in workers:
                assert await asyncio.to_thread(w.wait, 60) == 0
            gone, _ = await scrape(base)
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    for samples in (live, gone):
        assert value(samples, "pam_job_runs_total", job_name="mp_job", outcome="ok") == 2
        assert value(samples, "pam_job_users_processed_total", job_name="mp_job") == 2
        assert value(samples, "pam_suggestion_transitions_total", transition="created",
                     type="budget_threshold", priority="low") == 2
        assert value(samples, "pam_db_queries_total", statement="users_by_id",
                     outcome="ok") == 2
    assert value(live, "pam_db_pool_max_connections") == 2 * settings_for().pool_max_size
    assert value(live, "pam_db_pool_size_connections") >= 2
    assert value(gone, "pam_db_pool_size_connections") == 0  # exited: no longer counted


async def test_dead_notifications_are_gauged_at_scrape(make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    with Planter(uri, "seed") as p:
        budget = p.user()
        p.budget(budget, "food", 1000)
        p.expense(budget, 850, "food", date(2026, 11, 3))
    async with open_engine(settings_for("seed"), conninfo=uri) as engine:
        await set_channels(engine.db, "pam_proactive", ["webhook"])
        await sweep(engine, NOW, user_ids=[budget], deliver=False)
        async with serve(small_app(engine, metrics_route.router)) as base:
            healthy, _ = await scrape(base)
            with psycopg.connect(uri, autocommit=True) as conn:  # past its last attempt
                conn.execute(b"UPDATE pam_proactive.outbox SET dead_at = now(), tries = 8")
            dead, _ = await scrape(base)
            assert await replay(engine.db, "pam_proactive", NEXT_DAY, dead=True) != []
            replayed, _ = await scrape(base)
    key = ("pam_outbox_dead", frozenset({("channel", "webhook")}))
    assert (healthy[key], dead[key], replayed[key]) == (0, 1, 0)
