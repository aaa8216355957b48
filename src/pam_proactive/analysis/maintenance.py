"""Where each maintenance item stands: days and miles left, the odometer behind them, and
the planned trip during which it falls due (pure). Shared by the maintenance detectors,
departure reminders and the data facade."""

from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter

from pam_proactive.analysis.dates import add_days
from pam_proactive.analysis.fuel import Estimate, belongs_to, best_odometer, primary_vehicle
from pam_proactive.analysis.limits import MAX_ODOMETER_MILES, MAX_TRIP_MILES
from pam_proactive.analysis.memo import per_context
from pam_proactive.analysis.records import quick_init
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.analysis.stats import positive
from pam_proactive.context import MaintenanceItem, Trip, UserContext


@quick_init
@dataclass(frozen=True, slots=True)
class DueStatus:
    """Where one maintenance item stands (days and miles may be negative when overdue)."""

    item: MaintenanceItem
    odometer: Estimate | None  # current odometer of the item's vehicle, miles
    due_miles: float | None  # next_due_mileage when consistent with the record
    days_left: int | None  # next_due_date - today
    miles_left: float | None  # due_miles - odometer
    trip: Trip | None  # planned trip during which the mileage falls due
    notes: tuple[str, ...] = ()  # why a date or mileage was not used (no traveler data)

    @property
    def overdue(self) -> bool:
        """Past the due date, or past the due mileage."""
        return (self.days_left is not None and self.days_left < 0) or (
            self.miles_left is not None and self.miles_left < 0
        )


def task_label(task: object) -> str:
    """'oil_change' -> 'Oil change'."""
    text = " ".join(str(task or "service").replace("_", " ").split()) or "Service"
    return text[0].upper() + text[1:]


def is_primary_item(ctx: UserContext, item: MaintenanceItem) -> bool:
    """Whether ``item`` belongs to the primary vehicle (or to no vehicle in particular):
    :func:`~pam_proactive.analysis.fuel.belongs_to` of the primary vehicle."""
    return belongs_to(item, primary_vehicle(ctx))


def item_odometer(
    ctx: UserContext, item: MaintenanceItem, settings: DetectorSettings
) -> Estimate | None:
    """Current odometer (miles) of the item's vehicle: the fuel analysis' best estimate for the
    primary vehicle, else the highest service-record mileage of that vehicle."""
    return _item_odometer(ctx, item, settings, is_primary_item(ctx, item))


def _item_odometer(ctx: UserContext, item: MaintenanceItem, settings: DetectorSettings,
                   primary: bool) -> Estimate | None:
    """:func:`item_odometer`, ``primary`` saying whether the item is the primary vehicle's
    (:func:`is_primary_item`, computed once by :func:`due_status`)."""
    if primary:
        estimate = best_odometer(ctx, settings)
        return estimate if estimate.value is not None else None
    readings = [
        mileage
        for other in ctx.vehicle.maintenance
        if other.vehicle_id == item.vehicle_id
        and other.performed_on is not None
        and other.performed_on <= ctx.today
        and (mileage := positive(other.mileage_miles, MAX_ODOMETER_MILES)) is not None
    ]
    if not readings:
        return None
    return Estimate(max(readings), "service_records", "the latest service record", 0.7)


NOT_AFTER_LAST = "next due mileage not after the last"


def due_mileage(item: MaintenanceItem) -> float | None:
    """The item's next due mileage, or None when absent or not after the mileage it was done
    at (an inconsistent record, see :data:`NOT_AFTER_LAST`)."""
    due = positive(item.next_due_mileage_miles, MAX_ODOMETER_MILES)
    if due is None:  # a third of the items: no done-at mileage to check against
        return None
    done_at = positive(item.mileage_miles, MAX_ODOMETER_MILES)
    if done_at is not None and due <= done_at:
        return None
    return due


def planned_trips_ahead(ctx: UserContext, days: int) -> list[Trip]:
    """Planned trips starting in [today, today + days] with a distance, by start date."""
    return [trip for trip, _ in _planned_ahead(ctx, days)]


