"""Property test: every message of every detector agrees with its own ``data``.

Contexts are generated two ways: fuel scenarios (a tank, an economy from the traveler's own
fill-ups, any distance since the last full fill, a trip about to start of any length, a budget)
aimed at the fuel and departure messages, and the realistic messy contexts of
``test_properties``. For each candidate the rendered title and message are parsed back and
checked against ``data``:

* nothing "0 gallons" / "0 litres" (to buy or left);
* percentages are never negative, and at most 100 except a budget's spent share (spending can
  pass the limit: "120% of your budget" is true) and the extra fuel used in L/100 km;
* a range is never above what a full tank carries;
* every amount of money is written exactly as ``format_money`` writes it in the user's
  currency, and no other currency's symbol appears;
* the numbers a message states equal (to their displayed precision) the numbers in ``data``;
* a fuel stop "even a full tank won't" cover is only claimed when the trip plus the reserve is
  beyond a full tank's range, and "buy" is never said to a full tank.

Every context is checked in **both unit systems**, and every relation a message states is
recomputed from the numbers it prints, in the unit it prints them (:func:`check_relations`):
"more than that range less a reserve", "won't cover it [and keep the reserve]", "doesn't
cover the trip plus a reserve", "is more than" / "fits in" a budget, "N% worse than" (mpg) or
"N% more fuel than" (L/100 km), "X of your Y (P%)", "Z over", "about N× your usual",
"D from now" between a due mileage and an odometer, "in N days" / "N days ago", and
fuel_low's level (fuel left over the tank) and range (fuel left times the economy).
"""

from __future__ import annotations

import re
from dataclasses import replace
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
from pam_proactive.context import Units, UserContext
from pam_proactive.suggestions.detectors import run_detectors
from pam_proactive.suggestions.models import Candidate

from .factory import budget, fill, maintenance, make_context, trip
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
        # Spending can pass a limit ("120% of your budget"), and in L/100 km a car can use
        # more than twice the fuel ("167% more fuel than"): every other share is of a whole.
        if c.type not in ("budget_exceeded", "budget_forecast_overspend", "budget_threshold",
                          "fuel_economy_drop"):
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


# --- stated relations, recomputed from the printed numbers ---------------------------------

_DIST = rf"{NUMBER} (?:km|miles?)"


def _unit_tolerance(*tokens: str) -> float:
    """Half a unit of the last decimal of each printed token, summed: how far a relation of
    rounded figures may be from the one of the exact figures (used only where the message
    computes on exact figures by design, e.g. percentages of money)."""
    total = 1e-9
    for token in tokens:
        decimals = len(token.split(".")[1]) if "." in token else 0
        total += 0.5 * 10.0**-decimals
    return total


def _ratio_holds(a: float, b: float, token: str, scale: float = 1.0,
                 offset: float = 0.0) -> bool:
    """Whether the printed ``token`` is ``scale`` x a / b - ``offset`` for some amounts that
    print as ``a`` and ``b`` (each written to the cent, so within half a cent of them):
    money is computed exactly and only written rounded."""
    if b - 0.005 <= 0:
        return True  # a limit that prints as $0 bounds nothing
    low = max(a - 0.005, 0.0) / (b + 0.005) * scale - offset
    high = (a + 0.005) / (b - 0.005) * scale - offset
    slack = _unit_tolerance(token)
    return low - slack <= _value(token) <= high + slack


def _money_value(token: str) -> float:
    number = re.search(NUMBER, token)
    assert number is not None
    return _value(number.group(1)) * (-1 if token.startswith("-") else 1)


def _half(token: str) -> float:
    """Half a unit of the token's last printed decimal: how far the exact value may be."""
    decimals = len(token.split(".")[1]) if "." in token else 0
    return 0.5 * 10.0**-decimals


def _product_holds(token: str, factors: list[tuple[str, int]], scale: float = 1.0) -> bool:
    """Whether the printed ``token`` is ``scale`` x the product of ``factors`` (each a
    printed token and its power, +1 or -1) for some exact values that print as they do: the
    relation holds within what the printed digits can say."""
    low = high = scale
    for shown, power in factors:
        a, b = _value(shown) - _half(shown), _value(shown) + _half(shown)
        if a <= 0:
            return True  # a figure that prints as 0 bounds nothing
        lo, hi = (a, b) if power > 0 else (1 / b, 1 / a)
        low, high = low * lo, high * hi
    return low - _half(token) - 1e-9 <= _value(token) <= high + _half(token) + 1e-9


