"""`pam-proactive run --demo` serves the API, the dashboard and /metrics in the scheduler's
process (one engine), and SIGTERM stops both with exit code 0."""

from __future__ import annotations

import os
import socket
import subprocess
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from conftest import MakeDatabase
from processes import cli_process, terminate


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(base: str, proc: subprocess.Popen[str], timeout: float = 90) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"run exited early: {proc.communicate()[0]}")
        try:
            ready = httpx.get(base + "/health/ready", timeout=5)
            if ready.status_code == 200:
                return ready
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError("the API of `pam-proactive run` never became ready")


async def test_run_serves_the_api_and_stops_on_sigterm(make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": uri, "PAM_LOG_LEVEL": "WARNING"}
    env.pop("PAM_API_TOKEN", None)
    with cli_process(["run", "--demo", "--demo-travelers", "40", "--port", str(port)],
                     env) as proc:
        ready = wait_ready(base, proc)
        assert {c["name"] for c in ready.json()["checks"]} == {"database", "migrations",
                                                              "jobs"}
        with httpx.Client(base_url=base, timeout=15) as c:
            page = c.get("/")
            assert page.status_code == 200 and "chart.umd.min.js" in page.text
            deadline = time.monotonic() + 60  # the missed slots run at start-up
            while not (finished := [r for r in c.get("/v1/jobs/runs").json()
                                    if r["status"] != "running"]):
                assert time.monotonic() < deadline, "no job run finished"
                time.sleep(0.3)
            scrape = c.get("/metrics")
        assert scrape.status_code == 200
        samples = [s for f in text_string_to_metric_families(scrape.text) for s in f.samples]
        runs_total = {(s.labels["job_name"], s.labels["outcome"]): s.value for s in samples
                      if s.name == "pam_job_runs_total"}
        # One process, one registry: the runs of the scheduler are in the API's scrape.
        for run in finished:
            assert runs_total.get((run["job"], run["status"]), 0) >= 1, (run, runs_total)
        out = terminate(proc)
    assert proc.returncode == 0, out
    assert "loopback only" in out and "scheduler stopped" in out
    assert "Traceback" not in out
    with socket.socket() as sock:  # the port is free again: the server is gone too
        sock.bind(("127.0.0.1", port))
