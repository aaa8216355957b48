"""A worker process for the multiprocess metrics test: sweeps some users under a bound job,
records the job run, says "ready" and keeps its pool open until stdin closes.

Run with PROMETHEUS_MULTIPROC_DIR set: argv = database URI, job name, user ids..."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

from pam_proactive.config import load_settings
from pam_proactive.engine import open_engine
from pam_proactive.jobs.pipeline.sweeps import sweep
from pam_proactive.logs import bind
from pam_proactive.observability import metrics

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


async def main(uri: str, job: str, ids: list[str]) -> None:
    async with open_engine(load_settings(preset="seed", batch_size=7), conninfo=uri) as engine:
        with bind(job=job, run_id=1):
            report = await sweep(engine, NOW, user_ids=ids, deliver=False)
        metrics.observe_job_run(job, "ok", report.seconds)
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
