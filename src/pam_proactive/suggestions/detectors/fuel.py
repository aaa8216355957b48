"""``fuel_low``: the primary vehicle's estimated fuel is low, or too low for the next leg."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from pam_proactive.analysis.boundaries import earliest_day_boundary, tomorrow
from pam_proactive.analysis.dates import add_days, format_date
from pam_proactive.analysis.fuel import (
    SKIP_IMPLAUSIBLE_INTERVAL,
    FuelState,
    analyze_fuel,
    implausible_interval_count,
    trip_elapsed_share,
)
from pam_proactive.analysis.limits import MAX_TRIP_MILES
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.analysis.stats import positive
from pam_proactive.analysis.units import (
    UnitSystem,
    format_distance,
    format_economy,
    format_percent,
    format_volume,
    shown_distance,
    shown_volume,
)
from pam_proactive.context import Trip, UserContext
from pam_proactive.suggestions.detectors._common import Findings, after, candidate, r1
from pam_proactive.suggestions.detectors.spec import DetectorSpec, SuggestionType
from pam_proactive.suggestions.models import DetectorResult, Priority
from pam_proactive.suggestions.relations import fuel_subject

TYPE = "fuel_low"
# Less than this to buy is within the estimate's noise: not worth a stop, never "0 gallons".
MIN_GALLONS_TO_BUY = 0.5


@dataclass(frozen=True, slots=True)
class TripNeed:
    """Miles still to drive on a trip about to start (planned) or under way (active)."""

    trip: Trip
    miles: float
    active: bool


def upcoming_trip_needs(
    ctx: UserContext, settings: DetectorSettings, window_days: int
) -> list[TripNeed]:
    """Planned trips starting in [today, today + ``window_days``] and the remaining share of
    active trips, with the miles each still needs."""
    needs: list[TripNeed] = []
    last_day = add_days(ctx.today, window_days)
    for trip in ctx.travel.trips:
        distance = positive(trip.distance_miles, MAX_TRIP_MILES)
        if distance is None:
            continue
        if trip.status == "planned":
            start = trip.start_date
            if start is not None and ctx.today <= start <= last_day:
                needs.append(TripNeed(trip, distance, active=False))
        elif trip.status == "active":
            share = trip_elapsed_share(trip, ctx.today)
            if share is not None and share < 1.0:
                needs.append(TripNeed(trip, distance * (1.0 - share), active=True))
    return needs


def _where(trip: Trip) -> str:
    destination = (trip.destination or "").strip()
    return f"to {destination}" if destination else ""


def beyond_range(miles: float, range_miles: float, reserve: float, units: UnitSystem) -> bool:
    """Whether a trip of ``miles`` needs more than the range less the reserve, both in fact
    and on the figures a message shows ('about 423 miles, more than that range less a
    reserve of 50 miles' must hold of 423, the range shown and 50)."""
    shown = shown_distance(miles, units)
    return (miles > range_miles - reserve
            and shown > shown_distance(range_miles, units) - shown_distance(reserve, units))


def _short_trip(ctx: UserContext, state: FuelState, settings: DetectorSettings) -> TripNeed | None:
    """The upcoming trip (:func:`upcoming_trip_needs`) that most exceeds the estimated range
    minus the reserve (:func:`beyond_range`), if any, among those that buying fuel now helps
    with (at least :data:`MIN_GALLONS_TO_BUY`)."""
    if state.level_pct >= settings.fuel_trip_max_level_pct:
        return None  # before the trips are read: a nearly full tank needs none of them
    needs = upcoming_trip_needs(ctx, settings, settings.fuel_trip_window_days)
    units = ctx.profile.units
    reserve = settings.fuel_reserve_miles
    short = [
        n for n in needs
        if beyond_range(n.miles, state.range_miles, reserve, units)
        and state.gallons_to_cover(n.miles, reserve) >= MIN_GALLONS_TO_BUY
    ]
    return max(short, key=lambda n: n.miles, default=None)


def _explain(ctx: UserContext, state: FuelState) -> str:
    units = ctx.profile.units
    miles = state.miles_since_fill
    filled = format_date(state.last_full_fill.filled_on)
    if miles.source == "none":
        driven = "no recorded driving since"
    else:
        driven = f"about {format_distance(miles.value or 0.0, units)} driven since ({miles.detail})"
    return (
        f"This estimate uses your last full fill-up on {filled}, "
        f"{driven}, {format_economy(state.mpg, units)} ({state.economy.detail}) and a tank "
        f"of {format_volume(state.tank_gallons, units)} ({state.tank.detail})."
        + (
            f" It counts the {format_volume(state.partial_gallons, units)} you added since."
            if shown_volume(state.partial_gallons, units) > 0
            else ""
        )
    )


def _trip_sentence(
    ctx: UserContext, state: FuelState, need: TripNeed, settings: DetectorSettings
) -> str:
    units = ctx.profile.units
    where = _where(need.trip)
    to_buy = format_volume(state.gallons_to_cover(need.miles, settings.fuel_reserve_miles), units)
    distance = format_distance(need.miles, units)
    reserve = format_distance(settings.fuel_reserve_miles, units)
    if need.active:
        text = (
            f"The rest of your current trip {where} is about {distance}, more than that range "
            f"less a reserve of {reserve}: refuel soon (about {to_buy})."
        )
    else:
        when = format_date(need.trip.start_date) if need.trip.start_date else "soon"
        text = (
            f"Your trip {where} on {when} is about {distance}, more than that range less a "
            f"reserve of {reserve}: refuel before you leave (about {to_buy})."
        )
    text += full_tank_shortfall(need.miles, state.full_range_miles(),
                                settings.fuel_reserve_miles, units)
    return " ".join(text.split())


def full_tank_shortfall(miles: float, full_range: float, reserve: float,
                        units: UnitSystem) -> str:
    """' Even a full tank (about F) won't cover it[ with the reserve of R], so plan a fuel
    stop on the way.' when a trip of ``miles`` is beyond a full tank's range (with the
    reserve), else ''. Decided on the figures the message shows, so the sentence is true of
    what the traveler reads; it names the reserve whenever the trip alone would fit."""
    trip, full, kept = (shown_distance(v, units) for v in (miles, full_range, reserve))
    tank = f" Even a full tank (about {format_distance(full_range, units)})"
    if trip > full:
        return f"{tank} won't cover it, so plan a fuel stop on the way."
    if trip + kept > full:
        return (f"{tank} won't cover it and keep the reserve of "
                f"{format_distance(reserve, units)}, so plan a fuel stop on the way.")
    return ""


def detect_fuel_low(
    ctx: UserContext, now: datetime, settings: DetectorSettings
) -> DetectorResult:
    """A ``fuel_low`` candidate when the estimated level is below the medium/high thresholds,
    or (high) a trip about to start or under way needs more than the range minus the
    reserve. Silent, with a note, when the level cannot be estimated (no fills, or more miles
    since the last full fill-up than the tank holds: an unlogged fill) or rests on too many
    defaults."""
    found = Findings(TYPE)
    found.skip(SKIP_IMPLAUSIBLE_INTERVAL, implausible_interval_count(ctx, settings))
    result = analyze_fuel(ctx, settings)
    for caveat in result.notes:
        found.note(caveat)
    state = result.state
    if state is None:
        found.note(result.reason or "no fuel state")
        return found.result()
    if state.confidence < settings.fuel_min_confidence:
        found.note("estimate rests on too many defaults")
        return found.result()
    need = _short_trip(ctx, state, settings)
    if state.level_pct < settings.fuel_high_pct or need is not None:
        priority = Priority.HIGH
    elif state.level_pct < settings.fuel_medium_pct:
        priority = Priority.MEDIUM
    else:
        return found.result()
    units = ctx.profile.units
    level = format_percent(state.level_pct)
    message = (
        f"Your tank is at roughly {level} (about {format_volume(state.gallons_left, units)}, "
        f"{format_distance(state.range_miles, units)} of range). {_explain(ctx, state)}"
    )
    if need is not None:
        message += " " + _trip_sentence(ctx, state, need, settings)
        title = "Refuel soon" if need.active else "Refuel before you leave"
    else:
        title = f"Fuel low: about {level} left"
    data = state.to_data() | {
        "thresholds": {
            "medium_pct": settings.fuel_medium_pct,
            "high_pct": settings.fuel_high_pct,
            "reserve_miles": settings.fuel_reserve_miles,
        },
    }
    if need is not None:
        data["trip"] = {
            "trip_id": need.trip.trip_id,
            "miles_needed": r1(need.miles),
            "active": need.active,
            "gallons_to_buy": r1(state.gallons_to_cover(need.miles, settings.fuel_reserve_miles)),
        }
    vehicle_key = state.vehicle.vehicle_id or "profile"
    return found.result([
        candidate(
            ctx,
            now,
            type=TYPE,
            priority=priority,
            title=title,
            message=message,
            dedup_key=f"{TYPE}:{vehicle_key}:{state.last_full_fill.fill_id}",
            data=data,
            expires_at=after(now, hours=settings.fuel_expiry_hours),
            tags=("fuel",),
            subjects=(fuel_subject(state.vehicle.vehicle_id),),
        )
    ])


def fuel_low_boundary(ctx: UserContext, now: datetime, settings: DetectorSettings,
                      keys: Collection[str]) -> datetime | None:
    """Fuel: an active trip's elapsed share (the estimated level falls by one day's share
    each local day, so the 25 %/15 % crossings fall on local midnights); a planned trip
    entering ``fuel_trip_window_days``, or starting (it becomes the active trip)."""
    days: list[date] = []  # each flips the output at its local midnight
    for trip in ctx.travel.trips:
        start, end = trip.start_date, trip.end_date
        if trip.status == "active":
            last = end if isinstance(end, date) else start
            if isinstance(last, date) and last >= ctx.today:
                days.append(tomorrow(ctx))
        elif trip.status == "planned" and isinstance(start, date):
            days.append(add_days(start, -settings.fuel_trip_window_days))
            days.append(start)
    return earliest_day_boundary(ctx, days)


SPEC = DetectorSpec(
    name=TYPE,
    types=(SuggestionType(
        TYPE, group="fuel", job="monitor",
        rule="The estimated fuel level (from fill-ups and miles driven since) is below the "
             "medium or high threshold, or too low for the next planned leg."),),
    detect=detect_fuel_low,
    boundary=fuel_low_boundary,
    settings=("fuel_medium_pct", "fuel_high_pct", "fuel_reserve_miles", "fuel_trip_window_days",
              "fuel_trip_max_level_pct", "fuel_min_confidence", "fuel_expiry_hours"),
)
