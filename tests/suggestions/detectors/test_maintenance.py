"""Maintenance (overdue / due soon) and documents (registration, insurance)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import MaintenanceItem
from pam_proactive.suggestions.detectors.documents import detect_documents
from pam_proactive.suggestions.detectors.maintenance import detect_maintenance
from pam_proactive.suggestions.models import Candidate, DetectorResult, Priority

from .factory import NOW, TODAY, fill, maintenance, make_context, notes_of, trip

S = DetectorSettings()
ODOMETER = {"odometer_miles": 10_600}


def run(*items: MaintenanceItem, **overrides: Any) -> tuple[list[Candidate], DetectorResult]:
    overrides.setdefault("vehicle", ODOMETER)
    ctx = make_context(maintenance=list(items), **overrides)
    result = detect_maintenance(ctx, NOW, S)
    return list(result.candidates), result


def test_overdue_by_date() -> None:
    [found], _ = run(maintenance("m1", "oil_change", due_date=date(2025, 3, 1)))
    assert (found.type, found.priority) == ("maintenance_overdue", Priority.HIGH)
    assert found.title == "Oil change overdue"
    assert found.message.startswith("Oil change: overdue since Sat Mar 1, 9 days ago.")
    assert found.dedup_key == "maintenance:veh-1:oil_change"


def test_overdue_by_estimated_odometer() -> None:
    # the best odometer is the latest fill's 10,650, above the vehicle's stale 10,600
    [found], _ = run(
        maintenance("m1", "tyres", due_mileage=10_620),
        fills=[fill("f", date(2025, 3, 5), 10_650, 20)],
    )
    assert found.type == "maintenance_overdue"
    assert "overdue at 10,620 miles (odometer about 10,650 miles, from the fill-up)" in (
        found.message
    )
    assert found.data["miles_left"] == -30.0


@pytest.mark.parametrize(
    ("item", "due_soon"),
    [
        (maintenance("m", "oil_change", due_date=TODAY + timedelta(days=30)), True),
        (maintenance("m", "oil_change", due_date=TODAY + timedelta(days=31)), False),
        (maintenance("m", "oil_change", due_date=TODAY), True),
        (maintenance("m", "oil_change", due_mileage=11_100), True),  # 500 miles left
        (maintenance("m", "oil_change", due_mileage=11_101), False),
    ],
)
def test_due_soon_boundaries(item: MaintenanceItem, due_soon: bool) -> None:
    found, _ = run(item)
    assert [c.type for c in found] == (["maintenance_due_soon"] if due_soon else [])
    if due_soon:
        assert found[0].priority is Priority.MEDIUM


def test_due_soon_message() -> None:
    [found], _ = run(maintenance("m1", "oil_change", due_mileage=10_900))
    assert found.title == "Oil change due soon"
    assert "due at 10,900 miles, 300 miles from now" in found.message


def test_due_during_a_planned_trip() -> None:
    # 800 miles left before the due mileage; two planned trips of 500 + 400 pass it
    item = maintenance("m1", "brakes", due_mileage=11_400)
    trips = [
        trip("a", "planned", TODAY + timedelta(days=5), distance=500),
        trip("b", "planned", TODAY + timedelta(days=12), destination="Moab, UT", distance=400),
    ]
    [found], _ = run(item, trips=trips)
    assert found.type == "maintenance_due_soon"
    assert "falls due during your planned trip to Moab, UT on Sat Mar 22" in found.message
    assert found.data["trip_id"] == "b"
    far = [trip("c", "planned", TODAY + timedelta(days=45), distance=5000)]
    assert run(item, trips=far)[0] == []


def test_same_key_for_due_soon_and_overdue() -> None:
    soon, _ = run(maintenance("m1", "oil_change", due_date=TODAY + timedelta(days=3)))
    late, _ = run(maintenance("m1", "oil_change", due_date=TODAY - timedelta(days=3)))
    assert soon[0].dedup_key == late[0].dedup_key == "maintenance:veh-1:oil_change"
    assert (soon[0].type, late[0].type) == ("maintenance_due_soon", "maintenance_overdue")


def test_long_stale_records_are_silent_with_a_note() -> None:
    found, result = run(maintenance("m1", "oil_change", due_date=TODAY - timedelta(days=800)))
    assert found == []
    assert any("record probably stale" in n for n in notes_of(result))


def test_other_vehicle_uses_its_own_service_records() -> None:
    items = [
        maintenance(
            "a",
            "oil_change",
            vehicle_id="veh-2",
            performed_on=date(2025, 1, 5),
            mileage=50_000,
            due_mileage=49_000,
        ),
        maintenance("b", "tyres", vehicle_id="veh-2", due_mileage=80_000),
    ]
    found, result = run(*items)
    # 'a' is inconsistent (due before it was done) and 'b' is far off
    assert found == []
    assert any("next due mileage not after the last" in n for n in notes_of(result))


def test_no_due_information_is_silent() -> None:
    assert run(maintenance("m1", "wash"))[0] == []


# --- documents -----------------------------------------------------------------------------


def docs(**vehicle: object) -> tuple[list[Candidate], DetectorResult]:
    ctx = make_context(vehicle=vehicle)
    result = detect_documents(ctx, NOW, S)
    return list(result.candidates), result


def test_registration_expiring_within_thirty_days() -> None:
    [found], _ = docs(registration_expires=TODAY + timedelta(days=10))
    assert (found.type, found.priority) == ("document_expiring", Priority.MEDIUM)
    assert found.title == "Registration expires in 10 days"
    assert found.message == (
        "The Rig's registration expires on Thu Mar 20 (in 10 days). Renew it before then."
    )
    assert found.dedup_key == "document:veh-1:registration:2025-03-20"


def test_insurance_expired_is_high() -> None:
    [found], _ = docs(insurance_expires=TODAY - timedelta(days=5))
    assert (found.priority, found.title) == (Priority.HIGH, "Insurance expired")
    assert found.dedup_key == "document:veh-1:insurance:2025-03-05"


def test_documents_near_misses() -> None:
    assert docs(registration_expires=TODAY + timedelta(days=31))[0] == []
    found, result = docs(insurance_expires=TODAY - timedelta(days=200))
    assert found == []
    assert any("probably stale" in n for n in notes_of(result))
    assert detect_documents(make_context(vehicle=None), NOW, S).candidates == ()
