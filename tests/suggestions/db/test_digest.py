"""The daily digest: real PostgreSQL, real webhook POSTs to the receiver process, the engine's
clock driven through a traveler's local day.

The travelers live in America/Denver (UTC-6 in June) unless said otherwise: their 08:00 digest
is due at 14:00 UTC."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from conftest import MakeDatabase, settings_for
from pam_proactive.config import Settings
from pam_proactive.context import Profile
from pam_proactive.db.connection import Database
from pam_proactive.observability import metrics
from pam_proactive.suggestions.dead_letters import dead_by_channel, replay
from pam_proactive.suggestions.delivery import (
    RetryPolicy,
    WebhookChannel,
    drain_due,
    set_channels,
)
from pam_proactive.suggestions.digest import DigestPolicy, digest_slots
from pam_proactive.suggestions.models import Candidate, Priority
from pam_proactive.suggestions.store import (
    ApplyResult,
    DeliveryPolicy,
    apply_candidates,
    dismiss,
)
from receiver import SECRET, Receiver, Reply
from suggestions.detectors.factory import make_profile

OpenDatabase = Callable[[str, Settings], Awaitable[Database]]
SCHEMA = "pam_proactive"
EXACT = RetryPolicy(jitter=0.0, circuit_failures=1_000_000)
NOW = datetime(2025, 6, 10, 15, 0, tzinfo=UTC)  # 09:00 in Denver
DIGEST_AT = datetime(2025, 6, 11, 14, 0, tzinfo=UTC)  # 08:00 in Denver, the next morning
POLICY = DeliveryPolicy()  # the engine's defaults: digest on, 08:00, low and medium


def profile(*, tz: str = "America/Denver", quiet: tuple[time, time] | None = None,
            cap: int | None = None) -> Profile:
    return make_profile(user_id=uuid4(), timezone=tz, opted_out=False,
                        disabled_types=frozenset(), quiet_start=quiet[0] if quiet else None,
                        quiet_end=quiet[1] if quiet else None, daily_cap=cap)


def cand(who: Profile, key: str, priority: Priority, at: datetime = NOW) -> Candidate:
    return Candidate(user_id=str(who.user_id), type="maintenance_due_soon", priority=priority,
                     title=f"{key} due", message=f"The {key} is due soon.",
                     dedup_key=f"maintenance_due_soon:{key}", data={"miles_left": 300},
                     computed_for=at)


async def apply(db: Database, candidates: Sequence[Candidate], profiles: Sequence[Profile],
                now: datetime = NOW, policy: DeliveryPolicy = POLICY) -> ApplyResult:
    return await apply_candidates(db, schema=SCHEMA, user_ids=[p.user_id for p in profiles],
                                  candidates=candidates,
                                  profiles={p.user_id: p for p in profiles}, now=now,
                                  policy=policy)


@pytest.fixture
async def db(make_database: MakeDatabase, open_database: OpenDatabase) -> Database:
    uri = await make_database("seed")
    opened = await open_database(uri, settings_for("seed"))
    await set_channels(opened, SCHEMA, ["webhook"])
    return opened


async def drain(db: Database, receiver: Receiver, now: datetime) -> int:
    """Drain at ``now``; return the rows delivered."""
    channel = WebhookChannel(receiver.url, SECRET, timeout=5.0)
    return (await drain_due(db, SCHEMA, [channel], now, policy=EXACT)).delivered


def bodies(receiver: Receiver) -> list[dict[str, Any]]:
    """Every POST's JSON, after checking that the shipped verifier accepted each one."""
    got = receiver.requests
    assert all(r.verified for r in got)
    return [json.loads(r.body) for r in got]


async def digests(db: Database, user: UUID) -> list[tuple[Any, ...]]:
    return await db.fetch("test.digests", "SELECT digest_day, delivered_at, cancelled_at FROM"
                          " pam_proactive.outbox WHERE event = 'digest' AND user_id = %s"
                          " ORDER BY id", (user,))


