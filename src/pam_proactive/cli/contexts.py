"""`pam-proactive context USER_ID` as a readable summary (``--format json`` gives every field)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from pam_proactive.analysis.dates import zone as resolve_zone
from pam_proactive.analysis.events import event_day, event_start
from pam_proactive.analysis.units import format_distance, format_economy, format_volume
from pam_proactive.context import (
    BudgetStatus,
    CalendarEvent,
    DataQuality,
    Profile,
    Trip,
    UserContext,
    VehicleContext,
)
from pam_proactive.suggestions.models import Note


def context_lines(ctx: UserContext, notes: Sequence[Note] = ()) -> list[str]:
    """The context as lines of text: profile, money, budgets, trips, events, vehicle and
    fuel, maintenance, data quality, and why detectors stayed silent (``notes``). Amounts in
    the user's currency; distances, volumes and economy in the traveler's units, as their
    suggestions write them."""
    p = ctx.profile
    lines = [f"Traveler {ctx.user_id}, as of {ctx.now.isoformat()} "
             f"(local day {_day(ctx.today)}, {p.timezone})"]
    lines += _profile(p, ctx)
    lines += _money(ctx)
    lines += _trips(ctx.travel.trips, p.units)
    lines += _events(ctx.calendar.events, p.timezone)
    lines += _vehicle(ctx.vehicle, p.units)
    lines += _quality(ctx.data_quality, notes)
    return lines


def _day(d: date | None) -> str:
    return d.strftime("%a %Y-%m-%d") if d else "?"


def _money_of(amount: float | None, currency: str) -> str:
    return "?" if amount is None else f"{amount:,.2f} {currency}"


def _profile(p: Profile, ctx: UserContext) -> list[str]:
    vehicle = p.vehicle_class + (f", {p.fuel_type}" if p.fuel_type else "") + (
        ", towing" if p.towing else "")
    prefs = [f"opted out: {'yes' if p.opted_out else 'no'}"]
    if p.quiet_start and p.quiet_end:
        prefs.append(f"quiet hours {p.quiet_start:%H:%M}-{p.quiet_end:%H:%M}")
    if p.daily_cap is not None:
        prefs.append(f"daily cap {p.daily_cap}")
    if p.disabled_types:
        prefs.append("switched off: " + ", ".join(sorted(p.disabled_types)))
    where = ctx.travel.location
    place = "unknown"
    if where is not None:
        coords = (f" ({where.coordinates.lat:.4f}, {where.coordinates.lng:.4f})"
                  if where.coordinates else "")
        place = f"{where.place_name or 'coordinates'}{coords}, from the {where.source}"
    return [f"Profile: {p.status}, {p.units} units, {p.currency}, region {p.region or '?'}, "
            f"vehicle {vehicle}",
            "Preferences: " + ", ".join(prefs),
            f"Location: {place.replace('_', ' ')}"]


def _money(ctx: UserContext) -> list[str]:
    f, cur = ctx.financial, ctx.profile.currency
    lines = [f"Money: {_money_of(f.month_spent, cur)} spent this calendar month"]
    lines += [_budget(b, cur) for b in f.budgets] or ["  no active budget"]
    for c in sorted(f.categories.values(), key=lambda c: -c.spent_30d):
        lines.append(f"  last 30 days, {c.category}: {_money_of(c.spent_30d, cur)} "
                     f"in {c.count_30d} expense{'s' if c.count_30d != 1 else ''}")
    for e in f.recent_expenses:
        lines.append(f"  recent expense {_day(e.spent_on)}: {e.category} "
                     f"{_money_of(e.amount, cur)}")
    return lines


def _budget(b: BudgetStatus, currency: str) -> str:
    pct = 100 * b.spent / b.limit if b.limit else 0.0
    return (f"  budget {b.category or 'all spending'} ({b.period}): "
            f"{_money_of(b.spent, currency)} of {_money_of(b.limit, currency)} ({pct:.0f} %), "
            f"{b.period_start} to {b.period_end}, alert at {b.alert_threshold_pct:g} %")


def _trips(trips: Iterable[Trip], units: str) -> list[str]:
    lines = []
    for t in trips:
        miles = (f", {format_distance(t.distance_miles, units)}"
                 if t.distance_miles is not None else "")
        lines.append(f"  {t.status}: {t.origin or '?'} to {t.destination or '?'}, "
                     f"{_day(t.start_date)} to {_day(t.end_date)}{miles}")
    return [f"Trips ({len(lines)}, last 365 days and planned):", *lines] if lines else [
        "Trips: none in the last 365 days or planned"]


def _events(events: Iterable[CalendarEvent], timezone: str) -> list[str]:
    zone = resolve_zone(timezone)
    lines = []
    for e in events:
        where = f" at {e.location_name}" if e.location_name else ""
        # The same local date the suggestions use (an all-day event's own date).
        start = event_start(e, zone)
        when = (_day(event_day(e, zone)) + ", all day" if e.all_day or start is None
                else start.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z"))
        lines.append(f"  {when}: {e.title}{where} ({e.event_type})")
    return [f"Events ({len(lines)}, next 30 days):", *lines] if lines else [
        "Events: none in the next 30 days"]


def _vehicle(v: VehicleContext, units: str) -> list[str]:
    lines = []
    if v.primary is None:
        lines.append("Vehicle: none recorded")
    else:
        car = v.primary
        facts = [car.vehicle_class, car.fuel_type or "fuel ?"]
        if car.tank_gallons is not None:
            facts.append(f"tank {format_volume(car.tank_gallons, units)}")
        if car.mpg is not None:
            facts.append(format_economy(car.mpg, units))
        if car.odometer_miles is not None:
            facts.append(f"odometer {format_distance(car.odometer_miles, units)}")
        facts.append(f"registration expires {car.registration_expires or '?'}")
        facts.append(f"insurance expires {car.insurance_expires or '?'}")
        lines.append(f"Vehicle: {car.name or 'unnamed'} ({', '.join(facts)})")
    full = [f for f in v.fills if f.is_full]
    last = (f", last full fill {_day(full[-1].filled_on)}" if full else ", no full fill")
    lines.append(f"Fuel log: {len(v.fills)} fills in the last 400 days{last}")
    for m in v.maintenance:
        due = [f"{m.next_due_date}" if m.next_due_date else "",
               format_distance(m.next_due_mileage_miles, units)
               if m.next_due_mileage_miles else ""]
        done = f"done {m.performed_on}" if m.performed_on else "scheduled"
        lines.append(f"  maintenance {m.task}: {done}, next due "
                     f"{' or '.join(d for d in due if d) or '?'}")
    return lines


def _quality(q: DataQuality, notes: Sequence[Note]) -> list[str]:
    parts = [", ".join(f"{k} {100 * v:.0f} %" for k, v in sorted(q.completeness.items()))]
    if q.missing_sources:
        parts.append("missing: " + ", ".join(q.missing_sources))
    if q.skipped_rows:
        parts.append("rows skipped: " + ", ".join(f"{k} {n}" for k, n in q.skipped_rows.items()))
    if q.repaired_rows:
        parts.append("rows repaired: " + ", ".join(
            f"{k} {n}" for k, n in q.repaired_rows.items()))
    if q.assumed:
        parts.append("assumed: " + ", ".join(f"{k} {v}" for k, v in q.assumptions.items()))
    if q.stale:
        parts.append("served stale from the cache (the database did not answer)")
    lines = ["Data quality: " + "; ".join(p for p in parts if p)]
    lines += [f"  silent: {n.detector}: {n.reason}" for n in notes]
    return lines
