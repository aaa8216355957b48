"""Delivering the outbox through channels (webhook, ...), recording every attempt.

The outbox table is always the record: an app may poll it, or subscribe to it with Supabase
Realtime, and needs no channel at all. Channels push the same rows elsewhere.

:func:`deliver_due` locks the due rows with ``FOR UPDATE SKIP LOCKED`` and keeps them locked
while it sends, so several workers can deliver at once without sending a row twice. Delivery is
at least once: if the process dies after a send but before its commit, the row is sent again by
a later run. Receivers deduplicate on the ``X-Pam-Outbox-Id`` header.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit
from uuid import UUID

from psycopg import sql

from pam_proactive.db.connection import Database, Transaction
from pam_proactive.observability import metrics
from pam_proactive.suggestions import delivery_sql as q
from pam_proactive.suggestions.models import Priority
from pam_proactive.suggestions.store_sql import ANALYZE_AFTER_ROWS

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Pam-Signature"
TIMESTAMP_HEADER = "X-Pam-Timestamp"
OUTBOX_ID_HEADER = "X-Pam-Outbox-Id"
_SIGNATURE_PREFIX = "sha256="


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One notification to deliver, as stored in the outbox."""

    id: int
    suggestion_id: UUID
    user_id: UUID
    event: str  # 'created' or 'escalated'
    priority: Priority
    payload: dict[str, Any]  # the suggestion as the app shows it
    created_at: datetime
    deliver_after: datetime
    attempts: int  # attempts made before this run, all channels together


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try of one channel. ``http_status`` is None when no HTTP answer came back."""

    ok: bool
    http_status: int | None
    error: str | None  # never holds traveler data: a status or an exception type
    at: datetime  # wall-clock time of the attempt, UTC


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """A channel's outcome for one item: success, and every attempt it made (at least one)."""

    ok: bool
    attempts: tuple[Attempt, ...]


