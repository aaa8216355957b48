"""Per-caller token buckets, in this process's memory.

Each caller (API token, JWT subject, else client address) has a bucket of ``burst`` tokens
refilled at ``per_minute / 60`` tokens a second; a request takes one. With several server
processes each has its own buckets, so the effective limit is multiplied by their number.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float  # clock reading of the last refill


class TokenBucketLimiter:
    """Token buckets keyed by caller; the least recently seen are forgotten past ``max_keys``
    (a forgotten caller starts again with a full bucket)."""

    def __init__(self, per_minute: float, burst: int, *, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0  # tokens per second; 0 turns limiting off
        self.burst = float(burst)
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    @property
    def enabled(self) -> bool:
        """False when PAM_RATE_LIMIT_PER_MINUTE is 0."""
        return self.rate > 0

    def take(self, key: str) -> float:
        """Take one token for ``key``. Returns 0.0 when allowed, else the seconds until a
        token is available (nothing taken)."""
        if not self.enabled:
            return 0.0
        now = self.clock()
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = _Bucket(self.burst, now)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
        self._buckets[key] = bucket  # most recently seen last
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate
