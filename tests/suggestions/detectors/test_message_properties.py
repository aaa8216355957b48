"""Property test: every message of every detector agrees with its own ``data``.

Contexts are generated two ways: fuel scenarios (a tank, an economy from the traveler's own
fill-ups, any distance since the last full fill, a trip about to start of any length, a budget)
aimed at the fuel and departure messages, and the realistic messy contexts of
``test_properties``. For each candidate the rendered title and message are parsed back and
checked against ``data``:

* nothing "0 gallons" / "0 litres" (to buy or left);
* percentages are never negative, and at most 100 except a budget's spent share (spending can
  pass the limit: "120% of your budget" is true);
* a range is never above what a full tank carries;
* every amount of money is written exactly as ``format_money`` writes it in the user's
  currency, and no other currency's symbol appears;
* the numbers a message states equal (to their displayed precision) the numbers in ``data``;
* a fuel stop "even a full tank won't" cover is only claimed when the trip plus the reserve is
  beyond a full tank's range, and "buy" is never said to a full tank.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pam_proactive.analysis.dates import format_date
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.analysis.units import (
    KM_PER_MILE,
    LITRES_PER_US_GALLON,
    currency_symbol,
    format_money,
)
from pam_proactive.context import UserContext
from pam_proactive.suggestions.detectors import run_detectors
from pam_proactive.suggestions.models import Candidate

from .factory import budget, fill, make_context, trip
from .test_properties import plausible_contexts

S = DetectorSettings()
NUMBER = r"(\d[\d,]*(?:\.\d+)?)"
_ZERO_VOLUME = re.compile(r"(?<![\d.,])0(?:\.0+)? (?:gallons?|litres?)\b")
_PERCENT = re.compile(r"(-?\d[\d,]*(?:\.\d+)?)%")
_SYMBOLS = ("$", "£", "€")


def _value(token: str) -> float:
    return float(token.replace(",", ""))


def _close(token: str, expected: float, factor: float = 1.0, data_decimals: int = 1) -> bool:
    """Whether ``token`` (as displayed) is ``expected`` (a ``data`` value rounded to
    ``data_decimals``, in miles or gallons) converted by ``factor``, to the token's precision."""
    decimals = len(token.split(".")[1]) if "." in token else 0
    tolerance = 0.5 * 10.0**-decimals + 0.5 * 10.0**-data_decimals * factor + 1e-6
    return abs(_value(token) - expected * factor) <= tolerance


def _distance_factor(ctx: UserContext) -> float:
    return KM_PER_MILE if ctx.profile.units == "metric" else 1.0


def _volume_factor(ctx: UserContext) -> float:
    return LITRES_PER_US_GALLON if ctx.profile.units == "metric" else 1.0


def _money_tokens(text: str, currency: str) -> list[str]:
    symbol = currency_symbol(currency)
    space = " " if len(symbol) > 1 else ""
    return re.findall(r"-?" + re.escape(symbol + space) + r"\d(?:[\d,]*\d)?(?:\.\d+)?", text)


def check_money(c: Candidate, ctx: UserContext) -> None:
    text = f"{c.title} {c.message}"
    currency = ctx.profile.currency
    for token in _money_tokens(text, currency):
        number = re.search(NUMBER, token)
        assert number is not None
        amount = _value(number.group(1)) * (-1 if token.startswith("-") else 1)
        assert format_money(amount, currency) == token, (token, c.message)
    own = currency_symbol(currency)
    for symbol in _SYMBOLS:  # an amount in another currency (user text may hold symbols)
        if symbol != own:
            assert not re.search(re.escape(symbol) + r" ?\d", text), (symbol, currency, c.message)


def check_common(c: Candidate, ctx: UserContext) -> None:
    text = f"{c.title} {c.message}"
    assert not _ZERO_VOLUME.search(text), c.message
    for token in _PERCENT.findall(text):
        pct = _value(token)
        assert pct >= 0, c.message
        if c.type not in ("budget_exceeded", "budget_forecast_overspend", "budget_threshold"):
            assert pct <= 100, c.message
    check_money(c, ctx)


