"""Time boundaries: the earliest moment at which a detector's output could change with no new
data (pure).

A traveler's suggestions depend on two things: their rows, and the clock. Rows are watched by
the change feed; the clock is handled here. For a context, ``now`` and the detector settings,
each ``*_boundary`` function below returns the earliest future moment at which its detector's
candidates (type, dedup key, priority, title, message, data) could differ from those computed
at ``now``, or None when only new data can change them. One function per detector, named after
it, reading the same rules as the detector (``suggestions/detectors/*.py``).

Two kinds of time dependence exist in the detectors:

* sub-day, through ``now``: the hours until an event or a departure, which decide the window
  and the priority only (messages and ``data`` name dates and times, never a count of hours
  from ``now``, so no rounding grid moves them). Each is a linear function of ``now``; its
  next crossing of a threshold is computed exactly, less a margin.
* daily, through ``ctx.today`` (the user's local date): budget periods and pace, due dates,
  expiry dates, a trip's elapsed share, data windows, the days counted in a message ('in 5
  days', 'tomorrow'). These change only at a local midnight; the functions return the first
  local midnight at which one of them changes.

:func:`recheck_at` takes the earliest of all of them, of a refresh ahead of each rolling
``expires_at``, and of the next local midnight (a traveler is rechecked at least once per
local day whatever the detectors say).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Protocol

from pam_proactive.analysis.dates import add_days, aware, hours_until, local_midnight, zone
from pam_proactive.analysis.events import event_hours_until
from pam_proactive.context import UserContext

# Subtracted from every computed crossing: float arithmetic on hours must never put a
# boundary after the moment the output really changes.
MARGIN = timedelta(seconds=1)


class BoundarySettings(Protocol):
    """The detector settings read here (``DetectorSettings`` satisfies it)."""

    @property
    def event_window_days(self) -> int: ...
    @property
    def event_high_days(self) -> float: ...
    @property
    def event_medium_days(self) -> float: ...
    @property
    def departure_window_hours(self) -> float: ...
    @property
    def departure_high_hours(self) -> float: ...
    @property
    def fuel_trip_window_days(self) -> int: ...
    @property
    def maintenance_soon_days(self) -> int: ...
    @property
    def maintenance_trip_window_days(self) -> int: ...
    @property
    def maintenance_stale_days(self) -> int: ...
    @property
    def document_window_days(self) -> int: ...
    @property
    def document_expired_max_days(self) -> int: ...
    @property
    def anomaly_window_days(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Recheck:
    """When to look at a traveler again, and which rule decided it."""

    at: datetime  # aware, UTC
    reason: str  # a detector's name, 'expiry_refresh' or 'daily'


def _zone_of(ctx: UserContext) -> tzinfo:
    return zone(ctx.profile.timezone if isinstance(ctx.profile.timezone, str) else None)


def _now(now: datetime) -> datetime:
    return aware(now, UTC)


def midnight_of(ctx: UserContext, day: date) -> datetime | None:
    """Local midnight starting ``day`` in the user's zone (aware), or None out of range."""
    return local_midnight(day, _zone_of(ctx))


def next_local_midnight(ctx: UserContext) -> datetime | None:
    """The start of the user's next local day after ``ctx.today``."""
    if ctx.today >= date.max:
        return None
    return midnight_of(ctx, add_days(ctx.today, 1))


def _earliest(moments: Iterable[datetime | None]) -> datetime | None:
    found = [m for m in moments if m is not None]
    return min(found, key=lambda m: m.astimezone(UTC)) if found else None


def _day_boundary(ctx: UserContext, day: date | None) -> datetime | None:
    """Local midnight of ``day`` when it is after today (a daily condition flips then)."""
    if not isinstance(day, date) or day <= ctx.today:
        return None
    return midnight_of(ctx, day)


def crossing(now: datetime, hours: float, *, inclusive: Iterable[float] = (),
             strict: Iterable[float] = ()) -> datetime | None:
    """When a figure of ``hours`` that falls by one per hour first crosses a threshold, less
    the margin; never before ``now``. ``inclusive`` thresholds flip as the figure reaches
    them (``hours <= t``), ``strict`` ones as it passes them (``hours < t``). None when out
    of range or no threshold lies ahead."""
    if not math.isfinite(hours):
        return None
    below = [t for t in inclusive if t < hours] + [t for t in strict if t <= hours]
    if not below:
        return None
    gap = max(0.0, hours - max(below)) * 3600.0 - MARGIN.total_seconds()
    try:
        return _now(now) + timedelta(seconds=max(0.0, gap))
    except OverflowError:
        return None


