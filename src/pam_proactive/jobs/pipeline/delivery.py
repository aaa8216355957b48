"""Handing delivery its work: the channels this process can send through, the retry policy,
and the drain of every outbox row due at a moment (after an evaluation stored, or on its own
for the retries that come due while nothing changes)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pam_proactive.config import parse_digest_priorities
from pam_proactive.engine import Engine
from pam_proactive.reports.fleet import deliver_alerts, operator_channel
from pam_proactive.suggestions.adaptation import AdaptationPolicy
from pam_proactive.suggestions.delivery import (
    Channel,
    DeliveryReport,
    RetryPolicy,
    WebhookChannel,
    configure_channels,
    drain_due,
)
from pam_proactive.suggestions.digest import DigestPolicy, parse_priorities
from pam_proactive.suggestions.store import DeliveryPolicy


def delivery_policy(engine: Engine) -> DeliveryPolicy:
    """Cooldown, daily cap, the digest's defaults and the bounds of per-traveler adaptation
    from the settings."""
    s = engine.settings
    digest = DigestPolicy(enabled=s.digest, hour=s.digest_hour,
                          priorities=parse_priorities(parse_digest_priorities(s.digest_priorities)))
    return DeliveryPolicy(cooldown=timedelta(days=s.cooldown_days), daily_cap=s.daily_cap,
                          digest=digest, adaptation=AdaptationPolicy.from_settings(s))


# One webhook channel per configuration and process: it owns a thread pool, kept for the
# process's life rather than started for every drain.
_webhooks: dict[tuple[str, str, float, int], WebhookChannel] = {}
# (database, schema, declared, available) whose recorded channels this process reconciled.
_reconciled: set[tuple[str, str, tuple[str, ...] | None, tuple[str, ...]]] = set()


def channels(engine: Engine) -> list[Channel]:
    """The push channels this process has credentials for (the outbox is always written;
    which channels the engine has is recorded in the database: see deliver_outbox())."""
    s = engine.settings
    if not (s.webhook_url and s.webhook_secret):
        return []
    key = (s.webhook_url, s.webhook_secret, s.delivery_timeout, s.delivery_concurrency)
    if key not in _webhooks:
        _webhooks[key] = WebhookChannel(s.webhook_url, s.webhook_secret,
                                        timeout=s.delivery_timeout,
                                        concurrency=s.delivery_concurrency)
    return [_webhooks[key]]


def operator_webhook(engine: Engine) -> WebhookChannel | None:
    """The operator webhook (fleet alerts), kept for the process's life like the traveler
    webhook; None when PAM_OPERATOR_WEBHOOK_URL is not set."""
    s = engine.settings
    key = (s.operator_webhook_url or "", s.operator_secret or "", s.delivery_timeout, 0)
    if key not in _webhooks:
        made = operator_channel(engine)
        if made is None:
            return None
        _webhooks[key] = made
    return _webhooks[key]


def retry_policy(engine: Engine) -> RetryPolicy:
    """Retry schedule, jitter and circuit breaker from the settings."""
    s = engine.settings
    return RetryPolicy(delays=s.retry_delays, jitter=s.delivery_jitter,
                       circuit_failures=s.circuit_failures, circuit_cooldown=s.circuit_cooldown)


async def reconcile_channels(engine: Engine) -> None:
    """Reconcile PAM_CHANNELS and this process's credentials with the recorded channels,
    once per process (:func:`configure_channels`): long-running commands call it at
    start-up, every delivery before its first run. A mismatch raises ConfigurationError
    naming PAM_CHANNELS."""
    schema = engine.settings.engine_schema
    own = channels(engine)
    declared = engine.settings.declared_channels
    key = (engine.conninfo, schema, declared, tuple(c.name for c in own))
    if key not in _reconciled:
        await configure_channels(engine.db, schema, declared, [c.name for c in own])
        _reconciled.add(key)


async def deliver_outbox(engine: Engine, now: datetime) -> DeliveryReport:
    """Deliver every outbox row due at ``now`` through the recorded channels this process
    can send through (after :func:`reconcile_channels`), then the operator's fleet alerts
    due at ``now`` when this process has the operator webhook (their retries ride on every
    delivery run, as the notifications' do)."""
    await reconcile_channels(engine)
    report = await drain_due(engine.db, engine.settings.engine_schema, channels(engine), now,
                             policy=retry_policy(engine))
    operator = operator_webhook(engine)
    if operator is not None:
        await deliver_alerts(engine, now, operator, policy=retry_policy(engine))
    return report