def _relations_level(c: Candidate, ctx: UserContext) -> int:
    """fuel_low's first sentences: the level is the fuel left over the tank, and the range
    is the fuel left times the economy (over the L/100 km figure, x 100), all as printed."""
    m = re.search(rf"roughly {NUMBER}% \(about {NUMBER} (?:litres|gallons?), {NUMBER} "
                  rf"(?:km|miles?) of range\)", c.message)
    tank = re.search(rf"and a tank of {NUMBER} (?:litres|gallons?)", c.message)
    economy = re.search(rf", {NUMBER} (?:L/100 km|mpg) \(", c.message)
    if m is None or tank is None or economy is None:
        return 0
    level, left, reach = m.group(1), m.group(2), m.group(3)
    assert _product_holds(level, [(left, 1), (tank.group(1), -1)], 100.0), c.message
    if ctx.profile.units == "metric":
        assert _product_holds(reach, [(left, 1), (economy.group(1), -1)], 100.0), c.message
    else:
        assert _product_holds(reach, [(left, 1), (economy.group(1), 1)]), c.message
    return 2


def _relations_fuel(c: Candidate) -> int:
    """fuel_low and departure_reminder: every range, reserve and full-tank relation holds on
    the printed distances (exactly: the detectors decide them on the figures shown)."""
    n = 0
    m = re.search(rf"is about {_DIST}, more than that range less a reserve of {_DIST}",
                  c.message)
    if m:
        rng = re.search(rf"{NUMBER} (?:km|miles?) of range\)", c.message)
        assert rng is not None, c.message
        trip, reserve, shown_range = map(_value, (m.group(1), m.group(2), rng.group(1)))
        assert trip > shown_range - reserve, c.message
        n += 1
        full = re.search(rf"Even a full tank \(about {_DIST}\) won't cover it( and keep the "
                         rf"reserve of {_DIST})?", c.message)
        if full is not None:
            tank_shown = _value(full.group(1))
            if full.group(2):  # the trip alone fits: the reserve is what does not
                assert trip <= tank_shown < trip + _value(full.group(3)), c.message
            else:
                assert trip > tank_shown, c.message
            n += 1
    length = re.search(rf"Your trip(?: to [^(]*)? \(about {_DIST}\)", c.message)
    short = re.search(rf"\(about {_DIST}\) doesn't cover the trip plus a reserve of {_DIST}",
                      c.message)
    if short:
        assert length is not None, c.message
        trip = _value(length.group(1))
        assert trip + _value(short.group(2)) > _value(short.group(1)), c.message
        n += 1
        full = re.search(rf"even a full tank \(about {_DIST}\) won't", c.message)
        if full:
            assert trip + _value(short.group(2)) > _value(full.group(1)), c.message
            n += 1
    return n


def _relations_budget(c: Candidate, ctx: UserContext) -> int:
    n = 0
    symbol = re.escape(currency_symbol(ctx.profile.currency))
    money = rf"(-?{symbol} ?\d[\d,]*(?:\.\d+)?)"
    cost = re.search(rf"estimated cost \({money}\) (is more than|fits in) the {money} left",
                     c.message)
    if cost:
        a, b = _money_value(cost.group(1)), _money_value(cost.group(3))
        assert (a > b) == (cost.group(2) == "is more than"), c.message
        n += 1
    spent = re.search(rf"You've spent {money} of your {money} .*?\({NUMBER}%\)", c.message)
    if spent:
        a, b, pct = _money_value(spent.group(1)), _money_value(spent.group(2)), spent.group(3)
        # Percent of two amounts written to the cent: within half a percent plus the cents.
        assert _ratio_holds(a, b, pct, scale=100), c.message
        n += 1
    over = re.search(rf"You've spent {money} of your {money} .*?\), {money} over", c.message)
    if over:
        a, b, o = (_money_value(over.group(i)) for i in (1, 2, 3))
        assert abs((a - b) - o) <= 0.011, c.message
        n += 1
    projected = re.search(rf"on track for about {money} by [^,]+, {NUMBER}% over", c.message)
    limit = re.search(rf"of your {money} ", c.message)
    if projected and limit:
        p, b = _money_value(projected.group(1)), _money_value(limit.group(1))
        pct = projected.group(2)
        assert _ratio_holds(p, b, pct, scale=100, offset=100), c.message
        n += 1
    ratio = re.search(rf"^{money} on .*? is about {NUMBER}× your usual .*?\({money},",
                      c.message)
    if ratio:
        a, usual = _money_value(ratio.group(1)), _money_value(ratio.group(3))
        times = ratio.group(2)
        assert _ratio_holds(a, usual, times), c.message
        n += 1
    return n