async def test_three_items_one_post_at_the_local_hour_in_priority_order(
        db: Database, receiver: Receiver) -> None:
    who = profile()
    low, old, new = (cand(who, "tires", Priority.LOW), cand(who, "brakes", Priority.MEDIUM),
                     cand(who, "filter", Priority.MEDIUM, NOW + timedelta(hours=1)))
    first = await apply(db, [low, old], [who])
    assert (first.notified, first.digest_items, first.held_quiet_hours) == (2, 2, 0)
    later = NOW + timedelta(hours=1)
    assert (await apply(db, [low, old, new], [who], later)).digest_items == 1
    # Nothing goes out one by one, nor a minute before the traveler's 08:00.
    for moment in (NOW, later, DIGEST_AT - timedelta(minutes=1)):
        assert await drain(db, receiver, moment) == 0
    assert receiver.requests == []

    sent, items = (metrics.REGISTRY.get_sample_value(name) or 0.0
                   for name in ("pam_digests_sent_total", "pam_digest_items_sum"))
    assert await drain(db, receiver, DIGEST_AT) == 1
    # /metrics: one digest sent, carrying three items.
    assert metrics.REGISTRY.get_sample_value("pam_digests_sent_total") == sent + 1
    assert metrics.REGISTRY.get_sample_value("pam_digest_items_sum") == items + 3
    [body] = bodies(receiver)
    assert (body["event"], body["user_id"], body["digest_day"], body["count"]) == (
        "digest", str(who.user_id), "2025-06-11", 3)
    # Priority first, then the newest: filter (medium, an hour newer), brakes, tires.
    assert [i["dedup_key"] for i in body["items"]] == [
        "maintenance_due_soon:filter", "maintenance_due_soon:brakes", "maintenance_due_soon:tires"]
    item = body["items"][0]
    assert (item["type"], item["priority"], item["title"], item["message"], item["event"]) == (
        "maintenance_due_soon", "medium", "filter due", "The filter is due soon.", "created")
    assert {"id", "data", "created_at", "status"} <= item.keys()
    # The items' suggestions are delivered (the relevance counts read the items' rows).
    statuses = await db.fetch("test.statuses", "SELECT status, count(*) FROM"
                              " pam_proactive.suggestions GROUP BY 1", ())
    assert statuses == [("delivered", 3)]
    [(delivered,)] = await db.fetch(
        "test.items", "SELECT count(*) FROM pam_proactive.outbox WHERE digest_item"
        " AND delivered_at = %s", (DIGEST_AT,))
    assert delivered == 3

    # Drains and sweeps repeated, at the same moment or later that day: nothing new.
    await asyncio.gather(drain(db, receiver, DIGEST_AT), drain(db, receiver, DIGEST_AT))
    await apply(db, [low, old, new], [who], DIGEST_AT)
    assert await drain(db, receiver, DIGEST_AT + timedelta(hours=3)) == 0
    assert len(receiver.requests) == 1
    assert len(await digests(db, who.user_id)) == 1


async def test_resolved_dismissed_and_snoozed_items_are_left_out(
        db: Database, receiver: Receiver) -> None:
    who, emptied = profile(), profile()
    keep, gone, dropped = (cand(who, k, Priority.LOW) for k in ("tires", "brakes", "wipers"))
    await apply(db, [keep, gone, dropped, cand(emptied, "tires", Priority.MEDIUM)],
                [who, emptied])
    [(dropped_id,)] = await db.fetch("test.id", "SELECT id FROM pam_proactive.suggestions"
                                     " WHERE dedup_key = %s", (dropped.dedup_key,))
    assert await dismiss(db, SCHEMA, dropped_id, NOW + timedelta(hours=2))
    # The next sweep no longer finds "brakes" (resolved) nor anything for the other traveler.
    await apply(db, [keep], [who, emptied], NOW + timedelta(hours=3))

    assert await drain(db, receiver, DIGEST_AT) == 1
    [body] = bodies(receiver)
    assert [i["dedup_key"] for i in body["items"]] == ["maintenance_due_soon:tires"]
    assert body["count"] == 1
    # A digest with nothing left is not written, let alone sent.
    assert await digests(db, emptied.user_id) == []


async def test_an_item_closed_between_retries_leaves_the_retried_digest(
        db: Database, receiver: Receiver) -> None:
    who = profile()
    await apply(db, [cand(who, "tires", Priority.LOW), cand(who, "brakes", Priority.MEDIUM)],
                [who])
    receiver.script = [Reply(500)]
    assert await drain(db, receiver, DIGEST_AT) == 0  # failed: retried 5 s later
    [(brakes,)] = await db.fetch("test.id", "SELECT id FROM pam_proactive.suggestions"
                                 " WHERE dedup_key = 'maintenance_due_soon:brakes'", ())
    assert await dismiss(db, SCHEMA, brakes, DIGEST_AT + timedelta(seconds=1))
    assert await drain(db, receiver, DIGEST_AT + timedelta(seconds=5)) == 1
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]  # one notification
    assert [len(json.loads(r.body)["items"]) for r in (first, second)] == [2, 1]
    # Then its last item goes too: a replay of the digest finds nothing live and sends nothing.
    [(tires,)] = await db.fetch("test.id", "SELECT id FROM pam_proactive.suggestions"
                                " WHERE dedup_key = 'maintenance_due_soon:tires'", ())
    assert await dismiss(db, SCHEMA, tires, DIGEST_AT + timedelta(minutes=1))
    [(digest_id,)] = await db.fetch("test.digest", "SELECT id FROM pam_proactive.outbox"
                                    " WHERE event = 'digest'", ())
    replayed = DIGEST_AT + timedelta(minutes=2)
    assert await replay(db, SCHEMA, replayed, ids=[digest_id]) == [digest_id]
    assert await drain(db, receiver, replayed) == 0
    assert len(receiver.requests) == 2
    [(_, _, cancelled)] = await digests(db, who.user_id)
    assert cancelled is not None


