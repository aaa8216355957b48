"""Delivering the outbox: real HTTP to a local receiver, real PostgreSQL, real leases.

The clock ``now`` is driven through the retry schedule; leases and circuits run on the
database's real clock."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
import time as walltime
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest

from conftest import MakeDatabase, settings_for
from pam_proactive.config import Settings
from pam_proactive.context import Profile
from pam_proactive.db.connection import Database
from pam_proactive.engine import open_engine
from pam_proactive.errors import ConfigurationError
from pam_proactive.jobs.pipeline.delivery import deliver_outbox
from pam_proactive.suggestions import delivery
from pam_proactive.suggestions.dead_letters import dead_by_channel, inspect, list_rows, replay
from pam_proactive.suggestions.delivery import (
    Attempt,
    DeliveryReport,
    OutboxItem,
    RetryPolicy,
    WebhookChannel,
    configure_channels,
    deliver_due,
    drain_due,
    set_channels,
)
from pam_proactive.suggestions.digest import DigestPolicy
from pam_proactive.suggestions.models import Candidate, Priority
from pam_proactive.suggestions.signing import WebhookVerificationError, verify
from pam_proactive.suggestions.store import (
    ApplyResult,
    DeliveryPolicy,
    apply_candidates,
    dismiss,
)
from receiver import SECRET, Receiver, Reply
from suggestions.detectors.factory import make_profile

Conn = Database
OpenDatabase = Callable[[str, Settings], Awaitable[Database]]
SCHEMA = "pam_proactive"
# Svix's schedule without jitter (5 s, 5 min, 30 min, ...), and a circuit that never opens:
# these tests jump the engine's clock through hours of retries in a few real seconds, while
# the circuit's cool-down runs on the real clock (it is tested on its own below).
EXACT = RetryPolicy(jitter=0.0, circuit_failures=1_000_000)
SCHEDULE = [timedelta(seconds=d) for d in EXACT.delays]
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
        # Single notifications: the daily digest is tested in suggestions/db/test_digest.py.
        policy=DeliveryPolicy(digest=DigestPolicy(enabled=False)),
    )




@pytest.fixture
async def uri(make_database: MakeDatabase) -> str:
    created: str = await make_database("seed")
    return created


@pytest.fixture
async def bare(uri: str, open_database: OpenDatabase) -> Conn:
    """The engine's instrumented connector on the test database, no channels recorded."""
    return await open_database(uri, settings_for("seed"))


@pytest.fixture
async def conn(bare: Conn) -> Conn:
    """The connector, with the webhook recorded as the engine's channel."""
    await set_channels(bare, SCHEMA, ["webhook"])
    return bare


def webhook(url: str, **kwargs: Any) -> WebhookChannel:
    kwargs.setdefault("timeout", 5.0)
    return WebhookChannel(url, SECRET, **kwargs)


async def rows(conn: Conn, query: str, *params: Any) -> list[tuple[Any, ...]]:
    return await conn.fetch("test.rows", query, params)


