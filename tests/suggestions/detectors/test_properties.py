"""Property tests: no detector raises on arbitrary, messy contexts, and whatever they produce
is a well-formed candidate with strictly JSON-serialisable data.

Contexts are validated when the data layer builds them (types, time zone, currency, units,
periods, statuses), so the generated ones respect the models' types; the values inside those
types stay hostile (NaN, infinities, negatives, year 1 and 9999, empty or odd text)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
from pam_proactive.suggestions.detectors import (
    ALL_DETECTORS,
    TYPE_GROUPS,
    DetectorSettings,
    run_detectors,
)
from pam_proactive.suggestions.models import Candidate, Priority

# Numbers as a database or a bug might hand them over: None, NaN, infinities, zero, negatives,
# subnormals and huge values, besides ordinary ones.
numbers = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, -1.0, 1e-300, 5e-324, 1e300, 1.7e308, math.nan, math.inf]),
    st.floats(min_value=-10.0, max_value=200_000.0),
)
# Mostly realistic dates so the detectors' windows are actually hit, plus the extremes.
near_dates = st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 1, 1))
any_dates = st.one_of(near_dates, near_dates, st.dates(), st.sampled_from([date.min, date.max]))
optional_dates = st.one_of(st.none(), any_dates)
zones: st.SearchStrategy[Any] = st.one_of(st.none(), st.just(UTC), st.timezones())
datetimes = st.one_of(
    st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2026, 1, 1), timezones=zones),
    st.datetimes(timezones=zones),
)
words = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "Quartzsite, AZ",
            "Phoenix",
            "Portland",
            "Denver, CO",
            "Perth, WA",
            ",,",
            "  ",
            "St. Louis, MO",
            "123 Main St, Austin, TX 78701, USA",
            "Paris, France",
            "nan",
        ]
    ),
)
texts = st.one_of(st.none(), words)  # optional text fields
ids = st.text(max_size=8)
coordinates = st.one_of(
    st.none(),
    st.builds(Coordinates, lat=numbers, lng=numbers),
    st.builds(
        Coordinates,
        lat=st.floats(min_value=25, max_value=49),
        lng=st.floats(min_value=-125, max_value=-67),
    ),
)
statuses = st.sampled_from(["planned", "active", "completed", "cancelled"])
classes = st.one_of(
    st.sampled_from(["class_a", "class_b", "class_c", "trailer", "truck", "van", "car", "unknown"]),
    words,
)


def small(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.lists(strategy, max_size=6).map(tuple)


profiles = st.builds(
    Profile,
    user_id=st.uuids(),
    status=st.just("active"),
    units=st.sampled_from(["imperial", "metric"]),
    timezone=st.sampled_from(["America/Denver", "UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago"]),
    currency=st.sampled_from(["USD", "GBP", "EUR", "CHF", "CAD", "JPY"]),
    region=texts,
    vehicle_class=classes,
    fuel_type=st.one_of(st.sampled_from(["gasoline", "diesel"]), texts),
    towing=st.booleans(),
    coordinates=coordinates,
    opted_out=st.just(False),  # opt-out is tested separately
    disabled_types=st.frozensets(st.sampled_from([*TYPE_GROUPS, "group:fuel", "x"]), max_size=3),
    quiet_start=st.none(),
    quiet_end=st.none(),
    daily_cap=st.one_of(st.none(), st.integers(-5, 50)),
)
budgets = st.builds(
    BudgetStatus,
    budget_id=ids,
    category=texts,
    limit=numbers,
    period=st.sampled_from(["weekly", "monthly", "yearly"]),
    period_start=any_dates,
    period_end=any_dates,
    spent=numbers,
    outlier_spent=numbers,
    alert_threshold_pct=numbers,
)
category_names = st.sampled_from(["fuel", "food", "repairs", ""])
categories = st.builds(
    CategoryStats,
    category=category_names,
    baseline_count=st.integers(0, 50),
    baseline_median=numbers,
    baseline_mad=numbers,
    spent_30d=numbers,
    count_30d=st.integers(0, 10),
    spent_month=numbers,
)
expenses = st.builds(
    Expense, expense_id=ids, category=category_names, amount=numbers, spent_on=any_dates
)
trips = st.builds(
    Trip,
    trip_id=ids,
    status=statuses,
    origin=texts,
    destination=texts,
    start_date=optional_dates,
    end_date=optional_dates,
    distance_miles=numbers,
    estimated_cost=numbers,
    origin_coordinates=coordinates,
    destination_coordinates=coordinates,
)
locations = st.one_of(
    st.none(),
    st.builds(
        Location,
        coordinates=coordinates,
        place_name=texts,
        source=st.sampled_from(["profile", "active_trip", "last_trip"]),
    ),
)
events = st.builds(
    CalendarEvent,
    event_id=ids,
    title=words,
    starts_at=datetimes,
    ends_at=datetimes,
    all_day=st.booleans(),
    event_type=st.sampled_from(["personal", "meeting", "reminder", "trip"]),
    location_name=texts,
)
fills = st.builds(
    FuelFill,
    fill_id=ids,
    filled_on=any_dates,
    odometer_miles=numbers,
    gallons=numbers,
    total_cost=numbers,
    is_full=st.booleans(),
)
vehicles = st.one_of(
    st.none(),
    st.builds(
        Vehicle,
        vehicle_id=ids,
        name=texts,
        vehicle_class=classes,
        fuel_type=texts,
        tank_gallons=numbers,
        mpg=numbers,
        odometer_miles=numbers,
        registration_expires=optional_dates,
        insurance_expires=optional_dates,
    ),
)
maintenance = st.builds(
    MaintenanceItem,
    record_id=ids,
    vehicle_id=ids,
    task=words,
    performed_on=optional_dates,
    mileage_miles=numbers,
    next_due_date=optional_dates,
    next_due_mileage_miles=numbers,
)


@st.composite
def contexts(draw: st.DrawFn) -> UserContext:
    profile = draw(profiles)
    now = draw(
        st.datetimes(
            min_value=datetime(2024, 1, 1), max_value=datetime(2026, 1, 1), timezones=st.just(UTC)
        )
        | st.datetimes(timezones=st.timezones())
    )
    today = draw(st.one_of(st.just(now.date()), any_dates))
    cats = draw(small(categories))
    return UserContext(
        user_id=profile.user_id,
        now=now,
        today=today,
        profile=profile,
        financial=FinancialContext(
            month_spent=draw(numbers),  # type: ignore[arg-type]
            budgets=draw(small(budgets)),
            categories={c.category: c for c in cats},
            recent_expenses=draw(small(expenses)),
        ),
        travel=TravelContext(trips=draw(small(trips)), location=draw(locations)),
        calendar=CalendarContext(events=draw(small(events))),
        vehicle=VehicleContext(
            primary=draw(vehicles),
            fills=draw(st.lists(fills, max_size=14).map(tuple)),
            maintenance=draw(small(maintenance)),
            max_odometer_miles=draw(numbers),
        ),
        data_quality=DataQuality(),
    )


def messy(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly ``strategy`` (nine times in ten), sometimes a malformed number."""
    return st.integers(0, 9).flatmap(lambda k: numbers if k == 0 else strategy)


