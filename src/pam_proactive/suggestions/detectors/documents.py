"""``document_expiring``: the primary vehicle's registration or insurance expiring."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

from pam_proactive.analysis.boundaries import earliest_day_boundary, tomorrow
from pam_proactive.analysis.dates import add_days, format_date
from pam_proactive.analysis.fuel import primary_vehicle
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import UserContext
from pam_proactive.suggestions.detectors._common import (
    NOTHING,
    Findings,
    after,
    candidate,
    day_start,
)
from pam_proactive.suggestions.detectors.spec import DetectorSpec, SuggestionType
from pam_proactive.suggestions.models import Candidate, DetectorResult, Priority

DOCUMENT = "document_expiring"


def detect_documents(
    ctx: UserContext, now: datetime, settings: DetectorSettings
) -> DetectorResult:
    """``document_expiring`` for the primary vehicle's registration and insurance: medium
    within ``document_window_days`` of expiry, high once expired (silent, with a note, when
    expired more than ``document_expired_max_days`` ago: the record is likely stale)."""
    vehicle = ctx.vehicle.primary
    if vehicle is None:
        return NOTHING  # no vehicle, no documents: nothing to say
    found = Findings(DOCUMENT)
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


def document_expiring_boundary(ctx: UserContext, now: datetime, settings: DetectorSettings,
                               keys: Collection[str]) -> datetime | None:
    """Registration and insurance: an expiry entering ``document_window_days``, then the
    days left changing daily, expiring, and ageing out after ``document_expired_max_days``."""
    vehicle = ctx.vehicle.primary
    if vehicle is None:
        return None
    days: list[date] = []  # each flips the output at its local midnight
    for expires in (vehicle.registration_expires, vehicle.insurance_expires):
        if not isinstance(expires, date):
            continue
        if (expires - ctx.today).days > settings.document_window_days:
            days.append(add_days(expires, -settings.document_window_days))
        elif (ctx.today - expires).days <= settings.document_expired_max_days:
            days.append(tomorrow(ctx))
    return earliest_day_boundary(ctx, days)


SPEC = DetectorSpec(
    name=DOCUMENT,
    types=(SuggestionType(
        DOCUMENT, group="maintenance", job="monitor",
        rule="A vehicle document (registration, insurance, ...) expires within the lead "
             "time."),),
    detect=detect_documents,
    boundary=document_expiring_boundary,
    settings=("document_window_days", "document_expired_max_days"),
)