def event_travel_planning_boundary(
    ctx: UserContext, now: datetime, settings: BoundarySettings, keys: Collection[str]
) -> datetime | None:
    """Events (measured to :func:`~pam_proactive.analysis.events.event_start`: an all-day
    event's local midnight): entering the window (``event_window_days``); for an event
    suggested now
    (``keys`` holds its dedup key), the medium/high thresholds, its start (it leaves the
    window), and the next local midnight (the wording counts local days: 'tomorrow', 'in 5
    days')."""
    tz = _zone_of(ctx)
    window = settings.event_window_days * 24.0
    found: list[datetime | None] = []
    for event in ctx.calendar.events:
        hours = event_hours_until(event, _now(now), tz)
        if hours is None or hours < 0:
            continue
        if hours > window:
            found.append(crossing(now, hours, inclusive=[window]))
        elif f"event_travel_planning:{event.event_id}" in keys:
            found.append(crossing(
                now, hours, strict=[0.0],
                inclusive=[settings.event_high_days * 24.0, settings.event_medium_days * 24.0]))
            found.append(next_local_midnight(ctx))
    return _earliest(found)


def departure_reminder_boundary(
    ctx: UserContext, now: datetime, settings: BoundarySettings, keys: Collection[str]
) -> datetime | None:
    """Planned trips: their start (local midnight) entering ``departure_window_hours``; for a
    reminder given now, ``departure_high_hours`` and the next local midnight (the wording
    says 'today'/'tomorrow'; budget and fuel figures are daily)."""
    found: list[datetime | None] = []
    for trip in ctx.travel.trips:
        start = trip.start_date
        if trip.status != "planned" or not isinstance(start, date) or start < ctx.today:
            continue
        midnight = midnight_of(ctx, start)
        hours = hours_until(midnight, _now(now), _zone_of(ctx)) if midnight else None
        if hours is None:
            continue
        if hours > settings.departure_window_hours:
            found.append(crossing(now, hours, inclusive=[settings.departure_window_hours]))
        elif f"departure_reminder:{trip.trip_id}" in keys:
            found.append(crossing(now, hours, inclusive=[settings.departure_high_hours]))
            found.append(next_local_midnight(ctx))
    return _earliest(found)


def fuel_low_boundary(ctx: UserContext, now: datetime, settings: BoundarySettings
                      ) -> datetime | None:
    """Fuel: an active trip's elapsed share (the estimated level falls by one day's share
    each local day, so the 25 %/15 % crossings fall on local midnights); a planned trip
    entering ``fuel_trip_window_days``, or starting (it becomes the active trip)."""
    found: list[datetime | None] = []
    for trip in ctx.travel.trips:
        start, end = trip.start_date, trip.end_date
        if trip.status == "active":
            last = end if isinstance(end, date) else start
            if isinstance(last, date) and last >= ctx.today:
                found.append(next_local_midnight(ctx))
        elif trip.status == "planned" and isinstance(start, date):
            found.append(_day_boundary(ctx, add_days(start, -settings.fuel_trip_window_days)))
            found.append(_day_boundary(ctx, start))
    return _earliest(found)


def budget_boundary(ctx: UserContext, now: datetime, settings: BoundarySettings
                    ) -> datetime | None:
    """Budgets: days elapsed and left change every local day while a budget's period runs
    (pace, forecast, wording); the period's end, the day after ``period_end``."""
    found: list[datetime | None] = []
    for budget in ctx.financial.budgets:
        start, end = budget.period_start, budget.period_end
        if not isinstance(start, date) or not isinstance(end, date):
            continue
        if start > ctx.today:
            found.append(_day_boundary(ctx, start))
        elif end >= ctx.today:
            found.append(next_local_midnight(ctx))
    return _earliest(found)


def spending_anomaly_boundary(ctx: UserContext, now: datetime, settings: BoundarySettings
                              ) -> datetime | None:
    """Recent expenses: each leaves the ``anomaly_window_days`` window at a local midnight."""
    return _earliest(
        _day_boundary(ctx, add_days(e.spent_on, settings.anomaly_window_days))
        for e in ctx.financial.recent_expenses if isinstance(e.spent_on, date))


def maintenance_boundary(ctx: UserContext, now: datetime, settings: BoundarySettings
                         ) -> datetime | None:
    """Maintenance: a due date entering ``maintenance_soon_days``, then the days left
    changing daily while due soon or overdue, until the record is stale
    (``maintenance_stale_days``); a planned trip entering ``maintenance_trip_window_days``
    (its miles count toward a due mileage)."""
    found: list[datetime | None] = []
    for item in ctx.vehicle.maintenance:
        due = item.next_due_date
        if not isinstance(due, date):
            continue
        if (due - ctx.today).days > settings.maintenance_soon_days:
            found.append(_day_boundary(ctx, add_days(due, -settings.maintenance_soon_days)))
        elif (ctx.today - due).days <= settings.maintenance_stale_days:
            found.append(next_local_midnight(ctx))
    for trip in ctx.travel.trips:
        if trip.status == "planned" and isinstance(trip.start_date, date):
            found.append(_day_boundary(
                ctx, add_days(trip.start_date, -settings.maintenance_trip_window_days)))
            found.append(_day_boundary(ctx, trip.start_date))
    return _earliest(found)