@st.composite
def plausible_contexts(draw: st.DrawFn) -> UserContext:
    """Contexts shaped like real data around one day (so every detector's deep paths run),
    with malformed values mixed in."""
    today = draw(near_dates)
    now = datetime.combine(today, datetime.min.time(), tzinfo=UTC) + timedelta(
        hours=draw(st.integers(0, 23))
    )
    day = st.integers(-20, 20).map(lambda n: today + timedelta(days=n))
    odometer = 50_000.0
    fill_list = []
    filled_on = today - timedelta(days=draw(st.integers(0, 200)))
    for index in range(draw(st.integers(0, 14) | st.just(14))):
        filled_on += timedelta(days=draw(st.integers(0, 20)))
        driven = float(draw(st.integers(150, 500) | st.integers(150, 500) | st.integers(-50, 149)))
        odometer += driven
        gallons = max(0.5, driven / draw(st.integers(5, 20)))
        fill_list.append(
            FuelFill(
                fill_id=f"f{index}",
                filled_on=min(filled_on, today),
                odometer_miles=draw(messy(st.just(odometer))),
                gallons=draw(messy(st.just(gallons))),
                total_cost=None,
                is_full=draw(st.booleans() | st.just(True) | st.just(True)),
            )
        )
    vehicle = draw(
        st.one_of(
            st.none(),
            st.builds(
                Vehicle,
                vehicle_id=st.just("veh-1"),
                name=texts,
                vehicle_class=classes,
                fuel_type=st.sampled_from(["gasoline", "diesel", None]),
                tank_gallons=messy(st.floats(10, 150)) | st.none(),
                mpg=messy(st.floats(4, 30)) | st.none(),
                odometer_miles=messy(st.just(odometer + draw(st.floats(0, 900)))) | st.none(),
                registration_expires=day | st.none(),
                insurance_expires=day | st.none(),
            ),
        )
    )
    money = messy(st.floats(0, 3000))
    budget_list = draw(
        small(
            st.builds(
                BudgetStatus,
                budget_id=ids,
                category=st.sampled_from([None, "fuel", "food"]),
                limit=messy(st.floats(0, 2000)),
                period=st.sampled_from(["weekly", "monthly"]),
                period_start=st.integers(0, 30).map(lambda n: today - timedelta(days=n)),
                period_end=st.integers(0, 30).map(lambda n: today + timedelta(days=n)),
                spent=money,
                outlier_spent=money,
                alert_threshold_pct=messy(st.floats(0, 100)),
            )
        )
    )
    stats = draw(
        small(
            st.builds(
                CategoryStats,
                category=category_names,
                baseline_count=st.integers(0, 20),
                baseline_median=messy(st.floats(0, 200)),
                baseline_mad=messy(st.floats(0, 100)),
                spent_30d=money,
                count_30d=st.integers(0, 10),
                spent_month=money,
            )
        )
    )
    expense_list = draw(
        small(
            st.builds(
                Expense,
                expense_id=ids,
                category=category_names,
                amount=money,
                spent_on=st.integers(0, 8).map(lambda n: today - timedelta(days=n)),
            )
        )
    )
    trip_list = draw(
        small(
            st.builds(
                Trip,
                trip_id=ids,
                status=statuses,
                origin=texts,
                destination=texts,
                start_date=day | st.none(),
                end_date=day | st.none(),
                distance_miles=messy(st.floats(0, 1500)),
                estimated_cost=money,
                origin_coordinates=coordinates,
                destination_coordinates=coordinates,
            )
        )
    )
    event_list = draw(
        small(
            st.builds(
                CalendarEvent,
                event_id=ids,
                title=words,
                starts_at=st.floats(-24, 24 * 20).map(lambda h: now + timedelta(hours=h)),
                ends_at=datetimes,
                all_day=st.booleans(),
                event_type=st.sampled_from(["personal", "meeting", "reminder"]),
                location_name=texts,
            )
        )
    )
    items = draw(
        small(
            st.builds(
                MaintenanceItem,
                record_id=ids,
                vehicle_id=st.sampled_from(["veh-1", "veh-2", None]),
                task=st.sampled_from(["oil_change", "tyres", "brakes"]),
                performed_on=day | st.none(),
                mileage_miles=messy(st.floats(odometer - 6000, odometer)),
                next_due_date=day | st.none(),
                next_due_mileage_miles=messy(st.floats(odometer - 1000, odometer + 2000)),
            )
        )
    )
    profile = draw(profiles)
    return UserContext(
        user_id=profile.user_id,
        now=now,
        today=today,
        profile=profile,
        financial=FinancialContext(
            month_spent=0.0,
            budgets=budget_list,
            categories={c.category: c for c in stats},
            recent_expenses=expense_list,
        ),
        travel=TravelContext(trips=trip_list, location=draw(locations)),
        calendar=CalendarContext(events=event_list),
        vehicle=VehicleContext(
            primary=vehicle,
            fills=tuple(fill_list),
            maintenance=items,
            max_odometer_miles=draw(messy(st.just(odometer)) | st.none()),
        ),
        data_quality=DataQuality(),
    )


