"""The pre-columnar per-object assembly, kept as the tests' oracle; not part of the product.

Until the column-wise core (``data/columnar``) replaced it, the engine built each traveler's
context object by object from the batch statements' row tuples: these builders, the rows'
fetch and their conversion to frames. The differential tests (``tests/data/test_columnar_*``,
``tests/analysis/test_insights.py``) run them as the reference the column-wise sections must
equal. The rules both share (``pam_proactive.data.assemble``) are imported, never copied; what
is here is the pre-columnar way of applying them, written independently of the batch code.

The expenses row of a user is the per-object form: (i, categories, amounts, day offsets, the
ids of the last 7 days' expenses in the same order, descriptions), each but ``i`` an array.
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, TypeVar, cast
from uuid import UUID

from pam_proactive.analysis.bounds import TEXT_MAX_CHARS, cut_text
from pam_proactive.analysis.dates import zone
from pam_proactive.analysis.events import event_day
from pam_proactive.analysis.limits import (
    MAX_FILL_GALLONS,
    MAX_MPG,
    MAX_ODOMETER_MILES,
    MAX_TANK_GALLONS,
    MAX_TRIP_MILES,
    MIN_MPG,
    MIN_TANK_GALLONS,
    ODOMETER_JUMP_MILES,
    odometer_outliers,
)
from pam_proactive.analysis.outliers import OutlierRule, above, baseline_of
from pam_proactive.analysis.schedules import (
    Payment,
    ScheduleView,
    dues_by_category,
    find_schedules,
)
from pam_proactive.analysis.vehicles import normalize_vehicle_class
from pam_proactive.context import (
    BudgetStatus,
    CalendarContext,
    CalendarEvent,
    CategoryStats,
    Expense,
    FinancialContext,
    FuelFill,
    Location,
    MaintenanceItem,
    Profile,
    QualityBuilder,
    TravelContext,
    Trip,
    UserContext,
    Vehicle,
    VehicleContext,
)
from pam_proactive.data.assemble import (
    BASELINE_DAYS,
    DEFAULT_ALERT_PCT,
    FAR_FUTURE_DAYS,
    SPENT_DAYS,
    USER_TEXT,
    build_profile,
    completeness,
    coordinates,
    finite,
    in_zone,
    judged_since,
    period_bounds,
    prior_month_offsets,
    route_text_coordinates,
    same_text,
    trip_location,
)
from pam_proactive.data.columnar.frames import (
    AFTER_NOW,
    BUDGETS,
    EVENTS,
    EXPENSES,
    FUEL,
    MAINTENANCE,
    TRIPS,
    VEHICLES,
    BatchFrames,
    frame_of_rows,
    people_frame,
)
from pam_proactive.data.queries import BatchStatements
from pam_proactive.data.rows import TripRow, UserRow
from pam_proactive.data.users import read_users
from pam_proactive.db.connection import Database

Row = tuple[Any, ...]
R = TypeVar("R", bound=Row)

_TRIP_STATUSES = {"planned", "active", "completed", "cancelled"}
_PERIODS = {"weekly", "monthly", "yearly"}


def group_by_user(rows: Iterable[Row]) -> dict[Any, list[Row]]:
    """Rows keyed by their first column (the user's key), keeping order."""
    grouped: dict[Any, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[row[0]].append(row)
    return grouped


class _Category:
    """Running figures of one category while a user's expenses are scanned."""

    __slots__ = ("baseline", "count_30d", "month", "prior", "spent_30d", "week", "year",
                 "year_sum")

    def __init__(self) -> None:
        self.prior = [0.0, 0.0, 0.0]  # months -1, -2, -3 over the same days of the month
        self.baseline: list[float] = []
        self.week: list[float] = []
        self.month: list[float] = []
        self.year: list[float] = []
        self.spent_30d = 0.0
        self.count_30d = 0
        self.year_sum = 0.0


def build_financial(
    expense_row: Row | None, budget_rows: Sequence[Row], today: date, quality: QualityBuilder,
    rule: OutlierRule,
) -> FinancialContext:
    """Category statistics, budgets in their current period and the last 7 days' expenses,
    from the user's expense arrays (see ``queries.EXPENSES``)."""
    cats: dict[str, _Category] = {}
    recent: list[Expense] = []
    payments: list[Payment] = []
    if expense_row is not None:
        _scan_expenses(expense_row, today, cats, recent, quality, payments)
    yearly = any(row[4] == "yearly" for row in budget_rows)
    scheduled, due = _recurring(payments, recent, today, yearly)
    recent = [replace(e, scheduled=True) if i in scheduled.recent else e
              for i, e in enumerate(recent)]
    categories: dict[str, CategoryStats] = {}
    # category -> [week, month, year, outliers week, outliers month, outliers year,
    #              scheduled week, month, year, still due week, month, year]
    period_spent: dict[str, list[float]] = {}
    for name, c in cats.items():
        base = baseline_of(c.baseline)
        bar = rule.bar(base)
        month_sum = sum(c.month)
        categories[name] = CategoryStats(
            category=name, baseline_count=base.count, baseline_median=base.median,
            baseline_mad=base.mad, spent_30d=round(c.spent_30d, 2), count_30d=c.count_30d,
            spent_month=month_sum, prior_months=(c.prior[0], c.prior[1], c.prior[2]))
        paid = scheduled.amounts.get(name, ([], [], []))
        # A recurring payment is expected, not a one-off: never counted as an outlier.
        period_spent[name] = [
            sum(c.week), month_sum, c.year_sum,
            *(above(every, bar) - above(regular, bar)
              for every, regular in zip((c.week, c.month, c.year), paid, strict=True)),
            *(sum(regular) for regular in paid),
            *due.get(name, (0.0, 0.0, 0.0))]
    recent.sort(key=lambda e: (e.spent_on, e.expense_id))
    budgets = tuple(
        b for b in (_budget(row, today, period_spent, quality) for row in budget_rows) if b
    )
    month_spent = sum(v[1] for v in period_spent.values())
    return FinancialContext(month_spent, budgets, categories, tuple(recent))


@dataclass(frozen=True, slots=True)
class _Scheduled:
    """Payments that fit a schedule: indexes into the recent expenses, and per category the
    amounts paid this week, month and year."""

    recent: frozenset[int]
    amounts: dict[str, tuple[list[float], list[float], list[float]]]


def _recurring(payments: Sequence[Payment], recent: Sequence[Expense], today: date,
               yearly: bool) -> tuple[_Scheduled, dict[str, tuple[float, ...]]]:
    """The scheduled payments (see :func:`find_schedules`) and, per category, the scheduled
    payments still expected until the end of this week, month and year. Only payments a
    budget period or a current series can hold are judged (this year's only with a yearly
    budget): the others are history."""
    return schedule_effects(find_schedules(payments, judged_since(today, yearly)),
                            payments, recent, today)


def schedule_effects(view: ScheduleView, payments: Sequence[Payment],
                     recent: Sequence[Expense], today: date
                     ) -> tuple[_Scheduled, dict[str, tuple[float, ...]]]:
    """What the schedule finder's ``view`` of ``payments`` means for the recent expenses
    and the budget periods (see :func:`_recurring`)."""
    starts = [period_bounds(p, today)[0] for p in ("weekly", "monthly", "yearly")]
    ends = [period_bounds(p, today)[1] for p in ("weekly", "monthly", "yearly")]
    amounts: dict[str, tuple[list[float], list[float], list[float]]] = {}
    keys: set[tuple[str, date, float]] = set()
    for i in view.scheduled:
        p = payments[i]
        keys.add((p.category, p.day, p.amount))
        lists = amounts.setdefault(p.category, ([], [], []))
        for k, start in enumerate(starts):
            if p.day >= start:
                lists[k].append(p.amount)
    marked = frozenset(i for i, e in enumerate(recent)
                       if (e.category, e.spent_on, e.amount) in keys)
    due = dues_by_category(view.schedules, today, ends)
    return _Scheduled(marked, amounts), due


def _scan_expenses(row: Row, today: date, cats: dict[str, _Category], recent: list[Expense],
                   quality: QualityBuilder, payments: list[Payment]) -> None:
    _i, names, amounts, offsets, recent_ids, notes = row
    week_from, month_from = -today.weekday(), 1 - today.day
    year_from = 1 - today.timetuple().tm_yday
    prior = prior_month_offsets(today)
    oldest_prior = min(lo for lo, _ in prior)
    ids = iter(recent_ids or ())
    first, last = BASELINE_DAYS
    inf = math.inf
    # The duplicate rule: an expense with the amount, category, day and description of one
    # already counted was entered twice (a double tap, a re-sync): counted once. The key ->
    # its position in `recent` (-1 when older than the last 7 days).
    seen: dict[tuple[Any, ...], int] = {}
    for name, amount, offset, note in zip(names, amounts, offsets, notes or (), strict=True):
        expense_id = next(ids, None) if offset > -7 else None
        # Binary float8 arrays give floats or None; `> 0` is also false for NaN.
        if amount is None or not 0 < amount < inf:
            quality.skip("expense_amount_invalid")
            continue
        if offset > 0:  # dated after the user's today: not spent yet at `now`
            if offset > FAR_FUTURE_DAYS:
                quality.skip("expense_date_far_future")
            continue
        dup_key = (name, amount, offset, note)
        kept = seen.get(dup_key)
        if kept is not None:
            quality.skip("expense_duplicate")
            # Keep the lowest id whatever order the rows came in: the same suggestion key
            # in every evaluation.
            if kept >= 0 and expense_id is not None and expense_id < recent[kept].expense_id:
                recent[kept] = replace(recent[kept], expense_id=str(expense_id))
            continue
        seen[dup_key] = len(recent) if expense_id is not None else -1
        key = name or "uncategorized"
        c = cats.get(key)
        if c is None:
            c = cats[key] = _Category()
        if first <= offset <= last:
            c.baseline.append(amount)
        if offset > -SPENT_DAYS:
            c.spent_30d += amount
            c.count_30d += 1
        if offset >= week_from:
            c.week.append(amount)
        if offset >= month_from:
            c.month.append(amount)
        elif offset >= oldest_prior:  # older than every prior month: no range can hold it
            for k, (lo, hi) in enumerate(prior):
                if lo <= offset <= hi:
                    c.prior[k] += amount
                    break
        if offset >= year_from:
            c.year.append(amount)
            c.year_sum += amount
        spent_on = date.fromordinal(today.toordinal() + offset)
        payments.append(Payment(key, amount, spent_on))
        if expense_id is not None:
            recent.append(Expense(str(expense_id), key, amount, spent_on))


def _budget(
    row: Row, today: date, spent: dict[str, list[float]], quality: QualityBuilder
) -> BudgetStatus | None:
    _u, budget_id, category, limit, period, _start, _end, threshold = row
    # Values outside the schema's domain are skipped, never reinterpreted: a period the
    # schema does not define is not read as monthly, a zero or negative limit is no limit.
    amount = finite(limit)
    if amount is None or amount <= 0:
        quality.skip("budget_limit_invalid")
        return None
    if period not in _PERIODS:
        quality.skip("budget_period_invalid")
        return None
    if category is not None and not category.strip():
        # An empty category is not "all spending" (the schema spells that 'total'/'all').
        quality.skip("budget_category_invalid")
        return None
    index = {"weekly": 0, "monthly": 1, "yearly": 2}[period]
    sources = spent.values() if category is None else [spent.get(category, [0.0] * 12)]
    total = sum(v[index] for v in sources)
    outliers = sum(v[index + 3] for v in sources)
    scheduled = sum(v[index + 6] for v in sources)
    due = sum(v[index + 9] for v in sources)
    start, end = period_bounds(period, today)
    pct = finite(threshold)
    if threshold is not None and (pct is None or not 0 < pct <= 100):
        quality.repair("budget_threshold_defaulted")  # to DEFAULT_ALERT_PCT
    return BudgetStatus(
        budget_id=str(budget_id),
        category=category,
        limit=amount,
        period=period,
        period_start=start,
        period_end=end,
        spent=round(total, 2),
        outlier_spent=round(outliers, 2),
        alert_threshold_pct=pct if pct is not None and 0 < pct <= 100 else DEFAULT_ALERT_PCT,
        scheduled_spent=round(scheduled, 2),
        scheduled_due=round(due, 2),
    )


def effective_trip_status(status: str | None, start: date | None, end: date | None,
                          today: date) -> str:
    """The trip's status at ``today``, from its dates.

    The stored status is today's truth, not the truth at a replayed moment, and users often
    forget to mark trips completed; only 'cancelled' is taken as stored.
    """
    if status == "cancelled":
        return "cancelled"
    if start is None:
        return status if status in _TRIP_STATUSES else "planned"
    if start > today:
        return "planned"
    if (end or start) < today:
        return "completed"
    return "active"


def build_trip(row: TripRow, today: date, quality: QualityBuilder) -> Trip:
    """A trip with its effective status and repaired dates and distance."""
    start, end, route_type = row.start_date, row.end_date, row.route_type
    if start and end and end < start:
        quality.repair("trip_end_before_start")
        end = start
    distance = finite(row.distance_miles)
    if distance is not None and distance < 0:
        quality.repair("trip_distance_negative")
        distance = None
    elif distance is not None and distance > MAX_TRIP_MILES:
        quality.skip("trip_distance_implausible")  # a typo, not a trip: no distance
        distance = None
    o_xy = coordinates(row.origin_lat, row.origin_lng)
    d_xy = coordinates(row.destination_lat, row.destination_lng)
    if route_type == "string":
        o_xy, d_xy, bad = route_text_coordinates(row.route_text)
        if bad:
            quality.skip("route_data_malformed")
        else:
            quality.repair("route_data_text_encoded")
    elif route_type not in (None, "object", "null"):
        quality.skip("route_data_malformed")
    return Trip(
        trip_id=str(row.trip_id),
        status=effective_trip_status(row.status, start, end, today),  # type: ignore[arg-type]
        origin=row.origin,
        destination=row.destination,
        start_date=start,
        end_date=end,
        distance_miles=distance,
        estimated_cost=finite(row.estimated_cost),
        origin_coordinates=o_xy,
        destination_coordinates=d_xy,
    )


def build_travel(trip_rows: Sequence[TripRow], profile: Profile, today: date,
                 quality: QualityBuilder) -> TravelContext:
    """Trips and the traveler's believed location (profile, active trip, then last trip)."""
    trips = tuple(build_trip(r, today, quality) for r in trip_rows)
    location: Location | None = None
    if profile.coordinates is not None:
        location = Location(profile.coordinates, None, "profile")
    else:
        location = trip_location(trips)
    return TravelContext(trips, location)


def build_calendar(event_rows: Sequence[Row], timezone: str,
                   quality: QualityBuilder) -> CalendarContext:
    """Upcoming events; an end before the start is read as a point event. An event with the
    title, start and place of an earlier one is a copy a synced calendar imported again:
    counted once (the first by id), the copy counted as ``event_duplicate``. Timed events'
    instants are written in the traveler's zone ``timezone`` and every event carries its
    local date (``starts_on``), so JSON outputs print the date the suggestions use."""
    tz = zone(timezone)
    events = []
    seen: set[tuple[str, Any, str]] = set()
    for _u, eid, title, starts, ends, all_day, etype, place in event_rows:
        key = (same_text(title), starts, same_text(place))
        if key in seen:
            quality.skip("event_duplicate")
            continue
        seen.add(key)
        if ends is not None and ends < starts:
            quality.repair("event_end_before_start")
        end = ends if ends and ends >= starts else starts
        if not all_day:
            starts, end = in_zone(starts, tz), in_zone(end, tz)
        event = CalendarEvent(
            event_id=str(eid), title=title or "", starts_at=starts, ends_at=end,
            all_day=bool(all_day), event_type=etype or "personal",
            location_name=(place or "").strip() or None,
        )
        events.append(replace(event, starts_on=event_day(event, tz)))
    return CalendarContext(tuple(events))


def _within_odometer_range(value: Any, quality: QualityBuilder) -> float | None:
    """A finite odometer reading (miles) up to ``MAX_ODOMETER_MILES``; a larger one (an
    integer column's 2,147,483,647, a unit typo) is no vehicle's odometer: dropped and
    counted as ``odometer_implausible``, even when it is the only reading (the outlier rule
    needs another to compare with). Negative values are left to the caller's repair."""
    reading = finite(value)
    if reading is not None and reading > MAX_ODOMETER_MILES:
        quality.skip("odometer_implausible")
        return None
    return reading


def clean_fills(fuel_rows: Sequence[Row], quality: QualityBuilder,
                today: date = date.max) -> tuple[FuelFill, ...]:
    """Valid fills up to ``today`` in order; odometers that go backwards or jump are dropped
    from the fill.
    A fill with the date, volume and odometer of an earlier one is the same fill-up
    submitted twice: counted once (the first by id), the copy as ``fuel_fill_duplicate``."""
    fills: list[FuelFill] = []
    last_odo: float | None = None
    seen: set[tuple[Any, float, Any]] = set()
    for _u, fid, day, odo, gallons, cost, full in fuel_rows:
        if day > today:  # a fill-up dated after the traveler's today: a typo
            quality.skip("fuel_date_future")
            continue
        # The view's columns are double precision: floats or None (NaN fails both tests).
        if gallons is None or not 0 < gallons <= MAX_FILL_GALLONS:
            quality.skip("fuel_volume_invalid")  # its day is kept: see unusable_fill_days
            continue
        key = (day, gallons, odo)
        if key in seen:
            quality.skip("fuel_fill_duplicate")
            continue
        seen.add(key)
        reading = _within_odometer_range(odo, quality)
        if reading is not None and reading < 0:
            reading = None
            quality.repair("odometer_negative")
        elif reading is not None and last_odo is not None:
            if reading < last_odo:
                quality.repair("odometer_backwards")
                reading = None
            elif reading - last_odo >= ODOMETER_JUMP_MILES:
                quality.repair("odometer_jump")
                reading = None
        if reading is not None:
            last_odo = reading
        paid = finite(cost)
        if paid is not None and paid < 0:
            quality.skip("fuel_cost_invalid")  # the fill stands; its cost is unknown
            paid = None
        fills.append(FuelFill(fid, day, reading, gallons, paid, bool(full)))
    return tuple(fills)


def build_vehicle(
    vehicle_row: Row | None, fuel_rows: Sequence[Row], maint_rows: Sequence[Row],
    profile: Profile, quality: QualityBuilder, today: date = date.max,
) -> VehicleContext:
    """Primary vehicle, cleaned fills, latest maintenance per task and the best odometer.

    An odometer reading far above all the others (the rule of
    :func:`pam_proactive.analysis.limits.odometer_outliers`) is not the vehicle's odometer:
    it is dropped from its fill, service record or vehicle and counted as skipped
    (``odometer_outlier``)."""
    fills = clean_fills(fuel_rows, quality, today)
    items = []
    for _u, rid, vid, task, done_on, miles, due_date, due_miles in maint_rows:
        mileage = _within_odometer_range(miles, quality)
        due = _within_odometer_range(due_miles, quality)
        if mileage is not None and mileage < 0:
            quality.repair("maintenance_mileage_negative")
            mileage = None
        if due is not None and due < 0:
            quality.repair("maintenance_mileage_negative")
            due = None
        # A service cannot fall due before it was done: such a due date or mileage is a
        # typo (it would read as overdue at once), skipped and counted; the record stands.
        if due_date is not None and done_on is not None and due_date < done_on:
            quality.skip("maintenance_due_before_service")
            due_date = None
        if due is not None and mileage is not None and due < mileage:
            quality.skip("maintenance_due_before_service")
            due = None
        items.append(MaintenanceItem(str(rid), vid, task, done_on, mileage, due_date, due))
    primary = _vehicle(vehicle_row, profile, quality) if vehicle_row else None
    readings = [f.odometer_miles for f in fills if f.odometer_miles is not None]
    readings += [m.mileage_miles for m in items if m.mileage_miles is not None]
    if primary and primary.odometer_miles is not None:
        readings.append(primary.odometer_miles)
    outliers = odometer_outliers(readings)
    if outliers:
        quality.skip("odometer_outlier", sum(1 for r in readings if r in outliers))
        fills = tuple(replace(f, odometer_miles=None) if f.odometer_miles in outliers else f
                      for f in fills)
        items = [replace(m, mileage_miles=None) if m.mileage_miles in outliers else m
                 for m in items]
        if primary is not None and primary.odometer_miles in outliers:
            primary = replace(primary, odometer_miles=None)
    kept = [r for r in readings if r not in outliers]
    # A day with a usable fill too is read as one fill-up typed twice, once wrongly (the
    # common re-entry after a decimal-comma typo): only the other days are gaps.
    logged = {f.filled_on for f in fills}
    unusable = tuple(sorted({day for _u, _f, day, _o, gallons, _c, _full in fuel_rows
                             if (gallons is None or not 0 < gallons <= MAX_FILL_GALLONS)
                             and day not in logged and day <= today}))
    return VehicleContext(primary, fills, tuple(items), max(kept) if kept else None, unusable)


def _vehicle(row: Row, profile: Profile, quality: QualityBuilder) -> Vehicle:
    _u, vid, name, vtype, fuel, tank, mpg, odo, reg, ins = row
    tank_gal, economy = finite(tank), finite(mpg)
    odometer = _within_odometer_range(odo, quality)
    if tank_gal is not None and not MIN_TANK_GALLONS <= tank_gal <= MAX_TANK_GALLONS:
        quality.repair("tank_size_implausible")
        tank_gal = None
    if economy is not None and not MIN_MPG <= economy <= MAX_MPG:
        quality.repair("vehicle_mpg_implausible")
        economy = None
    if odometer is not None and odometer < 0:
        quality.repair("odometer_negative")
        odometer = None
    vclass = normalize_vehicle_class(vtype)
    return Vehicle(
        vehicle_id=str(vid), name=name,
        vehicle_class=profile.vehicle_class if vclass == "unknown" else vclass,
        fuel_type=fuel or profile.fuel_type, tank_gallons=tank_gal, mpg=economy,
        odometer_miles=odometer, registration_expires=reg, insurance_expires=ins,
    )


# Positions of the traveler's free text in each statement's rows (the user row's: USER_TEXT),
# cut by analysis.bounds.cut_text before anything is built from them.
_VEHICLE_TEXT = (2, 3, 4)  # name, vehicle_type, fuel_type
_ROW_TEXT: Mapping[str, tuple[int, ...]] = {
    "budgets": (2,),  # category
    "trips": (TripRow._fields.index("origin"), TripRow._fields.index("destination")),
    "events": (2, 6, 7),  # title, event_type, location_name
    "maintenance": (3,),  # task
}
_EXPENSE_NAMES = 1  # the expenses row's array of categories


def _too_long(value: object) -> bool:
    return isinstance(value, str) and len(value) > TEXT_MAX_CHARS


def _cut_row(row: R, columns: tuple[int, ...], cut: list[int]) -> R:
    """``row`` (of the same type: a named row stays one) with its text at ``columns`` cut;
    ``cut[0]`` counts the values cut."""
    long = [c for c in columns if _too_long(row[c])]
    if not long:
        return row
    cut[0] += len(long)
    make = cast(Callable[[Iterable[Any]], R], getattr(type(row), "_make", tuple))
    return make(cut_text(v) if i in long else v for i, v in enumerate(row))


def cut_texts(user_row: UserRow, rows: Mapping[str, Sequence[Row]], vehicle_row: Row | None,
              quality: QualityBuilder) -> tuple[UserRow, dict[str, Sequence[Row]], Row | None]:
    """The rows with every traveler text cut to ``TEXT_MAX_CHARS`` (an ellipsis last),
    counted as repaired (``text_cut``)."""
    cut = [0]
    user_row = _cut_row(user_row, USER_TEXT, cut)
    if vehicle_row is not None:
        vehicle_row = _cut_row(vehicle_row, _VEHICLE_TEXT, cut)
    out: dict[str, Sequence[Row]] = dict(rows)
    for key, columns in _ROW_TEXT.items():
        out[key] = [_cut_row(r, columns, cut) for r in rows[key]]
    expenses = []
    for row in rows["expenses"]:
        names = row[_EXPENSE_NAMES] or ()
        long = sum(1 for n in names if _too_long(n))
        if long:
            cut[0] += long
            short = [cut_text(n) if _too_long(n) else n for n in names]
            row = (*row[:_EXPENSE_NAMES], short, *row[_EXPENSE_NAMES + 1:])
        expenses.append(row)
    out["expenses"] = expenses
    quality.repair("text_cut", cut[0])
    return user_row, out, vehicle_row


def build_context(
    user_row: UserRow, now: datetime, local: tuple[date, str, bool],
    rows: Mapping[str, Sequence[Row]], vehicle_row: Row | None, rule: OutlierRule,
    after_now: Mapping[str, int] | None = None,
) -> UserContext:
    """One user's context from their rows of every entity (keys: expenses, budgets, trips,
    events, fuel, maintenance); ``local`` is :func:`local_today` of the user; ``after_now``
    counts their rows recorded after ``now`` by source."""
    quality = QualityBuilder(recorded_after_now=dict(after_now or {}))
    user_row, rows, vehicle_row = cut_texts(user_row, rows, vehicle_row, quality)
    today, zone_name, invalid = local
    if invalid:
        quality.skip("timezone_invalid")
    if invalid or user_row.timezone is None:
        # Dates, budget periods and quiet hours then follow UTC: said, never silent.
        quality.assume("timezone", "UTC (local dates, budget periods and quiet hours)")
    profile = build_profile(user_row, zone_name, quality)
    expense_rows = rows["expenses"]
    financial = build_financial(expense_rows[0] if expense_rows else None, rows["budgets"],
                                today, quality, rule)
    # The loader reads trips as TripRow (the other entities stay plain tuples).
    travel = build_travel(cast(Sequence[TripRow], rows["trips"]), profile, today, quality)
    calendar = build_calendar(rows["events"], zone_name, quality)
    vehicle = build_vehicle(vehicle_row, rows["fuel"], rows["maintenance"], profile, quality,
                            today)
    completeness(quality, (
        user_row.timezone is not None and not invalid, profile.vehicle_class != "unknown",
        bool(financial.categories), bool(financial.budgets),
        bool(travel.trips), travel.location is not None,
        bool(calendar.events),
        vehicle.primary is not None, bool(vehicle.fills), bool(vehicle.maintenance)))
    return UserContext(profile.user_id, now, today, profile, financial, travel, calendar,
                       vehicle, quality.freeze())


# The entity keys of a batch's rows, in the order of the statements that read them.
_KEYS = ("expenses", "budgets", "trips", "events", "fuel", "maintenance")


@dataclass(frozen=True, slots=True)
class BatchRows:
    """One batch's rows as the batch statements return them: the users in batch order, each
    one's ``local_today``, and the entity rows by key (``expenses``, ``budgets``, ``trips``,
    ``events``, ``fuel``, ``maintenance``, ``vehicles``, ``after_now``), keyed by the user's
    1-based position in ``users``; the expense rows in the per-object form."""

    users: list[UserRow]
    todays: list[tuple[date, str, bool]]
    fetched: dict[str, Sequence[tuple[Any, ...]]]


def per_object_expenses(row: Sequence[Any]) -> Row:
    """A row of ``BatchStatements.expenses`` (one id per expense, NULL before the last 7
    days) in the per-object form: the ids of the last 7 days only (offset > -7), in order."""
    i, names, amounts, offsets, ids, notes = row
    recent = [e for e, offset in zip(ids, offsets, strict=True) if offset > -7]
    return (i, names, amounts, offsets, recent or None, notes)


async def fetch_rows(db: Database, st: BatchStatements, user_ids: Iterable[object],
                     now: datetime) -> BatchRows | None:
    """The batch statements' rows for the given users as of ``now`` (one statement per
    entity, through ``Database.fetch``: psycopg rows); None when none of the ids is a known
    user."""
    batch = await read_users(db, st, user_ids, now)
    if batch is None:
        return None
    entities = (st.expenses, st.budgets, st.trips, st.events, st.fuel, st.maintenance,
                st.vehicles, st.recorded_after_now)
    reads: list[Awaitable[Sequence[tuple[Any, ...]]]] = [
        db.fetch(*entity, batch.params, row_type=TripRow) if entity is st.trips
        else db.fetch(*entity, batch.params) for entity in entities]
    fetched = await asyncio.gather(*reads)
    rows = dict(zip((*_KEYS, "vehicles", "after_now"), fetched, strict=True))
    rows["expenses"] = [per_object_expenses(r) for r in rows["expenses"]]
    return BatchRows(list(batch.users), batch.todays, rows)


def assemble_rows(rows: BatchRows, now: datetime, rule: OutlierRule) -> dict[UUID, UserContext]:
    """The per-object assembly of a batch's contexts from its rows."""
    grouped = [group_by_user(rows.fetched[key]) for key in _KEYS]
    vehicles = {row[0]: row for row in rows.fetched["vehicles"]}
    after_now: dict[int, dict[str, int]] = {}
    for i, source, count in rows.fetched["after_now"]:
        after_now.setdefault(i, {})[source] = count
    contexts = {}
    for i, (row, today) in enumerate(zip(rows.users, rows.todays, strict=True), start=1):
        per_user = {key: g.get(i, ()) for key, g in zip(_KEYS, grouped, strict=True)}
        contexts[row.user_id] = build_context(row, now, today, per_user, vehicles.get(i),
                                              rule, after_now.get(i))
    return contexts


def frames_from_rows(
    users: Sequence[UserRow], todays: Sequence[tuple[date, str, bool]], now: datetime,
    fetched: Mapping[str, Sequence[Sequence[Any]]],
) -> BatchFrames:
    """The frames of a batch from the row tuples of the batch statements, as the per-object
    path reads them (``fetched`` keys: expenses, budgets, trips, events, fuel, maintenance,
    vehicles, after_now; the expense rows in the per-object form, unrolled here one row per
    expense)."""
    people = people_frame(todays)
    expenses: list[tuple[Any, ...]] = []
    for i, names, amounts, offsets, recent_ids, notes in fetched["expenses"]:
        ids = iter(recent_ids or ())
        for name, amount, offset, note in zip(names, amounts, offsets, notes or (),
                                              strict=True):
            expense_id = next(ids, None) if offset > -7 else None
            expenses.append((i, name, amount, offset,
                             None if expense_id is None else str(expense_id), note))
    return BatchFrames(
        now=now, users=tuple(users), people=people,
        expenses=frame_of_rows(expenses, EXPENSES),
        budgets=frame_of_rows(fetched["budgets"], BUDGETS),
        trips=frame_of_rows(fetched["trips"], TRIPS),
        events=frame_of_rows(fetched["events"], EVENTS),
        fuel=frame_of_rows(fetched["fuel"], FUEL),
        maintenance=frame_of_rows(fetched["maintenance"], MAINTENANCE),
        vehicles=frame_of_rows(fetched["vehicles"], VEHICLES),
        after_now=frame_of_rows(fetched["after_now"], AFTER_NOW),
    )
