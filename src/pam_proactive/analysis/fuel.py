"""Fuel analysis of the primary vehicle: tank size, fuel economy, miles driven since the last
full fill-up, and the resulting fuel state.

Units: miles, US gallons, miles per US gallon, percent 0-100. Every estimate carries the
source it came from (the user's own data first, class defaults last) so messages can say how
we know, and a confidence in 0..1.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple, TypeVar, cast

from pam_proactive.analysis.dates import add_days
from pam_proactive.analysis.limits import (
    MAX_FILL_GALLONS,
    MAX_ODOMETER_MILES,
    MAX_TANK_GALLONS,
    MAX_TRIP_MILES,
    plausible_max_odometer,
)
from pam_proactive.analysis.memo import per_context
from pam_proactive.analysis.records import quick_init
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.analysis.stats import clamp, positive, sorted_median
from pam_proactive.analysis.vehicles import normalize_vehicle_class
from pam_proactive.context import FuelFill, MaintenanceItem, Trip, UserContext, Vehicle

SKIP_IMPLAUSIBLE_INTERVAL = "fuel_interval_implausible_mpg"
MIN_LEVEL_PCT = 1.0  # an estimate below this is unknown, not empty
UNKNOWN_FILL_SINCE = (
    "a fill-up since the last full one has an unusable volume: the level is unknown "
    "(correct that fill-up)"
)
UNLOGGED_FILL = (
    "more miles since the last full fill-up than the tank holds: a fill-up went unlogged "
    "(log your fill-ups)"
)


@quick_init
@dataclass(frozen=True, slots=True)
class Estimate:
    """A value with where it came from: ``source`` is a short machine tag, ``detail`` a plain
    English phrase for messages, ``confidence`` in 0..1. ``value`` is None when unknown."""

    value: float | None
    source: str
    detail: str
    confidence: float


@quick_init
@dataclass(frozen=True, slots=True)
class Interval:
    """Fuel economy between two consecutive full fill-ups (miles, gallons, mpg)."""

    start_fill_id: str
    end_fill_id: str
    start_date: date
    end_date: date
    miles: float
    gallons: float  # everything bought after the first full fill up to the second
    mpg: float
    plausible: bool


@quick_init
@dataclass(frozen=True, slots=True)
class FuelState:
    """Estimated fuel in the primary vehicle's tank as of ``ctx.today``."""

    vehicle: Vehicle
    tank: Estimate  # US gallons
    economy: Estimate  # mpg
    miles_since_fill: Estimate  # miles since the last full fill-up
    last_full_fill: FuelFill
    partial_gallons: float  # bought after the last full fill-up, added back
    gallons_left: float  # in [0, tank]
    level_pct: float  # 0-100
    range_miles: float  # gallons_left * mpg
    confidence: float  # product of the three estimates' confidences

    @property
    def tank_gallons(self) -> float:
        """Tank size in US gallons (always known on a state)."""
        return self.tank.value or 0.0

    @property
    def mpg(self) -> float:
        """Fuel economy in mpg (always known on a state)."""
        return self.economy.value or 0.0

    def full_range_miles(self) -> float:
        """Miles a full tank covers at the estimated economy."""
        return self.tank_gallons * self.mpg

    def gallons_to_cover(self, miles: float, reserve_miles: float) -> float:
        """US gallons to buy now so ``miles`` plus the reserve are covered, at most what the
        tank takes (0 when the current fuel is enough)."""
        needed = (miles + reserve_miles) / self.mpg - self.gallons_left
        return clamp(needed, 0.0, self.tank_gallons - self.gallons_left)

    def to_data(self) -> dict[str, Any]:
        """Every number behind the state, with its source, for ``Candidate.data``."""
        return {
            "tank_gallons": round(self.tank_gallons, 1),
            "tank_source": self.tank.source,
            "mpg": round(self.mpg, 2),
            "mpg_source": self.economy.source,
            "miles_since_fill": round(self.miles_since_fill.value or 0.0, 1),
            "miles_source": self.miles_since_fill.source,
            "last_full_fill_id": self.last_full_fill.fill_id,
            "last_full_fill_date": self.last_full_fill.filled_on.isoformat(),
            "partial_gallons": round(self.partial_gallons, 1),
            "gallons_left": round(self.gallons_left, 1),
            "level_pct": round(self.level_pct, 1),
            "range_miles": round(self.range_miles, 1),
            "confidence": round(self.confidence, 2),
        }