def _planned_ahead(ctx: UserContext, days: int) -> list[tuple[Trip, float]]:
    """:func:`planned_trips_ahead`, each trip with its distance (miles) as validated: one
    pass over the trips, sorted by start date (stable: trips starting the same day keep
    their order)."""
    today = ctx.today
    last = add_days(today, days)
    found = [
        (start, trip, miles)
        for trip in ctx.travel.trips
        if trip.status == "planned"
        and (start := trip.start_date) is not None
        and today <= start <= last
        and (miles := positive(trip.distance_miles, MAX_TRIP_MILES)) is not None
    ]
    found.sort(key=_START)
    return [(trip, miles) for _, trip, miles in found]


_START = itemgetter(0)  # a found trip's start date, the sort key of _planned_ahead


@per_context
def _trips_in_window(ctx: UserContext, settings: DetectorSettings
                     ) -> tuple[tuple[Trip, float], ...]:
    """:func:`planned_trips_ahead` within ``maintenance_trip_window_days``, each with its
    distance (miles) as it validated it, listed once per context (each maintenance item of
    the primary vehicle reads them)."""
    return tuple(_planned_ahead(ctx, settings.maintenance_trip_window_days))


def due_status(ctx: UserContext, item: MaintenanceItem, settings: DetectorSettings) -> DueStatus:
    """The item's days and miles left, and the planned trip (within
    ``maintenance_trip_window_days``) whose cumulative miles would pass the due mileage."""
    primary = is_primary_item(ctx, item)
    return _due_status(ctx, item, settings, primary,
                       _item_odometer(ctx, item, settings, primary))


def due_statuses(ctx: UserContext, settings: DetectorSettings) -> list[DueStatus]:
    """:func:`due_status` of each of the context's maintenance items, in their order. The
    primary vehicle and its odometer, the same for every item of that vehicle, are looked up
    once per context rather than once per item (a synthesised primary vehicle is a new
    object per look-up)."""
    items = ctx.vehicle.maintenance
    if not items:  # nothing to look up
        return []
    vehicle = primary_vehicle(ctx)
    primary_odometer: Estimate | None = None
    looked_up = False  # primary_odometer is set (None is a valid odometer: unknown)
    statuses: list[DueStatus] = []
    for item in items:
        if belongs_to(item, vehicle):  # is_primary_item, with the vehicle looked up once
            if not looked_up:
                primary_odometer = _item_odometer(ctx, item, settings, True)
                looked_up = True
            statuses.append(_due_status(ctx, item, settings, True, primary_odometer))
        else:
            statuses.append(_due_status(ctx, item, settings, False,
                                        _item_odometer(ctx, item, settings, False)))
    return statuses


def _due_status(ctx: UserContext, item: MaintenanceItem, settings: DetectorSettings,
                primary: bool, odometer: Estimate | None) -> DueStatus:
    """:func:`due_status`, given whether the item is the primary vehicle's
    (:func:`is_primary_item`) and its vehicle's odometer (:func:`item_odometer`)."""
    due_miles = due_mileage(item)
    # A tuple grown only by a note (rare): most items need no list made and converted.
    notes: tuple[str, ...] = ()
    if due_miles is None and item.next_due_mileage_miles is not None:
        notes += (NOT_AFTER_LAST,)
    due_date = item.next_due_date
    days_left = (due_date - ctx.today).days if due_date is not None else None
    if days_left is not None and -days_left > settings.maintenance_stale_days:
        notes += ("due date long past; record probably stale",)
        days_left = None
    miles_left = None
    trip = None
    if due_miles is not None and odometer is not None and odometer.value is not None:
        miles_left = due_miles - odometer.value
        if -miles_left > settings.maintenance_stale_miles:
            notes += ("due mileage long past; record probably stale",)
            miles_left = None
        if primary and miles_left is not None and miles_left >= 0:
            driven = 0.0
            for planned, distance in _trips_in_window(ctx, settings):
                driven += distance
                if driven >= miles_left:
                    trip = planned
                    break
    return DueStatus(item, odometer, due_miles, days_left, miles_left, trip, notes)


def is_due_soon(status: DueStatus, settings: DetectorSettings) -> bool:
    """Due within the 'soon' window of days or miles, or during a planned trip."""
    return (
        (status.days_left is not None and status.days_left <= settings.maintenance_soon_days)
        or (status.miles_left is not None and status.miles_left <= settings.maintenance_soon_miles)
        or status.trip is not None
    )
