"""Query timing: count, mean and p95 per statement name; slow queries logged by name only."""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from pam_proactive.observability import metrics as prometheus

log = logging.getLogger(__name__)

_WINDOW = 2048  # recent durations kept per statement for the p95


@dataclass(slots=True)
class _Stat:
    count: int = 0
    errors: int = 0
    total_s: float = 0.0
    slow: int = 0
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=_WINDOW))


def _p95(values: deque[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


class QueryMetrics:
    """Per-statement query timings. Parameter values are never recorded."""

    def __init__(self, slow_seconds: float = 1.0) -> None:
        self.slow_seconds = slow_seconds
        self._stats: dict[str, _Stat] = {}

    def record(self, name: str, seconds: float, *, ok: bool = True) -> None:
        """Record one execution of statement ``name`` that took ``seconds``."""
        stat = self._stats.setdefault(name, _Stat())
        stat.count += 1
        stat.total_s += seconds
        stat.recent.append(seconds)
        if not ok:
            stat.errors += 1
        slow = seconds > self.slow_seconds
        prometheus.observe_query(name, seconds, ok=ok, slow=slow)
        if slow:
            stat.slow += 1
            log.warning("slow query", extra={"statement": name, "seconds": round(seconds, 3)})

    def snapshot(self) -> dict[str, Any]:
        """Totals and per-statement figures; times in milliseconds."""
        per = {
            name: {
                "count": s.count,
                "errors": s.errors,
                "mean_ms": round(1000 * s.total_s / s.count, 3) if s.count else 0.0,
                "p95_ms": round(1000 * _p95(s.recent), 3),
                "slow": s.slow,
            }
            for name, s in sorted(self._stats.items())
        }
        count = sum(s.count for s in self._stats.values())
        total = sum(s.total_s for s in self._stats.values())
        everything: deque[float] = deque()
        for s in self._stats.values():
            everything.extend(s.recent)
        return {
            "queries_executed": count,
            "query_errors": sum(s.errors for s in self._stats.values()),
            "average_query_ms": round(1000 * total / count, 3) if count else 0.0,
            "p95_query_ms": round(1000 * _p95(everything), 3),
            "slow_queries": sum(s.slow for s in self._stats.values()),
            "statements": per,
        }