@quick_init
@dataclass(frozen=True, slots=True)
class FuelResult:
    """Either a state, or the reason there is none (a short phrase for notes); ``notes`` are
    caveats of a state (what it could not count)."""

    state: FuelState | None
    reason: str | None
    notes: tuple[str, ...] = ()


# --- the vehicle -------------------------------------------------------------------------


def primary_vehicle(ctx: UserContext) -> Vehicle:
    """``ctx.vehicle.primary``, or a vehicle synthesised from the profile (no id, no specs)."""
    if ctx.vehicle.primary is not None:
        return ctx.vehicle.primary
    return Vehicle(
        vehicle_id=None,
        name=None,
        vehicle_class=ctx.profile.vehicle_class,
        fuel_type=ctx.profile.fuel_type,
        tank_gallons=None,
        mpg=None,
        odometer_miles=None,
        registration_expires=None,
        insurance_expires=None,
    )


def vehicle_class(ctx: UserContext, vehicle: Vehicle) -> str:
    """The vehicle's class, falling back to the profile's when the vehicle's is unknown."""
    own = normalize_vehicle_class(vehicle.vehicle_class)
    if own != "unknown":
        return own
    return normalize_vehicle_class(ctx.profile.vehicle_class)


def is_towing(ctx: UserContext, vehicle: Vehicle) -> bool:
    """Whether the driven vehicle tows: the profile says so, or the rig is a trailer."""
    return bool(ctx.profile.towing) or vehicle_class(ctx, vehicle) == "trailer"


def fuel_type(ctx: UserContext, vehicle: Vehicle) -> str:
    """Lower-case fuel type of the vehicle, else of the profile, else ''."""
    return (vehicle.fuel_type or ctx.profile.fuel_type or "").strip().lower()


def _class_label(vehicle_class_name: str) -> str:
    return {
        "class_a": "Class A motorhome",
        "class_b": "Class B camper van",
        "class_c": "Class C motorhome",
        "trailer": "tow vehicle",
        "truck": "pickup truck",
        "van": "van",
        "car": "car",
    }.get(vehicle_class_name, "vehicle")


# --- fills -------------------------------------------------------------------------------


def clean_fills(fills: Iterable[FuelFill], settings: DetectorSettings) -> list[FuelFill]:
    """Fills with a plausible positive volume, in date order (stable, so same-day fills keep
    the loader's order)."""
    return list(_chain(sorted(fills, key=_FILL_DAY), settings, ())[0])


# Dates order as their ordinals do; a C getter instead of a Python key per fill.
_FILL_DAY = attrgetter("filled_on")
_GALLONS = attrgetter("gallons")

# One full-to-full interval as the sweep chains it: (index in the fills of its first fill,
# index of its last fill, gallons, mpg, plausible, first day, last day). What every reader
# wants, nothing more: the miles and the fills are read back (:func:`_interval`) only where a
# caller wants :class:`Interval` objects (:func:`all_intervals`, a candidate's intervals).
_Link = tuple[int, int, float, float, bool, date, date]
_LINK_START = itemgetter(5)
_LINK_END = itemgetter(6)
# A link's mpg, and a (value, label) pair's value: map() with a C getter makes the few values
# a reader wants without a comprehension (a function made and run per use, ~0.25 us).
_LINK_MPG = itemgetter(3)
_VALUE = itemgetter(0)


class _Fuel(NamedTuple):
    """What the fuel analyses read of one context, computed once (:func:`_fuel`; a named
    tuple, built faster than a frozen dataclass, once per traveler)."""

    vehicle: Vehicle  # :func:`primary_vehicle`
    fills: tuple[FuelFill, ...]  # :func:`clean_fills`
    odometers: tuple[float | None, ...]  # each fill's usable odometer (miles) or None
    readings: tuple[float, ...]  # the fills' usable odometers (miles), in fill order
    last_full: int | None  # index in ``fills`` of the last full fill-up
    chain: tuple[_Link, ...]  # every full-to-full interval, oldest first
    plausible: tuple[_Link, ...]  # the plausible ones, oldest first
    implausible: int  # how many are not plausible
    # (day, miles) of the vehicle's completed service records with a usable mileage, in the
    # context's order (each reader applies its own date window).
    services: tuple[tuple[date, float], ...]
    stated: tuple[tuple[float, str], ...]  # usable vehicle and loader odometers, labelled


