"""Delivering the outbox through channels (webhook, ...), recording every attempt.

The outbox table is always the record: an app may poll it, or subscribe to it with Supabase
Realtime. Which push channels the engine has is recorded in the database
(``delivery_channels``) so that every process agrees; an empty record means outbox only.

:func:`deliver_due` works in three short steps, so that no lock is ever held across network
I/O (a traveler's dismissal never waits on a receiver):

1. *claim*: one transaction picks due rows with ``FOR UPDATE SKIP LOCKED``, gives them a
   lease (``leased_until``, ``lease_token``) and commits;
2. *send*: outside any transaction, one attempt per row and channel, each channel bounded by
   its own concurrency;
3. *record*: one transaction writes every attempt to ``deliveries`` and each row's outcome to
   ``outbox`` (one statement per table), then the suggestions of delivered rows are marked.

A failed row is tried again on the retry schedule (:mod:`pam_proactive.suggestions.retry`)
by a later run; after its last attempt it is dead. A process that dies mid-send leaves its
rows leased; once the lease has run out another worker takes them. Delivery is therefore at
least once: receivers deduplicate on ``webhook-id``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit
from uuid import UUID, uuid4

from pam_proactive.analysis.bounds import webhook_body
from pam_proactive.config import DEFAULT_RETRY_SCHEDULE, parse_retry_schedule
from pam_proactive.db.connection import Database, Transaction
from pam_proactive.errors import ConfigurationError
from pam_proactive.observability import metrics
from pam_proactive.suggestions.delivery_sql import DeliveryStatements
from pam_proactive.suggestions.digest_assembly import assemble_digests
from pam_proactive.suggestions.digest_sql import DigestStatements
from pam_proactive.suggestions.models import Priority
from pam_proactive.suggestions.retry import next_attempt, parse_retry_after
from pam_proactive.suggestions.signing import secret_key, sign_headers
from pam_proactive.suggestions.store_sql import ANALYZE_AFTER_ROWS

log = logging.getLogger(__name__)

MESSAGE_ID_PREFIX = "msg_"


def message_id(value: UUID) -> str:
    """The ``webhook-id`` of an outbox row's ``message_id``: ``msg_<32 hex digits>``."""
    return MESSAGE_ID_PREFIX + value.hex


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One notification to deliver, as stored in the outbox."""

    id: int
    suggestion_id: UUID | None  # None for a digest (its items name theirs)
    user_id: UUID
    event: str  # 'created', 'escalated', 'resumed' or 'digest'
    priority: Priority
    payload: dict[str, Any]  # the suggestion as the app shows it
    created_at: datetime
    deliver_after: datetime
    attempts: int  # attempts made before this run, all channels together
    tries: int  # delivery rounds made before this run
    message_id: str  # webhook-id: msg_<hex>, the same on every retry


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try of one channel. ``http_status`` is None when no HTTP answer came back."""

    ok: bool
    http_status: int | None
    error: str | None  # never holds traveler data: a status or an exception type
    at: datetime  # wall-clock time of the attempt, UTC
    retry_after: float | None = None  # seconds the receiver asked to wait (Retry-After)


class Channel(Protocol):
    """Something that can push one outbox item somewhere: one attempt per call.

    ``timeout`` (seconds an attempt may take at most) and ``concurrency`` (attempts in
    flight at most) size the claim's lease."""

    name: str
    timeout: float
    concurrency: int

    async def send(self, item: OutboxItem) -> Attempt:
        """Try to deliver ``item`` once. Must not raise for delivery failures."""
        ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How failed rows are retried and when a channel's circuit opens."""

    delays: tuple[float, ...] = field(
        default_factory=lambda: parse_retry_schedule(DEFAULT_RETRY_SCHEDULE))  # seconds
    jitter: float = 0.1  # each delay scaled by a factor in [1 - jitter, 1 + jitter]
    circuit_failures: int = 10  # consecutive failures opening a channel's circuit
    circuit_cooldown: float = 60.0  # seconds an open circuit waits before one probe
    rng: random.Random | None = None  # the jitter's source (default: the random module)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one :func:`deliver_due` call did; counts of outbox rows unless said otherwise."""

    picked: int = 0  # due rows claimed by this call
    delivered: int = 0  # rows now delivered through every channel
    failed: int = 0  # rows with a channel still failing: retried on the schedule
    cancelled: int = 0  # rows whose suggestion was no longer live: not sent
    attempts: int = 0  # channel attempts made (deliveries rows written)
    dead: int = 0  # rows whose last scheduled attempt failed now


