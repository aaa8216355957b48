"""Display formatting in the user's units and currency."""

from __future__ import annotations

import math

import pytest

from pam_proactive.analysis.units import (
    UNKNOWN,
    format_distance,
    format_economy,
    format_money,
    format_percent,
    format_volume,
    shown_volume,
)


@pytest.mark.parametrize(
    ("miles", "units", "expected"),
    [
        (1234.4, "imperial", "1,234 miles"),
        (1.0, "imperial", "1 mile"),
        (5.26, "imperial", "5.3 miles"),
        (100.0, "metric", "161 km"),
        (3.0, "metric", "4.8 km"),
        (math.nan, "imperial", UNKNOWN),
    ],
)
def test_format_distance(miles: float, units: str, expected: str) -> None:
    assert format_distance(miles, units) == expected


@pytest.mark.parametrize(
    ("gallons", "units", "expected"),
    [
        (12.5, "imperial", "12.5 gallons"),
        (30.0, "imperial", "30 gallons"),
        (150.4, "imperial", "150 gallons"),
        (10.0, "metric", "38 litres"),  # 37.85 L
        (math.inf, "metric", UNKNOWN),
    ],
)
def test_format_volume(gallons: float, units: str, expected: str) -> None:
    assert format_volume(gallons, units) == expected


@pytest.mark.parametrize(
    ("mpg", "units", "expected"),
    [
        (8.26, "imperial", "8.3 mpg"),
        (10.0, "imperial", "10 mpg"),
        (10.0, "metric", "23.5 L/100 km"),  # 235.21 / 10
        (0.0, "metric", UNKNOWN),
        (math.nan, "imperial", UNKNOWN),
    ],
)
def test_format_economy(mpg: float, units: str, expected: str) -> None:
    assert format_economy(mpg, units) == expected


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (1234.7, "USD", "$1,234.70"),
        (114.46, "USD", "$114.46"),
        (1234.0, "USD", "$1,234"),
        (12.5, "GBP", "£12.50"),
        (40.0, "EUR", "€40"),
        (12.5, "CHF", "CHF 12.50"),
        (-5.0, "CAD", "-$5"),
        (99.99, "aud", "$99.99"),
        (7.0, None, "7"),
        (math.nan, "USD", UNKNOWN),
    ],
)
def test_format_money(amount: float, currency: str | None, expected: str) -> None:
    assert format_money(amount, currency) == expected


def test_format_percent() -> None:
    assert format_percent(84.6) == "85%"
    assert format_percent(math.inf) == UNKNOWN


@pytest.mark.parametrize(("gallons", "units", "shown"), [
    (0.04, "imperial", 0.0), (0.05, "imperial", 0.1), (0.01, "metric", 0.0),
    (0.02, "metric", 0.1), (3.0, "metric", 11.0), (150.4, "imperial", 150.0)])
def test_shown_volume_is_what_format_volume_prints(gallons: float, units: str,
                                                   shown: float) -> None:
    assert shown_volume(gallons, units) == shown
    number = format_volume(gallons, units).split()[0]
    assert float(number) == shown