@per_context
def _fuel(ctx: UserContext, settings: DetectorSettings) -> _Fuel:
    """The context's fuel facts, computed once per context: every fuel analysis reads them,
    so a traveler's fills are cleaned, read and chained into intervals in one pass."""
    fills, odometers, chain, implausible = _chain(
        sorted(ctx.vehicle.fills, key=_FILL_DAY), settings, ctx.vehicle.unusable_fill_days)
    last_full = None
    for index in range(len(fills) - 1, -1, -1):
        if fills[index].is_full:
            last_full = index
            break
    vehicle = primary_vehicle(ctx)
    services: list[tuple[date, float]] = []
    for item in ctx.vehicle.maintenance:
        done = item.performed_on
        if done is not None and belongs_to(item, vehicle):
            mileage = positive(item.mileage_miles, MAX_ODOMETER_MILES)
            if mileage is not None:
                services.append((done, mileage))
    stated: list[tuple[float, str]] = []  # the two stated odometers, unrolled
    odo = positive(vehicle.odometer_miles, MAX_ODOMETER_MILES)
    if odo is not None:
        stated.append((odo, "vehicle odometer"))
    odo = positive(ctx.vehicle.max_odometer_miles, MAX_ODOMETER_MILES)
    if odo is not None:
        stated.append((odo, "latest odometer reading"))
    return _Fuel(  # positional: a named tuple's keywords cost more, once per traveler
        vehicle,
        fills,
        odometers,
        # readings: the usable odometers are positive, so the truthy ones (a C loop)
        tuple(filter(None, odometers)),
        last_full,
        chain,
        # Nearly every traveler's intervals are all plausible: the chain itself, no copy.
        tuple([link for link in chain if link[4]]) if implausible else chain,
        implausible,
        tuple(services),
        tuple(stated),
    )


def context_fills(ctx: UserContext, settings: DetectorSettings) -> tuple[FuelFill, ...]:
    """:func:`clean_fills` of the context's fills, computed once per context (a tuple: the
    memoised value is shared by every caller)."""
    return _fuel(ctx, settings).fills


def context_odometers(ctx: UserContext, settings: DetectorSettings) -> tuple[float | None, ...]:
    """The usable odometer reading (miles) of each of :func:`context_fills`, in the same
    order, None where there is none: read once per context by the intervals, the odometer
    estimate and the miles since the last full fill-up."""
    return _fuel(ctx, settings).odometers


def economy_intervals(fills: Sequence[FuelFill], settings: DetectorSettings,
                      gaps: Sequence[date] = ()) -> list[Interval]:
    """Full-to-full intervals of clean, ordered ``fills``, oldest first.

    Gallons of partial fills are carried into the next full fill. A full fill without an
    odometer reading breaks the chain (the distance to it is unknown), and so does a day of
    ``gaps`` (a fill-up logged with an unusable volume: fuel no figure counts went in)
    between an interval's two days; a full fill after one starts a new chain. Intervals
    whose mpg is
    outside [mpg_min_plausible, mpg_max_plausible] are kept with ``plausible=False``.
    """
    kept, odometers, links, _ = _chain(fills, settings, gaps)
    return [_interval(kept, odometers, link) for link in links]


