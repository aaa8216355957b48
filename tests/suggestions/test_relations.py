"""The declared relations between suggestion kinds, decided by a pure function."""

from __future__ import annotations

import pytest

from pam_proactive.suggestions.relations import (
    RELATED_TYPES,
    RELATIONS,
    Live,
    Relation,
    _check,
    budget_subject,
    fuel_subject,
    holders,
    service_subject,
)


def live(id_: str, kind: str, *subjects: str, key: str | None = None) -> Live[str]:
    return Live(id_, kind, key or f"{kind}:{id_}", subjects)


def test_departure_reminder_holds_fuel_and_service_of_the_same_vehicle() -> None:
    items = [
        live("trip", "departure_reminder", fuel_subject("v1"), service_subject("v1", "oil")),
        live("fuel", "fuel_low", fuel_subject("v1")),
        live("oil", "maintenance_due_soon", service_subject("v1", "oil")),
        live("tires", "maintenance_overdue", service_subject("v1", "tires")),  # not named
        live("fuel2", "fuel_low", fuel_subject("v2")),  # another vehicle
        live("econ", "fuel_economy_drop", fuel_subject("v1")),  # no relation for this kind
    ]
    assert holders(items) == {"fuel": "trip", "oil": "trip"}


def test_a_reminder_without_the_advice_holds_nothing() -> None:
    # The tank covers the trip: the reminder names no fuel subject, fuel_low stands alone.
    items = [live("trip", "departure_reminder"), live("fuel", "fuel_low", fuel_subject(None))]
    assert holders(items) == {}
    assert fuel_subject(None) == "fuel:profile"
    assert service_subject(None, "oil_change") == "service:-:oil_change"


def test_only_a_subject_of_the_relations_kind_counts() -> None:
    # A departure reminder naming the vehicle's service does not hold its fuel_low, and a
    # fuel_low does not hold anything.
    items = [live("trip", "departure_reminder", service_subject("v1", "oil")),
             live("fuel", "fuel_low", fuel_subject("v1"), service_subject("v1", "oil"))]
    assert holders(items) == {}


def test_several_holders_the_smallest_dedup_key_wins_whatever_the_order() -> None:
    a = live("A", "departure_reminder", fuel_subject("v1"), key="departure_reminder:1")
    b = live("B", "departure_reminder", fuel_subject("v1"), key="departure_reminder:2")
    held = live("fuel", "fuel_low", fuel_subject("v1"))
    assert holders([b, held, a]) == holders([a, held, b]) == {"fuel": "A"}


def test_exceeded_budget_holds_the_anomaly_it_counts() -> None:
    subject = budget_subject("b1", "2026-11-01")
    items = [live("over", "budget_exceeded", subject),
             live("odd", "spending_anomaly", subject),
             live("other", "spending_anomaly", budget_subject("b2", "2026-11-01")),
             live("forecast", "budget_forecast_overspend", budget_subject("b2", "2026-11-01"))]
    assert holders(items) == {"odd": "over"}


def test_relations_are_declared_once_and_never_chain() -> None:
    assert {r.holder for r in RELATIONS} == {"departure_reminder", "budget_exceeded"}
    kinds = {"departure_reminder", "fuel_low", "maintenance_due_soon", "maintenance_overdue",
             "budget_exceeded", "spending_anomaly"}
    assert set(RELATED_TYPES) == kinds
    chain = [Relation("a", frozenset({"b"}), "x", ""), Relation("b", frozenset({"c"}), "x", "")]
    with pytest.raises(ValueError, match="both holding and held"):
        _check(chain)
