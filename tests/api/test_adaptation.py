"""Per-traveler adaptation from dismissal reasons, through the API against the real database,
with the store's own sweeps and a real webhook receiver: each path, its bounds, its
explanation, and its reversal by the traveler and by the operator."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx

from api.conftest import World
from api.harness import SCHEMA, TOKEN, bearer, candidate, new_id, profile, user_jwt
from api.test_answers import deliver, mine, rows, suggestions
from pam_proactive.config import load_settings
from pam_proactive.db.connection import Database
from pam_proactive.suggestions.adaptation import OFFER_TYPE, AdaptationPolicy
from pam_proactive.suggestions.delivery import WebhookChannel, drain_due, set_channels
from pam_proactive.suggestions.digest import DigestPolicy
from pam_proactive.suggestions.models import Candidate, Priority
from pam_proactive.suggestions.store import ApplyResult, DeliveryPolicy, apply_candidates
from receiver import SECRET, Receiver

OP = bearer(TOKEN)
DAY = timedelta(days=1)


async def sweep(uri: str, user: UUID, candidates: Sequence[Candidate], now: datetime,
                adaptation: AdaptationPolicy | None = None,
                disabled: frozenset[str] = frozenset()) -> ApplyResult:
    """Store ``candidates`` of one traveler as a sweep would, with an adaptation policy and
    the traveler's daily digest off (each notification on its own, but for the types the
    traveler's answers send to the digest)."""
    policy = DeliveryPolicy(daily_cap=100, digest=DigestPolicy(enabled=False),
                            adaptation=adaptation or AdaptationPolicy())
    async with Database(uri, load_settings(database_url=uri)) as db:
        return await apply_candidates(
            db, schema=SCHEMA, user_ids=[user], candidates=candidates,
            profiles={user: replace(profile(user), disabled_types=disabled)},
            now=now, policy=policy)


def _fields(p: Any) -> dict[str, Any]:
    return {name: getattr(p, name) for name in p.__dataclass_fields__}


async def answer(client: httpx.AsyncClient, uri: str, user: UUID, key: str, reason: str,
                 data: dict[str, Any] | None = None) -> str:
    """Create the subject ``key`` (a budget suggestion) and dismiss it with ``reason`` as the
    traveler, through the API; returns its id."""
    cand = candidate(user, key)
    if data is not None:
        cand = Candidate(**{**_fields(cand), "data": data})
    await sweep(uri, user, [cand], datetime.now(UTC))
    sid = (await suggestions(client, user))[cand.dedup_key]["id"]
    done = await client.post(f"/v1/suggestions/{sid}/dismiss", json={"reason": reason},
                             headers=bearer(user_jwt(user)))
    assert done.status_code == 200, done.text
    return str(sid)


async def adaptations(client: httpx.AsyncClient, user: UUID) -> list[dict[str, Any]]:
    got = await client.get(f"/v1/users/{user}/adaptations", headers=bearer(user_jwt(user)))
    assert got.status_code == 200, got.text
    return list(got.json()["adaptations"])


async def stored(uri: str, user: UUID) -> int:
    """The traveler's rows in the adaptations table."""
    [(count,)] = await rows(uri, "SELECT count(*) FROM pam_proactive.adaptations"
                            " WHERE user_id = %s", user)
    return int(count)


async def outbox(uri: str, user: UUID) -> list[tuple[Any, ...]]:
    return await rows(uri, "SELECT s.dedup_key, o.event, o.priority, o.deliver_after"
                      " FROM pam_proactive.outbox AS o JOIN pam_proactive.suggestions AS s"
                      " ON s.id = o.suggestion_id WHERE o.user_id = %s AND o.cancelled_at IS NULL"
                      " ORDER BY o.id", user)


