"""Per-traveler adaptation from dismissal reasons: bounded, explained and reversible.

What a traveler's reasons change, per suggestion type (the thresholds are settings; the
engine-wide rules themselves never move):

* ``not_useful`` — the answers of the last ``window`` days set a level, never lowered but by
  a reset: **1** the cooldown after a dismissal of that type is multiplied by
  ``cooldown_factor``; **2** also *digest only*: its low and medium notifications are not sent
  on their own (:func:`digest_only`, SQL ``digest_only(user, type)``, the predicate the daily
  digest consults; until the digest routes them, they are listed in the app and the API but
  pushed nowhere, and a rise to high or critical is notified at once); **3** also one
  ``adaptation_offer`` suggestion "turn these off?" (made once: acting on it adds the type to
  the traveler's disabled types through the preference function; dismissing it keeps them).
* ``too_early`` — the type's first low or medium notification of a subject is held
  ``hold_step_days`` whole days per answer of the window, at most ``hold_max_days``, and never
  past the subject's deadline (SQL ``subject_deadline``: expiry, event or trip start, due
  date) less ``hold_notice_days``.
* ``wrong`` — that subject (user + dedup_key) is silenced while its numbers stay those the
  traveler judged (SQL ``subject_fingerprint``: ``data`` without clock-derived values); a
  candidate with other numbers is suggested again.

Adaptations are computed by the store from ``feedback`` (``StoreStatements.adapt``, set-based per
batch), stored in ``adaptations``, named in each suggestion's ``why`` (:func:`describe`), in
the traveler's export, and reset by the traveler or the operator (SQL ``reset_adaptations``,
the one implementation behind the API, the CLI and Supabase's ``reset_my_adaptations``).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from pam_proactive.analysis.dates import require_aware
from pam_proactive.config import Settings, parse_levels
from pam_proactive.db.connection import Database, Transaction, within
from pam_proactive.suggestions.adaptation_sql import AdaptationStatements
from pam_proactive.suggestions.detectors.engine_types import ADAPTATION_OFFER
from pam_proactive.suggestions.models import Candidate, Priority

log = logging.getLogger(__name__)

OFFER_TYPE = ADAPTATION_OFFER.name  # the one-time "turn these off?" suggestion
OFFER_LIFETIME = timedelta(days=14)  # an unanswered offer expires then; it is not made again
DIGEST_LEVEL = 2  # not_useful level from which a type goes to the digest only
URGENT = Priority.HIGH  # from this priority, no adaptation delays a notification

Kind = Literal["not_useful", "too_early", "wrong"]
ResetBy = Literal["traveler", "operator"]


@dataclass(frozen=True, slots=True)
class AdaptationPolicy:
    """The bounds of adaptation (from the ``PAM_ADAPT*`` settings)."""

    enabled: bool = True
    window: timedelta = timedelta(days=60)  # answers counted for levels and holds
    levels: tuple[int, int, int] = (2, 3, 4)  # not_useful answers for levels 1, 2, 3
    cooldown_factor: int = 2  # level >= 1: the cooldown is multiplied by it
    hold_step_days: int = 1  # per too_early answer
    hold_max_days: int = 7
    hold_notice_days: int = 2  # a hold ends at least this long before the deadline

    def __post_init__(self) -> None:
        low, mid, high = self.levels
        if not 1 <= low < mid < high:
            raise ValueError("AdaptationPolicy.levels must increase from 1")
        if not 1 <= self.cooldown_factor <= 8:
            raise ValueError("AdaptationPolicy.cooldown_factor must be 1 to 8")
        if self.hold_max_days < 0 or self.hold_step_days < 1 or self.hold_notice_days < 0:
            raise ValueError("AdaptationPolicy holds must not be negative")

    @classmethod
    def from_settings(cls, s: Settings) -> AdaptationPolicy:
        """The policy of the ``adaptation`` and ``adapt_*`` settings."""
        return cls(enabled=s.adaptation, window=timedelta(days=s.adapt_window_days),
                   levels=parse_levels(s.adapt_not_useful_answers),
                   cooldown_factor=s.adapt_cooldown_factor,
                   hold_step_days=s.adapt_hold_step_days, hold_max_days=s.adapt_hold_max_days,
                   hold_notice_days=s.adapt_hold_notice_days)

    def params(self) -> dict[str, Any]:
        """The store statements' parameters."""
        l1, l2, l3 = self.levels
        return {"adapt": self.enabled, "window": self.window, "l1": l1, "l2": l2, "l3": l3,
                "factor": self.cooldown_factor, "step": self.hold_step_days,
                "max_hold": self.hold_max_days,
                "notice": timedelta(days=self.hold_notice_days)}