def _chain(fills: Iterable[FuelFill], settings: DetectorSettings, gaps: Sequence[date]
           ) -> tuple[tuple[FuelFill, ...], tuple[float | None, ...], tuple[_Link, ...], int]:
    """One pass over ``fills`` in date order: the ones :func:`clean_fills` keeps, each kept
    fill's usable odometer (miles, None where there is none), their
    :func:`economy_intervals` as links (indexes into the kept fills), and how many links are
    implausible. Cleaning commutes with the stable date sort, so the sort may come first."""
    kept: list[FuelFill] = []
    keep = kept.append
    odometers: list[float | None] = []
    read = odometers.append
    links: list[_Link] = []
    append = links.append
    implausible = 0
    start = -1  # index of the chain's anchor (the last full fill with an odometer), or -1
    start_odo = 0.0  # the anchor's odometer, set whenever there is an anchor
    start_day = date.min  # the anchor's day
    carried = 0.0
    low, high = settings.mpg_min_plausible, settings.mpg_max_plausible
    index = -1  # of the fill in ``kept``
    for fill in fills:
        if positive(fill.gallons, MAX_FILL_GALLONS) is None:
            continue
        keep(fill)
        index += 1
        odometer = positive(fill.odometer_miles, MAX_ODOMETER_MILES)
        read(odometer)
        if start < 0:
            if odometer is not None and fill.is_full:
                start, start_odo, start_day, carried = index, odometer, fill.filled_on, 0.0
            continue
        carried += fill.gallons
        if not fill.is_full:
            continue
        if odometer is None:  # the distance to this fill is unknown: the chain breaks
            start = -1
        else:
            day = fill.filled_on
            if not (gaps and any(start_day < gap < day for gap in gaps)):
                mpg = (odometer - start_odo) / carried
                plausible = low <= mpg <= high
                if not plausible:
                    implausible += 1
                append((start, index, carried, mpg, plausible, start_day, day))
            start, start_odo, start_day = index, odometer, day
        carried = 0.0
    return tuple(kept), tuple(odometers), tuple(links), implausible


def _interval(fills: Sequence[FuelFill], odometers: Sequence[float | None],
              link: _Link) -> Interval:
    """The :class:`Interval` of a link (built only where a caller wants objects); its miles
    are the difference :func:`_chain` divided, so they equal mpg * gallons as it computed."""
    first, last, gallons, mpg, plausible, start_day, end_day = link
    return Interval(
        start_fill_id=str(fills[first].fill_id),
        end_fill_id=str(fills[last].fill_id),
        start_date=start_day,
        end_date=end_day,
        miles=cast(float, odometers[last]) - cast(float, odometers[first]),
        gallons=gallons,
        mpg=mpg,
        plausible=plausible,
    )


@per_context
def all_intervals(ctx: UserContext, settings: DetectorSettings) -> list[Interval]:
    """The context's full-to-full intervals, plausible or not, oldest first."""
    fuel = _fuel(ctx, settings)
    return [_interval(fuel.fills, fuel.odometers, link) for link in fuel.chain]


def plausible_intervals(ctx: UserContext, settings: DetectorSettings) -> list[Interval]:
    """The context's plausible full-to-full intervals, oldest first."""
    return [i for i in all_intervals(ctx, settings) if i.plausible]


T = TypeVar("T")


def _split(items: Sequence[T], start_of: Callable[[T], date], end_of: Callable[[T], date],
           settings: DetectorSettings) -> tuple[Sequence[T], Sequence[T]]:
    """:func:`split_intervals` of intervals in any shape (``start_of``/``end_of`` read an
    interval's first and last day), oldest first: their last days never decrease (each
    interval ends on a later or the same fill day), so the baseline is the tail of the
    earlier intervals from the first one ending on or after its first day (a bisection)."""
    count = settings.economy_recent_intervals
    if count <= 0 or len(items) < count:
        return [], []
    split = len(items) - count
    recent = items[split:]
    since = add_days(start_of(recent[0]), -settings.economy_baseline_days)
    return recent, items[bisect_left(items, since, 0, split, key=end_of):split]


def split_intervals(
    intervals: list[Interval], settings: DetectorSettings
) -> tuple[list[Interval], list[Interval]]:
    """(recent, baseline): the last ``economy_recent_intervals`` intervals, and the earlier
    ones ending within ``economy_baseline_days`` before the first recent one starts
    (``intervals`` oldest first, as :func:`all_intervals` gives them)."""
    recent, baseline = _split(intervals, _START_DATE, _END_DATE, settings)
    return list(recent), list(baseline)


_START_DATE = attrgetter("start_date")
_END_DATE = attrgetter("end_date")


