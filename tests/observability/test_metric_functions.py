"""The recording functions: bad labels are refused, pools are held weakly, cache entries
follow the caches."""

from __future__ import annotations

import gc
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from pam_proactive.data.cache import ContextCache
from pam_proactive.observability import metrics
from suggestions.detectors.factory import make_context


def gauge(g: object) -> float:
    return float(g._value.get())  # type: ignore[attr-defined]


def test_unknown_outcomes_and_transitions_are_refused() -> None:
    with pytest.raises(ValueError, match="job outcome"):
        metrics.observe_job_run("x", "success", 1.0)
    with pytest.raises(ValueError, match="transition"):
        metrics.observe_suggestions("dismissed", [("fuel_low", "low", 1)])


class _Pool:
    def __init__(self, size: int, available: int) -> None:
        self.size, self.available = size, available

    def stats(self) -> dict[str, int]:
        return {"pool_size": self.size, "pool_available": self.available, "pool_max": 4,
                "requests_waiting": 1}


def test_pools_are_summed_and_dropped_with_their_owner() -> None:
    gc.collect()  # databases of earlier tests that are already unreachable drop out first
    metrics.refresh_pools()
    base_size, base_use = gauge(metrics.POOL_SIZE), gauge(metrics.POOL_IN_USE)
    a, b = _Pool(3, 1), _Pool(2, 2)
    metrics.track_pool(a.stats)
    metrics.track_pool(b.stats)
    metrics.refresh_pools()
    assert gauge(metrics.POOL_SIZE) == base_size + 5
    assert gauge(metrics.POOL_IN_USE) == base_use + 2
    del a, b
    gc.collect()
    metrics.refresh_pools()
    assert gauge(metrics.POOL_SIZE) == base_size and gauge(metrics.POOL_IN_USE) == base_use


def test_cache_entries_follow_puts_evictions_and_dropped_caches() -> None:
    base = gauge(metrics.CACHE_ENTRIES)
    now = datetime(2026, 11, 25, tzinfo=UTC)
    cache = ContextCache(ttl_seconds=60, max_entries=2)
    for _ in range(3):
        cache.put(make_context(user_id=uuid4(), now=now))
    assert gauge(metrics.CACHE_ENTRIES) == base + 2 and cache.evictions == 1
    del cache
    gc.collect()
    assert gauge(metrics.CACHE_ENTRIES) == base
