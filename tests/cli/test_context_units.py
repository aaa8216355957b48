"""`pam-proactive context` speaks the traveler's units, as their suggestions do."""

from __future__ import annotations

from datetime import date

import pytest

from pam_proactive.cli.contexts import context_lines
from pam_proactive.context import Units
from suggestions.detectors.factory import maintenance, make_context, trip


@pytest.mark.parametrize(("units", "shown", "absent"), [
    ("metric", ("tank 97 litres", "31.4 L/100 km", "odometer 52,033 km", "563 km",
                "next due 2026-01-01 or 56,327 km"), (" miles", " gal", "mpg")),
    ("imperial", ("tank 25.5 gallons", "7.5 mpg", "odometer 32,332 miles", "350 miles",
                  "next due 2026-01-01 or 35,000 miles"), (" km", "litres", "L/100")),
])
def test_every_figure_is_in_the_travelers_units(units: Units, shown: tuple[str, ...],
                                                absent: tuple[str, ...]) -> None:
    ctx = make_context(
        units=units,
        vehicle={"tank_gallons": 25.5, "mpg": 7.5, "odometer_miles": 32_332},
        trips=[trip("t1", "planned", date(2025, 3, 12), date(2025, 3, 13),
                    destination="Moab, UT", distance=350)],
        maintenance=[maintenance("m1", "oil_change", due_date=date(2026, 1, 1),
                                 due_mileage=35_000)])
    text = "\n".join(context_lines(ctx))
    for figure in shown:
        assert figure in text, (figure, text)
    for word in absent:
        assert word not in text, (word, text)