async def outbox_state(conn: Conn) -> list[tuple[Any, ...]]:
    """(id, delivered_at, attempts, last_error, deliver_after, cancelled_at, dead_at) by id."""
    return await rows(
        conn,
        "SELECT id, delivered_at, attempts, last_error, deliver_after, cancelled_at, dead_at"
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
# Signed requests
# --------------------------------------------------------------------------------------------


def test_webhook_channel_validates_its_settings() -> None:
    with pytest.raises(ValueError, match="http"):
        WebhookChannel("file:///etc/passwd", SECRET)
    with pytest.raises(ValueError, match="secret"):
        WebhookChannel("https://example.invalid/hook", "")
    with pytest.raises(ValueError, match="whsec_"):
        WebhookChannel("https://example.invalid/hook", "not-a-whsec-secret")
    with pytest.raises(ValueError, match="PAM_DELIVERY_CONCURRENCY"):
        WebhookChannel("https://example.invalid/hook", SECRET, concurrency=0)
    assert SECRET not in repr(WebhookChannel("https://example.invalid/hook", SECRET))


async def test_webhook_delivery_is_signed_exactly(conn: Conn, receiver: Receiver) -> None:
    u = await one_notification(conn)
    report = await deliver_due(conn, SCHEMA, [webhook(receiver.url)], NOW)
    assert report == DeliveryReport(picked=1, delivered=1, attempts=1)
    [req] = receiver.requests
    [(outbox_id, payload, msg)] = await rows(
        conn, "SELECT id, payload, message_id FROM pam_proactive.outbox")
    assert req.verified == req.headers["webhook-id"] == f"msg_{msg.hex}"  # the shipped verifier
    assert abs(int(req.headers["webhook-timestamp"]) - datetime.now(UTC).timestamp()) < 60
    assert req.headers["content-type"] == "application/json"
    assert not any(h.lower().startswith("x-pam") for h in req.headers)  # the old scheme is gone
    assert json.loads(req.body) == payload
    assert payload["user_id"] == str(u) and payload["priority"] == "high"
    assert await outbox_state(conn) == [(outbox_id, NOW, 1, None, NOW, None, None)]
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


def _post(url: str, headers: dict[str, str], body: bytes) -> None:
    """Send a captured request again, as an attacker would."""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()


async def test_a_replayed_or_redated_request_is_rejected_by_the_verifier(
        conn: Conn, receiver: Receiver) -> None:
    await one_notification(conn)
    await deliver_due(conn, SCHEMA, [webhook(receiver.url)], NOW)
    [captured] = receiver.requests
    assert captured.verified is not None
    sent = {k: v for k, v in captured.headers.items() if k.startswith("webhook-")}
    # Replayed later, unchanged: outside the 5-minute tolerance.
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(SECRET, sent, captured.body, now=datetime.now(UTC) + timedelta(minutes=6))
    # Re-dated to look fresh, or given another webhook-id to pass deduplication: the
    # signature no longer matches. Posted to the real receiver, both are refused.
    redated = sent | {"webhook-timestamp": str(int(walltime.time()) + 60)}
    forged = sent | {"webhook-id": "msg_" + uuid.uuid4().hex}
    for headers in (redated, forged):
        with pytest.raises(WebhookVerificationError, match="no signature matches"):
            verify(SECRET, headers, captured.body)
        await asyncio.to_thread(_post, receiver.url, headers, captured.body)
    assert [r.verified for r in receiver.requests[1:]] == [None, None]


# --------------------------------------------------------------------------------------------
# The retry schedule
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("failure", [500, 503, 429, 400, 404, 410])
async def test_a_failure_waits_for_the_schedule(conn: Conn, receiver: Receiver,
                                                failure: int) -> None:
    await one_notification(conn)
    receiver.script = [failure, failure]
    channel = webhook(receiver.url)
    report = await deliver_due(conn, SCHEMA, [channel], NOW, policy=EXACT)
    assert report == DeliveryReport(picked=1, failed=1, attempts=1)  # one attempt per claim
    [(oid, _, attempts, last_error, after, _, _)] = await outbox_state(conn)
    assert (attempts, last_error, after) == (1, f"HTTP {failure}", NOW + SCHEDULE[0])
    # Not before the next slot of the schedule, then tried again.
    assert await deliver_due(conn, SCHEMA, [channel], after - timedelta(seconds=1),
                             policy=EXACT) == DeliveryReport()
    report = await deliver_due(conn, SCHEMA, [channel], after, policy=EXACT)
    assert report == DeliveryReport(picked=1, failed=1, attempts=1)
    [(_, _, _, _, second, _, _)] = await outbox_state(conn)
    assert second == after + SCHEDULE[1]
    report = await deliver_due(conn, SCHEMA, [channel], second, policy=EXACT)
    assert report == DeliveryReport(picked=1, delivered=1, attempts=1)
    assert len({r.body for r in receiver.requests}) == 1  # the same exact body each time
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    assert await deliveries(conn) == [
        (oid, "webhook", 1, False, failure, f"HTTP {failure}"),
        (oid, "webhook", 2, False, failure, f"HTTP {failure}"),
        (oid, "webhook", 3, True, 200, None),
    ]
    [(_, delivered_at, attempts, last_error, _, _, dead)] = await outbox_state(conn)
    assert (delivered_at, attempts, last_error, dead) == (second, 3, f"HTTP {failure}", None)


async def test_jitter_spreads_retries_within_its_bounds(conn: Conn, receiver: Receiver) -> None:
    for _ in range(20):
        await one_notification(conn)
    receiver.outage = 500
    policy = RetryPolicy(jitter=0.1, rng=random.Random(3), circuit_failures=1_000_000)
    report = await deliver_due(conn, SCHEMA, [webhook(receiver.url)], NOW, policy=policy)
    assert report.failed == 20
    waits = [(r[4] - NOW).total_seconds() for r in await outbox_state(conn)]
    assert all(4.5 <= w <= 5.5 for w in waits)
    assert len(set(waits)) > 10  # spread, not all in the same second


@pytest.mark.parametrize(("header", "wait"), [
    ("120", timedelta(minutes=2)),  # longer than the 5 s slot: honoured
    ("1", SCHEDULE[0]),  # shorter than the slot: the schedule wins
    ("999999", max(SCHEDULE)),  # capped at the schedule's longest delay
    ("HTTP-DATE", timedelta(minutes=10)),  # an HTTP-date, ten minutes ahead
])
async def test_retry_after_is_honoured(conn: Conn, receiver: Receiver, header: str,
                                       wait: timedelta) -> None:
    await one_notification(conn)
    if header == "HTTP-DATE":
        from email.utils import format_datetime

        header = format_datetime(datetime.now(UTC) + timedelta(minutes=10, seconds=1),
                                 usegmt=True)
    receiver.script = [Reply(503, retry_after=header)]
    await deliver_due(conn, SCHEMA, [webhook(receiver.url)], NOW, policy=EXACT)
    [(_, _, _, _, after, _, _)] = await outbox_state(conn)
    assert abs((after - NOW) - wait) < timedelta(seconds=3)


@pytest.mark.parametrize("hours", [1, 10, 27])
async def test_an_outage_within_the_schedule_loses_and_duplicates_nothing(
        conn: Conn, receiver: Receiver, hours: int) -> None:
    users = [await one_notification(conn) for _ in range(6)]
    channel = webhook(receiver.url)
    policy = RetryPolicy(jitter=0.1, rng=random.Random(hours), circuit_failures=1_000_000)
    receiver.outage = 500
    now, rounds = NOW, 0
    while True:
        if now >= NOW + timedelta(hours=hours):
            receiver.outage = None  # the receiver is back
        await drain_due(conn, SCHEMA, [channel], now, policy=policy)
        rounds += 1
        [(pending, due, dead)] = await rows(
            conn, "SELECT count(*) FILTER (WHERE delivered_at IS NULL AND dead_at IS NULL),"
            " max(deliver_after) FILTER (WHERE delivered_at IS NULL AND dead_at IS NULL),"
            " count(*) FILTER (WHERE dead_at IS NOT NULL) FROM pam_proactive.outbox")
        assert dead == 0
        if not pending:
            break
        now = due  # the clock jumps to the next retry
        assert rounds < 20
    accepted = receiver.accepted()
    assert len(accepted) == len(users) and set(accepted.values()) == {1}
    assert "unverified" not in accepted
    assert all(r.verified for r in receiver.requests)
    statuses = await rows(conn, "SELECT DISTINCT status FROM pam_proactive.suggestions")
    assert statuses == [("delivered",)]


async def test_after_the_last_attempt_a_row_is_dead_listed_and_replayed_once(
        conn: Conn, receiver: Receiver) -> None:
    await one_notification(conn)
    kept = await one_notification(conn)
    channel = webhook(receiver.url)
    receiver.outage = 500
    now = NOW
    for number in range(1, len(SCHEDULE) + 2):
        report = await drain_due(conn, SCHEMA, [channel], now, policy=EXACT)
        if number <= len(SCHEDULE):
            assert report == DeliveryReport(picked=2, failed=2, attempts=2)
            now += SCHEDULE[number - 1]
    assert report == DeliveryReport(picked=2, dead=2, attempts=2)
    assert len(receiver.requests) == 2 * (len(SCHEDULE) + 1)  # 8 attempts each, no more
    assert await drain_due(conn, SCHEMA, [channel], now + timedelta(days=30),
                           policy=EXACT) == DeliveryReport()
    # Dead, visibly: listed, counted per channel; the suggestions stay as they were.
    dead = await list_rows(conn, SCHEMA, "dead")
    assert [(r.state, r.tries, r.last_error) for r in dead] == [("dead", 8, "HTTP 500")] * 2
    assert await dead_by_channel(conn, SCHEMA) == {"webhook": 2}
    assert await rows(conn, "SELECT DISTINCT status FROM pam_proactive.suggestions") == [
        ("open",)]
    row, attempts = await inspect(conn, SCHEMA, dead[0].id) or (None, [])
    assert row is not None and row.id == dead[0].id
    assert [(a.attempt, a.ok, a.http_status) for a in attempts] == [
        (n, False, 500) for n in range(1, 9)]
    # Replayed once the receiver is back: each delivered exactly once.
    receiver.outage = None
    later = now + timedelta(days=1)
    assert await replay(conn, SCHEMA, later, dead=True) == [r.id for r in dead]
    assert await dead_by_channel(conn, SCHEMA) == {"webhook": 0}
    report = await drain_due(conn, SCHEMA, [channel], later, policy=EXACT)
    assert report == DeliveryReport(picked=2, delivered=2, attempts=2)
    assert list(receiver.accepted().values()) == [1, 1]
    assert await replay(conn, SCHEMA, later, dead=True) == []  # delivered: not dead any more
    assert await drain_due(conn, SCHEMA, [channel], later + timedelta(days=1)) == (
        DeliveryReport())
    assert sum(receiver.accepted().values()) == 2
    replayed = await list_rows(conn, SCHEMA, "dead")
    assert replayed == []
    assert await rows(conn, "SELECT DISTINCT status FROM pam_proactive.suggestions") == [
        ("delivered",)]
    assert kept  # both travelers' notifications went through


async def test_replay_of_chosen_rows(conn: Conn, receiver: Receiver) -> None:
    await one_notification(conn)
    channel = webhook(receiver.url)
    await deliver_due(conn, SCHEMA, [channel], NOW)
    [(oid,)] = await rows(conn, "SELECT id FROM pam_proactive.outbox")
    # A delivered row replayed on purpose (the app lost it) is sent again, once.
    assert await replay(conn, SCHEMA, NOW, ids=[oid, 999_999]) == [oid]
    assert await deliver_due(conn, SCHEMA, [channel], NOW) == DeliveryReport(
        picked=1, delivered=1, attempts=1)
    assert await deliver_due(conn, SCHEMA, [channel], NOW) == DeliveryReport()
    assert len(receiver.requests) == 2
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    [(replayed_at,)] = await rows(conn, "SELECT replayed_at FROM pam_proactive.outbox")
    assert replayed_at == NOW


async def test_connection_failures_are_recorded(conn: Conn) -> None:
    await one_notification(conn)
    with socket.socket() as sock:  # a port with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    channel = webhook(f"http://127.0.0.1:{port}/hook")
    report = await deliver_due(conn, SCHEMA, [channel], NOW)
    assert report == DeliveryReport(picked=1, failed=1, attempts=1)
    error = "connection error: ConnectionRefusedError"
    [(oid, delivered_at, attempts, last_error, _, _, _)] = await outbox_state(conn)
    assert (delivered_at, attempts, last_error) == (None, 1, error)
    assert await deliveries(conn) == [(oid, "webhook", 1, False, None, error)]


async def test_drain_delivers_everything_due_claim_after_claim(
    conn: Conn, receiver: Receiver
) -> None:
    users = [await one_notification(conn) for _ in range(5)]
    receiver.script = [400]  # one row fails: it waits for its retry, the drain still ends
    report = await drain_due(conn, SCHEMA, [webhook(receiver.url)], NOW, batch=2, policy=EXACT)
    assert report == DeliveryReport(picked=5, delivered=4, failed=1, attempts=5)
    assert {json.loads(r.body)["user_id"] for r in receiver.requests} == {str(u) for u in users}
    assert await drain_due(conn, SCHEMA, [webhook(receiver.url)], NOW, batch=2) == (
        DeliveryReport())
    later = NOW + SCHEDULE[0]
    assert await drain_due(conn, SCHEMA, [webhook(receiver.url)], later) == DeliveryReport(
        picked=1, delivered=1, attempts=1)


# --------------------------------------------------------------------------------------------
# Channels: recorded configuration
# --------------------------------------------------------------------------------------------


@dataclass
class FakeChannel:
    """An in-process channel answering from a script of outcomes (True, False, or raise)."""

    name: str
    script: list[bool | Exception] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)
    timeout: float = 1.0
    concurrency: int = 4

    async def send(self, item: OutboxItem) -> Attempt:
        self.sent.append(item.id)
        outcome = self.script.pop(0) if self.script else True
        if isinstance(outcome, Exception):
            raise outcome
        return Attempt(outcome, None, None if outcome else "nope", datetime.now(UTC))


