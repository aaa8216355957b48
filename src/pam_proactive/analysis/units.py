"""Display helpers: values are computed in miles, US gallons, mpg and the user's currency and
only converted here, for messages, to the user's units.

Every formatter accepts any float: a non-finite value is written as 'an unknown amount' rather
than 'nan', so a message can never show a broken number.
"""

from __future__ import annotations

import math
from typing import Literal

KM_PER_MILE = 1.609344
LITRES_PER_US_GALLON = 3.785411784
# L/100 km = LITRES_PER_KM_MPG / mpg.
L100KM_TIMES_MPG = 100.0 * LITRES_PER_US_GALLON / KM_PER_MILE

UNKNOWN = "an unknown amount"

_SYMBOLS = {"USD": "$", "CAD": "$", "AUD": "$", "NZD": "$", "GBP": "£", "EUR": "€"}

UnitSystem = Literal["imperial", "metric"] | str


def _number(value: float, decimals: int) -> str:
    """Thousands-separated number with ``decimals`` decimals, trailing '.0' dropped."""
    text = f"{value:,.{decimals}f}"
    if decimals and text.endswith("." + "0" * decimals):
        text = text[: -(decimals + 1)]
    return text


def _decimals(value: float) -> int:
    """One decimal for small quantities, none once the tenth stops mattering."""
    return 1 if abs(value) < 100 else 0


def is_metric(units: UnitSystem) -> bool:
    """True when ``units`` asks for metric display (anything else is imperial)."""
    return str(units).lower() == "metric"


def format_distance(miles: float, units: UnitSystem) -> str:
    """``miles`` as '1,234 miles' (imperial) or '1,986 km' (metric)."""
    if not math.isfinite(miles):
        return UNKNOWN
    return format_shown_distance(miles * KM_PER_MILE if is_metric(units) else miles, units)


def format_shown_distance(value: float, units: UnitSystem) -> str:
    """A distance already in its display unit (miles, or km when metric) written as
    :func:`format_distance` writes it: for a figure computed from shown ones ('due at 15,000
    miles, 500 miles from now' says 15,000 - 14,500)."""
    if not math.isfinite(value):
        return UNKNOWN
    text = _number(value, 0 if abs(value) >= 10 else 1)
    if is_metric(units):
        return f"{text} km"
    return f"{text} {'mile' if abs(value) == 1 else 'miles'}"


def shown_distance(miles: float, units: UnitSystem) -> float:
    """``miles`` as :func:`format_distance` shows it, in its display unit (miles or km), to
    the decimals shown: the number a stated relation must hold on."""
    if not math.isfinite(miles):
        return miles
    value = miles * KM_PER_MILE if is_metric(units) else miles
    return round(value, 0 if abs(value) >= 10 else 1)


def _volume_display(gallons: float, units: UnitSystem) -> tuple[float, int, str]:
    """(the volume in its display unit, the decimals shown, the unit's word)."""
    if is_metric(units):
        litres = gallons * LITRES_PER_US_GALLON
        return litres, 0 if abs(litres) >= 10 else 1, "litres"
    return gallons, _decimals(gallons), "gallon" if abs(gallons) == 1 else "gallons"


def format_volume(gallons: float, units: UnitSystem) -> str:
    """US ``gallons`` as '12.5 gallons' (imperial) or '47 litres' (metric)."""
    if not math.isfinite(gallons):
        return UNKNOWN
    value, decimals, word = _volume_display(gallons, units)
    return f"{_number(value, decimals)} {word}"


def shown_volume(gallons: float, units: UnitSystem) -> float:
    """``gallons`` as :func:`format_volume` shows it, in its display unit (gallons or
    litres): 0.0 when the text would read '0 gallons', so a message can leave it out."""
    if not math.isfinite(gallons):
        return gallons
    value, decimals, _ = _volume_display(gallons, units)
    return round(value, decimals)


def format_economy(mpg: float, units: UnitSystem) -> str:
    """Fuel economy in miles per US gallon as '8.2 mpg' or, metric, '28.7 L/100 km'."""
    if not math.isfinite(mpg) or mpg <= 0:
        return UNKNOWN
    if is_metric(units):
        return f"{_number(L100KM_TIMES_MPG / mpg, 1)} L/100 km"
    return f"{_number(mpg, 1)} mpg"


def shown_economy(mpg: float, units: UnitSystem) -> float:
    """``mpg`` as :func:`format_economy` shows it: mpg, or L/100 km when metric (where a
    larger number is worse), to the one decimal shown."""
    if not math.isfinite(mpg) or mpg <= 0:
        return math.nan
    return round(L100KM_TIMES_MPG / mpg if is_metric(units) else mpg, 1)


def shown_money(amount: float) -> float:
    """``amount`` to the cent, as :func:`format_money` shows it."""
    return round(amount, 2) if math.isfinite(amount) else amount


def currency_symbol(currency: str | None) -> str:
    """'$', '£' or '€' for the currencies that use them, else the upper-cased ISO code."""
    code = (currency or "").strip().upper()
    return _SYMBOLS.get(code, code)


def format_money(amount: float, currency: str | None) -> str:
    """``amount`` in ``currency``: '$1,234.70', '$12.50', '£40', 'CHF 12.50', '-$5'.

    To the cent, without cents when they are whole: the same amount always reads the same
    ('$12', never '$12.00'), and the amounts of one message add up as written ('$94.03 of
    $114.46, $20.43 left', never '$94.03 of $114, $20.43 left').
    """
    if not math.isfinite(amount):
        return UNKNOWN
    symbol = currency_symbol(currency)
    value = round(abs(amount), 2)
    sign = "-" if amount < 0 and value > 0 else ""
    cents = 0 if value == int(value) else 2
    number = f"{value:,.{cents}f}"
    if not symbol:
        return f"{sign}{number}"
    if len(symbol) == 1:
        return f"{sign}{symbol}{number}"
    return f"{sign}{symbol} {number}"


def format_percent(pct: float) -> str:
    """A percentage as '85%' (no decimals)."""
    if not math.isfinite(pct):
        return UNKNOWN
    return f"{pct:,.0f}%"
