"""What the demo's sweep told its travelers: how many were told something, how many got
several suggestions, and which types could not occur on the demo's date and why."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.demo.reference import ZONE_OF_STATE
from pam_proactive.demo.ruled_out import local_dates, ruled_out
from pam_proactive.demo.statements import DemoStatements
from pam_proactive.engine import Engine


@dataclass(slots=True)
class SuggestionsPerTraveler:
    """Suggestions found per traveler in a sweep, fed batch by batch."""

    counts: Counter[str] = field(default_factory=Counter)

    def add(self, user_ids: Sequence[UUID | str]) -> None:
        """Count one suggestion for each id (an id repeats for several suggestions)."""
        self.counts.update(str(u) for u in user_ids)

    def with_at_least(self, n: int) -> int:
        """Travelers with ``n`` or more suggestions."""
        return sum(1 for c in self.counts.values() if c >= n)


@dataclass(frozen=True, slots=True)
class Told:
    """Travelers notified by the demo's sweep (outbox rows), out of those monitored."""

    monitored: int
    told: int
    told_three_or_more: int  # three notifications or more (a digest counts once)
    single: int = 0  # travelers with a notification of its own
    digest: int = 0  # travelers whose daily digest gathers their non-urgent ones

    @property
    def share(self) -> float:
        """Share of the monitored travelers told something, 0..1."""
        return self.told / self.monitored if self.monitored else 0.0


async def told(engine: Engine, monitored: int) -> Told:
    """Count the travelers with notifications in the engine's outbox (the demo's database
    is fresh: every row is from its sweep)."""
    rows = await engine.db.fetch(*DemoStatements.for_schema(engine.settings.engine_schema).told)
    told_any, three, single, digest = rows[0] if rows else (0, 0, 0, 0)
    return Told(monitored, int(told_any), int(three), int(single), int(digest))


DEMO_ZONES: frozenset[str | None] = frozenset({*ZONE_OF_STATE.values(), None})
"""Every time zone a demo traveler can have (None: none recorded, read as UTC)."""


def demo_ruled_out(now: datetime, found: Collection[str],
                   detector_settings: DetectorSettings) -> dict[str, str]:
    """Types not found that no demo traveler could get at ``now`` (on any of their local
    dates), each with its reason."""
    reasons = ruled_out(local_dates(now, set(DEMO_ZONES)), detector_settings)
    return {kind: why for kind, why in reasons.items() if kind not in found}
