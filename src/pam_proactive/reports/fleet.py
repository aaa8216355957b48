"""The operator's fleet report: computed over every active traveler in batches, stored per
run (``fleet_reports`` + ``fleet_vehicles``), and an operator alert when the critical count
grows from the previous report (``fleet_alerts``, sent through the operator webhook).

An alert is delivered with the guarantees of a traveler's notification
(:mod:`pam_proactive.suggestions.delivery`): claimed with a short lease in a transaction that
commits, sent with no transaction open, its outcome recorded in a new short transaction (while
the lease holds), retried on the delivery schedule (PAM_DELIVERY_RETRY_SCHEDULE) by every later
delivery run, and dead after the last attempt (counted in ``pam_outbox_dead{channel=
"operator_webhook"}``). Receivers deduplicate on its ``webhook-id``, ``msg_fleet_alert_<id>``."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from pam_proactive.analysis.dates import require_aware
from pam_proactive.analysis.fleet import (
    FleetSummary,
    HealthItem,
    HealthWeights,
    VehicleHealth,
    summarize,
    vehicle_health,
)
from pam_proactive.db.connection import BoundStatement, Transaction
from pam_proactive.engine import Engine
from pam_proactive.errors import DataSourceError
from pam_proactive.observability import metrics
from pam_proactive.reports.statements import FleetReportRow, ReportStatements
from pam_proactive.suggestions.delivery import (
    Attempt,
    RetryPolicy,
    WebhookChannel,
    lease_for,
)
from pam_proactive.suggestions.retry import next_attempt

log = logging.getLogger(__name__)

ALERT_EVENT = "fleet_critical_increased"
ALERT_LISTED = 50  # critical vehicles named in an alert, lowest scores first
ALERT_CHANNEL = "operator_webhook"
ALERT_CLAIM = 20  # alerts claimed at once (there is at most one per report)
_LOCK_KEY = 0x70616D_666C74  # advisory lock serialising fleet report writers


@dataclass(frozen=True, slots=True)
class FleetAlert:
    """The operator alert of a report: critical count before and now; ``sent_at`` is None
    until the webhook answered 2xx (or when no operator webhook is configured)."""

    id: int
    previous_critical: int
    critical: int
    sent_at: datetime | None
    attempts: int = 0  # attempts made so far
    last_error: str | None = None  # the last failed attempt's status or exception type
    deliver_after: datetime | None = None  # when the next attempt is due (while unsent)
    dead_at: datetime | None = None  # set when the last scheduled attempt failed


@dataclass(frozen=True, slots=True)
class FleetReport:
    """One stored fleet report and its vehicles."""

    id: int
    computed_for: datetime
    run_id: int | None
    summary: FleetSummary
    skipped_no_vehicle: int  # active travelers with no vehicle data at all
    errors: int  # travelers whose analysis raised: left out, counted
    created_at: datetime
    alert: FleetAlert | None

    @property
    def fleet_score(self) -> float | None:
        """Mean health score of the vehicles (0-100), None without vehicles."""
        return self.summary.fleet_score

    def to_json(self) -> dict[str, Any]:
        """The report as one JSON object (what ``pam-proactive fleet --format json`` prints)."""
        s = self.summary
        return {
            "report_id": self.id,
            "computed_for": self.computed_for.isoformat(),
            "run_id": self.run_id,
            "fleet_score": s.fleet_score,
            "threshold": s.threshold,
            "vehicles": [v.to_json() for v in s.vehicles],
            "critical": [v.to_json() for v in s.critical],
            "overdue_by_task": s.overdue_by_task,
            "expired_documents": s.expired_documents,
            "skipped_no_vehicle": self.skipped_no_vehicle,
            "errors": self.errors,
            "alert": None if self.alert is None else {
                "previous_critical": self.alert.previous_critical,
                "critical": self.alert.critical,
                "sent_at": self.alert.sent_at.isoformat() if self.alert.sent_at else None,
                "attempts": self.alert.attempts,
                "last_error": self.alert.last_error,
                "dead_at": self.alert.dead_at.isoformat() if self.alert.dead_at else None,
            },
        }


def _statements(engine: Engine) -> ReportStatements:
    return ReportStatements.for_schema(engine.settings.engine_schema)


async def _compute(engine: Engine, now: datetime, weights: HealthWeights
                   ) -> tuple[list[VehicleHealth], int, int]:
    """Every active traveler's vehicle health, batch by batch; returns (vehicles, travelers
    without vehicle data, travelers whose analysis failed)."""
    vehicles: list[VehicleHealth] = []
    skipped = errors = 0
    async for page in engine.data.iter_active_user_batches():
        contexts = await engine.data.get_contexts(page, now, use_cache=False)
        for ctx in contexts.values():
            try:
                health = vehicle_health(ctx, engine.detector_settings, weights)
            except Exception as exc:  # one traveler's bad data must not stop the report
                errors += 1
                log.warning("fleet: vehicle analysis failed (%s)", type(exc).__name__)
                continue
            if health is None:
                skipped += 1
            else:
                vehicles.append(health)
    return vehicles, skipped, errors


def _alert_payload(report_id: int, now: datetime, summary: FleetSummary, previous: int
                   ) -> dict[str, Any]:
    """Ids and scores only: no traveler names, places or amounts."""
    return {
        "event": ALERT_EVENT,
        "report_id": report_id,
        "computed_for": now.isoformat(),
        "previous_critical": previous,
        "critical": len(summary.critical),
        "vehicles": len(summary.vehicles),
        "fleet_score": summary.fleet_score,
        "threshold": summary.threshold,
        "critical_vehicles": [v.to_json() for v in summary.critical[:ALERT_LISTED]],
    }


async def _store(engine: Engine, now: datetime, run_id: int | None, summary: FleetSummary,
                 extra: dict[str, Any]) -> int:
    """Write the report, its vehicles (one statement per batch) and, when the critical count
    grew from the previous report's, its alert row, in one transaction; returns the report id.
    With a ``run_id`` already stored, returns that report's id and writes nothing."""
    st = _statements(engine)
    async with engine.db.transaction("store_fleet_report") as tx:
        await tx.execute(*st.lock_fleet, {"key": _LOCK_KEY})
        if run_id is not None:
            found = await tx.fetch(*st.report_by_run, {"run_id": run_id})
            if found:
                return int(found[0][0])
        rows = await tx.fetch(*st.insert_report, {
            "computed_for": now, "run_id": run_id, "fleet_score": summary.fleet_score,
            "vehicles": len(summary.vehicles), "critical": len(summary.critical),
            "threshold": summary.threshold,
            "overdue_by_task": json.dumps(summary.overdue_by_task),
            "report": json.dumps(extra, sort_keys=True),
        })
        report_id = int(rows[0][0])  # INSERT ... RETURNING always returns the row
        size = engine.settings.batch_size
        for start in range(0, len(summary.vehicles), size):
            part = summary.vehicles[start : start + size]
            await tx.execute(*st.insert_vehicles, {
                "report_id": report_id,
                "users": [v.user_id for v in part],
                "vehicle_ids": [v.vehicle_id for v in part],
                "scores": [v.health_score for v in part],
                "items": [json.dumps([i.to_json() for i in v.items]) for v in part],
            })
        before = await tx.fetch(*st.previous_critical,
                                {"computed_for": now, "id": report_id})
        previous = int(before[0][0]) if before else 0
        if len(summary.critical) > previous:
            await tx.execute(*st.insert_alert, {
                "report_id": report_id, "previous": previous, "critical": len(summary.critical),
                "payload": json.dumps(_alert_payload(report_id, now, summary, previous)),
                "now": now,
            })
    return report_id


