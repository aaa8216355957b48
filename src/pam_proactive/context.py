"""Typed context objects: everything the detectors may know about one traveler at one moment.

Units are fixed here whatever the database stores: distances in miles, volumes in US gallons,
fuel economy in miles per US gallon, money in the user's own currency (``Profile.currency``),
percentages in 0-100. The presets' views do the conversion; messages convert back to the
user's units when they are written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from types import MappingProxyType
from typing import Literal
from uuid import UUID

Units = Literal["imperial", "metric"]
TripStatus = Literal["planned", "active", "completed", "cancelled"]
Period = Literal["weekly", "monthly", "yearly"]


@dataclass(frozen=True, slots=True)
class Coordinates:
    """A point in decimal degrees."""

    lat: float
    lng: float


@dataclass(frozen=True, slots=True)
class Profile:
    """Who the traveler is and how they want to be spoken to."""

    user_id: UUID
    status: str
    units: Units
    timezone: str  # IANA name, validated; 'UTC' when unknown
    currency: str  # ISO 4217 code
    region: str | None
    vehicle_class: str  # normalised: class_a, class_b, class_c, trailer, truck, van, car, unknown
    fuel_type: str | None  # gasoline, diesel, ... or None
    towing: bool
    coordinates: Coordinates | None  # explicit current position, when the app stores one
    opted_out: bool
    disabled_types: frozenset[str]  # suggestion types or 'group:<name>'
    quiet_start: time | None
    quiet_end: time | None
    daily_cap: int | None


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """One active budget in its current period, as of ``today`` in the user's timezone."""

    budget_id: str
    category: str | None  # None = all spending
    limit: float  # per period, user's currency
    period: Period
    period_start: date  # first day counted (period start, or the budget's start if later)
    period_end: date  # last day of the period (inclusive)
    spent: float  # in [period_start, today]
    outlier_spent: float  # part of `spent` made of one-off outliers (the anomaly rule)
    alert_threshold_pct: float
    # Recurring payments (analysis.schedules): the part of `spent` that fit a schedule (not
    # an outlier, not daily pace), and those still expected in the rest of the period.
    scheduled_spent: float = 0.0
    scheduled_due: float = 0.0


@dataclass(frozen=True, slots=True)
class CategoryStats:
    """Spending statistics of one category."""

    category: str
    baseline_count: int  # expenses in the 90 days before the last 7
    baseline_median: float | None
    baseline_mad: float | None  # median absolute deviation
    spent_30d: float
    count_30d: int
    spent_month: float  # calendar month to date
    # Months -1, -2, -3 before the current one, each over days 1..today's day of month
    # (clamped to the month's length): the spending trend's comparison span.
    prior_months: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class Expense:
    """A recent expense (last 7 days, user's local dates)."""

    expense_id: str
    category: str
    amount: float
    spent_on: date
    scheduled: bool = False  # fits a recurring payment's schedule (analysis.schedules)


@dataclass(frozen=True, slots=True)
class FinancialContext:
    month_spent: float  # all categories, calendar month to date
    budgets: tuple[BudgetStatus, ...]
    categories: dict[str, CategoryStats]
    recent_expenses: tuple[Expense, ...]


@dataclass(frozen=True, slots=True)
class Trip:
    trip_id: str
    status: TripStatus  # effective status at `now`, derived from the dates when replaying
    origin: str | None
    destination: str | None
    start_date: date | None
    end_date: date | None
    distance_miles: float | None
    estimated_cost: float | None
    origin_coordinates: Coordinates | None
    destination_coordinates: Coordinates | None


@dataclass(frozen=True, slots=True)
class Location:
    """Where the traveler is believed to be, and how we know."""

    coordinates: Coordinates | None
    place_name: str | None
    source: Literal["profile", "active_trip", "last_trip"]


@dataclass(frozen=True, slots=True)
class TravelContext:
    trips: tuple[Trip, ...]  # completed in the last 365 days, active, and planned; by start date
    location: Location | None


@dataclass(frozen=True, slots=True)
class CalendarEvent:
    """A calendar event. An all-day event's ``starts_at`` is its *date* as stored (midnight
    UTC of it), never a moment to shift into a zone: read it with
    ``analysis.events.event_day`` / ``event_start`` (the traveler's local midnight of it). A
    timed event's ``starts_at`` is its instant, written in the traveler's zone."""

    event_id: str
    title: str
    starts_at: datetime
    ends_at: datetime
    all_day: bool
    event_type: str
    location_name: str | None
    # The traveler's local date of the event (``analysis.events.event_day``), set by the data
    # layer so that every JSON output prints the date the suggestions use.
    starts_on: date | None = None


@dataclass(frozen=True, slots=True)
class CalendarContext:
    events: tuple[CalendarEvent, ...]  # starting in [now - 1 day, now + 30 days], by start


@dataclass(frozen=True, slots=True)
class FuelFill:
    fill_id: str
    filled_on: date
    odometer_miles: float | None
    gallons: float
    total_cost: float | None
    is_full: bool


