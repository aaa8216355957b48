"""The column-wise package makes Polars' in-memory engine the process's default, unless the
operator chose an engine (``POLARS_ENGINE_AFFINITY``), and keeps it out of the environment
its child processes inherit. Each case runs in a fresh interpreter: the setting is made once,
when the package is first imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# Which engine a plain ``collect()`` resolves to, and what the environment then holds.
_PROBE = """
import json, os
import polars as pl
from polars.lazyframe.engine_config import _select_engine
import pam_proactive.data.columnar.frames  # the package's first import, as the loader's
frame = pl.LazyFrame({"i": [2, 1]}).sort("i").collect()  # a query runs under the setting
print(json.dumps({"engine": type(_select_engine("auto")).__name__,
                  "env": os.environ.get("POLARS_ENGINE_AFFINITY"),
                  "rows": frame["i"].to_list()}))
"""


def _probe(affinity: str | None) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != "POLARS_ENGINE_AFFINITY"}
    if affinity is not None:
        env["POLARS_ENGINE_AFFINITY"] = affinity
    done = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True,
                          text=True, check=True, timeout=120)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert isinstance(found, dict)
    return found


def test_the_in_memory_engine_is_the_default_and_stays_in_the_process() -> None:
    assert _probe(None) == {"engine": "InMemoryEngine", "env": None, "rows": [1, 2]}


@pytest.mark.parametrize(("affinity", "engine"), [("streaming", "StreamingEngine"),
                                                  ("in-memory", "InMemoryEngine")])
def test_an_operators_engine_is_kept(affinity: str, engine: str) -> None:
    assert _probe(affinity) == {"engine": engine, "env": affinity, "rows": [1, 2]}