def operator_channel(engine: Engine) -> WebhookChannel | None:
    """The operator webhook (PAM_OPERATOR_WEBHOOK_URL), or None when not configured."""
    s = engine.settings
    if not s.operator_webhook_url or not s.operator_secret:
        return None
    return WebhookChannel(s.operator_webhook_url, s.operator_secret, name="operator_webhook",
                          timeout=s.delivery_timeout, concurrency=1)


async def send_alert(engine: Engine, report_id: int,
                     channel: WebhookChannel | None = None, *, now: datetime | None = None
                     ) -> bool:
    """Deliver the report's alert if it is unsent and due at ``now`` (default: the current
    time); returns True when the receiver accepted it now. See :func:`deliver_alerts`."""
    return await deliver_alerts(engine, now or datetime.now(UTC), channel,
                                report_id=report_id) > 0


async def deliver_alerts(engine: Engine, now: datetime, channel: WebhookChannel | None = None,
                         *, report_id: int | None = None, policy: RetryPolicy | None = None
                         ) -> int:
    """Send every operator alert due at ``now`` (or only ``report_id``'s), one attempt each;
    returns how many the receiver accepted. Without an operator webhook (``channel`` None
    and none configured) nothing is touched: the alerts wait for a process that has one."""
    own = channel is None
    channel = channel or operator_channel(engine)
    if channel is None:
        return 0
    try:
        return await _deliver_alerts(engine, now, channel, report_id, policy or RetryPolicy(
            delays=engine.settings.retry_delays, jitter=engine.settings.delivery_jitter))
    finally:
        if own:
            channel.close()