async def test_each_channel_delivers_once(conn: Conn) -> None:
    await set_channels(conn, SCHEMA, ["push", "mail"])
    await one_notification(conn)
    push, mail = FakeChannel("push"), FakeChannel("mail", [False])
    first = await deliver_due(conn, SCHEMA, [push, mail], NOW, policy=EXACT)
    assert first == DeliveryReport(picked=1, failed=1, attempts=2)
    second = await deliver_due(conn, SCHEMA, [push, mail], NOW + SCHEDULE[0])
    assert second == DeliveryReport(picked=1, delivered=1, attempts=1)
    assert (len(push.sent), len(mail.sent)) == (1, 2)  # push is not sent twice
    assert sorted((r[1], r[2], r[3]) for r in await deliveries(conn)) == [
        ("mail", 2, False), ("mail", 3, True), ("push", 1, True)]


async def test_a_raising_channel_is_recorded_not_fatal(conn: Conn) -> None:
    await set_channels(conn, SCHEMA, ["push"])
    await one_notification(conn)
    await one_notification(conn)
    broken = FakeChannel("push", [RuntimeError("boom"), True])
    report = await deliver_due(conn, SCHEMA, [broken], NOW)
    assert report == DeliveryReport(picked=2, delivered=1, failed=1, attempts=2)
    assert sorted((r[3], r[5]) for r in await deliveries(conn)) == [
        (False, "channel error: RuntimeError"),
        (True, None),
    ]


