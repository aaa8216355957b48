"""Relations between suggestion kinds: one cause, one notification (pure).

Two detectors can describe one cause: a departure reminder tells the traveler how much fuel
to buy and which service falls due before the trip, so a standalone ``fuel_low`` or
``maintenance_*`` for the same vehicle and task says the same thing again. The relations
between kinds are declared once, in :data:`RELATIONS`, like Alertmanager's inhibition rules
with ``equal`` labels: a live suggestion of the *holder* kind holds back the suggestions of
the *held* kinds that name the same subject of the relation's kind (``fuel:<vehicle>``,
``service:<vehicle>:<task>``, ...). Detectors name the subjects a suggestion speaks about
(:attr:`Candidate.subjects`, built with the helpers below).

A held suggestion is stored and listed (with the holder it is part of), never notified on
its own; it is released (notified then, if still live and never notified) once no live
holder names its subject any more. :func:`holders` decides it from a traveler's live
suggestions; the store (:mod:`pam_proactive.suggestions.store`) applies it.

Kinds that describe one subject at different severities share a dedup key instead (the
three budget kinds: ``budget:<budget>:<period>``), so they are one suggestion that changes
kind, never two.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Generic, TypeVar

# Subject kinds (the first part of a subject).
FUEL = "fuel"
SERVICE = "service"
BUDGET = "budget"


@dataclass(frozen=True, slots=True)
class Relation:
    """A live ``holder`` suggestion holds back the ``held`` kinds naming one subject of kind
    ``on`` that it names too; ``why`` says so in the docs' words (docs/suggestions.md)."""

    holder: str
    held: frozenset[str]
    on: str
    why: str


RELATIONS: tuple[Relation, ...] = (
    Relation("departure_reminder", frozenset({"fuel_low"}), FUEL,
             "the reminder says how much fuel to buy before the trip"),
    Relation("departure_reminder", frozenset({"maintenance_due_soon", "maintenance_overdue"}),
             SERVICE, "the reminder lists the service due before or during the trip"),
    Relation("budget_exceeded", frozenset({"spending_anomaly"}), BUDGET,
             "the unusual expense is one the exceeded budget counts"),
)


def _check(relations: Iterable[Relation]) -> None:
    """A kind is either a holder or held, never both: holding never chains, so the outcome
    does not depend on the order suggestions are looked at."""
    holding = {r.holder for r in relations}
    held = {k for r in relations for k in r.held}
    if holding & held:
        raise ValueError(f"kinds both holding and held: {sorted(holding & held)}")


_check(RELATIONS)

# Every kind some relation names (the store reads only these live suggestions back).
RELATED_TYPES: frozenset[str] = frozenset(
    {r.holder for r in RELATIONS} | {k for r in RELATIONS for k in r.held})

# Held kind -> the relations that can hold it back.
_HOLDING: Mapping[str, tuple[Relation, ...]] = MappingProxyType({
    kind: tuple(r for r in RELATIONS if kind in r.held)
    for kind in {k for r in RELATIONS for k in r.held}
})


def subject(kind: str, *parts: object) -> str:
    """A subject name: ``kind:part:part`` (``fuel:<vehicle>``)."""
    return ":".join((kind, *(str(p) for p in parts)))


def fuel_subject(vehicle_id: str | None) -> str:
    """The fuel of one vehicle (``profile`` when the vehicle has no id), as ``fuel_low``
    keys it."""
    return subject(FUEL, vehicle_id or "profile")


def service_subject(vehicle_id: str | None, task: object) -> str:
    """One maintenance task of one vehicle, as the maintenance detectors key it."""
    return subject(SERVICE, vehicle_id or "-", task)


def budget_subject(budget_id: str, period_start: object) -> str:
    """One budget's period, as the budget detectors key it."""
    return subject(BUDGET, budget_id, period_start)


K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Live(Generic[K]):
    """One live suggestion of one traveler as the relations see it: ``id`` names it for the
    caller, ``dedup_key`` orders holders (the same in every database)."""

    id: K
    type: str
    dedup_key: str
    subjects: tuple[str, ...]


def holders(suggestions: Iterable[Live[K]]) -> dict[K, K]:
    """The held suggestions of one traveler's live ``suggestions``: held id -> holder id.

    A suggestion is held when a relation declares its kind held by another live suggestion's
    kind and both name a subject of the relation's kind. With several holders, the one with
    the smallest dedup key holds it (deterministic). The others are absent (not held).
    """
    items = list(suggestions)
    by_type: dict[str, list[Live[K]]] = {}
    for item in items:
        by_type.setdefault(item.type, []).append(item)
    for group in by_type.values():
        group.sort(key=lambda s: s.dedup_key)
    held: dict[K, K] = {}
    for item in items:
        for relation in _HOLDING.get(item.type, ()):
            mine = {s for s in item.subjects if s.partition(":")[0] == relation.on}
            holder = next((h for h in by_type.get(relation.holder, ())
                           if mine.intersection(h.subjects)), None)
            if holder is not None:
                held[item.id] = holder.id
                break
    return held


__all__ = [
    "RELATED_TYPES",
    "RELATIONS",
    "Live",
    "Relation",
    "budget_subject",
    "fuel_subject",
    "holders",
    "service_subject",
    "subject",
]