async def _deliver_alerts(engine: Engine, now: datetime, channel: WebhookChannel,
                          report_id: int | None, policy: RetryPolicy) -> int:
    st = _statements(engine)
    token = uuid4()
    # 1. claim: a short transaction gives the due alerts a lease and commits.
    async with engine.db.transaction("fleet_alerts.claim") as tx:
        claimed = await tx.fetch(*st.claim_alerts, {
            "now": now, "report_id": report_id, "limit": ALERT_CLAIM, "token": token,
            "lease": lease_for(ALERT_CLAIM, [channel])})
    if not claimed:
        return 0
    # 2. send: no transaction open, no lock held while the receiver answers (or hangs).
    sent: list[tuple[int, int, Attempt]] = []
    for alert_id, payload, attempts in claimed:
        sent.append((int(alert_id), int(attempts), await channel.send_payload(
            dict(payload), f"msg_fleet_alert_{int(alert_id)}")))
    # 3. record: one short transaction (retried on a transient error), while the lease holds.
    cols: dict[str, list[Any]] = {k: [] for k in ("ids", "status", "err", "ok", "dead",
                                                   "retry_at", "at")}
    for alert_id, attempts, a in sent:
        retry_at = None if a.ok else next_attempt(
            now, attempts + 1, policy.delays, jitter=policy.jitter,
            retry_after=a.retry_after, rng=policy.rng)
        for key, value in zip(cols, (alert_id, a.http_status, None if a.ok else a.error, a.ok,
                                     not a.ok and retry_at is None, retry_at, a.at),
                              strict=True):
            cols[key].append(value)

    async def record(tx: Transaction) -> set[int]:
        rows = await tx.fetch(*st.record_alerts,
                              {**cols, "now": now, "token": token})
        return {int(r[0]) for r in rows}

    kept = await engine.db.run_in_transaction("fleet_alerts.record", record)
    accepted = sum(1 for alert_id, _, a in sent if a.ok and alert_id in kept)
    dead = sum(1 for i, d in zip(cols["ids"], cols["dead"], strict=True) if d and i in kept)
    if len(kept) < len(sent):
        log.warning("%d claimed fleet alerts were taken over after their lease ran out",
                    len(sent) - len(kept))
    if dead:
        log.warning("%d fleet alerts are dead: their last scheduled attempt failed", dead)
    metrics.observe_delivery(((ALERT_CHANNEL, a.ok) for _, _, a in sent), {})
    log.info("fleet alerts: %d sent, %d failed", accepted, len(sent) - accepted)
    return accepted


