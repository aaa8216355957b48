"""Delivering the outbox: real HTTP to a local server, real PostgreSQL, real row locks."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID

import pytest

from conftest import MakeDatabase, settings_for
from pam_proactive.config import Settings
from pam_proactive.context import Profile
from pam_proactive.db.connection import Database
from pam_proactive.suggestions.delivery import (
    Attempt,
    DeliveryReport,
    DeliveryResult,
    OutboxItem,
    WebhookChannel,
    deliver_due,
    drain_due,
    payload_body,
    sign,
    verify_signature,
)
from pam_proactive.suggestions.models import Candidate, Priority
from pam_proactive.suggestions.store import ApplyResult, DeliveryPolicy, apply_candidates
from receiver import Receiver
from suggestions.detectors.factory import make_profile

Conn = Database
OpenDatabase = Callable[[str, Settings], Awaitable[Database]]
SCHEMA = "pam_proactive"
SECRET = "s3cr3t-for-tests"
NOW = datetime(2025, 6, 10, 15, 0, tzinfo=UTC)


def profile(
    user_id: UUID,
    *,
    tz: str = "UTC",
    quiet: tuple[time, time] | None = None,
    cap: int | None = None,
) -> Profile:
    return make_profile(
        user_id=user_id,
        timezone=tz,
        opted_out=False,
        disabled_types=frozenset(),
        quiet_start=quiet[0] if quiet else None,
        quiet_end=quiet[1] if quiet else None,
        daily_cap=cap,
    )


def cand(
    user_id: UUID, key: str, priority: Priority = Priority.MEDIUM, *, at: datetime = NOW
) -> Candidate:
    return Candidate(
        user_id=str(user_id),
        type="maintenance_overdue",
        priority=priority,
        title="Oil change overdue",
        message="Your oil change is 500 miles overdue.",
        dedup_key=f"maintenance_overdue:{key}",
        data={"overdue_miles": 500},
        computed_for=at,
    )


async def apply(
    conn: Conn, candidates: list[Candidate], profiles: list[Profile], now: datetime = NOW
) -> ApplyResult:
    return await apply_candidates(
        conn,
        schema=SCHEMA,
        user_ids=[p.user_id for p in profiles],
        candidates=candidates,
        profiles={p.user_id: p for p in profiles},
        now=now,
        policy=DeliveryPolicy(),
    )




@pytest.fixture
async def uri(make_database: MakeDatabase) -> str:
    created: str = await make_database("seed")
    return created


@pytest.fixture
async def conn(uri: str, open_database: OpenDatabase) -> Conn:
    """The engine's instrumented connector on the test database."""
    return await open_database(uri, settings_for("seed"))


def webhook(url: str, **kwargs: Any) -> WebhookChannel:
    kwargs.setdefault("backoff_base", 0.01)
    return WebhookChannel(url, SECRET, timeout=5.0, **kwargs)


async def rows(conn: Conn, query: str, *params: Any) -> list[tuple[Any, ...]]:
    return await conn.fetch("test.rows", query, params)


async def outbox_state(conn: Conn) -> list[tuple[Any, ...]]:
    """(id, delivered_at, attempts, last_error, deliver_after, cancelled_at) by id."""
    return await rows(
        conn,
        "SELECT id, delivered_at, attempts, last_error, deliver_after, cancelled_at"
        " FROM pam_proactive.outbox ORDER BY id",
    )


async def deliveries(conn: Conn) -> list[tuple[Any, ...]]:
    """(outbox_id, channel, attempt, ok, http_status, error) by id."""
    return await rows(
        conn,
        "SELECT outbox_id, channel, attempt, ok, http_status, error"
        " FROM pam_proactive.deliveries ORDER BY id",
    )


async def one_notification(conn: Conn, **profile_kwargs: Any) -> UUID:
    u = uuid.uuid4()
    result = await apply(conn, [cand(u, "a", Priority.HIGH)], [profile(u, **profile_kwargs)])
    assert result.notified == 1
    return u


