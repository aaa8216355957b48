"""Property: whatever one traveler does through Supabase, no row of another changes or shows.

Random pairs of travelers and random sequences of what the Data API lets a signed-in traveler
do (read any traveler-facing table, filter by the other's id, dismiss or act on their own or
the other's suggestion, snooze it, dismiss it with a reason, rate it useful, read or change
preferences, call the internal functions), each as
PostgREST runs a request. After each sequence every other traveler's rows are byte-for-byte
as before, and everything the actor was shown is the actor's own.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb

from conftest import MakeDatabase
from pam_proactive.db.migrate import migrate
from supabase_fixture import acting, claims_for, install_supabase

S = "pam_proactive"
TABLES = ("suggestions", "outbox", "insights", "user_preferences", "snoozes", "feedback")
TRAVELERS = 4
NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)

Action = tuple[str, Any, Any]

actions = st.one_of(
    st.tuples(st.just("read"), st.sampled_from(TABLES), st.booleans()),
    st.tuples(st.sampled_from(["dismiss_suggestion", "mark_suggestion_acted"]),
              st.sampled_from(["own", "other"]), st.integers(0, 1)),
    st.tuples(st.just("prefs"), st.sampled_from([
        {"daily_cap": 2}, {"timezone": "Asia/Tokyo"}, {"opted_out": True},
        {"quiet_start": "21:00", "quiet_end": "06:00"}, {"disabled_types": ["fuel_low"]},
        {"daily_cap": 500}, {"timezone": "Nowhere/Land"}, {"user_id": "other"}]),
        st.none()),
    st.tuples(st.just("my_preferences"), st.none(), st.none()),
    st.tuples(st.sampled_from(["close_suggestion", "update_preferences", "answer_snooze",
                               "answer_dismiss", "answer_useful"]), st.none(), st.none()),
    # Answers: (kind, whose suggestion, (which, argument)); arguments out of bounds included.
    st.tuples(st.just("snooze_suggestion"), st.sampled_from(["own", "other"]),
              st.tuples(st.integers(0, 1), st.sampled_from(
                  ["1 hour", "720 hours", "-1 hour", "721 hours"]))),
    st.tuples(st.just("dismiss_with_reason"), st.sampled_from(["own", "other"]),
              st.tuples(st.integers(0, 1), st.sampled_from(
                  [None, "wrong", "too_early", "boring"]))),
    st.tuples(st.just("rate_suggestion_useful"), st.sampled_from(["own", "other"]),
              st.tuples(st.integers(0, 1), st.none())),
)

# What the SQL refuses (22023) for a traveler's own answers: these arguments only.
OUT_OF_BOUNDS = ("-1 hour", "721 hours", "boring")

REFUSED = (psycopg.errors.InsufficientPrivilege, psycopg.errors.InvalidParameterValue)


@pytest.fixture
def world(make_database: MakeDatabase) -> tuple[str, list[UUID], dict[UUID, list[UUID]]]:
    """A Supabase database with travelers, each with two live suggestions (their
    notifications unsent), an insight and preferences."""
    async def build() -> str:
        uri = await make_database("seed")
        install_supabase(uri)
        async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
            await migrate(conn, schema=S, preset="seed", supabase=True, broadcast=True)
        return uri

    uri = asyncio.run(build())
    users = [uuid4() for _ in range(TRAVELERS)]
    owned: dict[UUID, list[UUID]] = {}
    with psycopg.connect(uri, autocommit=True) as conn:
        for user in users:
            owned[user] = []
            for n in range(2):
                row = conn.execute(
                    f"INSERT INTO {S}.suggestions (user_id, type, priority, priority_rank,"
                    " title, message, dedup_key, computed_for) VALUES"
                    " (%s, 'fuel_low', 'high', 3, 't', 'm', %s, %s) RETURNING id",
                    (user, f"k{n}", NOW)).fetchone()
                assert row is not None
                owned[user].append(row[0])
                conn.execute(f"INSERT INTO {S}.outbox (suggestion_id, user_id, event, priority,"
                             " payload) VALUES (%s, %s, 'created', 'high', '{}')",
                             (row[0], user))
            conn.execute(f"INSERT INTO {S}.insights (user_id, kind, period_start, period_end,"
                         " \"values\", computed_for) VALUES (%s, 'spending', %s, %s, %s, %s)",
                         (user, NOW.date(), NOW.date(), Jsonb({"total": 1}), NOW))
            conn.execute(f"INSERT INTO {S}.user_preferences (user_id, timezone)"
                         " VALUES (%s, 'America/Denver')", (user,))
    return uri, users, owned


def snapshot(conn: psycopg.Connection[Any], users: list[UUID]) -> dict[str, list[str]]:
    """Every engine row of ``users`` and the broadcasts on their channels (owner's view)."""
    out = {}
    for table in TABLES:
        cur = conn.execute(f"SELECT to_jsonb(t)::text FROM {S}.{table} AS t"
                           " WHERE user_id = ANY(%s) ORDER BY 1", (users,))
        out[table] = [r[0] for r in cur.fetchall()]
    topics = [f"user:{u}:suggestions" for u in users]
    cur = conn.execute("SELECT count(*)::text FROM realtime.messages WHERE topic = ANY(%s)",
                       (topics,))
    out["broadcasts"] = [r[0] for r in cur.fetchall()]
    return out


def run(cur: psycopg.Cursor[Any], action: Action, me: UUID, other: UUID,
        owned: dict[UUID, list[UUID]]) -> list[Any]:
    """One request of ``me``; returns the user ids of whatever rows it was shown."""
    kind, arg, extra = action
    if kind == "read":
        where = " WHERE user_id = %s" if extra else ""
        cur.execute(f"SELECT user_id FROM {S}.{arg}{where}", (other,) if extra else ())
        return [r[0] for r in cur.fetchall()]
    if kind in ("dismiss_suggestion", "mark_suggestion_acted"):
        target = owned[me if arg == "own" else other][extra]
        cur.execute(f"SELECT {S}.{kind}(%s)", (target,))
        row = cur.fetchone()
        assert row is not None
        assert row[0] in (True, False) and (arg == "own" or row[0] is False)
        return []
    if kind in ("snooze_suggestion", "dismiss_with_reason", "rate_suggestion_useful"):
        which, value = extra
        target = owned[me if arg == "own" else other][which]
        if kind == "snooze_suggestion":
            cur.execute(f"SELECT {S}.snooze_suggestion(%s, now() + %s::interval)",
                        (target, value))
        elif kind == "dismiss_with_reason":
            cur.execute(f"SELECT {S}.dismiss_suggestion(%s, %s, 'a note')", (target, value))
        else:
            cur.execute(f"SELECT {S}.rate_suggestion_useful(%s)", (target,))
        row = cur.fetchone()
        assert row is not None
        # Another's suggestion is absent: nothing (snooze, useful) or false (dismiss).
        assert arg == "own" or row[0] in (None, False), (action, row)
        return []
    if kind == "prefs":
        changes = {"user_id": str(other)} if arg == {"user_id": "other"} else arg
        cur.execute(f"SELECT {S}.update_my_preferences(%s)", (Jsonb(changes),))
    elif kind == "my_preferences":
        cur.execute(f"SELECT {S}.my_preferences()")
    elif kind == "close_suggestion":
        cur.execute(f"SELECT {S}.close_suggestion(%s, 'dismissed', now(), %s)",
                    (owned[other][0], other))
    elif kind == "answer_snooze":
        cur.execute(f"SELECT * FROM {S}.answer_snooze(%s, now() + interval '1 hour', now(), %s)",
                    (owned[other][0], other))
    elif kind == "answer_dismiss":
        cur.execute(f"SELECT {S}.answer_dismiss(%s, 'wrong', NULL, now(), %s)",
                    (owned[other][0], other))
    elif kind == "answer_useful":
        cur.execute(f"SELECT {S}.answer_useful(%s, now(), %s)", (owned[other][0], other))
    else:
        cur.execute(f"SELECT {S}.update_preferences(%s, '{{\"daily_cap\": 1}}')", (other,))
    row = cur.fetchone()
    assert row is not None
    return [UUID(row[0]["user_id"])]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pair=st.permutations(range(TRAVELERS)), steps=st.lists(actions, min_size=1, max_size=6))
def test_no_action_of_one_traveler_touches_or_reveals_another(
        world: tuple[str, list[UUID], dict[UUID, list[UUID]]], pair: list[int],
        steps: list[Action]) -> None:
    uri, users, owned = world
    me, other = users[pair[0]], users[pair[1]]
    others = [u for u in users if u != me]
    with psycopg.connect(uri, autocommit=True) as conn:
        # Every example starts from live suggestions with unsent notifications.
        conn.execute(f"UPDATE {S}.suggestions SET status = 'open'")
        conn.execute(f"UPDATE {S}.outbox SET cancelled_at = NULL")
        before = snapshot(conn, others)
        for action in steps:
            try:
                with acting(conn, "authenticated", claims_for(me), commit=True) as cur:
                    shown = run(cur, action, me, other, owned)
            except REFUSED:
                # Writes of another's data are refused outright; so are invalid preferences
                # and answers out of bounds.
                assert (action[0] in ("close_suggestion", "update_preferences", "prefs",
                                      "answer_snooze", "answer_dismiss", "answer_useful")
                        or (isinstance(action[2], tuple) and action[2][1] in OUT_OF_BOUNDS)
                        ), action
                continue
            assert set(shown) <= {me}, (action, shown)
        assert snapshot(conn, others) == before