async def dead_alerts(engine: Engine) -> int:
    """Operator alerts whose last scheduled attempt failed (never sent)."""
    rows = await engine.db.fetch(*_statements(engine).dead_alerts)
    return int(rows[0][0])


async def build_fleet_report(engine: Engine, now: datetime, *, run_id: int | None = None
                             ) -> FleetReport:
    """Compute the fleet report as of ``now`` over every active traveler, store it, and alert
    the operator when the critical count grew from the previous report. With a ``run_id``
    already stored (a retried run), the stored report is returned and only its unsent alert,
    if any, is retried."""
    require_aware(now)
    st = _statements(engine)
    if run_id is not None and (done := await engine.db.fetch(
            *st.report_by_run, {"run_id": run_id})):
        await send_alert(engine, int(done[0][0]), now=now)
        stored = await _existing(engine, int(done[0][0]))
        metrics.set_fleet_health(critical=len(stored.summary.critical),
                                 vehicles=len(stored.summary.vehicles))
        return stored
    weights = HealthWeights()
    vehicles, skipped, errors = await _compute(engine, now, weights)
    summary = summarize(vehicles, engine.settings.fleet_critical_score)
    extra = {"skipped_no_vehicle": skipped, "errors": errors, "weights": asdict(weights),
             "expired_documents": summary.expired_documents,
             "critical": [v.to_json() for v in summary.critical]}
    report_id = await _store(engine, now, run_id, summary, extra)
    await send_alert(engine, report_id, now=now)
    report = await _existing(engine, report_id)
    metrics.set_fleet_health(critical=len(summary.critical), vehicles=len(summary.vehicles))
    log.info("fleet report %s: %d vehicles, %d critical, %d skipped, %d errors", report.id,
             len(summary.vehicles), len(summary.critical), skipped, errors)
    return report


async def _existing(engine: Engine, report_id: int) -> FleetReport:
    report = await _load(engine, _statements(engine).report_by_id, {"id": report_id})
    if report is None:  # deleted between the write and the read
        raise DataSourceError(f"fleet report {report_id} vanished after it was stored; rerun")
    return report


async def latest_fleet_report(engine: Engine, at: datetime | None = None
                              ) -> FleetReport | None:
    """The stored report describing the latest moment (at or before ``at`` when given), or
    None when there is none."""
    return await _load(engine, _statements(engine).latest_report, {"at": at})


async def _load(engine: Engine, statement: BoundStatement, params: dict[str, Any]
                ) -> FleetReport | None:
    st = _statements(engine)
    rows = await engine.db.fetch(*statement, params, row_type=FleetReportRow)
    if not rows:
        return None
    row = rows[0]
    threshold, extra = row.threshold, row.report
    vehicles = await engine.db.fetch(*st.report_vehicles, {"id": row.report_id})
    all_vehicles = tuple(_vehicle(r) for r in vehicles)
    summary = FleetSummary(
        fleet_score=row.fleet_score,
        vehicles=all_vehicles,
        critical=tuple(sorted((v for v in all_vehicles if v.health_score < threshold),
                              key=lambda v: (v.health_score, str(v.user_id)))),
        overdue_by_task=dict(row.overdue_by_task),
        expired_documents=dict(extra.get("expired_documents", {})),
        threshold=threshold,
    )
    alert = None if row.alert_id is None else FleetAlert(
        row.alert_id, row.previous_critical, row.alert_critical, row.sent_at, row.attempts,
        row.last_error, row.deliver_after, row.dead_at)
    return FleetReport(row.report_id, row.computed_for.astimezone(UTC), row.run_id, summary,
                       int(extra.get("skipped_no_vehicle", 0)), int(extra.get("errors", 0)),
                       row.created_at, alert)


def _vehicle(row: tuple[Any, ...]) -> VehicleHealth:
    user_id, vehicle_id, score, items = row
    return VehicleHealth(user_id, vehicle_id, int(score), tuple(
        HealthItem(i["kind"], i["subject"], int(i["penalty"]), i.get("days_left"),
                   i.get("miles_left"), i.get("drop_pct")) for i in items))
