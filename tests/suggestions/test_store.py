"""The suggestion lifecycle against a real PostgreSQL: never a duplicate, never a repeat."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest

from conftest import MakeDatabase, settings_for
from pam_proactive.config import Settings
from pam_proactive.context import Profile
from pam_proactive.db.connection import Database
from pam_proactive.observability import metrics
from pam_proactive.suggestions.digest import DigestPolicy, digest_slots, policy_of
from pam_proactive.suggestions.models import Candidate, Priority
from pam_proactive.suggestions.store import (
    ApplyResult,
    DeliveryPolicy,
    _user_columns,
    apply_candidates,
    dismiss,
    list_suggestions,
    local_day_bounds,
    mark_acted,
    quiet_hours_end,
)
from suggestions.detectors.factory import make_profile

SCHEMA = "pam_proactive"
NOW = datetime(2025, 6, 10, 15, 0, tzinfo=UTC)  # 15:00 UTC, a Tuesday
# These tests are about single notifications: the daily digest is tested in
# suggestions/db/test_digest.py.
NO_DIGEST = DigestPolicy(enabled=False)
IMMEDIATE = DeliveryPolicy(digest=NO_DIGEST)

Conn = Database
OpenDatabase = Callable[[str, Settings], Awaitable[Database]]


def profile(
    user_id: UUID,
    *,
    tz: str = "UTC",
    opted_out: bool = False,
    disabled: Sequence[str] = (),
    quiet: tuple[time, time] | None = None,
    cap: int | None = None,
) -> Profile:
    return make_profile(
        user_id=user_id,
        timezone=tz,
        opted_out=opted_out,
        disabled_types=frozenset(disabled),
        quiet_start=quiet[0] if quiet else None,
        quiet_end=quiet[1] if quiet else None,
        daily_cap=cap,
    )


def cand(
    user_id: UUID,
    key: str,
    priority: Priority = Priority.MEDIUM,
    *,
    type_: str = "budget_exceeded",
    at: datetime = NOW,
    expires_at: datetime | None = None,
    message: str = "You are over budget.",
    data: dict[str, Any] | None = None,
) -> Candidate:
    return Candidate(
        user_id=str(user_id),
        type=type_,
        priority=priority,
        title=f"{type_} title",
        message=message,
        dedup_key=f"{type_}:{key}",
        data=data if data is not None else {"spent": 120.5, "limit": 100},
        computed_for=at,
        expires_at=expires_at,
    )


async def apply(
    conn: Conn,
    candidates: Sequence[Candidate],
    profiles: Sequence[Profile],
    now: datetime = NOW,
    policy: DeliveryPolicy | None = None,
) -> ApplyResult:
    return await apply_candidates(
        conn,
        schema=SCHEMA,
        user_ids=[p.user_id for p in profiles],
        candidates=candidates,
        profiles={p.user_id: p for p in profiles},
        now=now,
        policy=policy or IMMEDIATE,
    )


async def rows(conn: Conn, query: str, *params: Any) -> list[tuple[Any, ...]]:
    return await conn.fetch("test.rows", query, params)


async def suggestions(conn: Conn, user_id: UUID) -> list[tuple[Any, ...]]:
    """Every column of a user's suggestions, by dedup_key then creation."""
    return await rows(
        conn,
        "SELECT dedup_key, status, priority, priority_rank, notified_rank, title, message, data,"
        " computed_for, created_at, updated_at, expires_at, status_changed_at, id, type"
        " FROM pam_proactive.suggestions WHERE user_id = %s ORDER BY dedup_key, created_at",
        user_id,
    )


async def outbox(conn: Conn, user_id: UUID) -> list[tuple[Any, ...]]:
    """(dedup_key, event, priority, deliver_after, cancelled_at) of a user's outbox rows."""
    return await rows(
        conn,
        "SELECT s.dedup_key, o.event, o.priority, o.deliver_after, o.cancelled_at"
        " FROM pam_proactive.outbox o JOIN pam_proactive.suggestions s ON s.id = o.suggestion_id"
        " WHERE o.user_id = %s ORDER BY o.id",
        user_id,
    )


@pytest.fixture
async def uri(make_database: MakeDatabase) -> str:
    created: str = await make_database("seed")
    return created


@pytest.fixture
async def conn(uri: str, open_database: OpenDatabase) -> Conn:
    """The engine's instrumented connector on the test database."""
    return await open_database(uri, settings_for("seed"))


def new_user() -> UUID:
    return uuid.uuid4()


# --------------------------------------------------------------------------------------------
# No duplicates, idempotency
# --------------------------------------------------------------------------------------------