def check_fuel_low(c: Candidate, ctx: UserContext) -> None:
    d = c.data
    dist, vol = _distance_factor(ctx), _volume_factor(ctx)
    full_range = d["tank_gallons"] * d["mpg"]
    assert 0 < d["level_pct"] <= 100
    assert d["range_miles"] <= full_range * 1.001 + 0.2
    unit_d, unit_v = ("km", "litres") if dist != 1.0 else ("miles?", "gallons?")
    level = re.search(r"roughly " + NUMBER + "%", c.message)
    assert level is not None and _close(level.group(1), d["level_pct"]), c.message
    left = re.search(rf"\(about {NUMBER} {unit_v}, {NUMBER} {unit_d} of range\)", c.message)
    assert left is not None, c.message
    assert _close(left.group(1), d["gallons_left"], vol), c.message
    assert _close(left.group(2), d["range_miles"], dist), c.message
    if "trip" in d:
        to_buy = re.search(rf"\(about {NUMBER} {unit_v}\)\.", c.message)
        assert to_buy is not None, c.message
        assert d["trip"]["gallons_to_buy"] > 0
        assert _close(to_buy.group(1), d["trip"]["gallons_to_buy"], vol), c.message
        needed = d["trip"]["miles_needed"] + d["thresholds"]["reserve_miles"]
        if abs(needed - full_range) > 0.01 * full_range + 1:  # clear of data's rounding
            assert ("Even a full tank" in c.message) == (needed > full_range), c.message


def check_departure(c: Candidate, ctx: UserContext) -> None:
    fuel = c.data["fuel"]
    vol = _volume_factor(ctx)
    unit_v = "litres" if vol != 1.0 else "gallons?"
    buy = re.search(rf"buy about {NUMBER} {unit_v}", c.message)
    if not fuel or fuel.get("covered", True):
        assert buy is None and "fuel stop" not in c.message, c.message
        return
    state = fuel["fuel"]
    assert fuel["range_miles"] <= fuel["full_range_miles"] + 0.2
    miles = c.data["distance_miles"]
    reserve = c.data["thresholds"]["reserve_miles"]
    assert ("full tank" in c.message) == fuel["fuel_stop_needed"], c.message
    if fuel["fuel_stop_needed"]:
        assert miles + reserve > fuel["full_range_miles"] - 0.2, c.message
    if buy is not None:
        assert fuel["gallons_to_buy"] > 0 and _close(buy.group(1), fuel["gallons_to_buy"], vol)
        assert state["level_pct"] < 100, c.message
    else:
        assert "gallons_to_buy" not in fuel and fuel["fuel_stop_needed"], c.message


def _money_close(token: str, expected: float) -> bool:
    """Whether a formatted amount shows ``expected`` (a ``data`` value rounded to cents)."""
    number = re.search(NUMBER, token)
    assert number is not None
    return _close(number.group(1), expected, data_decimals=2)


def check_budget(c: Candidate, ctx: UserContext) -> None:
    d = c.data
    symbol = re.escape(currency_symbol(ctx.profile.currency))
    shown = re.search(rf"You've spent ({symbol} ?{NUMBER}) of your ({symbol} ?{NUMBER}) ",
                      c.message)
    assert shown is not None, c.message
    assert _money_close(shown.group(1), d["spent"]), c.message
    assert _money_close(shown.group(3), d["limit"]), c.message
    pct = re.search(r"\(" + NUMBER + r"%\)", c.message)
    if pct is not None:
        assert _close(pct.group(1), d["spent_pct"]), c.message


def check_anomaly(c: Candidate, ctx: UserContext) -> None:
    token = c.message.split(" on ", 1)[0]
    assert _money_close(token, c.data["amount"]), c.message


def check_event(c: Candidate, ctx: UserContext) -> None:
    unit_d = "km" if ctx.profile.units == "metric" else "miles?"
    shown = re.search(rf"about {NUMBER} {unit_d} from", c.message)
    assert shown is not None, c.message
    assert _close(shown.group(1), c.data["distance_miles"], _distance_factor(ctx)), c.message
    # The date shown is the stored local date, and the days away count local days from today.
    if c.data["starts_on"] is not None:
        day = date.fromisoformat(c.data["starts_on"])
        assert f"starts {format_date(day)}" in c.message, c.message
        days = (day - ctx.today).days
        away = {0: "(today)", 1: "(tomorrow)"}.get(days, f"(in {days} days)")
        assert away in c.message or days < 0, c.message