async def test_not_useful_lengthens_the_cooldown_then_goes_digest_only_and_is_reversed(
        world: World, client: httpx.AsyncClient, receiver: Receiver) -> None:
    u = new_id()
    await answer(client, world.uri, u, "k1", "not_useful")
    await sweep(world.uri, u, [], datetime.now(UTC) + timedelta(seconds=1))
    assert await stored(world.uri, u) == 0  # one answer: below level 1, nothing changes
    await answer(client, world.uri, u, "k2", "not_useful")
    t = datetime.now(UTC) + timedelta(seconds=1)
    first = await sweep(world.uri, u, [], t)
    assert first.adapted == 1
    [a] = await adaptations(client, u)
    assert (a["type"], a["kind"], a["level"], a["value"], a["answers"]) == (
        "budget_exceeded", "not_useful", 1, 2, 2)
    assert "not useful twice" in a["explanation"] and "2 times longer" in a["explanation"]
    assert (await sweep(world.uri, u, [], t)).adapted == 0  # the same answers: nothing new

    # Level 1: the cooldown after a dismissal of that type is 2 x 7 days, not 7.
    k1 = candidate(u, "k1")
    assert (await sweep(world.uri, u, [k1], t + 8 * DAY)).suppressed_cooldown == 1
    back = await sweep(world.uri, u, [k1], t + 15 * DAY)
    assert back.created == 1 and back.notified == 1
    why = (await suggestions(client, u))[k1.dedup_key]["why"]
    [explained] = why["adaptations"]
    assert explained["kind"] == "not_useful" and explained["level"] == 1
    assert explained["effect"].startswith("You told us budget exceeded suggestions were not "
                                          "useful twice")

    # Level 2 (a third answer): medium ones go to the daily digest, though the traveler's
    # digest is off; a high one is sent at once.
    await answer(client, world.uri, u, "k3", "not_useful")
    t2 = datetime.now(UTC) + 16 * DAY
    quiet, urgent = candidate(u, "k4"), candidate(u, "k5", Priority.HIGH)
    level2 = await sweep(world.uri, u, [k1, quiet, urgent], t2)
    assert level2.notified == 3 and level2.digest_items == 2  # k1, k4 to the digest; k5 sent
    [(level,)] = await rows(world.uri, "SELECT level FROM pam_proactive.adaptations"
                            " WHERE user_id = %s", u)
    assert level == 2
    [(digest_only,)] = await rows(world.uri, "SELECT pam_proactive.digest_only(%s,"
                                  " 'budget_exceeded')", u)
    assert digest_only is True
    await deliver(world.uri, receiver.url, t2)
    sent = [p.get("dedup_key") for p in mine(receiver, u)]
    assert quiet.dedup_key not in sent and urgent.dedup_key in sent
    listed = await suggestions(client, u)
    assert listed[quiet.dedup_key]["status"] == "open"  # listed in the app all the same
    assert "digest only" in listed[quiet.dedup_key]["why"]["adaptations"][0]["effect"]

    # Reversed by the traveler: the usual rules again for what comes next.
    gone = await client.delete(f"/v1/users/{u}/adaptations/budget_exceeded",
                               headers=bearer(user_jwt(u)))
    assert gone.status_code == 200, gone.text
    assert gone.json() == {"user_id": str(u), "type": "budget_exceeded", "reset": 1,
                           "by": "traveler"}
    [a] = await adaptations(client, u)
    assert a["in_force"] is False and a["reset_by"] == "traveler" and a["level"] == 0
    assert a["explanation"].startswith("Reset by the traveler")
    after = await sweep(world.uri, u, [k1, quiet, urgent], t2 + timedelta(minutes=1))
    # k1 and k4 were notified already, as digest items: not again.
    assert after.notified == 0 and after.adapted == 0  # the old answers no longer count
    assert (await suggestions(client, u))[quiet.dedup_key]["why"]["adaptations"] == []
    # Their digest goes out at the traveler's digest hour, one POST with both items.
    async with Database(world.uri, load_settings(database_url=world.uri)) as db:
        await set_channels(db, SCHEMA, ["webhook"])
        await drain_due(db, SCHEMA, [WebhookChannel(receiver.url, SECRET, timeout=5.0)],
                        t2 + DAY)
    [digest] = [p for p in mine(receiver, u) if p.get("event") == "digest"]
    assert sorted(i["dedup_key"] for i in digest["items"]) == sorted(
        [k1.dedup_key, quiet.dedup_key])