async def test_a_digest_the_receiver_never_takes_is_dead_then_replayed(
        db: Database, receiver: Receiver) -> None:
    who = profile()
    await apply(db, [cand(who, "tires", Priority.LOW), cand(who, "brakes", Priority.MEDIUM)],
                [who])
    receiver.outage = 500
    moment = DIGEST_AT
    for delay in (0.0, *EXACT.delays):  # the whole retry schedule, every attempt refused
        moment += timedelta(seconds=delay)
        assert await drain(db, receiver, moment) == 0
    assert len(receiver.requests) == 1 + len(EXACT.delays)
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    assert await dead_by_channel(db, SCHEMA) == {"webhook": 1}  # one dead notification
    receiver.outage = None
    assert await replay(db, SCHEMA, moment, dead=True) != []
    assert await drain(db, receiver, moment) == 1
    assert bodies(receiver)[-1]["count"] == 2
    [(delivered,)] = await db.fetch("test.items", "SELECT count(*) FROM pam_proactive.outbox"
                                    " WHERE digest_item AND delivered_at IS NOT NULL", ())
    assert delivered == 2 and await dead_by_channel(db, SCHEMA) == {"webhook": 0}


async def test_high_goes_out_at_once_and_an_escalation_leaves_the_digest(
        db: Database, receiver: Receiver) -> None:
    who = profile()
    await apply(db, [cand(who, "tires", Priority.LOW), cand(who, "brakes", Priority.HIGH),
                     cand(who, "filter", Priority.MEDIUM)], [who])
    assert await drain(db, receiver, NOW) == 1
    [single] = bodies(receiver)
    assert (single["event"], single["priority"], single["dedup_key"]) == (
        "created", "high", "maintenance_due_soon:brakes")
    # The filter becomes urgent before the digest: it goes at once, and not in the digest.
    later = NOW + timedelta(hours=4)
    await apply(db, [cand(who, "tires", Priority.LOW), cand(who, "brakes", Priority.HIGH),
                     cand(who, "filter", Priority.HIGH, later)], [who], later)
    assert await drain(db, receiver, later) == 1
    assert (bodies(receiver)[1]["event"], bodies(receiver)[1]["priority"]) == (
        "escalated", "high")
    assert await drain(db, receiver, DIGEST_AT) == 1
    digest = bodies(receiver)[2]
    assert [i["dedup_key"] for i in digest["items"]] == ["maintenance_due_soon:tires"]


async def test_the_daily_cap_counts_a_digest_once(db: Database, receiver: Receiver) -> None:
    who = profile(cap=2)
    # Five non-urgent ones take no slot: none is capped.
    early = await apply(db, [cand(who, f"part{i}", Priority.LOW) for i in range(5)], [who])
    assert (early.digest_items, early.capped) == (5, 0)
    assert await drain(db, receiver, DIGEST_AT) == 1
    assert bodies(receiver)[0]["count"] == 5
    # The digest took one of today's two slots: of two urgent ones, one goes, one is capped.
    urgent = [cand(who, f"part{i}", Priority.LOW) for i in range(5)] + [
        cand(who, "brakes", Priority.HIGH, DIGEST_AT), cand(who, "axle", Priority.HIGH, DIGEST_AT)]
    after = await apply(db, urgent, [who], DIGEST_AT + timedelta(hours=1))
    assert (after.notified, after.capped) == (1, 1)


async def test_quiet_hours_move_the_digest_to_their_end(db: Database,
                                                         receiver: Receiver) -> None:
    who = profile(quiet=(time(22, 0), time(9, 30)))
    result = await apply(db, [cand(who, "tires", Priority.LOW)], [who])
    assert (result.digest_items, result.held_quiet_hours) == (1, 0)
    # It is 09:00 in Denver: today's 08:00 digest moved to 09:30, the end of quiet hours.
    assert await drain(db, receiver, NOW + timedelta(minutes=29)) == 0
    assert await drain(db, receiver, NOW + timedelta(minutes=30)) == 1
    assert bodies(receiver)[0]["digest_day"] == "2025-06-10"
    # Tomorrow's as well: not at 08:00, at 09:30.
    tomorrow = [cand(who, "tires", Priority.LOW), cand(who, "wipers", Priority.LOW)]
    await apply(db, tomorrow, [who], NOW + timedelta(hours=2))
    assert await drain(db, receiver, DIGEST_AT + timedelta(hours=1)) == 0
    assert await drain(db, receiver, DIGEST_AT + timedelta(hours=1, minutes=30)) == 1
    assert bodies(receiver)[1]["digest_day"] == "2025-06-11"


