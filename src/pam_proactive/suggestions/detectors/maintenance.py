"""Maintenance and documents: service overdue or due soon, registration/insurance expiring.

Overdue and due-soon share the dedup key ``maintenance:<vehicle>:<task>`` so that an item
escalating from due soon to overdue updates one suggestion.
"""

from __future__ import annotations

from datetime import date, datetime

from pam_proactive.analysis.dates import add_days, format_date
from pam_proactive.analysis.fuel import primary_vehicle
from pam_proactive.analysis.maintenance import DueStatus, due_status, is_due_soon, task_label
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.analysis.units import format_distance, format_shown_distance, shown_distance
from pam_proactive.context import UserContext
from pam_proactive.suggestions.detectors._common import Findings, after, candidate, day_start, r1
from pam_proactive.suggestions.models import Candidate, DetectorResult, Priority
from pam_proactive.suggestions.relations import service_subject

OVERDUE = "maintenance_overdue"
DUE_SOON = "maintenance_due_soon"
DOCUMENT = "document_expiring"


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
        reading = status.odometer.value or 0.0
        odo = format_distance(reading, units)
        due = format_distance(status.due_miles, units)
        source = f"odometer about {odo}, from {status.odometer.detail}"
        # The distance left is the difference of the two figures shown (due - odometer).
        left = shown_distance(status.due_miles, units) - shown_distance(reading, units)
        if left == 0 and miles <= settings.maintenance_soon_miles:
            parts.append(f"due now at {due} ({source})")  # the two figures shown are equal
        elif miles < 0:
            parts.append(f"overdue at {due} ({source})")
        elif miles <= settings.maintenance_soon_miles:
            parts.append(f"due at {due}, {format_shown_distance(left, units)} from now "
                         f"({source})")
    if status.trip is not None:
        where = status.trip.destination
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
        subjects=(service_subject(item.vehicle_id, item.task),),
    )


def detect_maintenance(
    ctx: UserContext, now: datetime, settings: DetectorSettings
) -> DetectorResult:
    """``maintenance_overdue`` (high) past the due date or mileage; ``maintenance_due_soon``
    (medium) within ``maintenance_soon_days`` / ``maintenance_soon_miles`` or before the end
    of a planned trip that would pass the due mileage. One per vehicle and task."""
    found = Findings("maintenance")
    out: list[Candidate] = []
    seen: set[str] = set()
    for item in ctx.vehicle.maintenance:
        status = due_status(ctx, item, settings)
        for reason in status.notes:
            found.note(reason)
        made = _maintenance_candidate(ctx, now, status, settings)
        if made is not None and made.dedup_key not in seen:
            seen.add(made.dedup_key)
            out.append(made)
    return found.result(out)


def detect_documents(
    ctx: UserContext, now: datetime, settings: DetectorSettings
) -> DetectorResult:
    """``document_expiring`` for the primary vehicle's registration and insurance: medium
    within ``document_window_days`` of expiry, high once expired (silent, with a note, when
    expired more than ``document_expired_max_days`` ago: the record is likely stale)."""
    found = Findings(DOCUMENT)
    vehicle = ctx.vehicle.primary
    if vehicle is None:
        return found.result()
    out: list[Candidate] = []
    for kind, expires in (
        ("registration", vehicle.registration_expires),
        ("insurance", vehicle.insurance_expires),
    ):
        if expires is None:
            continue
        days = (expires - ctx.today).days
        if days > settings.document_window_days:
            continue
        if days < -settings.document_expired_max_days:
            found.note(f"{kind} expired over {settings.document_expired_max_days} days ago; "
                       "record probably stale")
            continue
        out.append(_document_candidate(ctx, now, kind, expires, days, settings))
    return found.result(out)


def _document_candidate(
    ctx: UserContext, now: datetime, kind: str, expires: date, days: int, settings: DetectorSettings
) -> Candidate:
    vehicle = primary_vehicle(ctx)
    name = (vehicle.name or "").strip() or None
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