@quick_init
@dataclass(frozen=True, slots=True)
class EconomyWindows:
    """:func:`split_intervals` of a context's plausible intervals, as the economy detector
    reads it: the recent intervals built as :class:`Interval` objects only when asked
    (:meth:`recent`), for a candidate, the baseline's mpg values only when asked."""

    fuel: _Fuel  # the context's fuel facts the links index
    links: Sequence[_Link]  # the recent intervals, oldest first
    baseline: Sequence[_Link]  # the baseline intervals, oldest first

    @property
    def recent_mpgs(self) -> list[float]:
        """The recent intervals' mpg, oldest first."""
        return list(map(_LINK_MPG, self.links))

    @property
    def baseline_mpgs(self) -> tuple[float, ...]:
        """The baseline intervals' mpg, oldest first."""
        return tuple(map(_LINK_MPG, self.baseline))

    @property
    def last_end(self) -> date | None:
        """The day the latest recent interval ends, None without recent intervals."""
        return self.links[-1][6] if self.links else None

    def recent(self) -> list[Interval]:
        """The recent intervals, oldest first."""
        fills, odometers = self.fuel.fills, self.fuel.odometers
        return [_interval(fills, odometers, link) for link in self.links]


def economy_windows(ctx: UserContext, settings: DetectorSettings) -> EconomyWindows:
    """The context's plausible intervals split by :func:`split_intervals`' rule."""
    fuel = _fuel(ctx, settings)
    recent, baseline = _split(fuel.plausible, _LINK_START, _LINK_END, settings)
    return EconomyWindows(fuel, recent, baseline)


def mpg_median(mpgs: Iterable[float]) -> float | None:
    """:func:`~pam_proactive.analysis.stats.median` of intervals' mpg values, None without
    any: the chain divides finite miles by positive gallons, so they need no cleaning."""
    return sorted_median(sorted(mpgs))


def implausible_interval_count(ctx: UserContext, settings: DetectorSettings) -> int:
    """How many full-to-full intervals have an implausible mpg (reported as skipped under
    :data:`SKIP_IMPLAUSIBLE_INTERVAL` by the detectors that use fuel economy)."""
    return _fuel(ctx, settings).implausible


# --- estimates ---------------------------------------------------------------------------

# The tank and economy estimates are read by :func:`analyze_fuel` alone, once per context
# (memoised there): memoising them too would cost more than it saves.


def tank_estimate(ctx: UserContext, settings: DetectorSettings) -> Estimate:
    """Tank size in US gallons: the vehicle's stated size; else, with enough fills, the
    largest fill plus a margin (nobody fills from bone dry); else the class default."""
    return _tank(ctx, _fuel(ctx, settings), settings)


def _tank(ctx: UserContext, fuel: _Fuel, settings: DetectorSettings) -> Estimate:
    """:func:`tank_estimate` of the context's fuel facts."""
    vehicle = fuel.vehicle
    stated = positive(vehicle.tank_gallons, MAX_TANK_GALLONS)
    if stated is not None:
        return Estimate(stated, "vehicle", "your vehicle's tank size", 0.9)
    fills = fuel.fills
    if len(fills) >= settings.tank_from_fills_min_fills:
        largest = max(map(_GALLONS, fills)) * settings.tank_from_fills_factor
        return Estimate(largest, "largest_fill", "estimated from your largest fill-up", 0.8)
    klass = vehicle_class(ctx, vehicle)
    default = settings.default_tank_gallons(klass, fuel_type(ctx, vehicle))
    if default is None:
        return Estimate(None, "unknown", "unknown", 0.0)
    label = _class_label(klass)
    if klass == "class_a" and fuel_type(ctx, vehicle) == "diesel":
        label = "diesel Class A motorhome"
    return Estimate(default, "class_default", f"typical for a {label}", 0.5)


def economy_estimate(ctx: UserContext, settings: DetectorSettings) -> Estimate:
    """Fuel economy in mpg: the median of the user's last full-to-full intervals; else the
    vehicle's stated mpg; else the class default (lowered when towing)."""
    return _economy(ctx, _fuel(ctx, settings), settings)