async def test_outbox_only_is_an_explicit_recorded_choice(bare: Conn) -> None:
    await one_notification(bare)
    # Nothing recorded and no credentials: nothing is released as "delivered".
    assert await configure_channels(bare, SCHEMA, None, []) is None
    assert await deliver_due(bare, SCHEMA, [], NOW) == DeliveryReport()
    assert [r[1] for r in await outbox_state(bare)] == [None]
    # Declared outbox-only (PAM_CHANNELS=none): recorded, then due rows are released.
    assert await configure_channels(bare, SCHEMA, (), []) == ()
    assert await deliver_due(bare, SCHEMA, [], NOW) == DeliveryReport(picked=1, delivered=1)
    assert [r[1] for r in await outbox_state(bare)] == [NOW]
    assert await deliveries(bare) == []
    # A process declaring otherwise stops, naming the setting.
    with pytest.raises(ConfigurationError, match="PAM_CHANNELS=webhook differs"):
        await configure_channels(bare, SCHEMA, ("webhook",), ["webhook"])


async def test_two_processes_recording_their_channels_at_once_agree(uri: str,
                                                                      bare: Conn) -> None:
    # Another process's first delivery records its channel in a transaction not yet
    # committed; ours finds nothing recorded, so it tries to record its own, waits on the
    # other's row, and must come back with the channels recorded first (not nothing).
    async with await psycopg.AsyncConnection.connect(uri) as other:
        await other.execute(f"INSERT INTO {SCHEMA}.delivery_channels (channels)"
                            " VALUES (ARRAY['push'])")
        ours = asyncio.create_task(configure_channels(bare, SCHEMA, None, ["webhook"]))
        await _until_waiting_on_a_lock(other)
        assert not ours.done()
        await other.commit()
    assert await ours == ("push",)


