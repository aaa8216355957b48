"""Bounds everywhere: a 10 MB event title (and other huge traveler texts) planted in the
database yields bounded suggestions, contexts, lists, exports and stream snapshots; request
bodies past the limit are refused with 413; concurrent streams per traveler are capped (429).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import httpx
import pytest
from fastapi import APIRouter, Request

from api.conftest import api_settings
from api.harness import TOKEN, Server, bearer, candidate, running, serving_here, store
from conftest import MakeDatabase, settings_for
from pam_proactive.analysis.bounds import (
    DATA_MAX_BYTES,
    ELLIPSIS,
    MESSAGE_MAX_CHARS,
    TEXT_MAX_CHARS,
    TITLE_MAX_CHARS,
    WEBHOOK_BODY_MAX_BYTES,
    cut_text,
    json_size,
    webhook_body,
)
from pam_proactive.api.app import create_app
from pam_proactive.api.limits import CONTEXT_MAX_BYTES, LIST_MAX_BYTES, REQUEST_BODY_MAX_BYTES
from pam_proactive.engine import open_engine
from pam_proactive.jobs.pipeline.sweeps import sweep
from planting import Planter

OP = bearer(TOKEN)
HUGE = 10 * 1024 * 1024  # characters
BOUND = 64 * 1024  # every response about one traveler here stays under this
DENVER = (39.7392, -104.9903)


@dataclass(frozen=True)
class Planted:
    uri: str
    user: UUID  # a traveler whose texts are 10 MB each
    old: UUID  # a traveler with a 10 MB suggestion stored before the text cut existed


def huge(word: str) -> str:
    return (word + " ") * (HUGE // (len(word) + 1))


@pytest.fixture(scope="module")
async def planted(make_database: MakeDatabase) -> Planted:
    uri = await make_database("seed")
    now = datetime.now(UTC)
    today = now.date()
    with Planter(uri, "seed") as p:
        user = p.user()
        # Last seen in Denver: a completed trip that ended there.
        p.trip(user, "Austin, TX", huge("home"), today - timedelta(days=30),
               today - timedelta(days=28), 900, status="completed",
               route_data={"origin": {"lat": 30.27, "lng": -97.74},
                           "destination": {"lat": DENVER[0], "lng": DENVER[1]}})
        # Fires event_travel_planning (Moab is ~240 miles from Denver, no trip planned).
        p.event(user, "Rally " + huge("rally"), now + timedelta(days=3), location="Moab, UT")
        p.event(user, "Meetup", now + timedelta(days=4), location=huge("somewhere"))
        p.expense(user, 42.0, huge("fuel"), today - timedelta(days=1))
        p.budget(user, huge("fuel"), 10.0)  # the same category: the budget is exceeded
        p.vehicle(user, name=huge("rig"))
        p.maintenance(user, huge("oil change"), date(2020, 1, 1), 1000.0)
        old = p.user()
    await store(uri, [old], [candidate(old, "old")])
    async with open_engine(settings_for("seed", database_url=uri)) as engine:
        await sweep(engine, now, user_ids=[user])
        # A row stored before the cut: its title, message and data are 10 MB.
        async with engine.db.transaction("plant_huge") as tx:
            await tx.execute("plant_huge", "UPDATE pam_proactive.suggestions SET title = %(t)s,"
                             " message = %(t)s, data = jsonb_build_object('note', %(t)s::text)"
                             " WHERE user_id = %(u)s", {"t": huge("old"), "u": old})
    return Planted(uri, user, old)


@pytest.fixture(scope="module")
def bounded_server(planted: Planted) -> Iterator[Server]:
    with running(api_settings(planted.uri, stream_max_per_user=2)) as srv:
        yield srv


@pytest.fixture
async def http(bounded_server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=bounded_server.url, timeout=30) as c:
        yield c


def test_cut_text_and_the_webhook_body() -> None:
    assert cut_text("short") == "short"
    cut = cut_text("x" * 1000)
    assert len(cut) == TEXT_MAX_CHARS and cut.endswith(ELLIPSIS) and cut[:-1] == "x" * 199
    payload = {"title": "t" * HUGE, "message": "m" * HUGE, "data": {"a": "d" * HUGE,
                                                                     "n": list(range(10_000))},
               "suggestion_id": "s", "user_id": "u"}
    body = webhook_body(payload)
    assert len(body) <= WEBHOOK_BODY_MAX_BYTES
    sent = json.loads(body)
    assert len(sent["title"]) == TITLE_MAX_CHARS and len(sent["message"]) == MESSAGE_MAX_CHARS
    assert sent["data"] == {"truncated": True} and sent["user_id"] == "u"
    small = {"title": "Refuel", "message": "Buy fuel", "data": {"gallons": 3}}
    assert json.loads(webhook_body(small)) == small


async def test_suggestions_built_from_huge_texts_are_bounded(planted: Planted) -> None:
    async with open_engine(settings_for("seed", database_url=planted.uri)) as engine:
        rows = await engine.db.fetch("read", "SELECT type, title, message, data,"
                                     " octet_length(data::text) FROM pam_proactive.suggestions"
                                     " WHERE user_id = %s", (planted.user,))
        ctx = await engine.data.get_comprehensive_user_context(planted.user,
                                                               datetime.now(UTC))
    kinds = {r[0] for r in rows}
    assert "event_travel_planning" in kinds and "budget_exceeded" in kinds, kinds
    for _type, title, message, _data, data_bytes in rows:
        assert len(title) <= TITLE_MAX_CHARS and len(message) <= MESSAGE_MAX_CHARS
        assert data_bytes <= DATA_MAX_BYTES
    event = next(r for r in rows if r[0] == "event_travel_planning")
    assert ELLIPSIS in event[1] + event[2] + json.dumps(event[3], ensure_ascii=False)
    # The context holds the cut texts, and says how many it cut.
    assert all(len(e.title) <= TEXT_MAX_CHARS for e in ctx.calendar.events)
    assert all(len(e.location_name or "") <= TEXT_MAX_CHARS for e in ctx.calendar.events)
    assert ctx.vehicle.primary is not None and len(ctx.vehicle.primary.name or "") == 200
    assert all(len(m.task) <= TEXT_MAX_CHARS for m in ctx.vehicle.maintenance)
    assert ctx.travel.location is not None
    assert len(ctx.travel.location.place_name or "") == TEXT_MAX_CHARS
    # An event's title and location, two categories, a vehicle, a task, a destination.
    assert ctx.data_quality.repaired_rows["text_cut"] == 7


async def test_every_response_about_huge_rows_is_bounded(http: httpx.AsyncClient,
                                                         planted: Planted) -> None:
    for user in (planted.user, planted.old):
        for path in (f"/v1/users/{user}/suggestions", f"/v1/users/{user}/context",
                     f"/v1/users/{user}/export"):
            got = await http.get(path, headers=OP)
            assert got.status_code == 200, (path, got.text[:300])
            assert len(got.content) < BOUND, (path, len(got.content))
        listed = (await http.get(f"/v1/users/{user}/suggestions", headers=OP)).json()
        assert listed["suggestions"] and listed["truncated"] is False
        exported = (await http.get(f"/v1/users/{user}/export", headers=OP)).json()
        assert exported["suggestions"] and exported["truncated"] == []
        async with http.stream("GET", f"/v1/users/{user}/suggestions/stream",
                               headers=OP) as stream:
            snapshot = await first_event(stream)
        assert len(snapshot) < BOUND
        assert json.loads(snapshot.split("data: ", 1)[1])["suggestions"]
    old = (await http.get(f"/v1/users/{planted.old}/suggestions", headers=OP)).json()
    shown = old["suggestions"][0]
    assert len(shown["title"]) == TITLE_MAX_CHARS and shown["title"].endswith(ELLIPSIS)
    assert len(shown["message"]) == MESSAGE_MAX_CHARS
    assert json_size(shown["data"]) <= DATA_MAX_BYTES


async def first_event(stream: httpx.Response) -> str:
    text = ""
    async for chunk in stream.aiter_text():
        text += chunk
        if "event: snapshot" in text and text.endswith("\n\n"):
            return text
    raise AssertionError("the stream ended without a snapshot")


async def test_request_bodies_past_the_limit_are_413(http: httpx.AsyncClient,
                                                     planted: Planted) -> None:
    path = f"/v1/suggestions/{planted.user}/dismiss"
    declared = await http.post(path, headers=OP, content=b"x" * (REQUEST_BODY_MAX_BYTES + 1))
    assert declared.status_code == 413 and declared.json()["error"] == "payload_too_large"
    small = await http.post(path, headers={**OP, "content-type": "application/json"},
                            content=b"{}")
    assert small.status_code == 404  # within the limit: the route answers


async def test_chunked_bodies_are_refused_while_read(planted: Planted) -> None:
    """Routes that read their body, sent without Content-Length: the limit stops them once
    it is past, mid-stream, having read no more than the limit (the whole application,
    its error handlers included)."""
    extra = APIRouter()
    read: list[int] = []

    @extra.post("/echo-size")
    async def echo_size(request: Request) -> dict[str, int]:
        size = 0
        async for part in request.stream():
            size += len(part)
            read.append(size)
        return {"size": size}

    @extra.post("/parsed")
    async def parsed(payload: dict[str, str]) -> dict[str, int]:  # FastAPI reads the body
        return {"keys": len(payload)}

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"a": "'
        for _ in range(1000):
            yield b"z" * 16_384

    settings = api_settings(planted.uri)
    async with open_engine(settings) as engine:
        app = create_app(settings, engine=engine, extra_routers=(extra,))
        async with serving_here(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as c:
            refused = await c.post("/echo-size", content=chunks())
            assert refused.status_code == 413, refused.text
            assert refused.json()["error"] == "payload_too_large"
            assert max(read, default=0) <= REQUEST_BODY_MAX_BYTES
            fits = await c.post("/echo-size", content=b"z" * 1000)
            assert fits.json() == {"size": 1000}
            refused = await c.post("/parsed", content=chunks(),
                                   headers={"Content-Type": "application/json"})
            assert refused.status_code == 413, refused.text
            assert refused.json()["error"] == "payload_too_large"
            fits = await c.post("/parsed", json={"a": "b"})
            assert fits.json() == {"keys": 1}


async def test_concurrent_streams_per_traveler_are_capped(bounded_server: Server,
                                                          planted: Planted) -> None:
    path = f"/v1/users/{planted.user}/suggestions/stream"
    async with httpx.AsyncClient(base_url=bounded_server.url, timeout=30) as c:
        first = await c.send(c.build_request("GET", path, headers=OP), stream=True)
        second = await c.send(c.build_request("GET", path, headers=OP), stream=True)
        assert (first.status_code, second.status_code) == (200, 200)
        third = await c.get(path, headers=OP)
        assert third.status_code == 429 and third.json()["error"] == "too_many_streams"
        assert "Retry-After" in third.headers
        other = await c.send(c.build_request("GET", f"/v1/users/{planted.old}/suggestions/"
                                             "stream", headers=OP), stream=True)
        assert other.status_code == 200  # the cap is per traveler
        await other.aclose()
        await first.aclose()
        for _ in range(100):  # the server notices the closed connection within a heartbeat
            again = await c.send(c.build_request("GET", path, headers=OP), stream=True)
            if again.status_code == 200:
                await again.aclose()
                break
            await again.aread()
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("a closed stream never freed its slot")
        await second.aclose()


async def test_a_context_past_its_bound_cuts_its_largest_lists(make_database: MakeDatabase
                                                               ) -> None:
    uri = await make_database("seed")
    with Planter(uri, "seed") as p:
        user = p.user()
    async with open_engine(settings_for("seed", database_url=uri)) as engine:
        async with engine.db.transaction("plant_events") as tx:
            # 15,000 events in the month ahead with 200-character texts: ~9 MB of context.
            await tx.execute("plant_events", "INSERT INTO public.calendar_events (user_id,"
                             " title, start_date, end_date, all_day, event_type, location_name,"
                             " created_at) SELECT %(u)s, repeat('t', 200),"
                             " now() + g * interval '2 minutes', now() + g * interval '2 minutes',"
                             " false, 'personal', repeat('l', 200), '2020-01-01'"
                             " FROM generate_series(1, 15000) AS g", {"u": user})
        app = create_app(api_settings(uri), engine=engine)
        async with serving_here(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as c:
            got = await c.get(f"/v1/users/{user}/context", headers=OP)
    assert got.status_code == 200, got.text[:300]
    assert len(got.content) <= CONTEXT_MAX_BYTES
    context = got.json()
    assert context["truncated"] == ["calendar.events"]
    events = context["calendar"]["events"]
    assert 3000 < len(events) < 15000  # halved until it fit: the earliest events kept
    assert events == sorted(events, key=lambda e: e["starts_at"])


async def test_stored_rows_and_notification_payloads_are_capped(planted: Planted) -> None:
    """The store caps what it writes, so a notification's payload (built from the stored
    row) and the webhook body made of it stay within their bound."""
    async with open_engine(settings_for("seed", database_url=planted.uri)) as engine:
        payloads = await engine.db.fetch("read", "SELECT payload FROM pam_proactive.outbox"
                                         " WHERE user_id = %s", (planted.user,))
    assert payloads
    for (payload,) in payloads:
        compact = json.dumps(payload, separators=(",", ":"), sort_keys=True,
                             ensure_ascii=False).encode()
        assert len(compact) <= WEBHOOK_BODY_MAX_BYTES
        assert webhook_body(payload) == compact  # nothing left to cut at send time


async def test_lists_and_snapshots_past_their_bytes_are_truncated(
        http: httpx.AsyncClient, planted: Planted) -> None:
    with Planter(planted.uri, "seed") as p:
        many = p.user()
    # 160 suggestions of ~15 KB each (data just under its own cap): ~2.4 MB in all.
    bulky = {f"k{i}": "x" * 150 for i in range(90)}
    await store(planted.uri, [many], [
        dataclasses.replace(candidate(many, f"bulk-{n}"), data=bulky) for n in range(160)])
    listed = await http.get(f"/v1/users/{many}/suggestions?limit=1000", headers=OP)
    assert listed.status_code == 200
    assert len(listed.content) <= LIST_MAX_BYTES + 100
    body = listed.json()
    assert body["truncated"] is True and 100 < len(body["suggestions"]) < 160
    assert all(s["data"] == bulky for s in body["suggestions"])  # whole items, never cut
    fewer = (await http.get(f"/v1/users/{many}/suggestions?limit=50", headers=OP)).json()
    assert fewer["truncated"] is False and len(fewer["suggestions"]) == 50
    async with http.stream("GET", f"/v1/users/{many}/suggestions/stream",
                           headers=OP) as stream:
        snapshot = await first_event(stream)
    assert len(snapshot.encode()) <= LIST_MAX_BYTES + 100
    shown = json.loads(snapshot.split("data: ", 1)[1])
    assert shown["truncated"] is True and len(shown["suggestions"]) == len(body["suggestions"])
