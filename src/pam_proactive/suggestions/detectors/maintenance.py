"""Maintenance: a service overdue or due soon.

Overdue and due-soon share the dedup key ``maintenance:<vehicle>:<task>`` so that an item
escalating from due soon to overdue updates one suggestion.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

from pam_proactive.analysis.boundaries import earliest_day_boundary, tomorrow
from pam_proactive.analysis.dates import add_days, format_date
from pam_proactive.analysis.maintenance import DueStatus, due_statuses, is_due_soon, task_label
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.analysis.units import format_distance, format_shown_distance, shown_distance
from pam_proactive.context import UserContext
from pam_proactive.suggestions.detectors._common import NOTHING, Findings, after, candidate, r1
from pam_proactive.suggestions.detectors.spec import DetectorSpec, SuggestionType
from pam_proactive.suggestions.models import Candidate, DetectorResult, Priority
from pam_proactive.suggestions.relations import service_subject

OVERDUE = "maintenance_overdue"
DUE_SOON = "maintenance_due_soon"
DETECTOR = "maintenance"  # its notes and recheck reason


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
    ctx: UserContext, now: datetime, status: DueStatus, overdue: bool,
    settings: DetectorSettings,
) -> Candidate | None:
    """The candidate of an item due (``overdue``, else due soon), None when no reason it is
    due can be phrased."""
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
    if not ctx.vehicle.maintenance:  # nothing to judge
        return NOTHING
    found = Findings(DETECTOR)
    out: list[Candidate] = []
    seen: set[str] = set()
    for status in due_statuses(ctx, settings):
        for reason in status.notes:
            found.note(reason)
        # Most items are neither overdue nor due soon: judged here, without a call each.
        overdue = status.overdue
        if not overdue and not is_due_soon(status, settings):
            continue
        made = _maintenance_candidate(ctx, now, status, overdue, settings)
        if made is not None and made.dedup_key not in seen:
            seen.add(made.dedup_key)
            out.append(made)
    return found.result(out)


def maintenance_boundary(ctx: UserContext, now: datetime, settings: DetectorSettings,
                         keys: Collection[str]) -> datetime | None:
    """Maintenance: a due date entering ``maintenance_soon_days``, then the days left
    changing daily while due soon or overdue, until the record is stale
    (``maintenance_stale_days``); a planned trip entering ``maintenance_trip_window_days``
    (its miles count toward a due mileage)."""
    days: list[date] = []  # each flips the output at its local midnight
    for item in ctx.vehicle.maintenance:
        due = item.next_due_date
        if not isinstance(due, date):
            continue
        if (due - ctx.today).days > settings.maintenance_soon_days:
            days.append(add_days(due, -settings.maintenance_soon_days))
        elif (ctx.today - due).days <= settings.maintenance_stale_days:
            days.append(tomorrow(ctx))
    for trip in ctx.travel.trips:
        if trip.status == "planned" and isinstance(trip.start_date, date):
            days.append(add_days(trip.start_date, -settings.maintenance_trip_window_days))
            days.append(trip.start_date)
    return earliest_day_boundary(ctx, days)


SPEC = DetectorSpec(
    name=DETECTOR,
    types=(
        SuggestionType(OVERDUE, group="maintenance", job="monitor",
                       rule="A service is past its due mileage or date."),
        SuggestionType(DUE_SOON, group="maintenance", job="predictive",
                       rule="A service is due within the lead distance or lead time."),
    ),
    detect=detect_maintenance,
    boundary=maintenance_boundary,
    settings=("maintenance_soon_days", "maintenance_soon_miles", "maintenance_stale_days",
              "maintenance_trip_window_days"),
)