async def test_the_offer_to_turn_a_type_off_is_made_once(
        world: World, client: httpx.AsyncClient, receiver: Receiver) -> None:
    accepting, declining = new_id(), new_id()
    for u in (accepting, declining):
        for k in ("a", "b", "c", "d"):
            await answer(client, world.uri, u, k, "not_useful")
    t = datetime.now(UTC) + timedelta(seconds=1)
    offers: dict[UUID, dict[str, Any]] = {}
    for u in (accepting, declining):
        made = await sweep(world.uri, u, [], t)
        assert made.created == 1 and made.notified == 1
        offers[u] = (await suggestions(client, u))[f"{OFFER_TYPE}:budget_exceeded"]
        offer = offers[u]
        assert offer["type"] == OFFER_TYPE and offer["priority"] == "low"
        assert "4 times" in offer["message"] and "Mark this done to turn them off" in \
            offer["message"]
        assert offer["data"]["offered_type"] == "budget_exceeded"
        assert offer["why"]["rule"]["type"] == OFFER_TYPE
        # Later sweeps keep the one offer live without notifying it again.
        again = await sweep(world.uri, u, [], t + timedelta(hours=1))
        assert again.created == again.notified == again.resolved == 0
    await deliver(world.uri, receiver.url, t + timedelta(hours=1))
    assert [p["type"] for p in mine(receiver, accepting)] == [OFFER_TYPE]

    # Accepting it (acted) turns the type off through the preferences.
    done = await client.post(f"/v1/suggestions/{offers[accepting]['id']}/acted",
                             headers=bearer(user_jwt(accepting)))
    assert done.status_code == 200, done.text
    prefs = await client.get(f"/v1/users/{accepting}/preferences",
                             headers=bearer(user_jwt(accepting)))
    assert prefs.json()["disabled_types"] == ["budget_exceeded"]
    # Declining it keeps the type on.
    no = await client.post(f"/v1/suggestions/{offers[declining]['id']}/dismiss",
                           headers=bearer(user_jwt(declining)))
    assert no.status_code == 200
    assert await rows(world.uri, "SELECT disabled_types FROM pam_proactive.user_preferences"
                      " WHERE user_id = %s", declining) == []  # nothing stored: all on
    # Neither is made again, however many sweeps (and past the cooldown).
    for u in (accepting, declining):
        for later in (2 * DAY, 30 * DAY):
            assert (await sweep(world.uri, u, [], t + later)).created == 0
        [(count,)] = await rows(world.uri, "SELECT count(*) FROM pam_proactive.suggestions"
                                " WHERE user_id = %s AND type = %s", u, OFFER_TYPE)
        assert count == 1


def event(user: UUID, key: str, starts: datetime, priority: Priority = Priority.MEDIUM
          ) -> Candidate:
    """An event_travel_planning candidate about an event starting at ``starts``."""
    return Candidate(user_id=str(user), type="event_travel_planning", priority=priority,
                     title="Plan the trip", message="An event far away needs a trip.",
                     dedup_key=f"event_travel_planning:{key}",
                     data={"starts_at": starts.isoformat(), "distance_miles": 320.5},
                     computed_for=datetime.now(UTC), expires_at=starts)