async def test_first_apply_creates_and_notifies(conn: Conn) -> None:
    u = new_user()
    result = await apply(conn, [cand(u, "a"), cand(u, "b", Priority.HIGH)], [profile(u)])
    assert result == ApplyResult(created=2, notified=2)
    stored = await suggestions(conn, u)
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in stored] == [
        ("budget_exceeded:a", "open", "medium", 2, 2),
        ("budget_exceeded:b", "open", "high", 3, 3),
    ]
    assert stored[0][7] == {"spent": 120.5, "limit": 100}
    assert stored[0][8] == NOW and stored[0][9] == NOW and stored[0][12] == NOW
    assert [r[:4] for r in await outbox(conn, u)] == [
        ("budget_exceeded:b", "created", "high", NOW),  # most important first
        ("budget_exceeded:a", "created", "medium", NOW),
    ]
    payload = (await rows(conn, "SELECT payload FROM pam_proactive.outbox ORDER BY id"))[0][0]
    assert payload["dedup_key"] == "budget_exceeded:b"
    assert payload["event"] == "created"
    assert payload["priority"] == "high"
    assert payload["user_id"] == str(u)
    assert payload["data"] == {"spent": 120.5, "limit": 100}
    assert payload["computed_for"] == "2025-06-10T15:00:00.000000Z"
    assert payload["expires_at"] is None


@pytest.mark.parametrize("later", [timedelta(0), timedelta(hours=1), timedelta(days=3)])
async def test_rerun_changes_nothing(conn: Conn, later: timedelta) -> None:
    u = new_user()
    p = profile(u)
    first = [cand(u, "a"), cand(u, "b", Priority.CRITICAL)]
    await apply(conn, first, [p])
    before_s, before_o = await suggestions(conn, u), await outbox(conn, u)
    # The detectors recompute the same content later: computed_for moves, nothing else.
    again = [cand(u, "a", at=NOW + later), cand(u, "b", Priority.CRITICAL, at=NOW + later)]
    result = await apply(conn, again, [p], now=NOW + later)
    assert result == ApplyResult()
    assert await suggestions(conn, u) == before_s
    assert await outbox(conn, u) == before_o


async def test_content_change_updates_in_place_without_notifying(conn: Conn) -> None:
    u = new_user()
    p = profile(u)
    await apply(conn, [cand(u, "a")], [p])
    later = NOW + timedelta(hours=2)
    new = cand(u, "a", at=later, message="Now $30 over.", data={"spent": 130, "limit": 100})
    result = await apply(conn, [new], [p], now=later)
    assert result == ApplyResult(updated=1)
    [row] = await suggestions(conn, u)
    assert row[1] == "open" and row[6] == "Now $30 over." and row[7] == {"spent": 130, "limit": 100}
    assert row[8] == later and row[9] == NOW and row[10] == later  # computed, created, updated
    assert len(await outbox(conn, u)) == 1


async def test_duplicate_keys_in_one_batch_keep_the_highest_priority(conn: Conn) -> None:
    u = new_user()
    result = await apply(conn, [cand(u, "a"), cand(u, "a", Priority.HIGH)], [profile(u)])
    assert result == ApplyResult(created=1, notified=1)
    assert [(r[0], r[2]) for r in await suggestions(conn, u)] == [("budget_exceeded:a", "high")]


# --------------------------------------------------------------------------------------------
# Escalation
# --------------------------------------------------------------------------------------------


async def test_escalation_notifies_once(conn: Conn) -> None:
    u = new_user()
    p = profile(u)
    t = [NOW + timedelta(hours=h) for h in range(5)]
    assert (await apply(conn, [cand(u, "a", Priority.LOW, at=t[0])], [p], t[0])).notified == 1
    up = await apply(conn, [cand(u, "a", Priority.HIGH, at=t[1])], [p], t[1])
    assert up == ApplyResult(updated=1, escalated=1, notified=1)
    assert await apply(conn, [cand(u, "a", Priority.HIGH, at=t[2])], [p], t[2]) == ApplyResult()
    down = await apply(conn, [cand(u, "a", Priority.LOW, at=t[3])], [p], t[3])
    assert down == ApplyResult(updated=1)
    # Back to high: already notified at high, so no second notification.
    back = await apply(conn, [cand(u, "a", Priority.HIGH, at=t[4])], [p], t[4])
    assert back == ApplyResult(updated=1)
    assert [r[:3] for r in await outbox(conn, u)] == [
        ("budget_exceeded:a", "created", "low"),
        ("budget_exceeded:a", "escalated", "high"),
    ]
    [row] = await suggestions(conn, u)
    assert (row[1], row[2], row[4]) == ("open", "high", 3)


async def test_escalation_supersedes_a_held_notification(conn: Conn) -> None:
    u = new_user()
    p = profile(u, quiet=(time(14, 0), time(16, 0)))
    await apply(conn, [cand(u, "a", Priority.LOW)], [p])
    later = NOW + timedelta(minutes=30)
    await apply(conn, [cand(u, "a", Priority.HIGH, at=later)], [p], now=later)
    window_end = datetime(2025, 6, 10, 16, 0, tzinfo=UTC)
    assert await outbox(conn, u) == [
        ("budget_exceeded:a", "created", "low", window_end, later),  # cancelled: superseded
        ("budget_exceeded:a", "escalated", "high", window_end, None),
    ]


# --------------------------------------------------------------------------------------------
# Resolution and expiry
# --------------------------------------------------------------------------------------------