# --------------------------------------------------------------------------------------------
# Signatures
# --------------------------------------------------------------------------------------------


def test_verify_signature() -> None:
    body = payload_body({"b": 1, "a": "é"})
    assert body == '{"a":"é","b":1}'.encode()
    header = sign(SECRET, body)
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert header == f"sha256={expected}"
    assert verify_signature(SECRET, body, header)
    assert verify_signature(SECRET.encode(), body, header)
    assert not verify_signature(SECRET, body + b" ", header)
    assert not verify_signature("other", body, header)
    assert not verify_signature(SECRET, body, None)
    assert not verify_signature(SECRET, body, expected)  # prefix missing
    assert not verify_signature(SECRET, body, "sha256=" + "0" * 64)


def test_webhook_channel_validates_its_settings() -> None:
    with pytest.raises(ValueError, match="http"):
        WebhookChannel("file:///etc/passwd", SECRET)
    with pytest.raises(ValueError, match="secret"):
        WebhookChannel("https://example.invalid/hook", "")
    with pytest.raises(ValueError, match="max_attempts"):
        WebhookChannel("https://example.invalid/hook", SECRET, max_attempts=0)
    assert SECRET not in repr(WebhookChannel("https://example.invalid/hook", SECRET))


async def test_webhook_delivery_is_signed_exactly(conn: Conn, receiver: Receiver) -> None:
    u = await one_notification(conn)
    report = await deliver_due(conn, SCHEMA, [webhook(receiver.url)], NOW)
    assert report == DeliveryReport(picked=1, delivered=1, attempts=1)
    [req] = receiver.requests
    assert verify_signature(SECRET, req.body, req.headers["X-Pam-Signature"])
    digest = hmac.new(SECRET.encode(), req.body, hashlib.sha256).hexdigest()
    assert req.headers["X-Pam-Signature"] == f"sha256={digest}"
    assert abs(int(req.headers["X-Pam-Timestamp"]) - datetime.now(UTC).timestamp()) < 60
    assert req.headers["Content-Type"] == "application/json"
    [(outbox_id, payload)] = await rows(conn, "SELECT id, payload FROM pam_proactive.outbox")
    assert req.headers["X-Pam-Outbox-Id"] == str(outbox_id)
    assert json.loads(req.body) == payload
    assert payload["user_id"] == str(u) and payload["priority"] == "high"
    assert await outbox_state(conn) == [(outbox_id, NOW, 1, None, NOW, None)]
    assert await deliveries(conn) == [(outbox_id, "webhook", 1, True, 200, None)]
    [(status, changed)] = await rows(
        conn, "SELECT status, status_changed_at FROM pam_proactive.suggestions"
    )
    assert (status, changed) == ("delivered", NOW)
    # Delivered rows are never picked again.
    assert await deliver_due(conn, SCHEMA, [webhook(receiver.url)], NOW) == DeliveryReport()
    assert len(receiver.requests) == 1
    # A delivered suggestion is still live: the next sweep keeps it, without notifying.
    later = NOW + timedelta(hours=1)
    again = await apply(conn, [cand(u, "a", Priority.HIGH, at=later)], [profile(u)], now=later)
    assert again.created == 0 and again.notified == 0 and again.resolved == 0


# --------------------------------------------------------------------------------------------
# Retries and failures
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("failure", [500, 503, 429])
async def test_retries_then_delivers(conn: Conn, receiver: Receiver, failure: int) -> None:
    await one_notification(conn)
    receiver.script = [failure, failure, 200]
    report = await deliver_due(conn, SCHEMA, [webhook(receiver.url)], NOW)
    assert report == DeliveryReport(picked=1, delivered=1, attempts=3)
    assert len(receiver.requests) == 3
    assert len({r.body for r in receiver.requests}) == 1  # the same exact body each time
    [(oid, delivered_at, attempts, last_error, _, _)] = await outbox_state(conn)
    assert (delivered_at, attempts, last_error) == (NOW, 3, f"HTTP {failure}")
    assert await deliveries(conn) == [
        (oid, "webhook", 1, False, failure, f"HTTP {failure}"),
        (oid, "webhook", 2, False, failure, f"HTTP {failure}"),
        (oid, "webhook", 3, True, 200, None),
    ]


