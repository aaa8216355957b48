"""What a detector produces, and the settings detectors read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any

from pam_proactive.analysis.records import quick_init


class Priority(IntEnum):
    """Ordered so that a rise in priority is a comparison."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        """Lower-case name as stored: 'low', 'medium', 'high', 'critical'."""
        return self.name.lower()

    @classmethod
    def from_label(cls, label: str) -> Priority:
        """Parse a stored label."""
        return cls[label.upper()]



@quick_init
@dataclass(frozen=True, slots=True)
class Candidate:
    """A suggestion as a detector sees it, before storage and delivery.

    ``dedup_key`` names the subject (type + subject, e.g. ``budget_exceeded:<budget>:<period>``):
    at most one open suggestion per user and key. ``data`` holds every number behind the
    message (inputs, thresholds, confidence, sources), JSON-serialisable. ``subjects`` name
    the real things it speaks about (``fuel:<vehicle>``, ``service:<vehicle>:<task>``, see
    :mod:`pam_proactive.suggestions.relations`): how one suggestion holds back another about
    the same cause.
    """

    user_id: str
    type: str
    priority: Priority
    title: str
    message: str
    dedup_key: str
    data: dict[str, Any]
    computed_for: datetime
    expires_at: datetime | None = None
    tags: tuple[str, ...] = field(default=())
    subjects: tuple[str, ...] = field(default=())


@quick_init
@dataclass(frozen=True, slots=True)
class Note:
    """Why a detector stayed silent (or left something out): ``detector`` is the detector's
    name (its suggestion type or family), ``reason`` a short phrase with no traveler data."""

    detector: str
    reason: str


@quick_init
@dataclass(frozen=True, slots=True)
class DetectorResult:
    """What one detector found for one context: its candidates, its notes, and rows its
    analysis judged unusable, as (reason, count) pairs (a count is the context's total for
    that reason, the same whichever detector reports it)."""

    candidates: tuple[Candidate, ...] = ()
    notes: tuple[Note, ...] = ()
    skipped: tuple[tuple[str, int], ...] = ()


@quick_init
@dataclass(frozen=True, slots=True)
class Detection:
    """What all detectors found for one context (see ``run_detectors``): candidates in
    detector order, notes without duplicates, and skipped rows by reason."""

    candidates: tuple[Candidate, ...]
    notes: tuple[Note, ...]
    skipped: tuple[tuple[str, int], ...]

    @property
    def rows_skipped(self) -> int:
        """Total rows the analyses skipped."""
        return sum(n for _, n in self.skipped)