async def test_resolution_when_condition_disappears(conn: Conn) -> None:
    u, other = new_user(), new_user()
    p, q = profile(u), profile(other)
    await apply(conn, [cand(u, "a"), cand(u, "b"), cand(other, "a")], [p, q])
    later = NOW + timedelta(hours=1)
    # Only `u` is swept this time: `other`'s suggestion must not be touched.
    result = await apply(conn, [cand(u, "a", at=later)], [p], now=later)
    assert result == ApplyResult(resolved=1)
    assert [(r[0], r[1], r[12]) for r in await suggestions(conn, u)] == [
        ("budget_exceeded:a", "open", NOW),
        ("budget_exceeded:b", "resolved", later),
    ]
    assert [r[1] for r in await suggestions(conn, other)] == ["open"]
    # A swept user with no candidates at all has everything resolved.
    assert (await apply(conn, [], [p], now=later)).resolved == 1


async def test_resolution_cancels_a_held_notification(conn: Conn) -> None:
    u = new_user()
    p = profile(u, quiet=(time(14, 0), time(16, 0)))
    await apply(conn, [cand(u, "a")], [p])
    later = NOW + timedelta(minutes=20)
    await apply(conn, [], [p], now=later)
    [(_, _, _, _, cancelled)] = await outbox(conn, u)
    assert cancelled == later


async def test_flapping_condition_is_not_notified_again(conn: Conn) -> None:
    u = new_user()
    p = profile(u)
    t1, t2, t3 = (NOW + timedelta(hours=h) for h in (1, 2, 3))
    await apply(conn, [cand(u, "a")], [p])
    await apply(conn, [], [p], now=t1)  # resolved
    back = await apply(conn, [cand(u, "a", at=t2)], [p], now=t2)
    assert back == ApplyResult(created=1)  # visible again, but no second notification
    await apply(conn, [], [p], now=t3)
    higher = await apply(conn, [cand(u, "a", Priority.HIGH, at=t3)], [p], now=t3)
    assert higher == ApplyResult(created=1, notified=1)  # a higher priority is news
    assert [r[1:3] for r in await outbox(conn, u)] == [("created", "medium"), ("created", "high")]
    assert [r[1] for r in await suggestions(conn, u)] == ["resolved", "resolved", "open"]


async def test_expiry(conn: Conn) -> None:
    u = new_user()
    p = profile(u)
    expires = NOW + timedelta(hours=1)
    await apply(conn, [cand(u, "a", expires_at=expires), cand(u, "b")], [p])
    later = NOW + timedelta(hours=2)
    # Still produced by the detector, but past its expiry: expired, not resolved, not renewed.
    same = [cand(u, "a", expires_at=expires), cand(u, "b")]
    result = await apply(conn, same, [p], now=later)
    assert result == ApplyResult(expired=1)
    assert [(r[0], r[1], r[12]) for r in await suggestions(conn, u)] == [
        ("budget_exceeded:a", "expired", later),
        ("budget_exceeded:b", "open", NOW),
    ]
    assert await apply(conn, same, [p], now=later + timedelta(hours=1)) == ApplyResult()


async def test_extended_expiry_keeps_the_suggestion(conn: Conn) -> None:
    u = new_user()
    p = profile(u)
    await apply(conn, [cand(u, "a", expires_at=NOW + timedelta(hours=1))], [p])
    later = NOW + timedelta(hours=2)
    result = await apply(
        conn, [cand(u, "a", at=later, expires_at=NOW + timedelta(hours=5))], [p], now=later
    )
    assert result == ApplyResult(updated=1)
    [row] = await suggestions(conn, u)
    assert (row[1], row[11]) == ("open", NOW + timedelta(hours=5))


# --------------------------------------------------------------------------------------------
# Cooldown after dismissal or action
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("close", [dismiss, mark_acted])
async def test_cooldown_after_dismissal(conn: Conn, close: Any) -> None:
    u = new_user()
    p = profile(u)
    await apply(conn, [cand(u, "a")], [p])
    [row] = await suggestions(conn, u)
    closed_at = NOW + timedelta(minutes=5)
    assert await close(conn, SCHEMA, row[13], closed_at) is True
    assert await close(conn, SCHEMA, row[13], closed_at) is False  # already closed
    for days in (1, 6):
        t = closed_at + timedelta(days=days)
        result = await apply(conn, [cand(u, "a", at=t)], [p], now=t)
        assert result == ApplyResult(suppressed_cooldown=1)
    after = closed_at + timedelta(days=7, minutes=1)
    result = await apply(conn, [cand(u, "a", at=after)], [p], now=after)
    assert result == ApplyResult(created=1, notified=1)
    stored = await suggestions(conn, u)
    expected = "dismissed" if close is dismiss else "acted"
    assert [(r[1], r[12]) for r in stored] == [(expected, closed_at), ("open", after)]
    assert len(await outbox(conn, u)) == 2


async def test_custom_cooldown(conn: Conn) -> None:
    u = new_user()
    p = profile(u)
    await apply(conn, [cand(u, "a")], [p])
    [row] = await suggestions(conn, u)
    await dismiss(conn, SCHEMA, row[13], NOW)
    policy = DeliveryPolicy(cooldown=timedelta(hours=1), digest=NO_DIGEST)
    t = NOW + timedelta(minutes=59)
    assert (await apply(conn, [cand(u, "a")], [p], t, policy)).suppressed_cooldown == 1
    t = NOW + timedelta(minutes=61)
    assert (await apply(conn, [cand(u, "a")], [p], t, policy)).created == 1


