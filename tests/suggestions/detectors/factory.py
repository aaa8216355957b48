"""Small builders of valid :class:`UserContext` objects for pure detector tests.

``make_context()`` gives a traveler in Denver (America/Denver, imperial, USD) with a Class C
motorhome and nothing else; pass what a test needs::

    ctx = make_context(
        fills=[fill("f1", date(2025, 3, 1), 1000, 20), fill("f2", date(2025, 3, 5), 1300, 30)],
        trips=[trip("t1", "planned", date(2025, 3, 11), distance=300)],
        vehicle={"tank_gallons": 40},      # dict = overrides of the default vehicle
        units="metric", towing=True,       # any Profile field
    )

Every builder takes keyword overrides for every field of its dataclass.
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from pam_proactive.context import (
    BudgetStatus,
    CalendarContext,
    CalendarEvent,
    CategoryStats,
    Coordinates,
    DataQuality,
    Expense,
    FinancialContext,
    FuelFill,
    Location,
    MaintenanceItem,
    Profile,
    TravelContext,
    Trip,
    UserContext,
    Vehicle,
    VehicleContext,
)
from pam_proactive.suggestions.models import DetectorResult

USER_ID = UUID("00000000-0000-4000-8000-000000000001")
# Monday 10 March 2025, 09:00 in Denver (MDT, UTC-6).
NOW = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)
TODAY = date(2025, 3, 10)

DENVER = Coordinates(39.73915, -104.9847)
PHOENIX = Coordinates(33.44838, -112.07404)
QUARTZSITE = Coordinates(33.66391, -114.22995)
BOULDER = Coordinates(40.01499, -105.27055)

_PROFILE_FIELDS = {f.name for f in fields(Profile)}


def make_profile(**overrides: Any) -> Profile:
    """A Denver traveler: imperial, USD, Class C on gasoline, not towing, nothing disabled."""
    base = Profile(
        user_id=USER_ID,
        status="active",
        units="imperial",
        timezone="America/Denver",
        currency="USD",
        region="US-CO",
        vehicle_class="class_c",
        fuel_type="gasoline",
        towing=False,
        coordinates=None,
        opted_out=False,
        disabled_types=frozenset(),
        quiet_start=None,
        quiet_end=None,
        daily_cap=None,
    )
    return replace(base, **overrides)


def make_vehicle(**overrides: Any) -> Vehicle:
    """Vehicle 'veh-1', a gasoline Class C with no stated tank, mpg, odometer or documents."""
    base = Vehicle(
        vehicle_id="veh-1",
        name="The Rig",
        vehicle_class="class_c",
        fuel_type="gasoline",
        tank_gallons=None,
        mpg=None,
        odometer_miles=None,
        registration_expires=None,
        insurance_expires=None,
    )
    return replace(base, **overrides)


def fill(
    fill_id: str,
    filled_on: date,
    odometer: float | None,
    gallons: float,
    *,
    full: bool = True,
    cost: float | None = None,
) -> FuelFill:
    """A fill-up (full unless ``full=False``)."""
    return FuelFill(fill_id, filled_on, odometer, gallons, cost, full)


def trip(
    trip_id: str,
    status: str,
    start: date | None,
    end: date | None = None,
    *,
    destination: str | None = None,
    distance: float | None = None,
    cost: float | None = None,
    origin: str | None = None,
    destination_coordinates: Coordinates | None = None,
    origin_coordinates: Coordinates | None = None,
) -> Trip:
    """A trip (``status``: planned, active, completed, cancelled)."""
    return Trip(
        trip_id=trip_id,
        status=status,  # type: ignore[arg-type]
        origin=origin,
        destination=destination,
        start_date=start,
        end_date=end,
        distance_miles=distance,
        estimated_cost=cost,
        origin_coordinates=origin_coordinates,
        destination_coordinates=destination_coordinates,
    )


def budget(
    budget_id: str,
    limit: float,
    spent: float,
    *,
    category: str | None = None,
    period: str = "monthly",
    start: date = date(2025, 3, 1),
    end: date = date(2025, 3, 31),
    outlier_spent: float = 0.0,
    threshold: float = 80.0,
) -> BudgetStatus:
    """A budget in its current period (default: March 2025, all spending)."""
    return BudgetStatus(
        budget_id=budget_id,
        category=category,
        limit=limit,
        period=period,  # type: ignore[arg-type]
        period_start=start,
        period_end=end,
        spent=spent,
        outlier_spent=outlier_spent,
        alert_threshold_pct=threshold,
    )


def category_stats(
    category: str,
    *,
    count: int = 12,
    median: float | None = 50.0,
    mad: float | None = 10.0,
    spent_30d: float = 0.0,
    count_30d: int = 0,
    spent_month: float = 0.0,
) -> CategoryStats:
    """Spending statistics of a category (baseline: 12 expenses, median 50, MAD 10)."""
    return CategoryStats(category, count, median, mad, spent_30d, count_30d, spent_month)


def expense(expense_id: str, category: str, amount: float, spent_on: date = TODAY) -> Expense:
    """A recent expense."""
    return Expense(expense_id, category, amount, spent_on)


def event(
    event_id: str,
    starts_at: datetime,
    location_name: str | None,
    *,
    title: str = "Rally",
    hours: float = 3.0,
    all_day: bool = False,
    event_type: str = "event",
) -> CalendarEvent:
    """A calendar event lasting ``hours``."""
    return CalendarEvent(
        event_id=event_id,
        title=title,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        all_day=all_day,
        event_type=event_type,
        location_name=location_name,
    )


def maintenance(
    record_id: str,
    task: str,
    *,
    vehicle_id: str | None = "veh-1",
    performed_on: date | None = None,
    mileage: float | None = None,
    due_date: date | None = None,
    due_mileage: float | None = None,
) -> MaintenanceItem:
    """The latest record of a maintenance task."""
    return MaintenanceItem(
        record_id, vehicle_id, task, performed_on, mileage, due_date, due_mileage
    )


def local(day: date, hour: int = 0, minute: int = 0, tz: str = "America/Denver") -> datetime:
    """An aware datetime at ``hour:minute`` on ``day`` in ``tz``."""
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(tz))


def make_context(**overrides: Any) -> UserContext:
    """A valid context; keyword overrides:

    * any :class:`Profile` field (``units``, ``timezone``, ``towing``, ``disabled_types``...);
    * ``now`` (default :data:`NOW`), ``today`` (default: ``now`` in the profile's timezone);
    * ``vehicle``: a :class:`Vehicle`, None (no primary), or a dict of overrides of
      :func:`make_vehicle`; ``fills``, ``maintenance``, ``max_odometer``;
    * ``trips``, ``location`` (a :class:`Location`, None, or :class:`Coordinates` /
      a place name for a profile-sourced location; default Denver coordinates);
    * ``budgets``, ``categories`` (a dict or a list of :class:`CategoryStats`),
      ``expenses``, ``month_spent``; ``events``; ``data_quality``.
    """
    profile_overrides = {k: overrides.pop(k) for k in list(overrides) if k in _PROFILE_FIELDS}
    profile = make_profile(**profile_overrides)
    now: datetime = overrides.pop("now", NOW)
    today: date = overrides.pop("today", None) or now.astimezone(ZoneInfo(profile.timezone)).date()
    vehicle_arg = overrides.pop("vehicle", {})
    vehicle = make_vehicle(**vehicle_arg) if isinstance(vehicle_arg, dict) else vehicle_arg
    categories_arg = overrides.pop("categories", {})
    if not isinstance(categories_arg, dict):
        categories_arg = {c.category: c for c in categories_arg}
    ctx = UserContext(
        user_id=profile.user_id,
        now=now,
        today=today,
        profile=profile,
        financial=FinancialContext(
            month_spent=overrides.pop("month_spent", 0.0),
            budgets=tuple(overrides.pop("budgets", ())),
            categories=categories_arg,
            recent_expenses=tuple(overrides.pop("expenses", ())),
        ),
        travel=TravelContext(
            trips=tuple(overrides.pop("trips", ())),
            location=_location(overrides.pop("location", DENVER)),
        ),
        calendar=CalendarContext(events=tuple(overrides.pop("events", ()))),
        vehicle=VehicleContext(
            primary=vehicle,
            fills=tuple(overrides.pop("fills", ())),
            maintenance=tuple(overrides.pop("maintenance", ())),
            max_odometer_miles=overrides.pop("max_odometer", None),
        ),
        data_quality=overrides.pop("data_quality", None) or DataQuality(),
    )
    if overrides:
        raise TypeError(f"make_context: unknown overrides {sorted(overrides)}")
    return ctx


def _location(value: Location | Coordinates | str | None) -> Location | None:
    if value is None or isinstance(value, Location):
        return value
    if isinstance(value, Coordinates):
        return Location(coordinates=value, place_name=None, source="profile")
    return Location(coordinates=None, place_name=value, source="profile")


def notes_of(result: DetectorResult) -> list[str]:
    """A detector result's notes as 'detector: reason' strings, for readable assertions."""
    return [f"{n.detector}: {n.reason}" for n in result.notes]
