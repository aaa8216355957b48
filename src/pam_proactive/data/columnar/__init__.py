"""Column-wise assembly of a batch's contexts (pure: frames in, sections out).

Polars' process-wide engine choice is settled here: every module of this package imports
Polars, and nothing outside it does, so this runs before any query.
"""

from __future__ import annotations

import os

import polars as pl

# Polars 2 runs ``LazyFrame.collect()`` on its streaming engine unless an engine affinity
# says otherwise. Our queries are a batch's rows (tens of thousands at most, ~70 collects a
# batch), where the streaming engine's setup per query costs more than the query. Measured
# by bench/detect.py --users 3000 (contexts built from recorded frames, best of 3, CPU
# seconds, two runs each, same candidates): build 1.21 / 1.02 with streaming, 0.72 / 0.72
# with in-memory (detect too: 0.57 / 0.58 vs 0.44 / 0.54). And on whole dry-run sweeps
# (scratch A/B of bench/columnar.py children on one seeded database, settings alternated, a
# shared 2-core machine), Python CPU seconds, median (best), streaming vs in-memory: 5,000
# travelers, 4 rounds: 3.20 (3.05) vs 2.54 (2.18), wall 4.46 vs 3.53; 20,000, 3 rounds:
# 11.23 (10.51) vs 10.53 (10.16); same candidates. One Polars thread
# (``POLARS_MAX_THREADS=1``) was no better (detect.py build 0.735 with in-memory), so the
# thread pool keeps Polars' default (one thread per core). An operator's own
# ``POLARS_ENGINE_AFFINITY`` is kept (docs/configuration.md).
# An engine object, not the name: Polars keeps it in this process only, where a name goes
# into os.environ, and so to every child process (a benchmark's baseline among them).
if os.environ.get("POLARS_ENGINE_AFFINITY") is None:
    pl.Config.set_engine_affinity(pl.InMemoryEngine())