async def test_too_early_holds_the_first_notification_within_bounds(
        world: World, client: httpx.AsyncClient, receiver: Receiver) -> None:
    u = new_id()
    policy = AdaptationPolicy(hold_step_days=1, hold_max_days=2, hold_notice_days=2)
    for k in ("e1", "e2", "e3"):  # three answers x 1 day, bounded at 2 days
        c = event(u, k, datetime.now(UTC) + 10 * DAY)
        await sweep(world.uri, u, [c], datetime.now(UTC), policy)
        sid = (await suggestions(client, u))[c.dedup_key]["id"]
        ok = await client.post(f"/v1/suggestions/{sid}/dismiss", json={"reason": "too_early"},
                               headers=bearer(user_jwt(u)))
        assert ok.status_code == 200
    t = datetime.now(UTC) + timedelta(seconds=1)
    far = event(u, "far", t + 10 * DAY)  # held the whole 2 days
    near = event(u, "near", t + 3 * DAY + timedelta(hours=1))  # 3 days - 2 of notice: 1 day
    close = event(u, "close", t + DAY)  # no room: at once
    urgent = event(u, "urgent", t + 10 * DAY, Priority.HIGH)  # urgent: never held
    done = await sweep(world.uri, u, [far, near, close, urgent], t, policy)
    assert done.adapted == 1 and done.notified == 4 and done.held_too_early == 2
    assert done.held_quiet_hours == 0  # counted apart from the holds of quiet hours
    held = {k.split(":")[1]: after for k, _, _, after in await outbox(world.uri, u)}
    assert held["far"] == t + 2 * DAY
    assert held["near"] == t + DAY
    assert held["close"] == t and held["urgent"] == t
    [a] = await adaptations(client, u)
    assert (a["kind"], a["value"], a["answers"]) == ("too_early", 2, 3)
    effect = (await suggestions(client, u))[far.dedup_key]["why"]["adaptations"][0]["effect"]
    assert "too early 3 times" in effect and "held 2 days" in effect

    # Through the webhook: the held ones arrive on their day, each once; one that becomes
    # urgent meanwhile goes out at once instead.
    await deliver(world.uri, receiver.url, t)
    assert sorted(p["dedup_key"].split(":")[1] for p in mine(receiver, u)) == ["close", "urgent"]
    rising = event(u, "near", near.expires_at or t, Priority.HIGH)
    risen = await sweep(world.uri, u, [far, rising, close, urgent], t + timedelta(hours=1),
                        policy)
    assert risen.escalated == 1 and risen.held_too_early == 0
    await deliver(world.uri, receiver.url, t + timedelta(hours=1))
    [early] = [p for p in mine(receiver, u) if p["dedup_key"].endswith(":near")]
    assert early["event"] == "escalated" and early["priority"] == "high"
    await deliver(world.uri, receiver.url, t + DAY)
    await deliver(world.uri, receiver.url, t + 2 * DAY)
    assert sorted(p["dedup_key"].split(":")[1] for p in mine(receiver, u)) == [
        "close", "far", "near", "urgent"]

    # Reversed by the operator: the next subject is notified at once.
    reset = await client.delete(f"/v1/users/{u}/adaptations", headers=OP)
    assert reset.json()["reset"] == 1 and reset.json()["by"] == "operator"
    fresh = event(u, "fresh", t + 10 * DAY)
    later = t + timedelta(hours=2)
    assert (await sweep(world.uri, u, [far, rising, close, urgent, fresh], later,
                        policy)).held_too_early == 0
    assert {k.split(":")[1]: after for k, _, _, after in await outbox(world.uri, u)}[
        "fresh"] == later