async def test_an_item_after_todays_digest_waits_for_tomorrows(db: Database,
                                                                receiver: Receiver) -> None:
    who = profile(tz="Europe/Berlin")  # 08:00 in Berlin is 06:00 UTC in June
    await apply(db, [cand(who, "tires", Priority.LOW)], [who])
    berlin_digest = datetime(2025, 6, 11, 6, 0, tzinfo=UTC)
    assert await drain(db, receiver, berlin_digest - timedelta(seconds=1)) == 0
    assert await drain(db, receiver, berlin_digest) == 1
    # Written at 08:00 sharp, after that digest went: the next day's.
    await apply(db, [cand(who, "tires", Priority.LOW), cand(who, "wipers", Priority.MEDIUM)],
                [who], berlin_digest)
    assert await drain(db, receiver, berlin_digest + timedelta(hours=23)) == 0
    assert await drain(db, receiver, berlin_digest + timedelta(days=1)) == 1
    days = [b["digest_day"] for b in bodies(receiver)]
    assert days == ["2025-06-11", "2025-06-12"]
    assert [i["dedup_key"] for i in bodies(receiver)[1]["items"]] == [
        "maintenance_due_soon:wipers"]


async def test_a_travelers_own_choices_win(db: Database, receiver: Receiver) -> None:
    off, evening, only_low = profile(), profile(), profile()
    for who, changes in ((off, {"digest": False}), (evening, {"digest_hour": 19}),
                         (only_low, {"digest_priorities": ["low"]})):
        await db.fetch("test.prefs", "SELECT pam_proactive.update_preferences(%s, %s::jsonb)",
                       (who.user_id, json.dumps(changes)))
    travelers = [off, evening, only_low]
    await apply(db, [cand(w, "tires", Priority.MEDIUM) for w in travelers], travelers)
    assert await drain(db, receiver, NOW) == 2  # digest off; medium not among only_low's
    assert sorted(b["user_id"] for b in bodies(receiver)) == sorted(
        str(w.user_id) for w in (off, only_low))
    # 19:00 in Denver is 01:00 UTC the next day; today's 19:00 is still ahead at 09:00.
    assert await drain(db, receiver, datetime(2025, 6, 11, 0, 59, tzinfo=UTC)) == 0
    assert await drain(db, receiver, datetime(2025, 6, 11, 1, 0, tzinfo=UTC)) == 1
    assert bodies(receiver)[2]["event"] == "digest"
    # The engine-wide switch: off, every notification goes at once.
    again = profile()
    result = await apply(db, [cand(again, "tires", Priority.LOW)], [again],
                         policy=DeliveryPolicy(digest=DigestPolicy(enabled=False)))
    assert (result.notified, result.digest_items) == (1, 0)


def test_digest_slots_follow_the_local_clock_and_daylight_saving() -> None:
    who = make_profile(timezone="America/New_York", quiet_start=None, quiet_end=None)
    # The night the clocks go forward (2025-03-09): 08:00 EDT is 12:00 UTC, the day before
    # 08:00 EST was 13:00 UTC.
    first, second = digest_slots(who, 8, datetime(2025, 3, 8, 14, 0, tzinfo=UTC))
    assert (first.day.isoformat(), first.at, second.at) == (
        "2025-03-09", datetime(2025, 3, 9, 12, 0, tzinfo=UTC),
        datetime(2025, 3, 10, 12, 0, tzinfo=UTC))
    same, _ = digest_slots(who, 8, datetime(2025, 3, 9, 12, 0, tzinfo=UTC))
    assert same.at == datetime(2025, 3, 9, 12, 0, tzinfo=UTC)  # at the hour: this one
    # 23:00 inside quiet hours 22:00-07:00: the digest comes at 07:00 the next morning, and at
    # 06:00 that morning the next one is still yesterday's, an hour away.
    night = make_profile(timezone="UTC", quiet_start=time(22, 0), quiet_end=time(7, 0))
    late, _ = digest_slots(night, 23, datetime(2025, 6, 11, 6, 0, tzinfo=UTC))
    assert (late.day.isoformat(), late.at) == ("2025-06-10",
                                               datetime(2025, 6, 11, 7, 0, tzinfo=UTC))
    with pytest.raises(ValueError, match="without critical"):
        DigestPolicy(priorities=frozenset({Priority.CRITICAL}))