def check_candidate(candidate: Candidate, ctx: UserContext, now: datetime) -> None:
    assert candidate.type in TYPE_GROUPS
    assert isinstance(candidate.priority, Priority)
    assert candidate.user_id == str(ctx.user_id)
    assert candidate.computed_for == now
    assert candidate.title.strip() and len(candidate.title) <= 80
    assert candidate.message.strip()
    assert candidate.dedup_key
    json.dumps(candidate.data, allow_nan=False)


common = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@common
@given(ctx=contexts())
def test_no_detector_raises_and_candidates_are_well_formed(ctx: UserContext) -> None:
    for detector in ALL_DETECTORS:
        for found in detector(ctx, ctx.now, DetectorSettings()).candidates:
            check_candidate(found, ctx, ctx.now)


@common
@given(ctx=plausible_contexts())
def test_no_detector_raises_on_realistic_messy_contexts(ctx: UserContext) -> None:
    for detector in ALL_DETECTORS:
        for found in detector(ctx, ctx.now, DetectorSettings()).candidates:
            check_candidate(found, ctx, ctx.now)


@common
@given(ctx=contexts(), now=st.datetimes(timezones=st.timezones()))
def test_run_detectors_never_raises_for_any_now(ctx: UserContext, now: datetime) -> None:
    for found in run_detectors(ctx, now, DetectorSettings()).candidates:
        check_candidate(found, ctx, now)
        group = "group:" + TYPE_GROUPS[found.type]
        assert found.type not in ctx.profile.disabled_types
        assert group not in ctx.profile.disabled_types


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ctx=contexts())
def test_opted_out_users_get_nothing(ctx: UserContext) -> None:
    opted = replace(ctx, profile=replace(ctx.profile, opted_out=True))
    assert run_detectors(opted, ctx.now, DetectorSettings()).candidates == ()