@pytest.mark.parametrize("status", [400, 401, 404, 410])
async def test_no_retry_on_client_errors(conn: Conn, receiver: Receiver, status: int) -> None:
    await one_notification(conn)
    receiver.script = [status]
    retry = timedelta(minutes=5)
    channel = webhook(receiver.url)
    report = await deliver_due(conn, SCHEMA, [channel], NOW, retry_after=retry)
    assert report == DeliveryReport(picked=1, failed=1, attempts=1)
    assert len(receiver.requests) == 1
    [(oid, delivered_at, attempts, last_error, after, _)] = await outbox_state(conn)
    assert (delivered_at, attempts, last_error, after) == (None, 1, f"HTTP {status}", NOW + retry)
    assert await deliveries(conn) == [(oid, "webhook", 1, False, status, f"HTTP {status}")]
    # Left for a later run: not before retry_after, then delivered.
    soon = NOW + timedelta(minutes=4)
    assert await deliver_due(conn, SCHEMA, [channel], soon) == DeliveryReport()
    later = NOW + timedelta(minutes=5)
    report = await deliver_due(conn, SCHEMA, [channel], later)
    assert report == DeliveryReport(picked=1, delivered=1, attempts=1)
    assert (await deliveries(conn))[-1] == (oid, "webhook", 2, True, 200, None)
    [(_, delivered_at, attempts, last_error, _, _)] = await outbox_state(conn)
    assert (delivered_at, attempts, last_error) == (later, 2, f"HTTP {status}")


async def test_drain_delivers_everything_due_claim_after_claim(
    conn: Conn, receiver: Receiver
) -> None:
    users = [await one_notification(conn) for _ in range(5)]
    receiver.script = [400]  # one row fails: it waits for a later run, the drain still ends
    report = await drain_due(conn, SCHEMA, [webhook(receiver.url)], NOW, batch=2)
    assert report == DeliveryReport(picked=5, delivered=4, failed=1, attempts=5)
    assert {json.loads(r.body)["user_id"] for r in receiver.requests} == {str(u) for u in users}
    assert await drain_due(conn, SCHEMA, [webhook(receiver.url)], NOW, batch=2) == (
        DeliveryReport())
    later = NOW + timedelta(minutes=1)
    assert await drain_due(conn, SCHEMA, [webhook(receiver.url)], later) == DeliveryReport(
        picked=1, delivered=1, attempts=1)


async def test_connection_failures_are_recorded(conn: Conn) -> None:
    await one_notification(conn)
    with socket.socket() as sock:  # a port with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    channel = webhook(f"http://127.0.0.1:{port}/hook", max_attempts=2)
    report = await deliver_due(conn, SCHEMA, [channel], NOW)
    assert report == DeliveryReport(picked=1, failed=1, attempts=2)
    error = "connection error: ConnectionRefusedError"
    [(oid, delivered_at, attempts, last_error, _, _)] = await outbox_state(conn)
    assert (delivered_at, attempts, last_error) == (None, 2, error)
    assert await deliveries(conn) == [
        (oid, "webhook", 1, False, None, error),
        (oid, "webhook", 2, False, None, error),
    ]


async def test_rows_past_give_up_are_left_alone(conn: Conn, receiver: Receiver) -> None:
    await one_notification(conn)
    receiver.script = [500] * 4
    channel = webhook(receiver.url, max_attempts=2)
    await deliver_due(conn, SCHEMA, [channel], NOW, retry_after=timedelta(0), give_up_after=4)
    await deliver_due(conn, SCHEMA, [channel], NOW, retry_after=timedelta(0), give_up_after=4)
    third = await deliver_due(conn, SCHEMA, [channel], NOW, give_up_after=4)
    assert third == DeliveryReport()
    assert len(receiver.requests) == 4
    assert [r[2] for r in await outbox_state(conn)] == [4]