async def test_dismissal_cancels_a_held_notification(conn: Conn) -> None:
    u = new_user()
    p = profile(u, quiet=(time(14, 0), time(16, 0)))
    await apply(conn, [cand(u, "a")], [p])
    [row] = await suggestions(conn, u)
    assert await dismiss(conn, SCHEMA, row[13], NOW + timedelta(minutes=1))
    [(_, _, _, _, cancelled)] = await outbox(conn, u)
    assert cancelled == NOW + timedelta(minutes=1)
    assert await dismiss(conn, SCHEMA, uuid.uuid4(), NOW) is False  # unknown id


# --------------------------------------------------------------------------------------------
# Preferences
# --------------------------------------------------------------------------------------------


async def test_opted_out_user_gets_nothing_and_loses_live_ones(conn: Conn) -> None:
    u = new_user()
    await apply(conn, [cand(u, "a")], [profile(u)])
    later = NOW + timedelta(hours=1)
    result = await apply(conn, [cand(u, "a", at=later)], [profile(u, opted_out=True)], later)
    assert result == ApplyResult(resolved=1, suppressed_preferences=1)
    fresh = new_user()
    result = await apply(conn, [cand(fresh, "a")], [profile(fresh, opted_out=True)])
    assert result == ApplyResult(suppressed_preferences=1)
    assert await suggestions(conn, fresh) == []
    assert await outbox(conn, fresh) == []


@pytest.mark.parametrize("disabled", ["fuel_low", "group:fuel"])
async def test_disabled_type_or_group(conn: Conn, disabled: str) -> None:
    u = new_user()
    p = profile(u, disabled=[disabled])
    candidates = [
        cand(u, "tank", Priority.HIGH, type_="fuel_low"),
        cand(u, "food", type_="budget_exceeded"),
    ]
    if disabled == "group:fuel":
        candidates.append(cand(u, "mpg", type_="fuel_economy_drop"))
    result = await apply(conn, candidates, [p])
    assert result.created == 1 and result.notified == 1
    assert result.suppressed_preferences == len(candidates) - 1
    assert [r[14] for r in await suggestions(conn, u)] == ["budget_exceeded"]


# --------------------------------------------------------------------------------------------
# Quiet hours
# --------------------------------------------------------------------------------------------


def test_quiet_hours_end_wrapping_midnight_in_user_tz() -> None:
    p = profile(new_user(), tz="America/New_York", quiet=(time(22, 0), time(7, 0)))
    # 23:30 EDT on June 9 -> held until 07:00 EDT June 10 = 11:00 UTC.
    evening = datetime(2025, 6, 10, 3, 30, tzinfo=UTC)
    assert quiet_hours_end(p, evening) == datetime(2025, 6, 10, 11, 0, tzinfo=UTC)
    # 05:00 EDT June 10 -> same morning's 07:00 EDT.
    morning = datetime(2025, 6, 10, 9, 0, tzinfo=UTC)
    assert quiet_hours_end(p, morning) == datetime(2025, 6, 10, 11, 0, tzinfo=UTC)
    # 07:00 EDT exactly and noon EDT: not quiet.
    assert quiet_hours_end(p, datetime(2025, 6, 10, 11, 0, tzinfo=UTC)) is None
    assert quiet_hours_end(p, datetime(2025, 6, 10, 16, 0, tzinfo=UTC)) is None
    # 22:00 EDT exactly is quiet.
    at_start = datetime(2025, 6, 11, 2, 0, tzinfo=UTC)
    assert quiet_hours_end(p, at_start) == datetime(2025, 6, 11, 11, 0, tzinfo=UTC)


def test_quiet_hours_end_same_day_window_and_no_window() -> None:
    p = profile(new_user(), tz="Europe/Paris", quiet=(time(13, 0), time(15, 0)))
    # 12:30 UTC = 14:30 CEST: held until 15:00 CEST = 13:00 UTC.
    assert quiet_hours_end(p, datetime(2025, 6, 10, 12, 30, tzinfo=UTC)) == datetime(
        2025, 6, 10, 13, 0, tzinfo=UTC
    )
    assert quiet_hours_end(p, datetime(2025, 6, 10, 10, 59, tzinfo=UTC)) is None
    assert quiet_hours_end(profile(new_user()), NOW) is None
    same = profile(new_user(), quiet=(time(9, 0), time(9, 0)))
    assert quiet_hours_end(same, NOW) is None
    unknown_tz = profile(new_user(), tz="Not/AZone", quiet=(time(14, 0), time(16, 0)))
    assert quiet_hours_end(unknown_tz, NOW) == datetime(2025, 6, 10, 16, 0, tzinfo=UTC)


