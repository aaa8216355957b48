"""Fleet health (pure): a 0-100 health score per vehicle, the fleet score, overdue counts by
task and the critical list.

A traveler's vehicle is their primary vehicle (``vehicle_id`` set) or, with no vehicles row,
the profile's vehicle (``vehicle_id`` None). The score starts at 100 and loses, per
:class:`HealthWeights`: each overdue maintenance task, each task or document due soon, each
expired document (registration, insurance), and a recent fuel-economy drop; it never goes
below 0. The rules for "overdue", "due soon", "expired" and "drop" are the detectors' own, so
the report and the travelers' suggestions never disagree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal
from uuid import UUID

from pam_proactive.analysis.insights import economy_trend, is_economy_drop
from pam_proactive.analysis.maintenance import (
    due_status,
    is_due_soon,
    is_primary_item,
)
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import UserContext

ItemKind = Literal["overdue", "due_soon", "document_expired", "document_expiring",
                   "economy_drop"]
DOCUMENTS = ("registration", "insurance")


@dataclass(frozen=True, slots=True)
class HealthWeights:
    """Points a vehicle's health score loses per finding (the score starts at 100)."""

    overdue: int = 25  # per maintenance task past its due date or mileage
    due_soon: int = 10  # per task or document due within the detectors' 'soon' window
    document_expired: int = 20  # per expired registration or insurance
    economy_drop: int = 15  # recent fuel economy markedly below the user's baseline

    def penalty(self, kind: ItemKind) -> int:
        """Points lost for one finding of ``kind``."""
        return {
            "overdue": self.overdue,
            "due_soon": self.due_soon,
            "document_expiring": self.due_soon,
            "document_expired": self.document_expired,
            "economy_drop": self.economy_drop,
        }[kind]


@dataclass(frozen=True, slots=True)
class HealthItem:
    """One finding lowering a vehicle's score. ``subject`` is the maintenance task, the
    document ('registration', 'insurance') or 'fuel_economy'. Days and miles are left until
    due (negative when overdue); ``drop_pct`` is the economy drop in percent."""

    kind: ItemKind
    subject: str
    penalty: int
    days_left: int | None = None
    miles_left: float | None = None
    drop_pct: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The item as JSON values (absent figures left out)."""
        out: dict[str, Any] = {"kind": self.kind, "subject": self.subject,
                               "penalty": self.penalty}
        for key in ("days_left", "miles_left", "drop_pct"):
            value = getattr(self, key)
            if value is not None:
                out[key] = round(value, 1) if isinstance(value, float) else value
        return out


@dataclass(frozen=True, slots=True)
class VehicleHealth:
    """One traveler's vehicle: its health score (0-100) and the findings behind it."""

    user_id: UUID
    vehicle_id: str | None  # None: the profile's vehicle (no vehicles row)
    health_score: int
    items: tuple[HealthItem, ...]

    def to_json(self) -> dict[str, Any]:
        """The vehicle as JSON values."""
        return {"user_id": str(self.user_id), "vehicle_id": self.vehicle_id,
                "health_score": self.health_score,
                "items": [i.to_json() for i in self.items]}


@dataclass(frozen=True, slots=True)
class FleetSummary:
    """The fleet as of one moment."""

    fleet_score: float | None  # mean of the vehicles' scores, 1 decimal; None: no vehicles
    vehicles: tuple[VehicleHealth, ...]  # by user id
    critical: tuple[VehicleHealth, ...]  # score below ``threshold``, lowest first
    overdue_by_task: dict[str, int]  # vehicles with the task overdue, most first
    expired_documents: dict[str, int]  # vehicles with the document expired
    threshold: float


def has_vehicle_data(ctx: UserContext) -> bool:
    """Whether anything is known of the traveler's vehicle: a vehicles row, a fill-up or a
    maintenance record."""
    v = ctx.vehicle
    return v.primary is not None or bool(v.fills) or bool(v.maintenance)


def _maintenance_items(ctx: UserContext, settings: DetectorSettings,
                       weights: HealthWeights) -> list[HealthItem]:
    """The worst finding per task of the vehicle's maintenance items."""
    worst: dict[str, HealthItem] = {}
    for item in ctx.vehicle.maintenance:
        if not is_primary_item(ctx, item):
            continue
        status = due_status(ctx, item, settings)
        kind: ItemKind
        if status.overdue:
            kind = "overdue"
        elif is_due_soon(status, settings):
            kind = "due_soon"
        else:
            continue
        found = HealthItem(kind, item.task, weights.penalty(kind), status.days_left,
                           status.miles_left)
        kept = worst.get(item.task)
        if kept is None or found.penalty > kept.penalty:
            worst[item.task] = found
    return sorted(worst.values(), key=lambda i: (-i.penalty, i.subject))


def _document_items(ctx: UserContext, settings: DetectorSettings,
                    weights: HealthWeights) -> list[HealthItem]:
    """Registration and insurance expired or expiring, by the document detector's windows
    (an expiry older than ``document_expired_max_days`` is a stale record, not counted)."""
    vehicle = ctx.vehicle.primary
    if vehicle is None:
        return []
    out = []
    for name, expires in zip(DOCUMENTS, (vehicle.registration_expires,
                                         vehicle.insurance_expires), strict=True):
        if not isinstance(expires, date):
            continue
        days = (expires - ctx.today).days
        if days > settings.document_window_days or days < -settings.document_expired_max_days:
            continue
        kind: ItemKind = "document_expired" if days < 0 else "document_expiring"
        out.append(HealthItem(kind, name, weights.penalty(kind), days_left=days))
    return out


def vehicle_health(ctx: UserContext, settings: DetectorSettings,
                   weights: HealthWeights | None = None) -> VehicleHealth | None:
    """The traveler's vehicle with its score = max(0, 100 - the findings' penalties); None
    when nothing is known of a vehicle (:func:`has_vehicle_data`)."""
    if not has_vehicle_data(ctx):
        return None
    w = weights or HealthWeights()
    items = _maintenance_items(ctx, settings, w) + _document_items(ctx, settings, w)
    trend = economy_trend(ctx, settings)
    if trend is not None and is_economy_drop(trend, ctx.today, settings):
        items.append(HealthItem("economy_drop", "fuel_economy", w.economy_drop,
                                drop_pct=trend.drop_pct))
    score = max(0, 100 - sum(i.penalty for i in items))
    vehicle_id = ctx.vehicle.primary.vehicle_id if ctx.vehicle.primary else None
    return VehicleHealth(ctx.user_id, vehicle_id, score, tuple(items))


def _ranked(counts: Counter[str]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def summarize(vehicles: Iterable[VehicleHealth], threshold: float) -> FleetSummary:
    """Fleet score (mean of the scores), the critical list (score < ``threshold``, lowest
    first, then by user id), and per task the number of vehicles with it overdue."""
    ordered: Sequence[VehicleHealth] = sorted(vehicles, key=lambda v: str(v.user_id))
    scores = [v.health_score for v in ordered]
    critical = sorted((v for v in ordered if v.health_score < threshold),
                      key=lambda v: (v.health_score, str(v.user_id)))
    overdue = Counter(i.subject for v in ordered for i in v.items if i.kind == "overdue")
    expired = Counter(i.subject for v in ordered for i in v.items
                      if i.kind == "document_expired")
    return FleetSummary(
        fleet_score=round(sum(scores) / len(scores), 1) if scores else None,
        vehicles=tuple(ordered),
        critical=tuple(critical),
        overdue_by_task=_ranked(overdue),
        expired_documents=_ranked(expired),
        threshold=threshold,
    )
