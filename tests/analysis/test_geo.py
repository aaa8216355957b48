"""Offline gazetteer and distances."""

from __future__ import annotations

import math

import pytest

from pam_proactive.analysis.geo import haversine_miles, name_key, resolve_place, valid_coordinates
from pam_proactive.context import Coordinates

DENVER = Coordinates(39.73915, -104.9847)
PHOENIX = Coordinates(33.44838, -112.07404)


def near(point: Coordinates | None, lat: float, lng: float, miles: float = 5.0) -> bool:
    return point is not None and haversine_miles(point, Coordinates(lat, lng)) < miles


@pytest.mark.parametrize(
    ("text", "lat", "lng"),
    [
        ("Austin, TX", 30.267, -97.743),
        ("austin tx", 30.267, -97.743),
        ("  Austin ,  Texas ", 30.267, -97.743),
        ("123 Main St, Austin, TX 78701, USA", 30.267, -97.743),
        ("Quartzsite, AZ", 33.664, -114.230),  # a town of ~3,600
        ("Portland, ME", 43.657, -70.259),
        ("Portland, OR", 45.523, -122.676),
        ("St. Louis, MO", 38.627, -90.198),
        ("Saint Louis, Missouri", 38.627, -90.198),
        ("St Petersburg, FL", 27.771, -82.679),
        ("Ft. Myers, FL", 26.622, -81.841),
        ("Vancouver, BC", 49.250, -123.119),
        ("Vancouver, WA", 45.639, -122.661),
        ("Perth, WA", -31.952, 115.861),  # not in Washington: Western Australia
        ("London, ON", 42.983, -81.233),
        ("Montréal, QC", 45.509, -73.588),
        ("Paris, France", 48.853, 2.349),
        ("Paris, TX", 33.661, -95.556),
        ("New York, NY", 40.714, -74.006),
        ("Rapid City South Dakota", 44.081, -103.231),
        ("Convention Center, Phoenix", 33.448, -112.074),
    ],
)
def test_resolves(text: str, lat: float, lng: float) -> None:
    assert near(resolve_place(text), lat, lng)


@pytest.mark.parametrize(
    "text",
    [
        "Portland",
        "Springfield",
        "Yellowstone National Park",
        "",
        "  ",
        ",,,",
        "Smallville, TX",
        None,
    ],
)
def test_ambiguous_or_unknown_names_do_not_resolve(text: str | None) -> None:
    assert resolve_place(text) is None


def test_haversine_denver_phoenix() -> None:
    # Great-circle Denver - Phoenix is about 586 miles.
    assert haversine_miles(DENVER, PHOENIX) == pytest.approx(586, rel=0.01)
    assert haversine_miles(DENVER, DENVER) == 0.0
    assert math.isnan(haversine_miles(DENVER, Coordinates(math.nan, 0.0)))


def test_valid_coordinates() -> None:
    assert valid_coordinates(DENVER) is DENVER
    assert valid_coordinates(None) is None
    assert valid_coordinates(Coordinates(0.0, 0.0)) is None  # apps store (0, 0) for unknown
    assert valid_coordinates(Coordinates(91.0, 0.0)) is None
    assert valid_coordinates(Coordinates(math.nan, 1.0)) is None


def test_name_key() -> None:
    assert name_key("St. Louis") == name_key("Saint Louis") == "saint louis"
    assert name_key("Coeur d'Alene") == "coeur dalene"
    assert name_key("Montréal") == "montreal"