async def _until_waiting_on_a_lock(observer: psycopg.AsyncConnection[Any]) -> None:
    """Return once another session waits on a lock (ours, on the other's uncommitted row)."""
    async with await psycopg.AsyncConnection.connect(observer.info.dsn, autocommit=True) as c:
        for _ in range(500):
            cur = await c.execute("SELECT count(*) FROM pg_stat_activity"
                                  " WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
            if (await cur.fetchone()) != (0,):
                return
            await asyncio.sleep(0.02)
    raise AssertionError("the second recording never waited on the first")


async def test_the_mark_of_delivered_suggestions_is_retried_on_a_transient_error(
        uri: str, bare: Conn) -> None:
    # After a delivery, its suggestions are marked delivered in a transaction of their own,
    # which can meet another session's lock on them (in CI: a deadlock lost to another
    # worker). Here it waits on another session's row lock and its statement is cancelled
    # (a transient error, as a deadlock is): it must be retried, not fail the delivery.
    assert await configure_channels(bare, SCHEMA, (), []) == ()  # outbox only
    user = await one_notification(bare)
    async with await psycopg.AsyncConnection.connect(uri) as other:
        await other.execute(f"UPDATE {SCHEMA}.suggestions SET status_changed_at ="
                            " status_changed_at WHERE user_id = %s", (user,))
        delivering = asyncio.create_task(deliver_due(bare, SCHEMA, [], NOW))
        async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as admin:
            pid = await _waiting_on_a_lock(admin, "%status = 'delivered'%")
            await admin.execute("SELECT pg_cancel_backend(%s)", (pid,))
        await other.commit()
    assert await delivering == DeliveryReport(picked=1, delivered=1)
    assert await rows(bare, f"SELECT status FROM {SCHEMA}.suggestions WHERE user_id = %s",
                      user) == [("delivered",)]


async def _waiting_on_a_lock(admin: psycopg.AsyncConnection[Any], query: str) -> int:
    """The pid of the session running a statement like ``query`` once it waits on a lock."""
    for _ in range(500):
        cur = await admin.execute("SELECT pid FROM pg_stat_activity WHERE wait_event_type ="
                                  " 'Lock' AND query LIKE %s", (query,))
        if found := await cur.fetchone():
            return int(found[0])
        await asyncio.sleep(0.02)
    raise AssertionError("no statement like that waited on a lock")


async def test_the_first_process_with_credentials_records_its_channel(bare: Conn) -> None:
    assert await configure_channels(bare, SCHEMA, None, ["webhook"]) == ("webhook",)
    assert await configure_channels(bare, SCHEMA, None, []) == ("webhook",)  # unchanged
    assert await configure_channels(bare, SCHEMA, ("webhook",), []) == ("webhook",)


async def test_a_process_without_credentials_leaves_the_rows(
        conn: Conn, receiver: Receiver, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    await one_notification(conn)
    monkeypatch.setattr(delivery, "_said", set())  # as in a fresh process
    caplog.set_level(logging.WARNING, logger=delivery.__name__)
    for moment in (NOW, NOW + timedelta(hours=1)):  # say it once, not every run
        assert await drain_due(conn, SCHEMA, [], moment) == DeliveryReport()
    said = [r for r in caplog.records if "no credentials for channel(s) webhook" in r.message]
    assert len(said) == 1
    [(_, delivered_at, attempts, _, _, _, _)] = await outbox_state(conn)
    assert (delivered_at, attempts) == (None, 0)  # untouched: not claimed, not delivered
    assert await rows(conn, "SELECT status FROM pam_proactive.suggestions") == [("open",)]
    # A process that has them delivers.
    report = await drain_due(conn, SCHEMA, [webhook(receiver.url)], NOW + timedelta(hours=1))
    assert report == DeliveryReport(picked=1, delivered=1, attempts=1)


async def _pending_share(conn: Conn) -> float:
    """The share of outbox rows the planner's statistics take for undelivered."""
    [(share,)] = await rows(conn, "SELECT null_frac FROM pg_stats WHERE schemaname = %s"
                            " AND tablename = 'outbox' AND attname = 'delivered_at'", SCHEMA)
    return float(share)


@pytest.mark.parametrize("notified", [1_200, 40])
async def test_a_large_drain_refreshes_the_outbox_statistics(conn: Conn, notified: int) -> None:
    # A first sweep's ANALYZE sees every row pending; once they are delivered, the claim
    # must be planned for the empty queue, not scan the outbox and suggestions whole.
    await set_channels(conn, SCHEMA, [])
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
# Leases, concurrency, a hanging receiver
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

        async def send(self, item: OutboxItem) -> Attempt:
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
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert len(ids) == 24 and len(set(ids)) == 24
    [(n_ok, n_rows)] = await rows(
        conn, "SELECT count(*) FILTER (WHERE ok), count(*) FROM pam_proactive.deliveries"
    )
    assert (n_ok, n_rows) == (24, 24)
    [(undelivered,)] = await rows(
        conn, "SELECT count(*) FROM pam_proactive.outbox WHERE delivered_at IS NULL"
    )
    assert undelivered == 0


async def test_concurrency_is_bounded_by_the_setting(conn: Conn, receiver: Receiver) -> None:
    for _ in range(12):
        await one_notification(conn)
    receiver.delay = 0.15
    report = await deliver_due(conn, SCHEMA, [webhook(receiver.url, concurrency=3)], NOW)
    assert report.delivered == 12
    assert receiver.max_in_flight == 3  # not the event loop's default thread pool


async def test_the_concurrency_setting_controls_the_engine_s_channel(
        bare: Conn, uri: str, receiver: Receiver) -> None:
    for _ in range(8):
        await one_notification(bare)
    receiver.delay = 0.15
    settings = settings_for("seed", webhook_url=receiver.url, webhook_secret=SECRET,
                            delivery_concurrency=2)
    async with open_engine(settings, conninfo=uri) as engine:
        report = await deliver_outbox(engine, NOW)  # records PAM_CHANNELS=webhook first
    assert report == DeliveryReport(picked=8, delivered=8, attempts=8)
    assert receiver.max_in_flight == 2


async def test_a_hanging_receiver_never_delays_a_dismissal(
        conn: Conn, receiver: Receiver) -> None:
    await one_notification(conn)
    [(suggestion_id,)] = await rows(conn, "SELECT id FROM pam_proactive.suggestions")
    receiver.script = [Reply(200, hang=3.0)]
    sending = asyncio.create_task(deliver_due(conn, SCHEMA, [webhook(receiver.url)], NOW))
    while not receiver.requests:  # the send is under way and the receiver hangs
        await asyncio.sleep(0.01)
    started = walltime.perf_counter()
    assert await dismiss(conn, SCHEMA, suggestion_id, NOW + timedelta(seconds=1))
    took = walltime.perf_counter() - started
    assert took < 1.0, f"the dismissal waited {took:.2f}s on a receiver"
    assert not sending.done()  # the receiver was still hanging while we dismissed
    report = await sending
    assert report.delivered == 1  # the receiver did accept it: recorded as it happened
    [(delivered_at, cancelled_at)] = await rows(
        conn, "SELECT delivered_at, cancelled_at FROM pam_proactive.outbox")
    assert delivered_at == NOW and cancelled_at == NOW + timedelta(seconds=1)
    # ... and the traveler's dismissal stands.
    assert await rows(conn, "SELECT status FROM pam_proactive.suggestions") == [("dismissed",)]


async def test_a_timeout_is_a_failed_attempt(conn: Conn, receiver: Receiver) -> None:
    await one_notification(conn)
    receiver.script = [Reply(200, hang=2.0)]
    started = walltime.perf_counter()
    report = await deliver_due(conn, SCHEMA, [webhook(receiver.url, timeout=0.5)], NOW)
    assert walltime.perf_counter() - started < 1.9
    assert report == DeliveryReport(picked=1, failed=1, attempts=1)
    assert [r[5] for r in await deliveries(conn)] == ["timeout after 0.5s"]


async def test_a_crashed_claim_is_taken_over_after_its_lease(
        conn: Conn, receiver: Receiver) -> None:
    await one_notification(conn)
    receiver.script = [Reply(200, hang=2.0)]
    crashed = asyncio.create_task(deliver_due(conn, SCHEMA, [webhook(receiver.url)], NOW))
    while not receiver.requests:
        await asyncio.sleep(0.01)
    crashed.cancel()  # the process dies mid-send: no outcome is recorded
    with pytest.raises(asyncio.CancelledError):
        await crashed
    other = webhook(receiver.url)
    assert await deliver_due(conn, SCHEMA, [other], NOW) == DeliveryReport()  # still leased
    [(leased,)] = await rows(conn, "SELECT leased_until > now() FROM pam_proactive.outbox")
    assert leased
    async with conn.transaction("test.expire_lease") as tx:  # time passes: the lease runs out
        await tx.execute("test.expire_lease", "UPDATE pam_proactive.outbox"
                         " SET leased_until = clock_timestamp() - interval '1 second'")
    report = await deliver_due(conn, SCHEMA, [other], NOW)
    assert report == DeliveryReport(picked=1, delivered=1, attempts=1)
    # At least once: the crashed send reached the receiver too, under the same webhook-id.
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1


# --------------------------------------------------------------------------------------------
# Circuit breaker
# --------------------------------------------------------------------------------------------


async def test_the_circuit_opens_waits_and_probes(conn: Conn, receiver: Receiver) -> None:
    for _ in range(5):
        await one_notification(conn)
    policy = RetryPolicy(jitter=0.0, circuit_failures=3, circuit_cooldown=0.5)
    channel = webhook(receiver.url)
    receiver.outage = 503
    report = await deliver_due(conn, SCHEMA, [channel], NOW, policy=policy)
    assert report == DeliveryReport(picked=5, failed=5, attempts=5)
    later = NOW + timedelta(hours=1)  # every row is due again
    # Open: nothing is sent, and the rows' schedule is not consumed.
    assert await deliver_due(conn, SCHEMA, [channel], later, policy=policy) == DeliveryReport()
    assert len(receiver.requests) == 5
    assert {r[2] for r in await outbox_state(conn)} == {1}
    await asyncio.sleep(0.6)
    # Half-open: one probe, which fails: open again.
    assert await deliver_due(conn, SCHEMA, [channel], later, policy=policy) == DeliveryReport(
        picked=1, failed=1, attempts=1)
    assert await deliver_due(conn, SCHEMA, [channel], later, policy=policy) == DeliveryReport()
    assert len(receiver.requests) == 6
    receiver.outage = None
    await asyncio.sleep(0.6)
    # The probe succeeds: closed, and the rest follows.
    assert await deliver_due(conn, SCHEMA, [channel], later, policy=policy) == DeliveryReport(
        picked=1, delivered=1, attempts=1)
    report = await drain_due(conn, SCHEMA, [channel], later + timedelta(hours=1), policy=policy)
    assert report == DeliveryReport(picked=4, delivered=4, attempts=4)
    assert set(receiver.accepted().values()) == {1} and len(receiver.accepted()) == 5


async def test_one_quick_success_among_hanging_attempts_does_not_reset_the_circuit(
        conn: Conn, receiver: Receiver) -> None:
    """A receiver half down: it accepts the first request at once and the others only time
    out. The failures that ended after the success are consecutive: the circuit opens (a
    count reset by any success in the batch never would)."""
    for _ in range(6):
        await one_notification(conn)
    policy = RetryPolicy(jitter=0.0, circuit_failures=3, circuit_cooldown=60)
    channel = webhook(receiver.url, timeout=0.5)
    receiver.script = [Reply(200), *[Reply(200, hang=2.0)] * 5]
    report = await deliver_due(conn, SCHEMA, [channel], NOW, policy=policy)
    assert report == DeliveryReport(picked=6, delivered=1, failed=5, attempts=6)
    assert await rows(conn, "SELECT failures, open_until > now()"
                            " FROM pam_proactive.channel_circuits") == [(5, True)]
    # Open: the five failed rows wait, their schedule not consumed.
    later = NOW + timedelta(hours=1)
    assert await deliver_due(conn, SCHEMA, [channel], later, policy=policy) == DeliveryReport()
    assert {r[2] for r in await outbox_state(conn) if r[2]} == {1}


async def test_failures_before_a_success_do_not_count(conn: Conn, receiver: Receiver) -> None:
    """The other way round: the failures ended before the batch's last success, which
    resets the count; a healthy receiver's occasional error never opens the circuit."""
    for _ in range(6):
        await one_notification(conn)
    policy = RetryPolicy(jitter=0.0, circuit_failures=3, circuit_cooldown=60)
    channel = webhook(receiver.url, concurrency=1)  # one at a time: the order is the script's
    receiver.script = [500, 500, 500, 500, 500, 200]
    report = await deliver_due(conn, SCHEMA, [channel], NOW, policy=policy)
    assert report == DeliveryReport(picked=6, delivered=1, failed=5, attempts=6)
    assert await rows(conn, "SELECT failures, open_until FROM pam_proactive.channel_circuits"
                      ) == [(0, None)]


# --------------------------------------------------------------------------------------------
# End to end: an hour's outage of a real receiver process, with the circuit breaker on
# --------------------------------------------------------------------------------------------


async def test_an_hour_long_outage_with_new_notifications_loses_and_doubles_nothing(
        conn: Conn, receiver: Receiver) -> None:
    """The issue's "Done when": the engine's clock runs through 70 minutes of outage (500s,
    then a receiver that hangs past the timeout, then 500s again) with a delivery run every 5
    simulated minutes and new notifications at each; the circuit breaker is on (its cool-down
    is real time: short here). A dismissal while the receiver hangs completes within the
    normal write time. Once the receiver is back, every live notification is accepted exactly
    once, none is dead, the dismissed one is never sent."""
    policy = RetryPolicy(jitter=0.1, rng=random.Random(14), circuit_failures=10,
                         circuit_cooldown=0.2)
    channel = webhook(receiver.url, timeout=0.3)
    back_at = NOW + timedelta(minutes=70)
    now, dismissed, dismiss_took, sent_before = NOW, None, None, 0
    receiver.outage = 500
    for step in range(15):  # 0, 5, ..., 70 minutes
        now = NOW + timedelta(minutes=5 * step)
        for n in range(3):  # the sweep of this moment stores new notifications
            u = uuid.uuid4()
            result = await apply(conn, [cand(u, f"{step}-{n}", Priority.HIGH, at=now)],
                                 [profile(u)], now)
            assert result.notified == 1
        if step == 6:  # 30 minutes in: the receiver hangs past the channel's timeout
            receiver.outage = None
            receiver.delay = 2.0
        if step == 9:  # 45 minutes in: failing fast again
            receiver.delay = 0.0
            receiver.outage = 503
        if now >= back_at:
            receiver.outage = None
        if step == 7:  # a traveler dismisses while a delivery run waits on the receiver
            [(target,)] = await rows(conn, "SELECT s.id FROM pam_proactive.suggestions s"
                                     " WHERE s.dedup_key = 'maintenance_overdue:7-0'")
            await asyncio.sleep(0.25)  # the open circuit's cool-down: this run probes
            running = asyncio.create_task(drain_due(conn, SCHEMA, [channel], now,
                                                    policy=policy))
            while not running.done() and len(receiver.requests) == sent_before:
                await asyncio.sleep(0.01)
            started = walltime.perf_counter()
            assert await dismiss(conn, SCHEMA, target, now + timedelta(seconds=1))
            dismiss_took = walltime.perf_counter() - started
            dismissed = target
            await running
        else:
            await asyncio.sleep(0.25)  # real time between runs: circuits may probe
            await drain_due(conn, SCHEMA, [channel], now, policy=policy)
        sent_before = len(receiver.requests)
    assert dismiss_took is not None and dismiss_took < 0.5, dismiss_took
    # The outage is over: later runs, each at the next moment something is due.
    for _ in range(40):
        [(pending, due, dead)] = await rows(
            conn, "SELECT count(*) FILTER (WHERE delivered_at IS NULL AND dead_at IS NULL"
            "  AND cancelled_at IS NULL),"
            " min(deliver_after) FILTER (WHERE delivered_at IS NULL AND dead_at IS NULL"
            "  AND cancelled_at IS NULL),"
            " count(*) FILTER (WHERE dead_at IS NOT NULL) FROM pam_proactive.outbox")
        assert dead == 0
        if not pending:
            break
        now = max(now + timedelta(minutes=5), due)
        await asyncio.sleep(0.25)
        await drain_due(conn, SCHEMA, [channel], now, policy=policy)
    else:
        raise AssertionError("notifications still pending long after the outage")
    assert now < back_at + timedelta(hours=3)  # the schedule's delays, not a day
    accepted = receiver.accepted()
    live = await rows(conn, "SELECT o.message_id FROM pam_proactive.outbox o"
                            " WHERE o.cancelled_at IS NULL")
    assert len(live) == 15 * 3 - 1  # every notification but the dismissed one
    assert set(accepted) == {delivery.message_id(m) for (m,) in live}  # nothing lost
    # The engine sent each once with success; a receiver that answered 2xx only after the
    # engine's timeout gave up (the hanging phase) got that notification again, under the
    # same webhook-id: at least once, deduplicated by the receiver. No other duplicate.
    ok_sends = await rows(conn, "SELECT o.message_id, count(*) FILTER (WHERE d.ok),"
                                " count(*) FILTER (WHERE d.error LIKE 'timeout%%')"
                                " FROM pam_proactive.outbox o JOIN pam_proactive.deliveries d"
                                " ON d.outbox_id = o.id GROUP BY 1")
    assert {delivery.message_id(m) for m, ok, _ in ok_sends if ok} == set(accepted)
    assert all(ok <= 1 for _, ok, _ in ok_sends)
    timeouts = {delivery.message_id(m): t for m, _, t in ok_sends}
    assert all(n - 1 <= timeouts[m] for m, n in accepted.items()), (accepted, timeouts)
    [(target_msg,)] = await rows(conn, "SELECT message_id FROM pam_proactive.outbox"
                                       " WHERE suggestion_id = %s", dismissed)
    assert delivery.message_id(target_msg) not in accepted
    assert await rows(conn, "SELECT status, count(*) FROM pam_proactive.suggestions"
                            " GROUP BY 1 ORDER BY 1") == [("delivered", 44), ("dismissed", 1)]
    # The breaker did its job: far fewer requests than rows times runs during the outage.
    assert len(receiver.requests) < 45 * 8
