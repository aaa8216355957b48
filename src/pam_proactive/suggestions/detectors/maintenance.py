"""Maintenance and documents: service overdue or due soon, registration/insurance expiring.

Overdue and due-soon share the dedup key ``maintenance:<vehicle>:<task>`` so that an item
escalating from due soon to overdue updates one suggestion.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from pam_proactive.analysis.dates import add_days, format_date
from pam_proactive.analysis.fuel import (
    MAX_ODOMETER_MILES,
    Estimate,
    best_odometer,
    primary_vehicle,
)
from pam_proactive.analysis.stats import positive
from pam_proactive.analysis.units import format_distance
from pam_proactive.context import MaintenanceItem, Trip, UserContext
from pam_proactive.suggestions.detectors._common import after, candidate, day_start, note, r1
from pam_proactive.suggestions.detectors.settings import DetectorSettings
from pam_proactive.suggestions.models import Candidate, Priority

OVERDUE = "maintenance_overdue"
DUE_SOON = "maintenance_due_soon"
DOCUMENT = "document_expiring"
MAX_TRIP_MILES = 25_000.0


@dataclass(frozen=True, slots=True)
class DueStatus:
    """Where one maintenance item stands (days and miles may be negative when overdue)."""

    item: MaintenanceItem
    odometer: Estimate | None  # current odometer of the item's vehicle, miles
    due_miles: float | None  # next_due_mileage when consistent with the record
    days_left: int | None  # next_due_date - today
    miles_left: float | None  # due_miles - odometer
    trip: Trip | None  # planned trip during which the mileage falls due

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
    primary_id = primary_vehicle(ctx).vehicle_id
    return item.vehicle_id is None or primary_id is None or item.vehicle_id == primary_id


def item_odometer(
    ctx: UserContext, item: MaintenanceItem, settings: DetectorSettings
) -> Estimate | None:
    """Current odometer (miles) of the item's vehicle: the fuel analysis' best estimate for the
    primary vehicle, else the highest service-record mileage of that vehicle."""
    if is_primary_item(ctx, item):
        estimate = best_odometer(ctx, settings)
        return estimate if estimate.value is not None else None
    readings = [
        mileage
        for other in ctx.vehicle.maintenance
        if other.vehicle_id == item.vehicle_id
        and isinstance(other.performed_on, date)
        and other.performed_on <= ctx.today
        and (mileage := positive(other.mileage_miles, MAX_ODOMETER_MILES)) is not None
    ]
    if not readings:
        return None
    return Estimate(max(readings), "service_records", "the latest service record", 0.7)


def due_mileage(ctx: UserContext, item: MaintenanceItem) -> float | None:
    due = positive(item.next_due_mileage_miles, MAX_ODOMETER_MILES)
    done_at = positive(item.mileage_miles, MAX_ODOMETER_MILES)
    if due is not None and done_at is not None and due <= done_at:
        note(ctx, "maintenance", f"{task_label(item.task)}: next due mileage not after the last")
        return None
    return due


def planned_trips_ahead(ctx: UserContext, days: int) -> list[Trip]:
    """Planned trips starting in [today, today + days] with a distance, by start date."""
    last = add_days(ctx.today, days)
    trips = [
        t
        for t in ctx.travel.trips
        if t.status == "planned"
        and isinstance(t.start_date, date)
        and ctx.today <= t.start_date <= last
        and positive(t.distance_miles, MAX_TRIP_MILES) is not None
    ]
    return sorted(trips, key=lambda t: t.start_date.toordinal() if t.start_date else 0)


def due_status(ctx: UserContext, item: MaintenanceItem, settings: DetectorSettings) -> DueStatus:
    """The item's days and miles left, and the planned trip (within
    ``maintenance_trip_window_days``) whose cumulative miles would pass the due mileage."""
    odometer = item_odometer(ctx, item, settings)
    due_miles = due_mileage(ctx, item)
    due_date = item.next_due_date if isinstance(item.next_due_date, date) else None
    days_left = (due_date - ctx.today).days if due_date is not None else None
    label = task_label(item.task)
    if days_left is not None and -days_left > settings.maintenance_stale_days:
        note(ctx, "maintenance", f"{label}: due date long past; record probably stale")
        days_left = None
    miles_left = None
    trip = None
    if due_miles is not None and odometer is not None and odometer.value is not None:
        miles_left = due_miles - odometer.value
        if -miles_left > settings.maintenance_stale_miles:
            note(ctx, "maintenance", f"{label}: due mileage long past; record probably stale")
            miles_left = None
        if is_primary_item(ctx, item) and miles_left is not None and miles_left >= 0:
            driven = 0.0
            for planned in planned_trips_ahead(ctx, settings.maintenance_trip_window_days):
                driven += positive(planned.distance_miles, MAX_TRIP_MILES) or 0.0
                if driven >= miles_left:
                    trip = planned
                    break
    return DueStatus(item, odometer, due_miles, days_left, miles_left, trip)


def is_due_soon(status: DueStatus, settings: DetectorSettings) -> bool:
    """Due within the 'soon' window of days or miles, or during a planned trip."""
    return (
        (status.days_left is not None and status.days_left <= settings.maintenance_soon_days)
        or (status.miles_left is not None and status.miles_left <= settings.maintenance_soon_miles)
        or status.trip is not None
    )


def due_phrases(ctx: UserContext, status: DueStatus, settings: DetectorSettings) -> list[str]:
    """Plain-English reasons the item is due, only those that apply: by date, by mileage,
    by a planned trip ('overdue since Sat Mar 1, 9 days ago')."""
    units = ctx.profile.units
    item = status.item
    parts: list[str] = []
    days, miles = status.days_left, status.miles_left
    if days is not None and item.next_due_date is not None:
        when = format_date(item.next_due_date)
        if days < 0:
            parts.append(f"overdue since {when}, {-days} day{'s' if days != -1 else ''} ago")
        elif days == 0:
            parts.append("due today")
        elif days <= settings.maintenance_soon_days:
            parts.append(f"due {when}, in {days} day{'s' if days != 1 else ''}")
    if miles is not None and status.due_miles is not None and status.odometer is not None:
        odo = format_distance(status.odometer.value or 0.0, units)
        due = format_distance(status.due_miles, units)
        source = f"odometer about {odo}, from {status.odometer.detail}"
        if miles < 0:
            parts.append(f"overdue at {due} ({source})")
        elif miles <= settings.maintenance_soon_miles:
            parts.append(f"due at {due}, {format_distance(miles, units)} from now ({source})")
    if status.trip is not None:
        where = status.trip.destination if isinstance(status.trip.destination, str) else None
        start = status.trip.start_date
        parts.append(
            "falls due during your planned trip"
            + (f" to {where.strip()}" if where and where.strip() else "")
            + (f" on {format_date(start)}" if start else "")
        )
    return parts


def _maintenance_candidate(
    ctx: UserContext, now: datetime, status: DueStatus, settings: DetectorSettings
) -> Candidate | None:
    overdue = status.overdue
    if not overdue and not is_due_soon(status, settings):
        return None
    item = status.item
    label = task_label(item.task)
    phrases = due_phrases(ctx, status, settings)
    if not phrases:
        return None
    message = (
        f"{label}: {'; '.join(phrases)}. If it's already done, log it so this reminder clears."
    )
    kind, priority = (OVERDUE, Priority.HIGH) if overdue else (DUE_SOON, Priority.MEDIUM)
    return candidate(
        ctx,
        now,
        type=kind,
        priority=priority,
        title=f"{label} {'overdue' if overdue else 'due soon'}",
        message=message,
        dedup_key=f"maintenance:{item.vehicle_id or '-'}:{item.task}",
        data={
            "record_id": item.record_id,
            "vehicle_id": item.vehicle_id,
            "task": item.task,
            "next_due_date": item.next_due_date,
            "next_due_mileage_miles": status.due_miles,
            "odometer_miles": r1(status.odometer.value or 0.0) if status.odometer else None,
            "odometer_source": status.odometer.detail if status.odometer else None,
            "days_left": status.days_left,
            "miles_left": r1(status.miles_left) if status.miles_left is not None else None,
            "trip_id": status.trip.trip_id if status.trip else None,
            "thresholds": {
                "soon_days": settings.maintenance_soon_days,
                "soon_miles": settings.maintenance_soon_miles,
            },
            "confidence": 0.9 if status.days_left is not None else 0.7,
        },
        expires_at=after(now, days=7),
        tags=("maintenance",),
    )


def detect_maintenance(
    ctx: UserContext, now: datetime, settings: DetectorSettings
) -> list[Candidate]:
    """``maintenance_overdue`` (high) past the due date or mileage; ``maintenance_due_soon``
    (medium) within ``maintenance_soon_days`` / ``maintenance_soon_miles`` or before the end
    of a planned trip that would pass the due mileage. One per vehicle and task."""
    out: list[Candidate] = []
    seen: set[str] = set()
    for item in ctx.vehicle.maintenance:
        found = _maintenance_candidate(ctx, now, due_status(ctx, item, settings), settings)
        if found is not None and found.dedup_key not in seen:
            seen.add(found.dedup_key)
            out.append(found)
    return out


def detect_documents(
    ctx: UserContext, now: datetime, settings: DetectorSettings
) -> list[Candidate]:
    """``document_expiring`` for the primary vehicle's registration and insurance: medium
    within ``document_window_days`` of expiry, high once expired (silent, with a note, when
    expired more than ``document_expired_max_days`` ago: the record is likely stale)."""
    vehicle = ctx.vehicle.primary
    if vehicle is None:
        return []
    out: list[Candidate] = []
    for kind, expires in (
        ("registration", vehicle.registration_expires),
        ("insurance", vehicle.insurance_expires),
    ):
        if not isinstance(expires, date):
            continue
        days = (expires - ctx.today).days
        if days > settings.document_window_days:
            continue
        if days < -settings.document_expired_max_days:
            note(ctx, DOCUMENT, f"{kind} expired {-days} days ago; record probably stale")
            continue
        out.append(_document_candidate(ctx, now, kind, expires, days, settings))
    return out


def _document_candidate(
    ctx: UserContext, now: datetime, kind: str, expires: date, days: int, settings: DetectorSettings
) -> Candidate:
    vehicle = primary_vehicle(ctx)
    name = vehicle.name.strip() if isinstance(vehicle.name, str) and vehicle.name.strip() else None
    whose = f"{name}'s" if name else "Your vehicle's"
    when = format_date(expires)
    if days < 0:
        title, priority = f"{kind.capitalize()} expired", Priority.HIGH
        text = (
            f"{whose} {kind} expired on {when}. Renew it, or update the date if you already have."
        )
    else:
        left = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
        title, priority = f"{kind.capitalize()} expires {left}", Priority.MEDIUM
        text = f"{whose} {kind} expires on {when} ({left}). Renew it before then."
    return candidate(
        ctx,
        now,
        type=DOCUMENT,
        priority=priority,
        title=title,
        message=text,
        dedup_key=f"document:{vehicle.vehicle_id or '-'}:{kind}:{expires.isoformat()}",
        data={
            "vehicle_id": vehicle.vehicle_id,
            "document": kind,
            "expires_on": expires,
            "days_left": days,
            "thresholds": {
                "window_days": settings.document_window_days,
                "expired_max_days": settings.document_expired_max_days,
            },
            "confidence": 1.0,
        },
        expires_at=(day_start(ctx, add_days(expires, 1)) if days >= 0 else None)
        or after(now, days=7),
        tags=("maintenance",),
    )
