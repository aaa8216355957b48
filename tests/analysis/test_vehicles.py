"""Normalising free-text vehicle types."""

from __future__ import annotations

import pytest

from pam_proactive.analysis.vehicles import VEHICLE_CLASSES, is_towing, normalize_vehicle_class


@pytest.mark.parametrize(
    ("vehicle_type", "make_model", "expected"),
    [
        ("Class A", None, "class_a"),
        ("class_a", None, "class_a"),
        ("Diesel Pusher", None, "class_a"),
        ("Class C motorhome", None, "class_c"),
        ("Super C", None, "class_c"),
        ("class b", None, "class_b"),
        ("Camper Van", None, "class_b"),
        ("travel_trailer", None, "trailer"),
        ("Fifth Wheel", None, "trailer"),
        ("5th wheel", None, "trailer"),
        ("toy hauler", None, "trailer"),
        ("Pickup", None, "truck"),
        ("truck camper", None, "truck"),
        ("van", None, "van"),
        ("SUV", None, "car"),
        ("Motorhome", None, "unknown"),  # could be A, B or C: don't guess
        ("RV", "Winnebago Travato 59K", "class_b"),
        (None, "Ford F-250", "truck"),
        (None, "Tiffin Allegro Bus", "class_a"),
        ("", None, "unknown"),
        (None, None, "unknown"),
    ],
)
def test_normalize_vehicle_class(
    vehicle_type: str | None, make_model: str | None, expected: str
) -> None:
    assert normalize_vehicle_class(vehicle_type, make_model) == expected


def test_normalisation_is_idempotent() -> None:
    for name in VEHICLE_CLASSES:
        assert normalize_vehicle_class(name) == name


@pytest.mark.parametrize(
    ("towing_text", "vehicle_type", "expected"),
    [
        ("Jeep Wrangler", "class_a", True),
        ("yes", None, True),
        (None, "fifth_wheel", True),  # the rig is a trailer: the user drives a tow vehicle
        (None, "class_a", False),
        ("none", "class_c", False),
        ("No", None, False),
        ("not towing anything", None, False),
        ("", None, False),
    ],
)
def test_is_towing(towing_text: str | None, vehicle_type: str | None, expected: bool) -> None:
    assert is_towing(towing_text, vehicle_type) is expected
