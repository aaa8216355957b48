"""A traveler job's incremental runs store what its full runs store, on two databases.

Database A runs the job with a full-sweep interval shorter than a step (every run a full
pass: the job as it was); database B, a copy made with CREATE DATABASE ... TEMPLATE, runs it
with the default 24 h interval (incremental after its first run). Both get the same inserts
and updates between steps, stamped inside the step, while time passes across the travelers'
local midnights. After every step the stored suggestions are equal row for row (user,
dedup_key, priority, status). Deletes are left out: a job sees them only at its full pass
(the README's bound).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from conftest import settings_for
from pam_proactive.engine import open_engine
from pam_proactive.jobs.scheduling.execute import run_job
from pam_proactive.jobs.scheduling.schedule import JOBS, JobDef
from simulation import apply, load_world, seeded_pair, step_mutations, stored

START = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
STEP = timedelta(minutes=85)  # 10 steps: 14 h, across every US and Australian midnight
STEPS = 10
TRAVELERS = 40
TRAVELER_JOBS = [j for j in JOBS if j.types is not None]


@pytest.mark.parametrize("job", TRAVELER_JOBS, ids=[j.name for j in TRAVELER_JOBS])
async def test_incremental_job_stores_what_its_full_run_stores(pg_server: str,
                                                               job: JobDef) -> None:
    uri_a, uri_b = await seeded_pair(pg_server, TRAVELERS, 23, START)
    full_settings = settings_for("seed", batch_size=50, job_range_size=25,
                                 full_sweep_hours=0.01)
    inc_settings = settings_for("seed", batch_size=50, job_range_size=25,
                                full_sweep_hours=24.0)
    rng = random.Random(hash(job.name) % 1000)
    full_evaluated = inc_evaluated = first_full = 0
    reasons = {"changed": 0, "due": 0, "full": 0}
    with psycopg.connect(uri_a, autocommit=True) as conn_a, \
            psycopg.connect(uri_b, autocommit=True) as conn_b:
        world = load_world(conn_a)
        async with open_engine(full_settings, conninfo=uri_a) as full_engine, \
                open_engine(inc_settings, conninfo=uri_b) as inc_engine:
            for k in range(STEPS + 1):
                now = START + STEP * k
                if k:
                    writes = [w for w in step_mutations(rng, world, now - STEP, now,
                                                        rng.randint(1, 6))
                              if not w[0].startswith("DELETE")]
                    apply(conn_a, writes)
                    apply(conn_b, writes)
                # Each step is its own slot, whatever the job's cron.
                full = await run_job(full_engine, job, now, slot=now)
                inc = await run_job(inc_engine, job, now, slot=now)
                assert full.status == inc.status == "ok", (full.run, inc.run)
                assert full.run.evaluated is not None and inc.run.evaluated is not None
                assert full.run.evaluated["full"] == full.run.users
                full_evaluated += full.run.users
                if k == 0:
                    first_full = full.run.users
                inc_evaluated += inc.run.users
                for reason, count in inc.run.evaluated.items():
                    reasons[reason] += count
                a, b = stored(conn_a), stored(conn_b)
                assert a == b, (job.name, k, now, sorted(set(a) ^ set(b))[:10])
    # Not vacuous: the job stored suggestions, the incremental side saw changes and due
    # travelers after its first full pass, and did less work than the full runs.
    assert a, job.name
    # One full pass only (the first run): every active traveler, as many as a full run.
    assert reasons["full"] == first_full > 0 and reasons["changed"] > 0, (reasons, first_full)
    assert inc_evaluated < full_evaluated, (inc_evaluated, full_evaluated, reasons)