def document_expiring_boundary(ctx: UserContext, now: datetime, settings: BoundarySettings
                               ) -> datetime | None:
    """Registration and insurance: an expiry entering ``document_window_days``, then the
    days left changing daily, expiring, and ageing out after ``document_expired_max_days``."""
    vehicle = ctx.vehicle.primary
    if vehicle is None:
        return None
    found: list[datetime | None] = []
    for expires in (vehicle.registration_expires, vehicle.insurance_expires):
        if not isinstance(expires, date):
            continue
        if (expires - ctx.today).days > settings.document_window_days:
            found.append(_day_boundary(ctx, add_days(expires, -settings.document_window_days)))
        elif (ctx.today - expires).days <= settings.document_expired_max_days:
            found.append(next_local_midnight(ctx))
    return _earliest(found)


def fuel_economy_drop_boundary(ctx: UserContext, now: datetime, settings: BoundarySettings
                               ) -> datetime | None:
    """Economy: the recent and baseline windows are counted in days back from today, so
    with any fill on record the result can change at the next local midnight."""
    return next_local_midnight(ctx) if ctx.vehicle.fills else None


# (name, boundary function) of every detector: the ones reading ``now`` take the dedup keys
# of the candidates computed at ``now``.
_DAILY: tuple[tuple[str, Callable[[UserContext, datetime, BoundarySettings],
                                  datetime | None]], ...] = (
    ("fuel_low", fuel_low_boundary),
    ("budget", budget_boundary),
    ("spending_anomaly", spending_anomaly_boundary),
    ("maintenance", maintenance_boundary),
    ("document_expiring", document_expiring_boundary),
    ("fuel_economy_drop", fuel_economy_drop_boundary),
)


# The suggestion types each boundary function speaks for: a scheduled job running a detector
# group takes only the boundaries of its own detectors.
BOUNDARY_TYPES: dict[str, frozenset[str]] = {
    "event_travel_planning": frozenset({"event_travel_planning"}),
    "departure_reminder": frozenset({"departure_reminder"}),
    "fuel_low": frozenset({"fuel_low"}),
    "budget": frozenset({"budget_exceeded", "budget_forecast_overspend", "budget_threshold"}),
    "spending_anomaly": frozenset({"spending_anomaly"}),
    "maintenance": frozenset({"maintenance_overdue", "maintenance_due_soon"}),
    "document_expiring": frozenset({"document_expiring"}),
    "fuel_economy_drop": frozenset({"fuel_economy_drop"}),
}


def _wanted(name: str, types: Collection[str] | None) -> bool:
    return types is None or not BOUNDARY_TYPES[name].isdisjoint(types)


def detector_boundaries(ctx: UserContext, now: datetime, settings: BoundarySettings,
                        keys: Collection[str], types: Collection[str] | None = None
                        ) -> dict[str, datetime]:
    """Each detector's boundary (those with one), by detector name; with ``types``, only
    the detectors producing one of those suggestion types."""
    found: dict[str, datetime | None] = {}
    if _wanted("event_travel_planning", types):
        found["event_travel_planning"] = event_travel_planning_boundary(ctx, now, settings,
                                                                        keys)
    if _wanted("departure_reminder", types):
        found["departure_reminder"] = departure_reminder_boundary(ctx, now, settings, keys)
    for name, fn in _DAILY:
        if _wanted(name, types):
            found[name] = fn(ctx, now, settings)
    return {k: v for k, v in found.items() if v is not None}


def expiry_refresh(now: datetime, expiries: Iterable[datetime | None],
                   margin: timedelta) -> datetime | None:
    """``margin`` before the earliest ``expires_at`` of the candidates: a full sweep rewrites
    a rolling expiry (computed from ``now``) at every run, so the incremental path must
    re-evaluate before it lapses, or the suggestion would expire there and not in a full
    sweep. Never before ``now``."""
    first = _earliest(expiries)
    if first is None:
        return None
    try:
        return max(_now(now), first - margin)
    except OverflowError:
        return _now(now)


def recheck_at(ctx: UserContext, now: datetime, settings: BoundarySettings,
               keys: Collection[str], expiries: Iterable[datetime | None] = (),
               refresh_margin: timedelta = timedelta(hours=1),
               types: Collection[str] | None = None) -> Recheck:
    """The earliest of every detector's boundary (only those of ``types``' detectors when
    given: a scheduled job's group), the expiry refreshes and the next local midnight; falls
    back to ``now`` + 1 day when no local midnight can be represented."""
    options = detector_boundaries(ctx, now, settings, keys, types)
    refresh = expiry_refresh(now, expiries, refresh_margin)
    if refresh is not None:
        options["expiry_refresh"] = refresh
    midnight = next_local_midnight(ctx)
    options["daily"] = midnight if midnight is not None else _now(now) + timedelta(days=1)
    reason = min(options, key=lambda k: options[k].astimezone(UTC))
    # A context whose local day is already over (only a stale or replayed one) is due now.
    return Recheck(max(options[reason].astimezone(UTC), _now(now).astimezone(UTC)), reason)
