"""The interpreter's pace while evaluations run: the collector's thresholds raised and the
switch interval lowered for their duration, overlapping ones included, and the process's own
values back once the last one ends (however it ends)."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from conftest import MakeDatabase, settings_for
from pam_proactive.engine import open_engine
from pam_proactive.jobs.pipeline.evaluate import Evaluation
from pam_proactive.jobs.pipeline.pace import SWEEP_SWITCH_INTERVAL, SWEEP_THRESHOLDS, sweep_pace
from pam_proactive.jobs.pipeline.selection import Given
from planting import Planter

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
DEFAULTS = (700, 10, 10)
DEFAULT_INTERVAL = 0.005  # CPython's switch interval, seconds


@pytest.fixture(autouse=True)
def default_pace() -> Iterator[None]:
    """Each test starts from CPython's defaults and leaves the process as it found it."""
    found, interval = gc.get_threshold(), sys.getswitchinterval()
    gc.set_threshold(*DEFAULTS)
    sys.setswitchinterval(DEFAULT_INTERVAL)
    yield
    gc.set_threshold(*found)
    sys.setswitchinterval(interval)


def test_set_inside_and_restored_after() -> None:
    with sweep_pace():
        assert gc.get_threshold() == SWEEP_THRESHOLDS
        assert sys.getswitchinterval() == pytest.approx(SWEEP_SWITCH_INTERVAL)
    assert gc.get_threshold() == DEFAULTS
    assert sys.getswitchinterval() == pytest.approx(DEFAULT_INTERVAL)
    assert SWEEP_SWITCH_INTERVAL < DEFAULT_INTERVAL


def test_overlapping_blocks_restore_only_when_the_last_ends() -> None:
    first, second = sweep_pace(), sweep_pace()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # not nested: the first ends while the second runs
    assert gc.get_threshold() == SWEEP_THRESHOLDS
    assert sys.getswitchinterval() == pytest.approx(SWEEP_SWITCH_INTERVAL)
    second.__exit__(None, None, None)
    assert gc.get_threshold() == DEFAULTS
    assert sys.getswitchinterval() == pytest.approx(DEFAULT_INTERVAL)


def test_a_process_higher_threshold_is_kept() -> None:
    gc.set_threshold(500_000, 5, 100)
    with sweep_pace():
        assert gc.get_threshold() == (500_000, SWEEP_THRESHOLDS[1], 100)
    assert gc.get_threshold() == (500_000, 5, 100)


def test_a_process_lower_switch_interval_is_kept() -> None:
    lower = SWEEP_SWITCH_INTERVAL / 2
    sys.setswitchinterval(lower)
    with sweep_pace():
        assert sys.getswitchinterval() == pytest.approx(lower)
    assert sys.getswitchinterval() == pytest.approx(lower)


def test_restored_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), sweep_pace():
        raise RuntimeError("a failed batch")
    assert gc.get_threshold() == DEFAULTS
    assert sys.getswitchinterval() == pytest.approx(DEFAULT_INTERVAL)


async def test_an_evaluation_runs_at_the_pace_and_restores_it(make_database: MakeDatabase
                                                              ) -> None:
    uri = await make_database("seed")
    with Planter(uri, "seed") as p:
        uid = p.near_budget()
    async with open_engine(settings_for("seed"), conninfo=uri) as engine:
        seen = []
        run = Evaluation(engine, NOW, Given([uid]), dry_run=True)
        async for batch in run:
            seen.append((batch.users, gc.get_threshold(), sys.getswitchinterval()))
        assert [(users, thresholds) for users, thresholds, _ in seen] == [(1, SWEEP_THRESHOLDS)]
        assert seen[0][2] == pytest.approx(SWEEP_SWITCH_INTERVAL)
        assert gc.get_threshold() == DEFAULTS
        assert sys.getswitchinterval() == pytest.approx(DEFAULT_INTERVAL)
        assert run.report.by_type == {"budget_threshold": 1}

        # A consumer that stops after the first batch: closing the run restores the pace.
        early = Evaluation(engine, NOW, Given([uid]), dry_run=True).__aiter__()
        assert (await early.__anext__()).users == 1
        assert gc.get_threshold() == SWEEP_THRESHOLDS
        assert sys.getswitchinterval() == pytest.approx(SWEEP_SWITCH_INTERVAL)
        await early.aclose()
        assert gc.get_threshold() == DEFAULTS
        assert sys.getswitchinterval() == pytest.approx(DEFAULT_INTERVAL)