CHECKS: dict[str, Any] = {
    "fuel_low": check_fuel_low,
    "departure_reminder": check_departure,
    "budget_exceeded": check_budget,
    "budget_forecast_overspend": check_budget,
    "budget_threshold": check_budget,
    "spending_anomaly": check_anomaly,
    "event_travel_planning": check_event,
}


def check_all(ctx: UserContext) -> list[Candidate]:
    found = list(run_detectors(ctx, ctx.now, S).candidates)
    for c in found:
        check_common(c, ctx)
        check = CHECKS.get(c.type)
        if check is not None:
            check(c, ctx)
    return found


@st.composite
def fuel_scenarios(draw: st.DrawFn) -> UserContext:
    """A traveler whose fuel state is anywhere from full to past empty, with a trip about to
    start (or under way) of any length, and a budget for it."""
    today = date(2025, 3, 10)
    now = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)
    tank = draw(st.floats(12, 150))
    mpg = draw(st.floats(5, 25))
    legs = draw(st.integers(1, 4))
    fills, odo = [], 20_000.0
    for n in range(legs + 1):
        gallons = tank * draw(st.floats(0.3, 0.95)) if n else tank * 0.5
        fills.append(fill(f"f{n}", today - timedelta(days=10 * (legs + 1 - n)), odo, gallons))
        odo += gallons * mpg if n < legs else 0.0
    odo = fills[-1].odometer_miles or 0.0
    full_range = tank * mpg
    if draw(st.booleans()):  # a partial fill after the last full one
        fills.append(fill("p", today - timedelta(days=2), None, tank * draw(st.floats(0.05, 0.5)),
                          full=False))
    driven = full_range * draw(st.floats(0, 1.3) | st.sampled_from([0.0, 0.99, 1.0, 1.01]))
    distance = full_range * draw(st.floats(0, 3) | st.sampled_from([0.5, 0.9, 1.0, 1.1]))
    start = today + timedelta(days=draw(st.integers(0, 2)))
    status = draw(st.sampled_from(["planned", "planned", "active"]))
    trips = [trip("t1", status, start if status == "planned" else today - timedelta(days=1),
                  start + timedelta(days=3), destination="Quartzsite, AZ",
                  distance=distance, cost=draw(st.floats(1, 5000)))]
    return make_context(
        now=now,
        today=today,
        units=draw(st.sampled_from(["imperial", "metric"])),
        currency=draw(st.sampled_from(["USD", "GBP", "EUR", "CHF", "JPY"])),
        fills=fills,
        vehicle={"tank_gallons": tank if draw(st.booleans()) else None,
                 "odometer_miles": odo + driven, "mpg": None},
        trips=trips,
        budgets=[budget("b1", draw(st.floats(1, 5000)), draw(st.floats(0, 6000)))],
    )


properties = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@properties
@given(ctx=fuel_scenarios())
def test_fuel_and_departure_messages_agree_with_their_data(ctx: UserContext) -> None:
    check_all(ctx)


@properties
@given(ctx=plausible_contexts())
def test_every_message_agrees_with_its_data_on_messy_contexts(ctx: UserContext) -> None:
    check_all(ctx)


def test_the_checks_catch_a_contradiction() -> None:
    """The checks are not vacuous: a message that says "buy about 0 gallons" or writes money
    another way fails them."""
    ctx = make_context(fills=[fill("f1", date(2025, 2, 1), 10_000, 40),
                              fill("f2", date(2025, 2, 20), 10_400, 40)],
                       vehicle={"tank_gallons": 50, "odometer_miles": 10_830})
    [found] = check_all(ctx)
    for bad in ("buy about 0 gallons of fuel", "about 0.0 gallons left", "costs $12.00",
                "at 120% full", "costs €5"):
        broken = Candidate(**{**{f: getattr(found, f) for f in found.__slots__},
                              "message": found.message + " " + bad})
        try:
            check_common(broken, ctx)
        except AssertionError:
            continue
        raise AssertionError(f"the checks missed {bad!r}")