@dataclass(frozen=True, slots=True)
class Vehicle:
    vehicle_id: str | None  # None when synthesised from the profile alone
    name: str | None
    vehicle_class: str
    fuel_type: str | None
    tank_gallons: float | None
    mpg: float | None
    odometer_miles: float | None
    registration_expires: date | None
    insurance_expires: date | None


@dataclass(frozen=True, slots=True)
class MaintenanceItem:
    """The latest record of one task (older records of the same task are superseded)."""

    record_id: str
    vehicle_id: str | None
    task: str
    performed_on: date | None  # None for a scheduled, not yet done, service
    mileage_miles: float | None
    next_due_date: date | None
    next_due_mileage_miles: float | None


@dataclass(frozen=True, slots=True)
class VehicleContext:
    primary: Vehicle | None
    fills: tuple[FuelFill, ...]  # last 400 days, chronological, valid rows only
    maintenance: tuple[MaintenanceItem, ...]
    max_odometer_miles: float | None  # highest plausible odometer reading, any source
    # Days of fill-ups skipped for an unusable volume: fuel went in that no figure counts, so
    # no economy interval or fuel level may span one (dropping them silently would credit
    # their fuel's miles to the next fill-up).
    unusable_fill_days: tuple[date, ...] = ()


Counts = tuple[tuple[str, int], ...]  # (reason, rows), one pair per reason, sorted


@dataclass(frozen=True, slots=True)
class DataQuality:
    """How much to trust a context, as the loaders found it (immutable: built once with a
    :class:`QualityBuilder`). Detectors report why they stayed silent in their own result,
    not here."""

    sections: tuple[tuple[str, float], ...] = ()  # (section, completeness 0..1)
    missing_sources: tuple[str, ...] = ()
    skipped: Counts = ()  # rows skipped as malformed or outside the schema's domain
    repaired: Counts = ()  # rows kept with a corrected value
    recorded_after: Counts = ()  # (source, rows recorded after `now`), ignored
    stale: bool = False
    # (field, what the engine used instead): a value missing or outside its domain that the
    # engine had to replace to work at all, said aloud (e.g. ('timezone', 'UTC')).
    assumed: tuple[tuple[str, str], ...] = ()

    @property
    def completeness(self) -> Mapping[str, float]:
        """Section -> share (0..1) of its sources present."""
        return MappingProxyType(dict(self.sections))

    @property
    def skipped_rows(self) -> Mapping[str, int]:
        """Reason -> rows skipped."""
        return MappingProxyType(dict(self.skipped))

    @property
    def repaired_rows(self) -> Mapping[str, int]:
        """Reason -> rows repaired."""
        return MappingProxyType(dict(self.repaired))

    @property
    def recorded_after_now(self) -> Mapping[str, int]:
        """Source -> rows recorded (created_at) after ``now``: ignored, so that a replay stays
        honest, and not reported as missing sources."""
        return MappingProxyType(dict(self.recorded_after))

    @property
    def assumptions(self) -> Mapping[str, str]:
        """Field -> the value used in place of a missing or invalid one."""
        return MappingProxyType(dict(self.assumed))

    @property
    def rows_skipped(self) -> int:
        """Total rows skipped."""
        return sum(n for _, n in self.skipped)


@dataclass(slots=True)
class QualityBuilder:
    """Accumulates one context's data-quality findings while it is assembled; :meth:`freeze`
    gives the immutable :class:`DataQuality`."""

    sections: dict[str, float] = field(default_factory=dict)
    missing_sources: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    repaired: dict[str, int] = field(default_factory=dict)
    recorded_after_now: dict[str, int] = field(default_factory=dict)
    assumed: dict[str, str] = field(default_factory=dict)

    def assume(self, name: str, used: str) -> None:
        """Say that ``used`` stands in for the missing or invalid value of ``name``."""
        self.assumed[name] = used

    def skip(self, reason: str, n: int = 1) -> None:
        """Count ``n`` rows skipped, by reason."""
        if n:
            self.skipped[reason] = self.skipped.get(reason, 0) + n

    def repair(self, reason: str, n: int = 1) -> None:
        """Count ``n`` rows repaired (kept with a corrected value), by reason."""
        if n:
            self.repaired[reason] = self.repaired.get(reason, 0) + n

    def freeze(self) -> DataQuality:
        """The findings so far as an immutable :class:`DataQuality`."""
        return DataQuality(
            sections=tuple(sorted(self.sections.items())),
            missing_sources=tuple(self.missing_sources),
            skipped=tuple(sorted(self.skipped.items())),
            repaired=tuple(sorted(self.repaired.items())),
            recorded_after=tuple(sorted(self.recorded_after_now.items())),
            assumed=tuple(sorted(self.assumed.items())),
        )


@dataclass(frozen=True, slots=True)
class UserContext:
    """Everything known about one traveler as of ``now`` (data after ``now`` is ignored)."""

    user_id: UUID
    now: datetime  # timezone-aware
    today: date  # ``now`` in the user's timezone
    profile: Profile
    financial: FinancialContext
    travel: TravelContext
    calendar: CalendarContext
    vehicle: VehicleContext
    data_quality: DataQuality