def _relations_economy(c: Candidate, ctx: UserContext) -> int:
    metric = ctx.profile.units == "metric"
    unit = "L/100 km" if metric else "mpg"
    words = "more fuel than" if metric else "worse than"
    m = re.search(rf"averaged {NUMBER} {re.escape(unit)}, {NUMBER}% {words} your usual "
                  rf"{NUMBER} {re.escape(unit)}", c.message)
    assert m is not None, c.message
    now_v, pct, usual = _value(m.group(1)), m.group(2), _value(m.group(3))
    change = (now_v - usual) / usual * 100 if metric else (usual - now_v) / usual * 100
    # Computed on the two printed figures: only the percent's own rounding remains.
    assert abs(change - _value(pct)) <= _unit_tolerance(pct), c.message
    title = "Fuel use up" if metric else "Fuel economy down"
    assert c.title == f"{title} {pct}%", (c.title, c.message)
    return 1


def _relations_maintenance(c: Candidate, ctx: UserContext) -> int:
    n = 0
    for due, left, odo in re.findall(rf"due at {_DIST}, {_DIST} from now \(odometer about "
                                     rf"{_DIST}", c.message):
        assert abs(_value(due) - _value(odo) - _value(left)) < 1e-6, c.message
        assert _value(left) > 0, c.message
        n += 1
    for due, odo in re.findall(rf"overdue at {_DIST} \(odometer about {_DIST}", c.message):
        assert _value(odo) > _value(due), c.message
        n += 1
    return n


def _relations_days(c: Candidate, ctx: UserContext) -> int:
    """'Sat Mar 1, 9 days ago' and 'Sat Mar 15, in 5 days': the count is the local days
    between today and the printed date (of this year or the next)."""
    n = 0
    pattern = (r"((?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} \d{1,2}),? "
               r"(in (\d+) days?|(\d+) days? ago)")
    for shown, _, ahead, ago in re.findall(pattern, c.message):
        days = int(ahead) if ahead else -int(ago)
        assert format_date(ctx.today + timedelta(days=days)) == shown, c.message
        n += 1
    return n


def check_relations(c: Candidate, ctx: UserContext) -> int:
    """Recompute every relation the message states from its printed numbers; returns how
    many were checked (so a test can tell the checks ran)."""
    n = _relations_days(c, ctx) + _relations_budget(c, ctx)
    if c.type in ("fuel_low", "departure_reminder"):
        n += _relations_fuel(c)
    if c.type == "fuel_low":
        n += _relations_level(c, ctx)
    if c.type == "fuel_economy_drop":
        n += _relations_economy(c, ctx)
    if c.type in ("maintenance_due_soon", "maintenance_overdue"):
        n += _relations_maintenance(c, ctx)
    return n


def in_units(ctx: UserContext, units: Units) -> UserContext:
    """The same traveler speaking ``units``."""
    return replace(ctx, profile=replace(ctx.profile, units=units))


def check_one(ctx: UserContext) -> list[Candidate]:
    found = list(run_detectors(ctx, ctx.now, S).candidates)
    for c in found:
        check_common(c, ctx)
        check = CHECKS.get(c.type)
        if check is not None:
            check(c, ctx)
        check_relations(c, ctx)
    return found


def check_all(ctx: UserContext) -> list[Candidate]:
    """Every check, with the traveler in imperial and in metric units; the candidates found
    in the context's own units."""
    other: Units = "imperial" if ctx.profile.units == "metric" else "metric"
    found = check_one(ctx)
    check_one(in_units(ctx, other))
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