# --------------------------------------------------------------------------------------------
# Webhook channel
# --------------------------------------------------------------------------------------------


def payload_body(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes POSTed for ``payload``: compact JSON, keys sorted, UTF-8."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer (a failure), never followed: a POST must not become a GET."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int | None
    error: str | None
    retry_after: float | None = None  # seconds, from a Retry-After header


def _describe(exc: BaseException) -> str:
    """A short error text naming the failure, never the payload or a response body."""
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        reason = exc.reason
        if isinstance(reason, BaseException):
            return f"connection error: {type(reason).__name__}"
        return "connection error"
    return f"connection error: {type(exc).__name__}"


class WebhookChannel:
    """POSTs each payload as JSON to one URL, signed the Standard Webhooks way
    (:mod:`pam_proactive.suggestions.signing`): one attempt per :meth:`send`.

    ``secrets``: one ``whsec_`` secret or several (each signs every request, for rotation).
    At most ``concurrency`` requests are in flight: the channel has its own thread pool of
    that size (the event loop's default pool is shared and sized by the CPU count). Each
    request gives up after ``timeout`` seconds without an answer.
    """

    def __init__(
        self,
        url: str,
        secrets: str | bytes | Sequence[str | bytes],
        *,
        timeout: float = 10.0,
        concurrency: int = 16,
        name: str = "webhook",
    ) -> None:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError("webhook URL must be http:// or https:// (PAM_WEBHOOK_URL)")
        listed = [secrets] if isinstance(secrets, str | bytes) else list(secrets)
        if not listed or not all(listed):
            raise ValueError("webhook secret must not be empty (PAM_WEBHOOK_SECRET)")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1 (PAM_DELIVERY_CONCURRENCY)")
        self.name = name
        self.url = url
        self._keys = tuple(secret_key(s) for s in listed)
        self.timeout = timeout
        self.concurrency = concurrency
        self._opener = urllib.request.build_opener(_NoRedirect())
        self._pool = ThreadPoolExecutor(max_workers=concurrency,
                                        thread_name_prefix=f"pam-{name}")

    def __repr__(self) -> str:  # the secret stays out of logs and tracebacks
        return f"WebhookChannel(name={self.name!r}, url={self.url!r})"

    def close(self) -> None:
        """Stop the channel's threads (requests in flight finish, queued ones are dropped)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def send(self, item: OutboxItem) -> Attempt:
        """POST ``item.payload`` once, as its bounded body (:func:`webhook_body`: at most
        ``WEBHOOK_BODY_MAX_BYTES``, whatever an older row holds); report the attempt."""
        return await self._send_body(webhook_body(item.payload), item.message_id)

    async def send_payload(self, payload: Mapping[str, Any], msg_id: str) -> Attempt:
        """POST any ``payload`` once (the operator's own, e.g. a fleet alert), with ``msg_id``
        as its ``webhook-id`` (the receiver's deduplication key, the same on every retry)."""
        return await self._send_body(payload_body(payload), msg_id)

    async def _send_body(self, body: bytes, msg_id: str) -> Attempt:
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(self._pool, self._post, body, msg_id)
        ok = answer.status is not None and 200 <= answer.status < 300
        return Attempt(ok, answer.status, answer.error, datetime.now(UTC), answer.retry_after)

    def _post(self, body: bytes, msg_id: str) -> _Answer:
        """One blocking POST (run in the channel's threads), signed as it leaves."""
        headers = sign_headers(self._keys, msg_id, int(time.time()), body)
        headers |= {"Content-Type": "application/json", "User-Agent": "pam-proactive"}
        request = urllib.request.Request(self.url, data=body, method="POST", headers=headers)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read(65536)  # drained so the connection closes cleanly; not kept
                return _Answer(int(response.status), None)
        except urllib.error.HTTPError as exc:
            with exc:
                return _Answer(exc.code, f"HTTP {exc.code}",
                               parse_retry_after(exc.headers.get("Retry-After")))
        except TimeoutError:
            return _Answer(None, f"timeout after {self.timeout:g}s")
        except (urllib.error.URLError, OSError) as exc:
            return _Answer(None, _describe(exc))


# --------------------------------------------------------------------------------------------
# Recorded channels
# --------------------------------------------------------------------------------------------

_said: set[tuple[str, str]] = set()


def _say_once(schema: str, message: str, *args: object) -> None:
    """Log a warning once per process and schema: a worker repeats its drain every minute."""
    if (schema, message) not in _said:
        _said.add((schema, message))
        log.warning(message, *args)


async def recorded_channels(db: Database | Transaction, schema: str
                            ) -> tuple[str, ...] | None:
    """The engine's recorded push channels (empty: outbox only), or None when none are."""
    query = DeliveryStatements.for_schema(schema).recorded_channels
    found = await db.fetch(*query)
    return tuple(found[0][0]) if found else None


async def set_channels(db: Database, schema: str, names: Iterable[str]) -> tuple[str, ...]:
    """Record the engine's push channels (an operator's explicit choice; empty: outbox
    only); returns them sorted."""
    chosen = tuple(sorted(set(names)))
    q = DeliveryStatements.for_schema(schema)
    async with db.transaction("delivery.set_channels") as tx:
        await tx.execute(*q.set_channels, {"channels": list(chosen)})
    log.info("delivery channels recorded: %s", ",".join(chosen) or "none (outbox only)")
    return chosen


async def configure_channels(db: Database, schema: str, declared: Sequence[str] | None,
                             available: Sequence[str]) -> tuple[str, ...] | None:
    """Reconcile this process's view of the channels with the recorded one, at its first
    delivery; return the recorded channels (None: not configured).

    ``declared`` is PAM_CHANNELS (None when unset). Nothing recorded yet: the declared
    channels are recorded; without a declaration, the channels this process has credentials
    for (``available``) are, if any (never "outbox only": that must be declared). Recorded
    channels that differ from the declared ones stop the process with a
    :class:`ConfigurationError` naming PAM_CHANNELS.
    """
    recorded = await recorded_channels(db, schema)
    wanted = tuple(sorted(declared)) if declared is not None else tuple(sorted(available))
    if recorded is None and (declared is not None or wanted):
        async with db.transaction("delivery.record_channels") as tx:
            rows = await tx.fetch(*DeliveryStatements.for_schema(schema).record_channels_once,
                                  {"channels": list(wanted)})
        recorded = tuple(rows[0][0])
        if recorded == wanted:
            log.info("delivery channels recorded: %s", ",".join(wanted) or "none (outbox only)")
    if declared is not None and recorded is not None and tuple(sorted(declared)) != recorded:
        shown = ",".join(recorded) or "none"
        raise ConfigurationError(
            f"PAM_CHANNELS={','.join(sorted(declared)) or 'none'} differs from the channels "
            f"recorded in the database ({shown}): unset PAM_CHANNELS, set it to {shown}, or "
            "change the record with `pam-proactive deliveries channels --set ...`")
    return recorded


# --------------------------------------------------------------------------------------------
# deliver_due
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Claimed:
    """A leased outbox row and what this run did with it."""

    item: OutboxItem
    done: set[str]  # channels that accepted it (earlier runs and this one)
    attempts: list[tuple[str, Attempt]] = field(default_factory=list)


def _claimed(row: Sequence[Any]) -> _Claimed:
    item = OutboxItem(
        id=int(row[0]), suggestion_id=row[1], user_id=row[2], event=str(row[3]),
        priority=Priority.from_label(row[4]), payload=dict(row[5]), created_at=row[6],
        deliver_after=row[7], attempts=int(row[8]), tries=int(row[9]),
        message_id=message_id(row[11]))
    return _Claimed(item, set(row[10] or ()))


async def _send_one(claimed: _Claimed, channels: Sequence[Channel]) -> None:
    """One attempt through every channel that has not accepted the item yet."""

    async def attempt(channel: Channel) -> Attempt:
        try:
            return await channel.send(claimed.item)
        except Exception as exc:  # a channel bug must not lose the other rows' records
            log.warning("channel %s raised %s", channel.name, type(exc).__name__)
            return Attempt(False, None, f"channel error: {type(exc).__name__}",
                           datetime.now(UTC))

    todo = [c for c in channels if c.name not in claimed.done]
    for channel, result in zip(todo, await asyncio.gather(*(attempt(c) for c in todo)),
                               strict=True):
        claimed.attempts.append((channel.name, result))
        if result.ok:
            claimed.done.add(channel.name)


def lease_for(limit: int, channels: Sequence[Channel]) -> timedelta:
    """How long a claim of ``limit`` rows may take at worst, doubled, plus a minute: each
    channel sends its rows ``concurrency`` at a time, each within ``timeout``."""
    worst = sum(math.ceil(limit / max(1, c.concurrency)) * c.timeout for c in channels)
    return timedelta(seconds=2 * worst + 60)


async def _claim(db: Database, schema: str, channels: Sequence[Channel],
                 now: datetime, limit: int, policy: RetryPolicy, token: UUID
                 ) -> tuple[list[tuple[Any, ...]], tuple[str, ...], list[Channel]] | None:
    """Claim due rows in one short transaction: (rows, recorded channels, channels to send
    through), or None when this process must leave every row alone."""
    q = DeliveryStatements.for_schema(schema)
    async with db.transaction("deliver_due.claim") as tx:
        recorded = await recorded_channels(tx, schema)
        if recorded is None:
            _say_once(schema, "no delivery channels are recorded: notifications wait in the "
                      "outbox (set PAM_CHANNELS, or run `pam-proactive deliveries channels "
                      "--set webhook` or `--set none` for outbox only)")
            return None
        usable = [c for c in channels if c.name in recorded]
        lacking = sorted(set(recorded) - {c.name for c in usable})
        if lacking:
            _say_once(schema, "this process has no credentials for channel(s) %s: their "
                      "notifications are left for processes that have them",
                      ",".join(lacking))
        blocked: list[str] = []
        probing = False
        if usable:
            circuits = await tx.fetch(*q.circuits, {
                "names": [c.name for c in usable], "threshold": policy.circuit_failures,
                "cooldown": timedelta(seconds=policy.circuit_cooldown)})
            blocked = [str(name) for name, probe in circuits if not probe]
            probing = any(probe for _, probe in circuits)
        if blocked:
            log.info("circuit open for channel(s) %s: their notifications wait",
                     ",".join(blocked))
        rows = await tx.fetch(*q.claim, {
            "now": now, "limit": 1 if probing else limit, "token": token,
            "missing": sorted(set(lacking) | set(blocked)),
            "lease": lease_for(limit, usable)})
    return rows, recorded, [c for c in usable if c.name not in blocked]


def _outcome_columns(sent: Sequence[_Claimed], recorded: Sequence[str], now: datetime,
                     policy: RetryPolicy) -> tuple[dict[str, list[Any]], list[bool], list[bool]]:
    """The RECORD_OUTCOMES columns of ``sent``, and which rows are delivered and dead."""
    delivered = [set(recorded) <= c.done for c in sent]
    cols: dict[str, list[Any]] = {k: [] for k in ("ids", "n", "err", "ok", "delivered",
                                                   "dead", "retry_at")}
    dead: list[bool] = []
    for claimed, done in zip(sent, delivered, strict=True):
        failures = [a for _, a in claimed.attempts if not a.ok]
        retry_at = None
        if not done:
            waits = [a.retry_after for a in failures if a.retry_after is not None]
            retry_at = next_attempt(now, claimed.item.tries + 1, policy.delays,
                                    jitter=policy.jitter, retry_after=max(waits, default=None),
                                    rng=policy.rng)
        dead.append(not done and retry_at is None)
        cols["ids"].append(claimed.item.id)
        cols["n"].append(len(claimed.attempts))
        cols["err"].append(failures[-1].error if failures else None)
        cols["ok"].append(",".join(sorted(n for n, a in claimed.attempts if a.ok)))
        cols["delivered"].append(done)
        cols["dead"].append(dead[-1])
        cols["retry_at"].append(retry_at)
    return cols, delivered, dead


def _circuit_columns(sent: Sequence[_Claimed], policy: RetryPolicy) -> dict[str, Any]:
    """The RECORD_CIRCUITS parameters of a batch: per channel, whether a success resets its
    count of consecutive failures, and the failures to count.

    "Consecutive" is in the order the attempts ended (their ``at``): a batch's failures that
    ended after its last success continue from 0; a batch with no success adds all its
    failures. So one quick success among attempts that hang until their timeout (a receiver
    half down, or answering only some requests) does not reset the count: the failures that
    ended after it still open the circuit."""
    by_channel: dict[str, list[Attempt]] = {}
    for claimed in sent:
        for channel, a in claimed.attempts:
            by_channel.setdefault(channel, []).append(a)
    names, reset, failed = [], [], []
    for channel, tried in by_channel.items():
        ended = sorted(tried, key=lambda a: a.at)
        last_ok = max((i for i, a in enumerate(ended) if a.ok), default=None)
        names.append(channel)
        reset.append(last_ok is not None)
        failed.append(sum(1 for a in ended[(last_ok or -1) + 1:] if not a.ok))
    return {"names": names, "reset": reset, "failed": failed,
            "threshold": policy.circuit_failures,
            "cooldown": timedelta(seconds=policy.circuit_cooldown)}


async def _record(db: Database, schema: str, sent: Sequence[_Claimed],
                  recorded: Sequence[str], now: datetime, policy: RetryPolicy, token: UUID
                  ) -> tuple[set[int], list[bool], list[bool], list[UUID]]:
    """Write every attempt, each row's outcome (while our lease holds), the items of the
    digests delivered, and the circuits, in one short transaction (retried on a transient
    error); return the ids whose outcome was recorded, which rows are delivered and dead, and
    the suggestions of the digests' items."""
    q, items_of = (DeliveryStatements.for_schema(schema),
                   DigestStatements.for_schema(schema).deliver_items)
    attempts: list[list[Any]] = [[] for _ in range(7)]
    for claimed in sent:
        for number, (channel, a) in enumerate(claimed.attempts, claimed.item.attempts + 1):
            for column, value in zip(attempts, (claimed.item.id, channel, number, a.ok,
                                                a.http_status, a.error, a.at), strict=True):
                column.append(value)
    outcomes, delivered, dead = _outcome_columns(sent, recorded, now, policy)
    circuits = _circuit_columns(sent, policy)

    digests = [c.item.id for c, d in zip(sent, delivered, strict=True)
               if d and c.item.suggestion_id is None]

    async def write(tx: Transaction) -> tuple[set[int], list[UUID]]:
        if attempts[0]:
            await tx.execute(*q.record_attempts, attempts)
        kept = {int(r[0]) for r in await tx.fetch(*q.record_outcomes,
                                                   {**outcomes, "now": now, "token": token})}
        items: list[UUID] = []
        if ours := [i for i in digests if i in kept]:
            items = [r[0] for r in await tx.fetch(*items_of, {"ids": ours, "now": now})]
        if circuits["names"]:
            await tx.execute(*q.record_circuits, circuits)
        return kept, items

    kept, items = await db.run_in_transaction("deliver_due.record", write)
    return kept, delivered, dead, items


async def deliver_due(
    db: Database,
    schema: str,
    channels: Sequence[Channel],
    now: datetime,
    limit: int = 250,
    *,
    policy: RetryPolicy | None = None,
) -> DeliveryReport:
    """Deliver up to ``limit`` outbox rows due at ``now`` through the recorded channels;
    return what happened.

    ``channels`` are the channels this process can send through. Rows needing a recorded
    channel this process lacks, or one whose circuit is open, are left for later (their
    schedule is not consumed); with no channels recorded at all nothing is touched. Rows
    whose suggestion is no longer live are cancelled unsent. Each other row gets one attempt
    per channel that has not accepted it yet; every attempt becomes a ``deliveries`` row. A
    row accepted by every recorded channel (at once when the record says outbox only) gets
    ``delivered_at = now`` and its suggestion becomes 'delivered'; a failed row is retried
    after the schedule's next delay, or becomes dead after its last attempt.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    policy = policy or RetryPolicy()
    q = DeliveryStatements.for_schema(schema)
    token = uuid4()
    claim = await _claim(db, schema, channels, now, limit, policy, token)
    if claim is None:
        return DeliveryReport()
    rows, recorded, sending = claim
    live = [_claimed(r) for r in rows if r[12]]
    # Outside any transaction: no lock is held while receivers answer (or hang).
    await asyncio.gather(*(_send_one(c, sending) for c in live))
    kept: set[int] = set()
    delivered: list[bool] = []
    dead: list[bool] = []
    items: list[UUID] = []
    if live:
        kept, delivered, dead, items = await _record(db, schema, live, recorded, now, policy,
                                                     token)
    if lost := [c.item.id for c in live if c.item.id not in kept]:
        log.warning("%d claimed rows were taken over after their lease ran out", len(lost))
    sent = [c for c, d in zip(live, delivered, strict=True) if d and c.item.id in kept]
    done_ids = [c.item.suggestion_id for c in sent if c.item.suggestion_id is not None]
    done_ids += items
    metrics.observe_digests(len(c.item.payload.get("items") or ()) for c in sent
                            if c.item.suggestion_id is None)
    if done_ids:
        # Its own short transaction, after the outbox is written, retried as a whole like
        # the claim and the record: it can still meet another process's transaction on the
        # same suggestions and lose a deadlock (seen in CI's simulation, two full-sweep
        # workers draining at once), and the update is idempotent (open ones only).
        async def mark(tx: Transaction) -> None:
            await tx.execute(*q.mark_delivered, (now, done_ids))

        await db.run_in_transaction("deliver_due.mark", mark)
    report = DeliveryReport(
        picked=len(rows),
        delivered=len(sent),
        failed=sum(1 for c, d, x in zip(live, delivered, dead, strict=True)
                   if not d and not x and c.item.id in kept),
        cancelled=len(rows) - len(live),
        attempts=sum(len(c.attempts) for c in live),
        dead=sum(1 for c, x in zip(live, dead, strict=True) if x and c.item.id in kept),
    )
    metrics.observe_delivery(
        ((channel, a.ok) for c in live for channel, a in c.attempts),
        {"delivered": report.delivered, "failed": report.failed,
         "cancelled": report.cancelled, "dead": report.dead})
    log.info("delivered outbox: %s", report)
    return report


async def drain_due(
    db: Database,
    schema: str,
    channels: Sequence[Channel],
    now: datetime,
    *,
    batch: int = 250,
    policy: RetryPolicy | None = None,
) -> DeliveryReport:
    """Deliver every outbox row due at ``now``, :func:`deliver_due` after :func:`deliver_due`
    of ``batch`` rows each, until a call finds fewer than ``batch``; returns the reports
    summed. First the travelers' digests due at ``now`` are gathered (:func:`assemble_digests`),
    so a digest goes out in the same drain as its hour comes.

    It ends: each call claims rows no earlier call claimed, since a delivered, cancelled or
    dead row is never claimed again, a failed one waits past ``now`` (the schedule's delays
    are positive) and a claimed one is leased. After a drain of at least 1,000 rows the
    outbox is analyzed, so that the next claims are planned for the queue as it now is.
    """
    await assemble_digests(db, schema, now, batch=batch)
    total = DeliveryReport()
    while True:
        report = await deliver_due(db, schema, channels, now, limit=batch, policy=policy)
        total = DeliveryReport(*(getattr(total, f.name) + getattr(report, f.name)
                                 for f in fields(DeliveryReport)))
        if report.picked < batch:
            break
    if total.picked >= ANALYZE_AFTER_ROWS:
        async with db.transaction("deliver_due.analyze") as tx:
            await tx.execute(*DeliveryStatements.for_schema(schema).analyze_outbox)
    return total
