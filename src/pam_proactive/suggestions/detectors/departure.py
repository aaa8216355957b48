"""``departure_reminder``: a planned trip starts within 48 hours; what to do before leaving.

Each item appears only when the data supports it:

* fuel: when the trip's miles exceed the estimated range minus the reserve, the gallons to buy
  (same fuel analysis as ``fuel_low``);
* maintenance: items of the primary vehicle falling due before or during the trip
  (next due date on or before the trip's end, or odometer + trip miles reaching the due
  mileage), overdue ones included;
* budget: the trip's estimated cost against what is left of one budget, chosen by this rule:
  among budgets whose current period contains the trip's start date, the all-spending budget
  (no category, or 'all'/'overall'/'total'); else the 'fuel' budget; else the sum of what is
  left of all of them.

The reminder names the start by its local date ('starts tomorrow, Thu Dec 3'); ``data`` holds
that date and the moment the 48 h window is measured to (``starts_at``, the start date's local
midnight), never a count of hours from ``now``, so a stored reminder changes only at a local
midnight or when it turns high.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pam_proactive.analysis.boundaries import (
    crossing,
    earliest,
    midnight_of,
    next_local_midnight,
    zone_of,
)
from pam_proactive.analysis.budget import BudgetFigures, budget_figures, budget_label
from pam_proactive.analysis.dates import add_days, format_date, hours_until
from pam_proactive.analysis.fuel import (
    SKIP_IMPLAUSIBLE_INTERVAL,
    FuelState,
    analyze_fuel,
    implausible_interval_count,
)
from pam_proactive.analysis.limits import MAX_TRIP_MILES
from pam_proactive.analysis.maintenance import due_status, is_primary_item, task_label
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.analysis.stats import positive
from pam_proactive.analysis.units import (
    format_distance,
    format_money,
    format_volume,
    shown_distance,
    shown_money,
)
from pam_proactive.context import Trip, UserContext
from pam_proactive.suggestions.detectors._common import (
    Findings,
    after,
    aware_now,
    candidate,
    day_start,
    r1,
    r2,
    user_zone,
)
from pam_proactive.suggestions.detectors.fuel import MIN_GALLONS_TO_BUY, beyond_range
from pam_proactive.suggestions.detectors.spec import DetectorSpec, SuggestionType
from pam_proactive.suggestions.models import Candidate, DetectorResult, Priority
from pam_proactive.suggestions.relations import fuel_subject, service_subject

TYPE = "departure_reminder"
# Categories meaning "all spending" ('' = no category).
_OVERALL = {"", "all", "overall", "total", "everything", "general"}


@dataclass(frozen=True, slots=True)
class BudgetRoom:
    """What is left (user's currency) of the budget(s) a trip is measured against."""

    label: str
    remaining: float
    budget_ids: tuple[str, ...]


def _category(figures: BudgetFigures) -> str:
    return (figures.budget.category or "").strip().lower()


def trip_budget(ctx: UserContext, start: date, settings: DetectorSettings) -> BudgetRoom | None:
    """The budget room for a trip starting on ``start``, by the module's documented rule."""
    usable: list[BudgetFigures] = []
    for budget in ctx.financial.budgets:
        figures = budget_figures(ctx, budget, settings)
        if isinstance(figures, BudgetFigures) and budget.period_start <= start <= budget.period_end:
            usable.append(figures)
    if not usable:
        return None

    for wanted in (_OVERALL, {"fuel"}):
        chosen = [f for f in usable if _category(f) in wanted]
        if chosen:
            f = chosen[0]
            return BudgetRoom(f"your {budget_label(f.budget)}", f.remaining, (f.budget.budget_id,))
    return BudgetRoom(
        "your budgets combined",
        sum(f.remaining for f in usable),
        tuple(f.budget.budget_id for f in usable),
    )


def _fuel_item(
    ctx: UserContext, miles: float | None, state: FuelState | None, settings: DetectorSettings
) -> tuple[str | None, dict[str, Any]]:
    """What to do about fuel before a trip of ``miles``: nothing when the range covers it
    plus the reserve; else buy what the tank takes toward it (at least
    ``MIN_GALLONS_TO_BUY``), and plan a stop on the way when even a full tank won't do."""
    if miles is None or state is None:
        return None, {}
    reserve = settings.fuel_reserve_miles
    units = ctx.profile.units
    if not beyond_range(miles, state.range_miles, reserve, units):
        return None, {"range_miles": r1(state.range_miles), "covered": True}
    gallons = state.gallons_to_cover(miles, reserve)
    full_range = state.full_range_miles()
    # Whether the trip plus the reserve is beyond a full tank, on the figures the message
    # shows (the trip's length, the reserve, the full tank's range), so that it reads true.
    beyond_full = (shown_distance(miles, units) + shown_distance(reserve, units)
                   > shown_distance(full_range, units))
    data: dict[str, Any] = {
        "range_miles": r1(state.range_miles),
        "full_range_miles": r1(full_range),
        "covered": False,
        "fuel_stop_needed": beyond_full,
        "fuel": state.to_data(),
    }
    if gallons < MIN_GALLONS_TO_BUY:
        if not beyond_full:  # within the estimate's noise: nothing worth doing
            return None, data | {"covered": True}
        # The tank is (about) full already and still won't do: only a stop on the way helps.
        text = (
            f"plan a fuel stop on the way: a full tank (about "
            f"{format_distance(full_range, units)}) doesn't cover the trip plus a reserve of "
            f"{format_distance(reserve, units)}"
        )
        return text, data
    text = (
        f"buy about {format_volume(gallons, units)} of fuel: your estimated range "
        f"(about {format_distance(state.range_miles, units)}) doesn't cover the trip plus a "
        f"reserve of {format_distance(reserve, units)}"
    )
    if beyond_full:
        text += (
            f", and even a full tank (about {format_distance(full_range, units)}) won't, so "
            "plan a fuel stop on the way"
        )
    return text, data | {"gallons_to_buy": r1(gallons)}


def _maintenance_items(
    ctx: UserContext, trip: Trip, miles: float | None, settings: DetectorSettings,
    found: Findings,
) -> tuple[list[str], list[str], list[str]]:
    """Phrases, record ids and subjects (every vehicle and task named, see
    :func:`service_subject`) of the primary vehicle's items due before the trip ends: due
    date on or before its last day, or due mileage within the trip's miles (overdue included,
    records stale by the maintenance rules left out)."""
    start = trip.start_date
    end = trip.end_date or start
    if start is None or end is None or end < start:
        end = start
    units = ctx.profile.units
    phrases: list[str] = []
    ids: list[str] = []
    subjects: list[str] = []
    seen: set[str] = set()
    for item in ctx.vehicle.maintenance:
        if not is_primary_item(ctx, item):
            continue
        status = due_status(ctx, item, settings)
        for reason in status.notes:
            found.note(reason)
        label = task_label(item.task)
        by_date = (
            status.days_left is not None
            and item.next_due_date is not None
            and end is not None
            and item.next_due_date <= end
        )
        by_miles = status.miles_left is not None and status.miles_left <= (miles or 0.0)
        if not (by_date or by_miles):
            continue
        subjects.append(service_subject(item.vehicle_id, item.task))
        if label in seen:
            continue
        seen.add(label)
        if by_date and item.next_due_date is not None:
            phrases.append(f"{label} (due {format_date(item.next_due_date)})")
        elif status.due_miles is not None:
            phrases.append(f"{label} (due at {format_distance(status.due_miles, units)})")
        ids.append(item.record_id)
    return phrases, ids, subjects


def _budget_item(
    ctx: UserContext, trip: Trip, settings: DetectorSettings
) -> tuple[str | None, dict[str, Any]]:
    cost = positive(trip.estimated_cost)
    if cost is None or trip.start_date is None:
        return None, {}
    room = trip_budget(ctx, trip.start_date, settings)
    if room is None:
        return None, {"estimated_cost": r2(cost)}
    money = ctx.profile.currency
    over = shown_money(cost) > shown_money(room.remaining)  # on the amounts shown
    verb = "is more than" if over else "fits in"
    text = (
        f"the trip's estimated cost ({format_money(cost, money)}) {verb} the "
        f"{format_money(room.remaining, money)} left in {room.label}"
    )
    return text, {
        "estimated_cost": r2(cost),
        "budget_remaining": r2(room.remaining),
        "budget_ids": list(room.budget_ids),
        "over_budget": over,
    }


def _when(ctx: UserContext, start: date) -> str:
    if start == ctx.today:
        return "today"
    if start == add_days(ctx.today, 1):
        return f"tomorrow, {format_date(start)}"
    return f"on {format_date(start)}"


def detect_departure_reminder(
    ctx: UserContext, now: datetime, settings: DetectorSettings
) -> DetectorResult:
    """A reminder per planned trip starting (local midnight of its start date) within
    ``departure_window_hours``: high within ``departure_high_hours``, else medium."""
    found = Findings(TYPE)
    out: list[Candidate] = []
    state: FuelState | None = None
    analysed = False
    tz = at = None  # the zone and the aware now, looked up once at the first planned trip
    for trip in ctx.travel.trips:
        start = trip.start_date
        if trip.status != "planned" or start is None or start < ctx.today:
            continue
        if tz is None or at is None:
            tz, at = user_zone(ctx), aware_now(now)
        midnight = day_start(ctx, start)
        hours = hours_until(midnight, at, tz) if midnight else None
        if hours is None or hours > settings.departure_window_hours:
            continue
        if not analysed:
            state, analysed = analyze_fuel(ctx, settings).state, True
            found.skip(SKIP_IMPLAUSIBLE_INTERVAL, implausible_interval_count(ctx, settings))
        out.append(_reminder(ctx, now, trip, start, hours, state, settings, found))
    return found.result(out)


def _reminder(
    ctx: UserContext,
    now: datetime,
    trip: Trip,
    start: date,
    hours: float,
    state: FuelState | None,
    settings: DetectorSettings,
    found: Findings,
) -> Candidate:
    midnight = day_start(ctx, start)
    miles = positive(trip.distance_miles, MAX_TRIP_MILES)
    fuel_text, fuel_data = _fuel_item(ctx, miles, state, settings)
    due, due_ids, due_subjects = _maintenance_items(ctx, trip, miles, settings, found)
    budget_text, budget_data = _budget_item(ctx, trip, settings)
    destination = (trip.destination or "").strip()
    name = f"trip to {destination}" if destination else "trip"
    length = f" (about {format_distance(miles, ctx.profile.units)})" if miles else ""
    todo: list[str] = []
    if fuel_text:
        todo.append(fuel_text)
    if due:
        todo.append("service due before or during the trip: " + ", ".join(due))
    sentences = [f"Your {name}{length} starts {_when(ctx, start)}."]
    if todo:
        sentences.append("Before you leave: " + "; ".join(todo) + ".")
    if budget_text:
        sentences.append(budget_text[0].upper() + budget_text[1:] + ".")
    checked = [
        label
        for label, done in (
            ("fuel", bool(fuel_data)),
            ("service", any(is_primary_item(ctx, i) for i in ctx.vehicle.maintenance)),
        )
        if done
    ]
    if not todo and checked:
        sentences.append(f"Your {' and '.join(checked)} records show nothing to do first.")
    day_after = day_start(ctx, add_days(start, 1))
    # The advice this reminder carries: the standalone suggestions about the same fuel and
    # service are held back while it is live (see suggestions.relations).
    carried = [*due_subjects]
    if fuel_text and state is not None:
        carried.insert(0, fuel_subject(state.vehicle.vehicle_id))
    return candidate(
        ctx,
        now,
        type=TYPE,
        priority=Priority.HIGH if hours <= settings.departure_high_hours else Priority.MEDIUM,
        title=f"Your {name} starts {_when(ctx, start).split(',')[0]}",
        message=" ".join(sentences),
        dedup_key=f"{TYPE}:{trip.trip_id}",
        data={
            "trip_id": trip.trip_id,
            "start_date": start,
            "end_date": trip.end_date,
            "distance_miles": r1(miles) if miles else None,
            "starts_at": midnight,
            "fuel": fuel_data,
            "maintenance_record_ids": due_ids,
            "budget": budget_data,
            "thresholds": {
                "window_hours": settings.departure_window_hours,
                "high_hours": settings.departure_high_hours,
                "reserve_miles": settings.fuel_reserve_miles,
            },
            "confidence": round(state.confidence, 2) if fuel_text and state else 1.0,
        },
        expires_at=day_after or after(now, days=1),
        tags=("trip",),
        subjects=carried,
    )


def departure_reminder_boundary(
    ctx: UserContext, now: datetime, settings: DetectorSettings, keys: Collection[str]
) -> datetime | None:
    """Planned trips: their start (local midnight) entering ``departure_window_hours``; for a
    reminder given now, ``departure_high_hours`` and the next local midnight (the wording
    says 'today'/'tomorrow'; budget and fuel figures are daily)."""
    found: list[datetime | None] = []
    today = ctx.today
    tz = at = None  # the zone and the aware now, looked up once at the first planned trip
    for trip in ctx.travel.trips:
        start = trip.start_date
        if trip.status != "planned" or not isinstance(start, date) or start < today:
            continue
        if tz is None or at is None:
            tz, at = zone_of(ctx), aware_now(now)
        midnight = midnight_of(ctx, start)
        hours = hours_until(midnight, at, tz) if midnight else None
        if hours is None:
            continue
        if hours > settings.departure_window_hours:
            found.append(crossing(now, hours, inclusive=[settings.departure_window_hours]))
        elif keys and f"{TYPE}:{trip.trip_id}" in keys:  # most travelers have no keys
            found.append(crossing(now, hours, inclusive=[settings.departure_high_hours]))
            found.append(next_local_midnight(ctx))
    return earliest(found)


SPEC = DetectorSpec(
    name=TYPE,
    types=(SuggestionType(
        TYPE, group="trip", job="monitor",
        rule="A planned trip's departure is close, and the reminder lead time has begun."),),
    detect=detect_departure_reminder,
    boundary=departure_reminder_boundary,
    settings=("departure_window_hours", "departure_high_hours", "fuel_reserve_miles"),
    sub_day=True,
)