@st.composite
def economy_scenarios(draw: st.DrawFn) -> UserContext:
    """Full fill-ups every week: a baseline at one economy, then recent ones at a worse one
    (anywhere from no drop to a third of it), in either unit system."""
    today = date(2025, 3, 10)
    usual = draw(st.floats(4, 30))
    worse = usual * draw(st.floats(0.3, 1.0))
    mpgs = [usual * draw(st.floats(0.97, 1.03)) for _ in range(draw(st.integers(6, 12)))]
    mpgs += [worse * draw(st.floats(0.97, 1.03)) for _ in range(3)]
    first = today - timedelta(days=7 * len(mpgs))
    miles = draw(st.floats(80, 600))
    fills = [fill("f0", first, 20_000, 30)]
    for n, mpg in enumerate(mpgs, start=1):
        fills.append(fill(f"f{n}", first + timedelta(days=7 * n), 20_000 + miles * n,
                          miles / mpg))
    return make_context(now=datetime(2025, 3, 10, 15, 0, tzinfo=UTC), today=today,
                        units=draw(st.sampled_from(["imperial", "metric"])), fills=fills,
                        vehicle={"tank_gallons": 200, "odometer_miles": 20_000 + miles * len(mpgs)})


@st.composite
def maintenance_scenarios(draw: st.DrawFn) -> UserContext:
    """A service due around today's odometer and date: by mileage anywhere from well
    overdue to just out of range, by date from weeks ago to weeks ahead."""
    today = date(2025, 3, 10)
    odometer = draw(st.floats(1_000, 300_000))
    due_at = odometer + draw(st.floats(-2_000, 700) | st.sampled_from([0.0, 0.4, -0.4, 0.6]))
    due_on = today + timedelta(days=draw(st.integers(-60, 45)))
    item = maintenance("m1", draw(st.sampled_from(["oil_change", "tire_rotation", "brakes"])),
                       performed_on=today - timedelta(days=100), mileage=odometer - 3_000,
                       due_date=due_on if draw(st.booleans()) else None, due_mileage=due_at)
    return make_context(now=datetime(2025, 3, 10, 15, 0, tzinfo=UTC), today=today,
                        units=draw(st.sampled_from(["imperial", "metric"])),
                        vehicle={"odometer_miles": odometer}, maintenance=[item])


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


@properties
@given(ctx=economy_scenarios())
def test_economy_messages_state_the_change_of_the_figures_they_show(ctx: UserContext) -> None:
    check_all(ctx)


@properties
@given(ctx=maintenance_scenarios())
def test_maintenance_messages_recompute(ctx: UserContext) -> None:
    check_all(ctx)


def test_the_relation_checks_run_and_catch_a_wrong_relation() -> None:
    """The relation checks see the relations (they count them) and fail on the two the
    issue found: the mpg drop printed between L/100 km figures, and a full tank said not to
    cover a trip it covers without naming the reserve."""
    economy = make_context(units="metric", fills=[
        fill(f"f{n}", date(2024, 12, 20) + timedelta(days=7 * n), 20_000 + 300 * n,
             300 / (10.0 if n <= 8 else 7.4)) for n in range(12)])
    [drop] = check_all(economy)
    assert check_relations(drop, economy) == 1
    assert "% more fuel than your usual" in drop.message
    wrong = replace(drop, message=re.sub(r"\d+% more fuel", "26% more fuel", drop.message))
    if wrong.message != drop.message:
        try:
            check_relations(wrong, economy)
        except AssertionError:
            pass
        else:
            raise AssertionError("the economy relation check missed a wrong percent")
    trip_ctx = make_context(
        fills=[fill("f1", date(2025, 2, 1), 10_000, 40), fill("f2", date(2025, 3, 1), 10_400, 40)],
        vehicle={"tank_gallons": 50, "odometer_miles": 10_650},
        trips=[trip("t1", "planned", date(2025, 3, 11), date(2025, 3, 12),
                    destination="Quartzsite, AZ", distance=480)])
    [low] = [c for c in check_all(trip_ctx) if c.type == "fuel_low"]
    assert "won't cover it and keep the reserve of 50 miles" in low.message, low.message
    assert check_relations(low, trip_ctx) == 4  # reserve, full tank, level, range
    wrong_level = replace(low, message=re.sub(r"roughly \d+%", "roughly 80%", low.message))
    try:
        check_relations(wrong_level, trip_ctx)
    except AssertionError:
        pass
    else:
        raise AssertionError("the level relation check missed a level the figures deny")
    bare = replace(low, message=low.message.replace(" and keep the reserve of 50 miles", ""))
    try:
        check_relations(bare, trip_ctx)
    except AssertionError:
        return
    raise AssertionError("the full-tank relation check missed a trip the tank covers")


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