def _economy(ctx: UserContext, fuel: _Fuel, settings: DetectorSettings) -> Estimate:
    """:func:`economy_estimate` of the context's fuel facts."""
    mpgs = list(map(_LINK_MPG, fuel.plausible[-settings.economy_window_intervals :]))
    own = mpg_median(mpgs)
    if own is not None:
        count = len(mpgs)
        detail = (
            f"median of your last {count} full-to-full fill-ups"
            if count > 1
            else "your last full-to-full fill-up"
        )
        return Estimate(own, "own_fills", detail, 0.9 if count >= 3 else 0.75)
    vehicle = fuel.vehicle
    stated = positive(vehicle.mpg, settings.mpg_max_plausible)
    if stated is not None:
        return Estimate(stated, "vehicle", "your vehicle's stated mpg", 0.7)
    klass = vehicle_class(ctx, vehicle)
    towing = is_towing(ctx, vehicle)
    default = settings.default_mpg(klass, towing)
    if default is None:
        return Estimate(None, "unknown", "unknown", 0.0)
    detail = f"typical for a {_class_label(klass)}" + (" while towing" if towing else "")
    return Estimate(default, "class_default", detail, 0.5)


def belongs_to(item: MaintenanceItem, vehicle: Vehicle) -> bool:
    """Whether the service ``item`` is ``vehicle``'s: it names that vehicle, or either of
    them has no id (a record of no vehicle in particular counts for the only one known)."""
    return (
        item.vehicle_id is None
        or vehicle.vehicle_id is None
        or (item.vehicle_id == vehicle.vehicle_id)
    )


@per_context
def best_odometer(ctx: UserContext, settings: DetectorSettings) -> Estimate:
    """Best estimate of the primary vehicle's current odometer, in miles: the highest reading
    from fills, completed service records, the vehicle and the loader's maximum that the
    outlier rule (:func:`pam_proactive.analysis.limits.odometer_outliers`) keeps."""
    fuel = _fuel(ctx, settings)
    today = ctx.today
    labelled = [(mileage, "service record") for done, mileage in fuel.services if done <= today]
    labelled += fuel.stated
    best = plausible_max_odometer([*fuel.readings, *map(_VALUE, labelled)])
    if best is None:
        return Estimate(None, "unknown", "unknown", 0.0)
    # The kept maximum is one of the readings; of those equal to it, the largest label names
    # it (as the largest (value, label) pair at or under it always did).
    ties = [r for r in labelled if r[0] == best]
    if best in fuel.readings:
        ties.append((best, "fill-up"))
    value, label = max(ties)
    return Estimate(value, "odometer", f"the {label}", 0.9)


def _odometer_miles_since(ctx: UserContext, fuel: _Fuel, index: int) -> Estimate | None:
    """Miles since ``fuel.fills[index]`` from odometer readings, or None without
    evidence."""
    start = fuel.odometers[index]
    if start is None:
        return None
    since = fuel.fills[index].filled_on
    today = ctx.today
    later = fuel.odometers[index + 1 :]  # nearly always none: the last fill is the full one
    dated: list[float] = [o for o in later if o is not None] if later else []
    for done, mileage in fuel.services:
        if since <= done <= today:
            dated.append(mileage)
    if not dated:
        # No reading after the fill: then only a stated reading above the fill's own can be
        # evidence (the rule below finds none when every reading is at or under it), so
        # most travelers stop here, without the readings' list and sort.
        for value, _ in fuel.stated:
            if value > start:
                break
        else:
            return None
    readings = [start, *dated]
    for value, _ in fuel.stated:
        readings.append(value)
    best = plausible_max_odometer(readings)
    if best is None or best < start:  # the fill's own reading is the outlier
        return None
    # A current reading equal to the fill's own is no evidence of standing still unless it
    # was taken after the fill (one at or under it: the smallest; the readings are finite).
    if best <= start and not (dated and min(dated) <= best):
        return None
    return Estimate(max(0.0, best - start), "odometer", "odometer readings", 0.9)


def trip_elapsed_share(trip: Trip, today: date) -> float | None:
    """Share (0..1) of an active trip's days already behind the traveler as of ``today``:
    whole days since the start over the trip's days; None without usable dates."""
    start, end = trip.start_date, trip.end_date
    if start is None or end is None or end < start:
        return None
    total = (end - start).days + 1
    return clamp((today - start).days / total, 0.0, 1.0)


# What :func:`_trip_miles_since` finds without trips (most travelers): one shared value.
_NO_DRIVING = Estimate(0.0, "none", "no recorded driving", 0.5)