@dataclass
class FakeChannel:
    """An in-process channel answering from a script of outcomes (True, False, or raise)."""

    name: str
    script: list[bool | Exception] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)

    async def send(self, item: OutboxItem) -> DeliveryResult:
        self.sent.append(item.id)
        outcome = self.script.pop(0) if self.script else True
        if isinstance(outcome, Exception):
            raise outcome
        at = datetime.now(UTC)
        return DeliveryResult(outcome, (Attempt(outcome, None, None if outcome else "nope", at),))


async def test_each_channel_delivers_once(conn: Conn) -> None:
    await one_notification(conn)
    push, mail = FakeChannel("push"), FakeChannel("mail", [False])
    first = await deliver_due(conn, SCHEMA, [push, mail], NOW, retry_after=timedelta(0))
    assert first == DeliveryReport(picked=1, failed=1, attempts=2)
    second = await deliver_due(conn, SCHEMA, [push, mail], NOW)
    assert second == DeliveryReport(picked=1, delivered=1, attempts=1)
    assert (len(push.sent), len(mail.sent)) == (1, 2)  # push is not sent twice
    assert [(r[1], r[2], r[3]) for r in await deliveries(conn)] == [
        ("push", 1, True),
        ("mail", 2, False),
        ("mail", 3, True),
    ]


async def test_a_raising_channel_is_recorded_not_fatal(conn: Conn) -> None:
    await one_notification(conn)
    await one_notification(conn)
    broken = FakeChannel("push", [RuntimeError("boom"), True])
    report = await deliver_due(conn, SCHEMA, [broken], NOW)
    assert report == DeliveryReport(picked=2, delivered=1, failed=1, attempts=2)
    assert sorted((r[3], r[5]) for r in await deliveries(conn)) == [
        (False, "channel error: RuntimeError"),
        (True, None),
    ]


async def test_without_channels_due_rows_are_released(conn: Conn) -> None:
    await one_notification(conn)
    assert await deliver_due(conn, SCHEMA, [], NOW) == DeliveryReport(picked=1, delivered=1)
    assert [r[1] for r in await outbox_state(conn)] == [NOW]
    assert await deliveries(conn) == []


async def _pending_share(conn: Conn) -> float:
    """The share of outbox rows the planner's statistics take for undelivered."""
    [(share,)] = await rows(conn, "SELECT null_frac FROM pg_stats WHERE schemaname = %s"
                            " AND tablename = 'outbox' AND attname = 'delivered_at'", SCHEMA)
    return float(share)


@pytest.mark.parametrize("notified", [1_200, 40])
async def test_a_large_drain_refreshes_the_outbox_statistics(conn: Conn, notified: int) -> None:
    # A first sweep's ANALYZE sees every row pending; once they are delivered, the claim
    # must be planned for the empty queue, not scan the outbox and suggestions whole.
    users = [uuid.uuid4() for _ in range(notified)]
    result = await apply(conn, [cand(u, "a", Priority.HIGH) for u in users],
                         [profile(u) for u in users])
    assert result.notified == notified
    async with conn.transaction("test.analyze") as tx:
        await tx.execute("test.analyze", "ANALYZE pam_proactive.outbox")
    assert await _pending_share(conn) == 1.0
    report = await drain_due(conn, SCHEMA, [], NOW, batch=500)
    assert report.delivered == notified
    # Only a drain of 1,000 rows or more pays for an ANALYZE.
    assert await _pending_share(conn) == (0.0 if notified >= 1_000 else 1.0)


# --------------------------------------------------------------------------------------------
# Quiet hours and stale notifications
# --------------------------------------------------------------------------------------------