class Channel(Protocol):
    """Something that can push one outbox item somewhere, retrying as it sees fit."""

    name: str

    async def send(self, item: OutboxItem) -> DeliveryResult:
        """Deliver ``item``; report every attempt. Must not raise for delivery failures."""
        ...


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one :func:`deliver_due` call did; counts of outbox rows unless said otherwise."""

    picked: int = 0  # due rows locked by this call
    delivered: int = 0  # rows now delivered through every channel
    failed: int = 0  # rows with a channel still failing: left for a later run
    cancelled: int = 0  # rows whose suggestion was no longer live: not sent
    attempts: int = 0  # channel attempts made (deliveries rows written)


# --------------------------------------------------------------------------------------------
# Signatures
# --------------------------------------------------------------------------------------------


def payload_body(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes POSTed for ``payload``: compact JSON, keys sorted, UTF-8."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def sign(secret: str | bytes, body: bytes) -> str:
    """The ``X-Pam-Signature`` value: ``sha256=`` + hex HMAC-SHA256 of ``body`` with ``secret``."""
    return _SIGNATURE_PREFIX + hmac.new(_key(secret), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str | bytes, body: bytes, header: str | None) -> bool:
    """For receivers: True when ``header`` is the signature of the exact ``body`` bytes.

    Compares in constant time. Verify the raw request body, before any JSON parsing.
    """
    if not header or not header.startswith(_SIGNATURE_PREFIX):
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode())


# --------------------------------------------------------------------------------------------
# Webhook channel
# --------------------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer (a failure), never followed: a POST must not become a GET."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int | None
    error: str | None
    retry_after: float | None = None  # seconds, from a Retry-After header


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:  # an HTTP date: ignored, the exponential backoff applies
        return None


def _describe(exc: BaseException) -> str:
    """A short error text naming the failure, never the payload or a response body."""
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        reason = exc.reason
        if isinstance(reason, BaseException):
            return f"connection error: {type(reason).__name__}"
        return "connection error"
    return f"connection error: {type(exc).__name__}"


class WebhookChannel:
    """POSTs each payload as JSON to one URL, signed with HMAC-SHA256.

    Headers: ``X-Pam-Signature: sha256=<hex>`` (of the exact body bytes), ``X-Pam-Timestamp``
    (Unix seconds of the attempt) and ``X-Pam-Outbox-Id`` (stable across retries: the receiver's
    deduplication key). Retries connection errors, timeouts, 5xx and 429 with exponential
    backoff (``backoff_base`` * 2^(n-1) seconds, at most ``backoff_max``, or the server's
    Retry-After when it is longer); any other answer outside 2xx fails at once.
    """

    def __init__(
        self,
        url: str,
        secret: str | bytes,
        *,
        timeout: float = 10.0,
        max_attempts: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        name: str = "webhook",
    ) -> None:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError("webhook URL must be http:// or https:// (PAM_WEBHOOK_URL)")
        if not secret:
            raise ValueError("webhook secret must not be empty (PAM_WEBHOOK_SECRET)")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.name = name
        self.url = url
        self._secret = _key(secret)
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._opener = urllib.request.build_opener(_NoRedirect())

    def __repr__(self) -> str:  # the secret stays out of logs and tracebacks
        return f"WebhookChannel(name={self.name!r}, url={self.url!r})"

    async def send(self, item: OutboxItem) -> DeliveryResult:
        """POST ``item.payload``, retrying as described; return every attempt made."""
        return await self.send_payload(item.payload, item.id)

    async def send_payload(self, payload: Mapping[str, Any], delivery_id: int | str
                           ) -> DeliveryResult:
        """POST any ``payload`` the same way, ``delivery_id`` in ``X-Pam-Outbox-Id`` (the
        receiver's deduplication key); return every attempt made."""
        body = payload_body(payload)
        signature = sign(self._secret, body)
        attempts: list[Attempt] = []
        for number in range(1, self.max_attempts + 1):
            answer = await asyncio.to_thread(self._post, body, signature, delivery_id)
            ok = answer.status is not None and 200 <= answer.status < 300
            attempts.append(Attempt(ok, answer.status, answer.error, datetime.now(UTC)))
            if ok or not _retryable(answer.status) or number == self.max_attempts:
                break
            await asyncio.sleep(self._delay(number, answer.retry_after))
        return DeliveryResult(attempts[-1].ok, tuple(attempts))

    def _delay(self, number: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt ``number``."""
        backoff = self.backoff_base * 2.0 ** (number - 1)
        return min(self.backoff_max, max(backoff, retry_after or 0.0))

    def _post(self, body: bytes, signature: str, outbox_id: int | str) -> _Answer:
        """One blocking POST (run in a worker thread)."""
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "pam-proactive",
                SIGNATURE_HEADER: signature,
                TIMESTAMP_HEADER: str(int(time.time())),
                OUTBOX_ID_HEADER: str(outbox_id),
            },
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read(65536)  # drained so the connection closes cleanly; not kept
                return _Answer(int(response.status), None)
        except urllib.error.HTTPError as exc:
            with exc:
                return _Answer(
                    exc.code, f"HTTP {exc.code}", _retry_after(exc.headers.get("Retry-After"))
                )
        except TimeoutError:
            return _Answer(None, f"timeout after {self.timeout:g}s")
        except (urllib.error.URLError, OSError) as exc:
            return _Answer(None, _describe(exc))


def _retryable(status: int | None) -> bool:
    """Connection failures, 5xx and 429 may pass on a retry; other answers will not."""
    return status is None or status >= 500 or status == 429


# --------------------------------------------------------------------------------------------
# deliver_due
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Pending:
    """A locked outbox row and what this run did with it."""

    item: OutboxItem
    done: set[str]  # channels that already delivered it in earlier runs
    attempts: list[tuple[str, Attempt]] = field(default_factory=list)


def _pending(row: Sequence[Any]) -> _Pending:
    item = OutboxItem(
        id=int(row[0]),
        suggestion_id=row[1],
        user_id=row[2],
        event=str(row[3]),
        priority=Priority.from_label(row[4]),
        payload=dict(row[5]),
        created_at=row[6],
        deliver_after=row[7],
        attempts=int(row[8]),
    )
    return _Pending(item, set(row[10] or ()))


async def _send_one(pending: _Pending, channels: Sequence[Channel]) -> None:
    """Send through every channel that has not delivered the item yet, recording attempts."""
    for channel in channels:
        if channel.name in pending.done:
            continue  # delivered there by an earlier run: never twice
        try:
            result = await channel.send(pending.item)
        except Exception as exc:  # a channel bug must not lose the other rows' records
            log.warning("channel %s raised %s", channel.name, type(exc).__name__)
            result = DeliveryResult(
                False,
                (Attempt(False, None, f"channel error: {type(exc).__name__}", datetime.now(UTC)),),
            )
        pending.attempts.extend((channel.name, a) for a in result.attempts)
        if result.ok:
            pending.done.add(channel.name)


def _delivered(pending: _Pending, channels: Sequence[Channel]) -> bool:
    return all(channel.name in pending.done for channel in channels)


async def _record(
    tx: Transaction,
    s: sql.Identifier,
    sent: Sequence[_Pending],
    channels: Sequence[Channel],
    now: datetime,
    retry_at: datetime,
) -> None:
    """Write every attempt to ``deliveries`` and each row's outcome to ``outbox``."""
    columns: list[list[Any]] = [[] for _ in range(7)]
    for pending in sent:
        for number, (channel, attempt) in enumerate(pending.attempts, pending.item.attempts + 1):
            row = (
                pending.item.id,
                channel,
                number,
                attempt.ok,
                attempt.http_status,
                attempt.error,
                attempt.at,
            )
            for column, value in zip(columns, row, strict=True):
                column.append(value)
    if columns[0]:
        await tx.execute(*q.RECORD_ATTEMPTS.bind(s=s), columns)
    errors = [next((a.error for _, a in reversed(p.attempts) if not a.ok), None) for p in sent]
    await tx.execute(
        *q.RECORD_OUTCOMES.bind(s=s),
        {
            "now": now,
            "retry_at": retry_at,
            "ids": [p.item.id for p in sent],
            "n": [len(p.attempts) for p in sent],
            "ok": [_delivered(p, channels) for p in sent],
            "err": errors,
        },
    )


async def deliver_due(
    db: Database,
    schema: str,
    channels: Sequence[Channel],
    now: datetime,
    limit: int = 1000,
    *,
    concurrency: int = 16,
    retry_after: timedelta = timedelta(minutes=1),
    give_up_after: int = 25,
) -> DeliveryReport:
    """Deliver the outbox rows due at ``now`` through every channel; return what happened.

    Picks at most ``limit`` undelivered, uncancelled rows with ``deliver_after <= now`` (oldest
    first), skipping rows another worker holds. Rows whose suggestion is no longer live are
    cancelled unsent. Each remaining row is sent through each channel that has not delivered
    it yet (``concurrency`` rows at a time); every attempt becomes a ``deliveries`` row. A row
    delivered through all channels gets ``delivered_at = now`` and its suggestion becomes
    'delivered'; with no channels at all, due rows are simply released that way. A failed row
    keeps ``last_error``, counts its attempts, and waits ``retry_after`` for a later run; rows
    with ``give_up_after`` attempts or more are no longer picked (left for an operator).

    ``db`` is the engine's :class:`Database`: the row locks are held in this call's own
    transaction (statements timed as ``delivery.*``), for as long as the sends take, so keep
    ``limit`` modest for slow channels.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    s = sql.Identifier(schema)
    params = {"now": now, "limit": limit, "give_up": give_up_after}
    async with db.transaction("deliver_due") as tx:
        rows = await tx.fetch(*q.CLAIM.bind(s=s), params)
        stale = [int(r[0]) for r in rows if not r[9]]
        sent = [_pending(r) for r in rows if r[9]]
        if stale:
            await tx.execute(*q.CANCEL_STALE.bind(s=s), (now, stale))
        gate = asyncio.Semaphore(max(1, concurrency))

        async def bounded(pending: _Pending) -> None:
            async with gate:
                await _send_one(pending, channels)

        await asyncio.gather(*(bounded(p) for p in sent))
        if sent:
            await _record(tx, s, sent, channels, now, now + retry_after)
    delivered = [p for p in sent if _delivered(p, channels)]
    if delivered:
        # Its own short transaction, after the outbox locks are released: a sweep holding
        # these suggestions' row locks waits on nothing of ours, so no deadlock cycle.
        async with db.transaction("deliver_due.mark") as tx:
            await tx.execute(
                *q.MARK_DELIVERED.bind(s=s), (now, [p.item.suggestion_id for p in delivered])
            )
    report = DeliveryReport(
        picked=len(rows),
        delivered=len(delivered),
        failed=len(sent) - len(delivered),
        cancelled=len(stale),
        attempts=sum(len(p.attempts) for p in sent),
    )
    # Counted once committed: a rolled-back run's attempts are made again by a later run.
    metrics.observe_delivery(
        ((channel, a.ok) for p in sent for channel, a in p.attempts),
        {"delivered": report.delivered, "failed": report.failed, "cancelled": report.cancelled})
    log.info("delivered outbox: %s", report)
    return report


async def drain_due(
    db: Database,
    schema: str,
    channels: Sequence[Channel],
    now: datetime,
    *,
    batch: int = 1000,
) -> DeliveryReport:
    """Deliver every outbox row due at ``now``, :func:`deliver_due` after :func:`deliver_due`
    of ``batch`` rows each (each its own transaction, so locks stay short), until a call finds
    fewer than ``batch``; returns the reports summed.

    It ends: each call claims rows no earlier call claimed, since a delivered or cancelled
    row is never claimed again and a failed one waits ``retry_after`` past ``now``. After a
    drain of at least 1,000 rows the outbox is analyzed, so that the next claims are
    planned for the queue as it now is.
    """
    total = DeliveryReport()
    while True:
        report = await deliver_due(db, schema, channels, now, limit=batch)
        total = DeliveryReport(*(getattr(total, f.name) + getattr(report, f.name)
                                 for f in fields(DeliveryReport)))
        if report.picked < batch:
            break
    if total.picked >= ANALYZE_AFTER_ROWS:
        async with db.transaction("deliver_due.analyze") as tx:
            await tx.execute(*q.ANALYZE_OUTBOX.bind(s=sql.Identifier(schema)))
    return total