def _trip_miles_since(ctx: UserContext, since: date) -> tuple[Estimate, bool]:
    """Miles of trips completed or under way that started on or after ``since``; the flag
    says whether an active trip had to be left out for lack of dates."""
    trips = ctx.travel.trips
    if not trips:
        return _NO_DRIVING, False
    miles, counted, incomplete = 0.0, 0, False
    for trip in trips:
        start = trip.start_date
        if start is None or not since <= start <= ctx.today:
            continue
        distance = positive(trip.distance_miles, MAX_TRIP_MILES)
        if distance is None:
            continue
        if trip.status == "completed":
            miles, counted = miles + distance, counted + 1
        elif trip.status == "active":
            share = trip_elapsed_share(trip, ctx.today)
            if share is None:
                incomplete = True
                continue
            miles, counted = miles + distance * share, counted + 1
    if counted == 0:
        return _NO_DRIVING, incomplete
    plural = "s" if counted != 1 else ""
    return Estimate(miles, "trips", f"{counted} trip{plural} since then", 0.6), incomplete


@per_context
def analyze_fuel(ctx: UserContext, settings: DetectorSettings) -> FuelResult:
    """The primary vehicle's estimated fuel state, or why it cannot be estimated.

    Level = (tank - miles since the last full fill / mpg + partial fills since) / tank,
    at most 100 %. Without fills the level is unknown and never guessed. When the miles
    driven use up everything the tank and the partial fills since could carry (to within
    :data:`MIN_LEVEL_PCT`), the traveler has filled up without logging it: the level is
    unknown (never "empty"), so there is no state either. The confidence is the product of
    the tank, economy and miles estimates' confidences, lowered by up to half as the miles
    estimate consumes more of the tank (the nearer to empty, the likelier an unlogged fill).
    """
    fuel = _fuel(ctx, settings)
    fills = fuel.fills
    if not fills:
        return FuelResult(None, "no fill-ups logged")
    index = fuel.last_full
    if index is None:
        return FuelResult(None, "no full fill-up logged")
    last_full = fills[index]
    gaps = ctx.vehicle.unusable_fill_days  # nearly always none
    if gaps and any(day > last_full.filled_on for day in gaps):
        return FuelResult(None, UNKNOWN_FILL_SINCE)
    tank = _tank(ctx, fuel, settings)
    economy = _economy(ctx, fuel, settings)
    if tank.value is None:
        return FuelResult(None, "no tank size and no vehicle class")
    if economy.value is None:
        return FuelResult(None, "no fuel economy and no vehicle class")
    vehicle = fuel.vehicle
    miles = _odometer_miles_since(ctx, fuel, index)
    notes: tuple[str, ...] = ()
    if miles is None:
        miles, incomplete = _trip_miles_since(ctx, last_full.filled_on)
        if incomplete:
            notes = ("an active trip without usable dates was not counted",)
    # Nearly always none after the last full fill-up: no generator then (sum's empty 0).
    partial = sum(f.gallons for f in fills[index + 1 :]) if index + 1 < len(fills) else 0
    used = (miles.value or 0.0) / economy.value
    gallons = tank.value - used + partial
    raw_pct = gallons / tank.value * 100.0
    if not math.isfinite(raw_pct):
        return FuelResult(None, "fuel numbers out of range")
    # Under 1 % left (never shown as "0 %") is as unlikely as an overrun: nobody drives a
    # tank to its last drop, so an unlogged fill-up is the likelier story.
    if gallons < MIN_LEVEL_PCT / 100.0 * tank.value:
        return FuelResult(None, UNLOGGED_FILL, notes)
    gallons = min(gallons, tank.value)
    level = gallons / tank.value * 100.0
    consumed = 1.0 - level / 100.0
    state = FuelState(  # positional, in field order: keywords cost ~40 % more per traveler
        vehicle,
        tank,
        economy,
        miles,  # miles_since_fill
        last_full,  # last_full_fill
        partial,  # partial_gallons
        gallons,  # gallons_left
        level,  # level_pct
        gallons * economy.value,  # range_miles
        tank.confidence * economy.confidence * miles.confidence
        * (1.0 - 0.5 * consumed),  # confidence
    )
    return FuelResult(state, None, notes)
