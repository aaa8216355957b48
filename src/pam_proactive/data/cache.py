"""A bounded TTL cache of user contexts, measured on the injected clock.

An entry built at ``now = t`` serves requests for ``now`` in ``[t, t + ttl)``: the TTL runs on
the clock the caller passes in, so replays and tests are deterministic. The last entry of a
user is kept past its TTL (until evicted) to stand in, marked stale, when the database is down.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections import OrderedDict
from datetime import datetime
from uuid import UUID

from pam_proactive.context import UserContext
from pam_proactive.observability import metrics


class ContextCache:
    """LRU-bounded, per-user cache with hit, miss and eviction counters."""

    def __init__(self, ttl_seconds: float, max_entries: int) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[UUID, UserContext] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self.stale_served = 0
        # A dropped cache's entries leave the entries gauge with it.
        weakref.finalize(self, lambda e: metrics.cache_changed(removed=len(e)), self._entries)

    def get(self, user_id: UUID, now: datetime) -> UserContext | None:
        """The cached context if it is fresh at ``now``, else None (a miss)."""
        ctx = self._entries.get(user_id)
        if ctx is not None and 0 <= (now - ctx.now).total_seconds() < self.ttl_seconds:
            self._entries.move_to_end(user_id)
            self.hits += 1
            metrics.cache_lookup(hit=True)
            return ctx
        self.misses += 1
        metrics.cache_lookup(hit=False)
        return None

    def get_stale(self, user_id: UUID) -> UserContext | None:
        """The last context of the user whatever its age, copied and marked stale."""
        ctx = self._entries.get(user_id)
        if ctx is None:
            return None
        self.stale_served += 1
        metrics.cache_changed(stale_served=1)
        quality = dataclasses.replace(ctx.data_quality, stale=True)
        return dataclasses.replace(ctx, data_quality=quality)

    def put(self, ctx: UserContext) -> None:
        """Store ``ctx``, evicting the least recently used entries beyond the bound."""
        if self.ttl_seconds <= 0:
            return
        added = ctx.user_id not in self._entries
        self._entries[ctx.user_id] = ctx
        self._entries.move_to_end(ctx.user_id)
        evicted = 0
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
            evicted += 1
        self.evictions += evicted
        metrics.cache_changed(added=int(added), evicted=evicted)

    def invalidate(self, user_id: UUID) -> bool:
        """Forget one user's entry (e.g. after a new expense); True if there was one."""
        gone = self._entries.pop(user_id, None) is not None
        metrics.cache_changed(removed=int(gone))
        return gone

    def clear(self) -> None:
        """Forget everything; counters are kept."""
        metrics.cache_changed(removed=len(self._entries))
        self._entries.clear()

    def stats(self) -> dict[str, float]:
        """Entries, hits, misses, evictions, stale values served and the hit rate (0..1)."""
        lookups = self.hits + self.misses
        return {
            "cache_size": len(self._entries),
            "cache_max_entries": self.max_entries,
            "cache_hits": self.hits,
            "cache_misses": self.misses,
            "cache_evictions": self.evictions,
            "cache_stale_served": self.stale_served,
            "cache_hit_rate": round(self.hits / lookups, 4) if lookups else 0.0,
        }