async def test_wrong_silences_a_subject_until_its_numbers_change(
        world: World, client: httpx.AsyncClient, receiver: Receiver) -> None:
    u = new_id()
    judged = {"spent": 120.5, "limit": 100, "days_left": 9}
    await answer(client, world.uri, u, "w", "wrong", judged)
    t = datetime.now(UTC) + timedelta(seconds=1)
    same = Candidate(**{**_fields(candidate(u, "w")), "data": judged})
    # Past the cooldown the same numbers stay silent, also as the days go by.
    silent = await sweep(world.uri, u, [same], t + 8 * DAY)
    assert silent.adapted == 1 and silent.suppressed_wrong == 1 and silent.created == 0
    older = Candidate(**{**_fields(same), "data": {**judged, "days_left": 1}})
    assert (await sweep(world.uri, u, [older], t + 16 * DAY)).suppressed_wrong == 1
    [a] = await adaptations(client, u)
    assert a["kind"] == "wrong" and a["dedup_key"] == same.dedup_key
    assert "until the numbers behind it change" in a["explanation"]
    # Other numbers: suggested and notified again.
    changed = Candidate(**{**_fields(same), "data": {**judged, "spent": 180.0}})
    back = await sweep(world.uri, u, [changed], t + 17 * DAY)
    assert back.suppressed_wrong == 0 and back.created == 1 and back.notified == 1
    await deliver(world.uri, receiver.url, t + 17 * DAY)
    [sent] = mine(receiver, u)
    assert sent["data"]["spent"] == 180.0

    # Visible in the traveler's export, and erased with it.
    exported = await client.get(f"/v1/users/{u}/export", headers=bearer(user_jwt(u)))
    assert exported.status_code == 200
    [e] = exported.json()["adaptations"]
    assert e["kind"] == "wrong" and e["in_force"] is True and e["explanation"]
    erased = await client.delete(f"/v1/users/{u}/engine-data", headers=OP)
    assert erased.json()["deleted"]["adaptations"] == 1


async def test_a_wrong_subject_comes_back_after_a_reset(
        world: World, client: httpx.AsyncClient) -> None:
    u = new_id()
    await answer(client, world.uri, u, "r", "wrong")
    t = datetime.now(UTC) + timedelta(seconds=1)
    cand = candidate(u, "r")
    assert (await sweep(world.uri, u, [cand], t + 8 * DAY)).suppressed_wrong == 1
    gone = await client.delete(f"/v1/users/{u}/adaptations/budget_exceeded",
                               headers=bearer(user_jwt(u)))
    assert gone.json()["reset"] == 1
    assert (await sweep(world.uri, u, [cand], t + 9 * DAY)).created == 1


async def test_only_the_traveler_or_the_operator_reaches_adaptations(
        world: World, client: httpx.AsyncClient) -> None:
    u, other = new_id(), new_id()
    await answer(client, world.uri, u, "x", "wrong")
    await sweep(world.uri, u, [], datetime.now(UTC) + timedelta(seconds=1))
    for method in ("GET", "DELETE"):
        got = await client.request(method, f"/v1/users/{u}/adaptations",
                                   headers=bearer(user_jwt(other)))
        assert got.status_code == 403, got.text
    bad = await client.delete(f"/v1/users/{u}/adaptations/Not-A-Type", headers=OP)
    assert bad.status_code == 422
    # A traveler with none: an empty list; an id that is no traveler: 404, and nothing written.
    assert await adaptations(client, world.a) == []
    nobody = new_id()
    for method in ("GET", "DELETE"):
        missing = await client.request(method, f"/v1/users/{nobody}/adaptations", headers=OP)
        assert missing.status_code == 404, missing.text
    assert await stored(world.uri, nobody) == 0
    assert len(await adaptations(client, u)) == 1  # nothing was reset


async def test_nothing_adapts_when_adaptation_is_off(world: World,
                                                     client: httpx.AsyncClient) -> None:
    u = new_id()
    off = AdaptationPolicy(enabled=False)
    await answer(client, world.uri, u, "o", "wrong")
    t = datetime.now(UTC) + timedelta(seconds=1)
    result = await sweep(world.uri, u, [candidate(u, "o")], t + 8 * DAY, off)
    assert result.adapted == 0 and result.suppressed_wrong == 0 and result.created == 1
    assert await stored(world.uri, u) == 0