@dataclass(frozen=True, slots=True)
class Adaptation:
    """One stored adaptation (a row of ``adaptations``); level 0 means reset."""

    user_id: UUID
    type: str
    kind: Kind
    dedup_key: str  # the silenced subject of 'wrong'; '' otherwise
    level: int
    value: int  # not_useful: the cooldown factor; too_early: hold days
    answers: int  # the answers of this kind counted since the last reset
    since: datetime | None
    updated_at: datetime
    offered_at: datetime | None
    offer_answered_at: datetime | None
    reset_at: datetime | None
    reset_by: str | None

    @property
    def in_force(self) -> bool:
        """True while it changes anything."""
        return self.level > 0

    def as_json(self) -> dict[str, Any]:
        """JSON for the API, the CLI and the export, with its explanation."""
        def iso(v: datetime | None) -> str | None:
            return None if v is None else v.isoformat()
        return {"type": self.type, "kind": self.kind, "dedup_key": self.dedup_key or None,
                "level": self.level, "value": self.value, "answers": self.answers,
                "in_force": self.in_force, "since": iso(self.since),
                "updated_at": iso(self.updated_at), "offered_at": iso(self.offered_at),
                "offer_answered_at": iso(self.offer_answered_at),
                "reset_at": iso(self.reset_at), "reset_by": self.reset_by,
                "explanation": describe(self)}


def digest_only(level: int) -> bool:
    """True when a not_useful ``level`` sends the type's non-urgent notifications to the
    digest only (the same rule as SQL ``digest_only``)."""
    return level >= DIGEST_LEVEL


def _times(n: int) -> str:
    return "once" if n == 1 else "twice" if n == 2 else f"{n} times"


def describe(a: Adaptation) -> str:
    """What the adaptation does and why, in a sentence for the traveler."""
    label = a.type.replace("_", " ")
    if not a.in_force:
        by = f" by the {a.reset_by}" if a.reset_by else ""
        return f"Reset{by}: {label} suggestions follow the usual rules again."
    said = f"You told us {label} suggestions were"
    if a.kind == "not_useful":
        parts = [f"they wait {a.value} times longer after you dismiss one"]
        if digest_only(a.level):
            parts.append("the low and medium ones are no longer sent on their own "
                         "(digest only)")
        if a.level >= 3:
            parts.append("we offered once to turn them off")
        return f"{said} not useful {_times(a.answers)}, so " + "; ".join(parts) + "."
    if a.kind == "too_early":
        days = f"{a.value} day{'s' if a.value != 1 else ''}"
        return (f"{said} too early {_times(a.answers)}, so their first low or medium "
                f"notification is held {days}, never past the point where acting on it "
                "would come too late.")
    return ("You told us this suggestion was wrong, so it stays silent until the numbers "
            "behind it change.")