async def test_held_notification_waits_for_the_end_of_quiet_hours(
    conn: Conn, receiver: Receiver
) -> None:
    u = uuid.uuid4()
    p = profile(u, tz="America/New_York", quiet=(time(22, 0), time(7, 0)))
    night = datetime(2025, 6, 10, 3, 30, tzinfo=UTC)  # 23:30 in New York
    await apply(conn, [cand(u, "a", at=night)], [p], now=night)
    channel = webhook(receiver.url)
    for t in (night, datetime(2025, 6, 10, 10, 59, 59, tzinfo=UTC)):
        assert await deliver_due(conn, SCHEMA, [channel], t) == DeliveryReport()
    assert receiver.requests == []
    morning = datetime(2025, 6, 10, 11, 0, tzinfo=UTC)  # 07:00 in New York
    report = await deliver_due(conn, SCHEMA, [channel], morning)
    assert report == DeliveryReport(picked=1, delivered=1, attempts=1)
    assert len(receiver.requests) == 1


async def test_notification_of_a_gone_condition_is_never_sent(
    conn: Conn, receiver: Receiver
) -> None:
    u = await one_notification(conn, quiet=(time(14, 0), time(16, 0)))
    await apply(conn, [], [profile(u)], now=NOW + timedelta(minutes=10))  # resolved
    v = await one_notification(conn, quiet=(time(14, 0), time(16, 0)))
    # The suggestion expired without a sweep noticing: caught at delivery time.
    async with conn.transaction("test.expire") as tx:
        await tx.execute(
            "test.expire",
            "UPDATE pam_proactive.suggestions SET expires_at = %s WHERE user_id = %s",
            (NOW + timedelta(minutes=30), v),
        )
    end = datetime(2025, 6, 10, 16, 0, tzinfo=UTC)
    report = await deliver_due(conn, SCHEMA, [webhook(receiver.url)], end)
    assert report == DeliveryReport(picked=1, cancelled=1)
    assert receiver.requests == []
    state = await outbox_state(conn)
    assert [(r[1], r[5]) for r in state] == [(None, NOW + timedelta(minutes=10)), (None, end)]
    assert await deliver_due(conn, SCHEMA, [webhook(receiver.url)], end) == DeliveryReport()


# --------------------------------------------------------------------------------------------
# Concurrency
# --------------------------------------------------------------------------------------------


async def test_concurrent_workers_never_deliver_a_row_twice(
    conn: Conn, uri: str, receiver: Receiver, open_database: OpenDatabase
) -> None:
    users = [uuid.uuid4() for _ in range(6)]
    batch = [cand(u, k) for u in users for k in "abcd"]
    await apply(conn, batch, [profile(u, cap=10) for u in users])
    receiver.delay = 0.02  # each send takes a while: both workers hold rows at the same time

    both_holding = asyncio.Event()
    holding: set[int] = set()

    class Gate(WebhookChannel):
        """Proves the overlap: a worker's first send waits until the other also holds rows."""

        def __init__(self, worker: int) -> None:
            super().__init__(receiver.url, SECRET, timeout=5.0)
            self.worker = worker

        async def send(self, item: OutboxItem) -> DeliveryResult:
            holding.add(self.worker)
            if len(holding) == 2:
                both_holding.set()
            await asyncio.wait_for(both_holding.wait(), timeout=10)
            return await WebhookChannel.send(self, item)

    other = await open_database(uri, settings_for("seed"))
    reports = await asyncio.gather(
        deliver_due(conn, SCHEMA, [Gate(1)], NOW, limit=10),
        deliver_due(other, SCHEMA, [Gate(2)], NOW, limit=10),
    )
    assert both_holding.is_set()
    assert sorted(r.delivered for r in reports) == [10, 10]
    rest = await deliver_due(conn, SCHEMA, [webhook(receiver.url)], NOW)
    assert rest.delivered == 4
    ids = [int(r.headers["X-Pam-Outbox-Id"]) for r in receiver.requests]
    assert len(ids) == 24 and len(set(ids)) == 24
    [(n_ok, n_rows)] = await rows(
        conn, "SELECT count(*) FILTER (WHERE ok), count(*) FROM pam_proactive.deliveries"
    )
    assert (n_ok, n_rows) == (24, 24)
    [(undelivered,)] = await rows(
        conn, "SELECT count(*) FROM pam_proactive.outbox WHERE delivered_at IS NULL"
    )
    assert undelivered == 0