def test_local_day_bounds() -> None:
    p = profile(new_user(), tz="Australia/Sydney")
    # 15:00 UTC June 10 = 01:00 AEST June 11.
    assert local_day_bounds(p, NOW) == (
        datetime(2025, 6, 10, 14, 0, tzinfo=UTC),
        datetime(2025, 6, 11, 14, 0, tzinfo=UTC),
    )


def test_user_columns_share_local_instants_only_between_equal_inputs() -> None:
    """The users' columns are computed once per distinct zone, quiet hours and digest hour:
    each traveler still gets exactly their own, as computed for them alone."""
    ahead = timezone(timedelta(hours=1))
    quiet_windows: list[tuple[time, time] | None] = [
        None, (time(22, 0), time(7, 0)), (time(14, 0), time(16, 0)),
        (time(22, 0, tzinfo=UTC), time(23, 0, tzinfo=ahead)),  # equal as times: no window
        # Equal as times (05:00 UTC) but not as the clocks the quiet hours read (06:00, 05:00).
        (time(6, 0, tzinfo=ahead), time(9, 0)), (time(5, 0, tzinfo=UTC), time(9, 0)),
        (time(1, 30, fold=1), time(7, 0)), (time(1, 30), time(7, 0))]  # fold: DST's 2nd 1:30
    zones = ["UTC", "America/New_York", "Australia/Sydney", "Not/AZone"]
    users = [new_user() for _ in range(2 * len(zones) * len(quiet_windows))]
    profiles = {u: profile(u, tz=zones[i % len(zones)],
                           quiet=quiet_windows[i // len(zones) % len(quiet_windows)],
                           cap=i % 3 or None)
                for i, u in enumerate(users)}
    digests = {u: (True, 9 + i % 2, None) for i, u in enumerate(users[::3])}
    del profiles[users[-1]]  # a swept user without a profile: resolution only
    now = datetime(2025, 11, 2, 5, 45, tzinfo=UTC)  # 01:45 EDT, before New York's fall back
    policy = DeliveryPolicy()
    columns = _user_columns(users, profiles, now, policy, digests)
    assert columns[0] == users
    for i, uid in enumerate(users):
        p = profiles.get(uid)
        if p is None:
            continue
        hour = policy_of(policy.digest, digests.get(uid)).hour
        start, end = local_day_bounds(p, now)
        first, second = digest_slots(p, hour, now)
        assert [c[i] for c in columns[1:4]] == [start, end, quiet_hours_end(p, now) or now]
        assert [c[i] for c in columns[6:]] == [first.at, first.day, second.at, second.day]
    # Two travelers in UTC whose quiet starts are equal times, held differently at 05:45.
    held = {str(profiles[u].quiet_start): columns[3][i] for i, u in enumerate(users[:-1])
            if profiles[u].timezone == "UTC" and profiles[u].quiet_end == time(9, 0)}
    assert held == {"06:00:00+01:00": now,
                    "05:00:00+00:00": datetime(2025, 11, 2, 9, 0, tzinfo=UTC)}


async def test_quiet_hours_hold_the_notification_in_the_users_tz(conn: Conn) -> None:
    u = new_user()
    p = profile(u, tz="America/New_York", quiet=(time(22, 0), time(7, 0)))
    night = datetime(2025, 6, 10, 3, 30, tzinfo=UTC)  # 23:30 in New York
    result = await apply(conn, [cand(u, "a", at=night)], [p], now=night)
    assert result == ApplyResult(created=1, notified=1, held_quiet_hours=1)
    window_end = datetime(2025, 6, 10, 11, 0, tzinfo=UTC)  # 07:00 in New York
    assert await outbox(conn, u) == [("budget_exceeded:a", "created", "medium", window_end, None)]
    # Outside the window: deliverable at once.
    v = new_user()
    q = profile(v, tz="America/New_York", quiet=(time(22, 0), time(7, 0)))
    result = await apply(conn, [cand(v, "a")], [q])  # 11:00 in New York
    assert result == ApplyResult(created=1, notified=1)
    assert (await outbox(conn, v))[0][3] == NOW


async def test_held_notification_payload_follows_updates(conn: Conn) -> None:
    u = new_user()
    p = profile(u, quiet=(time(14, 0), time(16, 0)))
    await apply(conn, [cand(u, "a")], [p])
    later = NOW + timedelta(minutes=30)
    await apply(conn, [cand(u, "a", at=later, message="Updated.")], [p], now=later)
    [(payload,)] = await rows(conn, "SELECT payload FROM pam_proactive.outbox")
    assert payload["message"] == "Updated."
    assert payload["event"] == "created"


# --------------------------------------------------------------------------------------------
# Daily cap
# --------------------------------------------------------------------------------------------


async def test_daily_cap_keeps_the_most_important(conn: Conn) -> None:
    u = new_user()
    p = profile(u, tz="America/New_York")
    batch = [
        cand(u, "low", Priority.LOW),
        cand(u, "m1"),
        cand(u, "h1", Priority.HIGH),
        cand(u, "h2", Priority.HIGH),
    ]
    result = await apply(conn, batch, [p])
    assert result == ApplyResult(created=4, notified=3, capped=1)
    assert {r[0] for r in await outbox(conn, u)} == {
        "budget_exceeded:h1",
        "budget_exceeded:h2",
        "budget_exceeded:m1",
    }
    # The capped suggestion is stored and visible, its notification skipped for good.
    assert len(await suggestions(conn, u)) == 4
    # Later the same local day (20:00 New York): a 5th is capped, a critical one goes through.
    evening = datetime(2025, 6, 11, 0, 0, tzinfo=UTC)
    more = [*batch, cand(u, "m2", at=evening), cand(u, "crit", Priority.CRITICAL, at=evening)]
    result = await apply(conn, more, [p], now=evening)
    assert result == ApplyResult(created=2, notified=1, capped=1)
    assert (await outbox(conn, u))[-1][:3] == ("budget_exceeded:crit", "created", "critical")
    # Next local day (01:00 New York): slots again; the capped ones are not sent late.
    tomorrow = datetime(2025, 6, 11, 5, 0, tzinfo=UTC)
    more.append(cand(u, "m3", at=tomorrow))
    result = await apply(conn, more, [p], now=tomorrow)
    assert result == ApplyResult(created=1, notified=1)
    assert len(await outbox(conn, u)) == 5


async def test_profile_cap_overrides_the_policy_and_critical_bypasses(conn: Conn) -> None:
    u = new_user()
    p = profile(u, cap=1)
    batch = [
        cand(u, "c1", Priority.CRITICAL),
        cand(u, "c2", Priority.CRITICAL),
        cand(u, "h", Priority.HIGH),
        cand(u, "m"),
    ]
    result = await apply(conn, batch, [p])
    assert result == ApplyResult(created=4, notified=2, capped=2)
    assert sorted(r[2] for r in await outbox(conn, u)) == ["critical", "critical"]
    v = new_user()
    result = await apply(conn, [cand(v, "a")], [profile(v)],
                         policy=DeliveryPolicy(daily_cap=0, digest=NO_DIGEST))
    assert result == ApplyResult(created=1, capped=1)


async def test_escalation_counts_against_the_cap(conn: Conn) -> None:
    u = new_user()
    p = profile(u, cap=2)
    await apply(conn, [cand(u, "a", Priority.LOW), cand(u, "b", Priority.LOW)], [p])
    later = NOW + timedelta(hours=1)
    up = [cand(u, "a", Priority.HIGH, at=later), cand(u, "b", Priority.LOW, at=later)]
    result = await apply(conn, up, [p], now=later)
    assert result == ApplyResult(updated=1, escalated=1, capped=1)


# --------------------------------------------------------------------------------------------
# Batch shape, validation, listing
# --------------------------------------------------------------------------------------------


def statements_run(conn: Conn) -> int:
    """Statements the connector has run so far (every one is recorded by name)."""
    return int(conn.metrics.snapshot()["queries_executed"])


async def test_statement_count_does_not_grow_with_the_batch(conn: Conn) -> None:
    counts = []
    for size in (3, 400):
        users = [new_user() for _ in range(size)]
        profiles = [profile(u, cap=10) for u in users]
        candidates = [cand(u, k, Priority(1 + i % 4)) for u in users for i, k in enumerate("abc")]
        before = statements_run(conn)
        result = await apply(conn, candidates, profiles)
        counts.append(statements_run(conn) - before)
        assert result == ApplyResult(created=3 * size, notified=3 * size)
    assert counts[0] == counts[1] and counts[0] >= 10  # every step ran, once per batch
    [(n,)] = await rows(conn, "SELECT count(*) FROM pam_proactive.outbox")
    assert n == 3 * 403


async def test_concurrent_sweeps_of_one_user_create_one_suggestion(
    conn: Conn, uri: str, open_database: OpenDatabase
) -> None:
    u = new_user()
    p = profile(u)
    batch = [cand(u, "a"), cand(u, "b", Priority.HIGH)]
    other = await open_database(uri, settings_for("seed"))
    results = await asyncio.gather(apply(conn, batch, [p]), apply(other, batch, [p]))
    assert sorted(r.created for r in results) == [0, 2]
    assert sorted(r.notified for r in results) == [0, 2]
    assert len(await suggestions(conn, u)) == 2
    assert len(await outbox(conn, u)) == 2


async def test_invalid_inputs_are_rejected(conn: Conn) -> None:
    u, stranger = new_user(), new_user()
    with pytest.raises(ValueError, match="not among user_ids"):
        await apply(conn, [cand(stranger, "a")], [profile(u)])
    with pytest.raises(ValueError, match="no profile"):
        await apply_candidates(
            conn,
            schema=SCHEMA,
            user_ids=[u],
            candidates=[cand(u, "a")],
            profiles={},
            now=NOW,
        )
    with pytest.raises(ValueError, match="timezone-aware"):
        await apply(conn, [cand(u, "a")], [profile(u)], now=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="NaN"):
        await apply(conn, [cand(u, "a", data={"x": float("nan")})], [profile(u)])
    assert await suggestions(conn, u) == []


async def test_list_suggestions(conn: Conn) -> None:
    u, v = new_user(), new_user()
    first = [cand(u, "a", Priority.HIGH), cand(u, "b"), cand(v, "a")]
    await apply(conn, first, [profile(u), profile(v)])
    later = NOW + timedelta(hours=1)
    await apply(conn, [cand(u, "a", Priority.HIGH, at=later)], [profile(u)], now=later)
    mine = await list_suggestions(conn, SCHEMA, user_id=u)
    assert [(r.dedup_key, r.status) for r in mine] == [
        ("budget_exceeded:b", "resolved"),  # updated most recently
        ("budget_exceeded:a", "open"),
    ]
    top = mine[1]
    assert top.priority is Priority.HIGH and top.notified_rank is Priority.HIGH
    assert top.user_id == u and top.type == "budget_exceeded"
    assert top.data == {"spent": 120.5, "limit": 100} and top.expires_at is None
    open_ = await list_suggestions(conn, SCHEMA, status="open")
    assert sorted((r.user_id == u, r.dedup_key) for r in open_) == [
        (False, "budget_exceeded:a"),
        (True, "budget_exceeded:a"),
    ]
    recent = await list_suggestions(conn, SCHEMA, since=later)
    assert [(r.dedup_key, r.status) for r in recent] == [("budget_exceeded:b", "resolved")]
    both = await list_suggestions(conn, SCHEMA, status=["open", "resolved"], limit=2)
    assert len(both) == 2
    with pytest.raises(ValueError, match="unknown suggestion status"):
        await list_suggestions(conn, SCHEMA, status="bogus")  # type: ignore[arg-type]


async def test_types_scope_what_is_resolved(conn: Conn) -> None:
    u = new_user()
    p = profile(u)
    both = [cand(u, "a"), cand(u, "b", type_="fuel_low")]
    assert (await apply(conn, both, [p])).created == 2
    later = NOW + timedelta(hours=1)
    # A job running only the fuel detectors, which found nothing: only fuel_low is resolved.
    result = await apply_candidates(
        conn, schema=SCHEMA, user_ids=[u], candidates=[], profiles={u: p}, now=later,
        types={"fuel_low", "departure_reminder"}, policy=IMMEDIATE)
    assert result == ApplyResult(resolved=1)
    assert [(r[14], r[1]) for r in await suggestions(conn, u)] == [
        ("budget_exceeded", "open"), ("fuel_low", "resolved")]
    # A candidate outside the job's types would resolve or create another group's subject.
    with pytest.raises(ValueError, match="outside types"):
        await apply_candidates(
            conn, schema=SCHEMA, user_ids=[u], candidates=[cand(u, "a", at=later)],
            profiles={u: p}, now=later, types=["fuel_low"])
    # Without types, every type is in scope again.
    assert (await apply(conn, [], [p], now=later)).resolved == 1


async def test_every_statement_is_timed_by_name(conn: Conn) -> None:
    u = new_user()
    await apply(conn, [cand(u, "a")], [profile(u)])
    assert await dismiss(conn, SCHEMA, (await suggestions(conn, u))[0][13], NOW)
    stats = conn.metrics.snapshot()["statements"]
    for name in ("store.create_users", "store.load_candidates", "store.lock_users",
                 "store.insert_new", "store.resolve_gone", "store.notify",
                 "apply_candidates.commit", "store.close_one",
                 "close_dismissed.commit"):
        assert stats[name]["count"] == 1 and stats[name]["errors"] == 0, name


# --------------------------------------------------------------------------------------------
# Relations: one cause, one notification
# --------------------------------------------------------------------------------------------

FUEL = "fuel:v1"
OIL = "service:v1:oil_change"


def about(user_id: UUID, type_: str, key: str, *subjects: str,
          priority: Priority = Priority.HIGH, at: datetime = NOW) -> Candidate:
    """A candidate of ``type_`` naming ``subjects`` (see suggestions.relations)."""
    return replace(cand(user_id, key, priority, type_=type_, at=at), subjects=subjects)


def transitions(transition: str, type_: str, priority: str) -> float:
    """pam_suggestion_transitions_total of one transition, type and priority so far."""
    return metrics.REGISTRY.get_sample_value(
        "pam_suggestion_transitions_total",
        {"transition": transition, "type": type_, "priority": priority}) or 0.0


async def held_by(conn: Conn, user_id: UUID) -> dict[str, str | None]:
    """dedup_key -> the dedup_key of the suggestion holding it, of the user's live ones."""
    records = await list_suggestions(conn, SCHEMA, user_id=user_id, status=["open", "delivered"])
    keys = {r.id: r.dedup_key for r in records}
    return {r.dedup_key: None if r.held_by is None else keys[r.held_by] for r in records}


async def test_a_held_suggestion_is_stored_not_notified_and_released_once(conn: Conn) -> None:
    u = new_user()
    p = profile(u)
    trip = about(u, "departure_reminder", "t1", FUEL)
    fuel = about(u, "fuel_low", "v1", FUEL)
    counted = (transitions("held_back", "fuel_low", "high"),
               transitions("released", "fuel_low", "medium"))
    result = await apply(conn, [trip, fuel], [p])
    assert result == ApplyResult(created=2, notified=1, held_back=1)
    assert [r[:3] for r in await outbox(conn, u)] == [
        ("departure_reminder:t1", "created", "high")]
    assert await held_by(conn, u) == {"departure_reminder:t1": None,
                                      "fuel_low:v1": "departure_reminder:t1"}
    assert await apply(conn, [trip, fuel], [p]) == ApplyResult()  # the same now: nothing new
    # The trip is gone, the tank still low (now medium): released and notified, once.
    later = NOW + timedelta(hours=1)
    still = about(u, "fuel_low", "v1", FUEL, priority=Priority.MEDIUM, at=later)
    result = await apply(conn, [still], [p], now=later)
    assert result == ApplyResult(updated=1, resolved=1, released=1, notified=1)
    assert [r[:3] for r in await outbox(conn, u)][1:] == [("fuel_low:v1", "created", "medium")]
    assert await held_by(conn, u) == {"fuel_low:v1": None}
    assert await apply(conn, [still], [p], now=later + timedelta(hours=1)) == ApplyResult()
    # The operator's metric counts both transitions (by the priority at the moment).
    assert transitions("held_back", "fuel_low", "high") == counted[0] + 1
    assert transitions("released", "fuel_low", "medium") == counted[1] + 1


async def test_released_by_a_job_that_does_not_run_the_held_kind(conn: Conn) -> None:
    u = new_user()
    p = profile(u)
    trip = about(u, "departure_reminder", "t1", FUEL, OIL)
    oil = about(u, "maintenance_due_soon", "v1:oil_change", OIL, priority=Priority.MEDIUM)
    assert (await apply(conn, [trip, oil], [p])).held_back == 1
    # The monitoring job (no maintenance_due_soon) finds the trip gone: the service reminder,
    # which only the predictive job produces, is released and notified by this job.
    later = NOW + timedelta(hours=1)
    result = await apply_candidates(
        conn, schema=SCHEMA, user_ids=[u], candidates=[], profiles={u: p}, now=later,
        types={"departure_reminder", "fuel_low", "maintenance_overdue"},
        policy=IMMEDIATE)
    assert result == ApplyResult(resolved=1, released=1, notified=1)
    assert [r[:3] for r in await outbox(conn, u)] == [
        ("departure_reminder:t1", "created", "high"),
        ("maintenance_due_soon:v1:oil_change", "created", "medium")]
    # And a job running only the held kind leaves a live holder's hold in place.
    v = new_user()
    q = profile(v)
    await apply(conn, [about(v, "departure_reminder", "t1", OIL)], [q])
    result = await apply_candidates(
        conn, schema=SCHEMA, user_ids=[v], profiles={v: q}, now=later,
        candidates=[about(v, "maintenance_due_soon", "oil", OIL, at=later)],
        types={"maintenance_due_soon"}, policy=IMMEDIATE)
    assert result == ApplyResult(created=1, held_back=1)


async def test_becoming_held_cancels_a_pending_notification(conn: Conn) -> None:
    u = new_user()
    p = profile(u, tz="America/New_York", quiet=(time(22, 0), time(7, 0)))
    night = datetime(2025, 6, 10, 3, 30, tzinfo=UTC)  # 23:30 in New York
    fuel = about(u, "fuel_low", "v1", FUEL, at=night)
    await apply(conn, [fuel], [p], now=night)
    later = night + timedelta(hours=1)
    trip = about(u, "departure_reminder", "t1", FUEL, at=later)
    result = await apply(conn, [trip, fuel], [p], now=later)
    assert result == ApplyResult(created=1, notified=1, held_quiet_hours=1, held_back=1)
    # Only the departure reminder goes out at 07:00; the fuel one was cancelled unsent.
    assert [(r[0], r[4] is None) for r in await outbox(conn, u)] == [
        ("fuel_low:v1", False), ("departure_reminder:t1", True)]


async def test_held_suggestions_take_no_slot_of_the_daily_cap(conn: Conn) -> None:
    u = new_user()
    p = profile(u, cap=2)
    batch = [about(u, "departure_reminder", "t1", FUEL, OIL),
             about(u, "fuel_low", "v1", FUEL),
             about(u, "maintenance_overdue", "v1:oil_change", OIL),
             cand(u, "food")]
    assert await apply(conn, batch, [p]) == ApplyResult(created=4, notified=2, held_back=2)
    assert {r[0] for r in await outbox(conn, u)} == {"departure_reminder:t1",
                                                     "budget_exceeded:food"}


async def test_a_holder_competes_for_the_cap_at_what_it_carries(conn: Conn) -> None:
    u = new_user()
    p = profile(u, cap=1)
    # A medium reminder carrying the high fuel advice takes the day's only slot from a medium
    # budget suggestion that would otherwise come first (same rank, earlier key).
    batch = [about(u, "departure_reminder", "t1", FUEL, priority=Priority.MEDIUM),
             about(u, "fuel_low", "v1", FUEL),
             cand(u, "a")]
    assert await apply(conn, batch, [p]) == ApplyResult(created=3, notified=1, capped=1,
                                                        held_back=1)
    assert [r[:3] for r in await outbox(conn, u)] == [
        ("departure_reminder:t1", "created", "medium")]
