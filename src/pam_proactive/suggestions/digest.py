"""The daily digest's rules: who gets one, which priorities go into it, and when it is due.

A traveler's non-urgent notifications (``low`` and ``medium`` by default) are not sent one by
one: each waits in the outbox as a *digest item* until the traveler's digest hour (local
wall-clock, default 08:00), when the delivery drain gathers the items still live into ONE
notification (:mod:`.digest_assembly`). A digest hour inside quiet hours moves to their end.
``critical`` never waits. Pure functions of the settings, a profile and the clock.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from pam_proactive.config import DIGEST_PRIORITY_LABELS
from pam_proactive.context import Profile
from pam_proactive.suggestions.local_time import local_instant, quiet_hours_end, user_zone
from pam_proactive.suggestions.models import Priority

DEFAULT_HOUR = 8  # local hour of the digest: the morning, before the day's driving
DEFAULT_PRIORITIES: frozenset[Priority] = frozenset({Priority.LOW, Priority.MEDIUM})


def parse_priorities(labels: Collection[str]) -> frozenset[Priority]:
    """Digest priorities from their labels; ValueError naming the allowed ones."""
    wrong = sorted(set(labels) - set(DIGEST_PRIORITY_LABELS))
    if wrong or not labels:
        raise ValueError("must list one or more of low, medium, high (critical is always sent "
                         "at once)")
    return frozenset(Priority.from_label(label) for label in labels)


@dataclass(frozen=True, slots=True)
class DigestPolicy:
    """Whether a traveler's non-urgent notifications wait for a daily digest, at which local
    hour (0-23) and for which priorities (never critical)."""

    enabled: bool = True
    hour: int = DEFAULT_HOUR
    priorities: frozenset[Priority] = DEFAULT_PRIORITIES

    def __post_init__(self) -> None:
        if not 0 <= self.hour <= 23:
            raise ValueError("DigestPolicy.hour must be a local hour from 0 to 23")
        if not self.priorities or Priority.CRITICAL in self.priorities:
            raise ValueError("DigestPolicy.priorities must be a non-empty set without critical")

    def override(self, enabled: bool | None, hour: int | None,
                 priorities: Sequence[str] | None) -> DigestPolicy:
        """This (engine-wide) policy with a traveler's stored choices (None: keep ours)."""
        return DigestPolicy(
            enabled=self.enabled if enabled is None else enabled,
            hour=self.hour if hour is None else hour,
            priorities=self.priorities if priorities is None else parse_priorities(priorities))

    @property
    def ranks(self) -> list[int]:
        """The priority ranks going to the digest; empty when the digest is off."""
        return sorted(int(p) for p in self.priorities) if self.enabled else []


@dataclass(frozen=True, slots=True)
class DigestSlot:
    """When one digest is due: ``at`` (UTC) for the traveler's local ``day``."""

    at: datetime
    day: date


def _slot(profile: Profile, hour: int, day: date) -> DigestSlot:
    at = local_instant(day, time(hour), user_zone(profile))
    return DigestSlot(quiet_hours_end(profile, at) or at, day)


def digest_slots(profile: Profile, hour: int, now: datetime) -> tuple[DigestSlot, DigestSlot]:
    """The traveler's next digest at or after ``now`` (local ``hour``:00, or the end of quiet
    hours when it falls inside them), and the one of the following local day (for items
    written after today's digest already went out)."""
    today = now.astimezone(user_zone(profile)).date()
    # Yesterday's may still be ahead: a late hour moved past midnight by quiet hours. Tomorrow's
    # always is (its hour is after today's end).
    first = next(slot for slot in (_slot(profile, hour, today + timedelta(days=d))
                                   for d in (-1, 0, 1)) if slot.at >= now)
    return first, _slot(profile, hour, first.day + timedelta(days=1))


def policy_of(default: DigestPolicy, row: Sequence[Any] | None) -> DigestPolicy:
    """A traveler's policy from their ``user_preferences`` digest columns (enabled, hour,
    priorities; the row None or a column NULL: the engine's ``default``)."""
    if row is None:
        return default
    enabled, hour, priorities = row
    return default.override(enabled, hour, priorities)