def offer_candidate(user_id: UUID, offered_type: str, answers: int, offered_at: datetime
                    ) -> Candidate:
    """The one-time "turn these off?" suggestion for ``offered_type`` (low priority; expires
    :data:`OFFER_LIFETIME` after ``offered_at``, and is not made again)."""
    label = offered_type.replace("_", " ")
    return Candidate(
        user_id=str(user_id), type=OFFER_TYPE, priority=Priority.LOW,
        title=f"Turn off {label} suggestions?",
        message=(f"You told us {_times(answers)} that {label} suggestions were not useful, so "
                 "we already send them less often. Mark this done to turn them off (you can "
                 "turn them back on in your notification settings), or dismiss it to keep "
                 "them. We will not ask again."),
        dedup_key=f"{OFFER_TYPE}:{offered_type}",
        data={"offered_type": offered_type, "not_useful_answers": answers,
              "offered_at": offered_at.isoformat()},
        computed_for=offered_at, expires_at=offered_at + OFFER_LIFETIME)



def _adaptation(row: Sequence[Any]) -> Adaptation:
    return Adaptation(user_id=row[0], type=row[1], kind=row[2], dedup_key=row[3],
                      level=int(row[4]), value=int(row[5]), answers=int(row[6]), since=row[7],
                      updated_at=row[8], offered_at=row[9], offer_answered_at=row[10],
                      reset_at=row[11], reset_by=row[12])


async def in_force(db: Database, schema: str, pairs: Collection[tuple[UUID, str]]
                   ) -> dict[tuple[UUID, str], list[Adaptation]]:
    """The type-wide adaptations in force of some (user, type) pairs, for explanations."""
    if not pairs:
        return {}
    params = {"users": sorted({u for u, _ in pairs}), "types": sorted({t for _, t in pairs})}
    found: dict[tuple[UUID, str], list[Adaptation]] = {}
    for row in await db.fetch(*AdaptationStatements.for_schema(schema).in_force, params):
        a = _adaptation(row)
        if (a.user_id, a.type) in pairs:
            found.setdefault((a.user_id, a.type), []).append(a)
    return found


async def list_adaptations(db: Database, schema: str, user_id: UUID | None = None,
                           *, include_reset: bool = True, markers: bool = False,
                           limit: int = 1000) -> list[Adaptation]:
    """Stored adaptations (one traveler's, or everyone's), most recently changed first: those
    in force, and with ``include_reset`` those reset; with ``markers`` also the rows a reset
    wrote only to restart a type's count (never in force)."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    rows = await db.fetch(*AdaptationStatements.for_schema(schema).list,
                          {"user_id": user_id, "all": include_reset, "markers": markers,
                           "limit": limit})
    return [_adaptation(r) for r in rows]


async def reset(db: Database | Transaction, schema: str, user_id: UUID,
                suggestion_type: str | None, now: datetime, by: ResetBy) -> int:
    """Reverse a traveler's adaptations of one type (None: every type): the answers given
    until ``now`` no longer count. Returns how many were in force."""
    require_aware(now, "now")
    params = {"user_id": user_id, "type": suggestion_type, "now": now, "by": by}
    q = AdaptationStatements.for_schema(schema)
    async with within(db, "reset_adaptations") as tx:
        count = int(await tx.fetch_value(*q.reset, params) or 0)
    log.info("adaptations reset by the %s: %d in force", by, count)
    return count


async def export(db: Database, schema: str, user_id: UUID) -> list[dict[str, Any]]:
    """Every stored adaptation row of a traveler, for the privacy export."""
    return [a.as_json() for a in await list_adaptations(db, schema, user_id, markers=True,
                                                        limit=100_000)]


async def erase(tx: Transaction, schema: str, user_id: UUID) -> int:
    """Delete a traveler's adaptations (inside the erasure's transaction)."""
    return await tx.execute(*AdaptationStatements.for_schema(schema).erase, {"user_id": user_id})


def explained(adaptations: Sequence[Adaptation]) -> list[dict[str, Any]]:
    """The ``why.adaptations`` entries of a suggestion: kind, level, value, answers, since and
    the sentence saying what it does."""
    return [{"kind": a.kind, "level": a.level, "value": a.value, "answers": a.answers,
             "since": None if a.since is None else a.since.isoformat(),
             "effect": describe(a)} for a in adaptations if a.in_force]

