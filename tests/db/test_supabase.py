"""`migrate --supabase`: a traveler reaches exactly their own rows, as the Data API acts.

Every traveler-side statement runs as PostgREST runs a request (``supabase_fixture.acting``):
``SET LOCAL ROLE`` and the request's JWT claims in one transaction, on a real PostgreSQL that
has Supabase's primitives (tests/fixtures/supabase.sql).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg.types.json import Jsonb
from typer.testing import CliRunner, Result

from conftest import PRESETS, MakeDatabase, settings_for
from pam_proactive.cli.main import app
from pam_proactive.db.doctor import diagnose
from pam_proactive.db.migrate import migrate
from pam_proactive.engine import open_engine
from pam_proactive.jobs.pipeline.sweeps import sweep
from pam_proactive.suggestions import answers, store
from planting import Planter
from supabase_fixture import acting, claims_for, install_supabase

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
S = "pam_proactive"
TABLES = ("suggestions", "outbox", "insights", "user_preferences")
ANSWERS = ("snoozes", "feedback")  # the traveler's answers: readable, not in Realtime
runner = CliRunner()


async def invoke(args: list[str]) -> Result:
    """Run the CLI in a thread: it runs its own event loop, as in a terminal."""
    return await asyncio.to_thread(runner.invoke, app, args, terminal_width=200)


async def supabase_database(make_database: MakeDatabase, *, broadcast: bool = True) -> str:
    """A seed database with Supabase's primitives and `migrate --supabase` applied."""
    uri = await make_database("seed")
    install_supabase(uri)
    async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
        await migrate(conn, schema=S, preset="seed", supabase=True, broadcast=broadcast)
    return uri


async def travelers_with_suggestions(uri: str, n: int = 2) -> list[UUID]:
    """``n`` travelers, each over a budget: the engine's sweep writes a suggestion and its
    notification for each; each also gets an insight row."""
    with Planter(uri, "seed") as p:
        users = [p.user() for _ in range(n)]
        for user in users:
            p.budget(user, "food", 100)
            p.expense(user, 120, "food", NOW.date())
    async with open_engine(settings_for("seed"), conninfo=uri) as engine:
        await sweep(engine, NOW, user_ids=users)
    with psycopg.connect(uri, autocommit=True) as conn:
        for user in users:
            conn.execute(
                f"INSERT INTO {S}.insights (user_id, kind, period_start, period_end, \"values\","
                " computed_for) VALUES (%s, 'spending', %s, %s, %s, %s)",
                (user, NOW.date(), NOW.date(), Jsonb({"total": 1}), NOW))
    return users


def owners(cur: psycopg.Cursor[Any], table: str) -> list[UUID]:
    cur.execute(f"SELECT user_id FROM {S}.{table} ORDER BY 1")
    return [r[0] for r in cur.fetchall()]


def engine_rows(conn: psycopg.Connection[Any], user: UUID) -> dict[str, list[Any]]:
    """Every engine row of ``user``, read by the engine's own (owner) connection."""
    out = {}
    for table in TABLES + ANSWERS:
        cur = conn.execute(f"SELECT to_jsonb(t) FROM {S}.{table} AS t WHERE user_id = %s"
                           " ORDER BY to_jsonb(t)::text", (user,))
        out[table] = [r[0] for r in cur.fetchall()]
    return out


def live_suggestion(conn: psycopg.Connection[Any], user: UUID) -> UUID:
    row = conn.execute(f"SELECT id FROM {S}.suggestions WHERE user_id = %s"
                       " AND status IN ('open', 'delivered') LIMIT 1", (user,)).fetchone()
    assert row is not None
    return UUID(str(row[0]))


async def test_refused_without_supabase_primitives(make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    result = await invoke(["migrate", "--database-url", uri, "--supabase"])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "not a Supabase project" in lines[0]
    assert "schema auth" in lines[0] and "function auth.uid()" in lines[0]
    with psycopg.connect(uri, autocommit=True) as conn:
        cur = conn.execute(f"SELECT count(*) FROM {S}.schema_migrations"
                           " WHERE version LIKE 'supabase%%'")
        assert cur.fetchone() == (0,)
    # --broadcast needs the realtime schema even where auth exists.
    install_supabase(uri)
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("DROP SCHEMA realtime CASCADE")
    result = await invoke(["migrate", "--database-url", uri, "--supabase", "--broadcast"])
    assert result.exit_code == 1
    assert "function realtime.broadcast_changes" in result.output


@pytest.mark.parametrize("preset", PRESETS)
async def test_migrate_supabase_is_idempotent_and_doctor_is_clean(
        make_database: MakeDatabase, preset: str) -> None:
    uri = await make_database(preset)
    install_supabase(uri)
    async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
        assert any("migrate --supabase" in f.fix
                   for f in await diagnose(conn, preset=preset, schema=S))
    args = ["migrate", "--database-url", uri, "--preset", preset, "--supabase", "--broadcast"]
    first = await invoke(args)
    assert first.exit_code == 0, first.output
    assert "supabase" in first.output and "supabase-broadcast" in first.output
    again = await invoke(args)
    assert again.exit_code == 0 and "nothing (up to date)" in again.output
    async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
        findings = await diagnose(conn, preset=preset, schema=S)
    # (wheels-wins-live's own tables lack some indexes: warnings about public.* only.)
    assert [f for f in findings if not f.table.startswith("public.")] == []
    assert [f for f in findings if f.severity == "error"] == []


async def test_doctor_names_every_hole(make_database: MakeDatabase) -> None:
    uri = await supabase_database(make_database)
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(f"ALTER TABLE {S}.outbox DISABLE ROW LEVEL SECURITY")
        conn.execute(f"ALTER TABLE {S}.insights FORCE ROW LEVEL SECURITY")
        conn.execute(f"DROP POLICY pam_traveler_reads_own ON {S}.user_preferences")
        conn.execute(f"DROP POLICY pam_traveler_reads_own ON {S}.feedback")
        conn.execute(f"ALTER FUNCTION {S}.snooze_suggestion(uuid, timestamptz) SECURITY INVOKER")
        conn.execute(f"GRANT USAGE ON SCHEMA {S} TO anon")
        conn.execute(f"GRANT SELECT ON {S}.deliveries TO anon")
        conn.execute(f"GRANT UPDATE ON {S}.suggestions TO authenticated")
        conn.execute(f"ALTER FUNCTION {S}.dismiss_suggestion(uuid, text, text)"
                     " RESET search_path")
        conn.execute(f"ALTER FUNCTION {S}.my_preferences() SECURITY INVOKER")
        conn.execute(f"GRANT EXECUTE ON FUNCTION {S}.close_suggestion(uuid, text, timestamptz,"
                     " uuid) TO PUBLIC")
        conn.execute(f"ALTER PUBLICATION supabase_realtime DROP TABLE {S}.suggestions")
        conn.execute(f"ALTER TABLE {S}.outbox DISABLE TRIGGER pam_broadcast")
    async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
        findings = await diagnose(conn, preset="seed", schema=S)
    got = {(f.severity, f.table, f.problem.split(":")[0]) for f in findings}
    assert ("error", f"{S}.outbox", "row-level security is off") in got
    assert ("error", f"{S}.insights", "row-level security is FORCEd") in got
    assert ("error", f"{S}.user_preferences",
            "policy pam_traveler_reads_own missing") in got
    assert ("error", f"SCHEMA {S}", "anon may USAGE it") in got
    assert ("error", f"{S}.deliveries", "anon may SELECT it") in got
    assert ("error", f"{S}.suggestions", "authenticated may UPDATE it") in got
    assert ("error", f"{S}.dismiss_suggestion(uuid, text, text)",
            "search_path not pinned") in got
    assert ("error", f"{S}.my_preferences()", "not SECURITY DEFINER") in got
    assert ("error", f"{S}.feedback", "policy pam_traveler_reads_own missing") in got
    assert ("error", f"{S}.snooze_suggestion(uuid, timestamptz)", "not SECURITY DEFINER") in got
    assert any(t.startswith(f"FUNCTION {S}.close_suggestion") and p == "authenticated may "
               "EXECUTE it" for _, t, p in got)
    assert ("warning", f"{S}.suggestions",
            "not in the supabase_realtime publication") in got
    assert ("error", f"{S}.outbox", "broadcast trigger pam_broadcast missing or disabled") in got
    result = await invoke(["doctor", "--database-url", uri])
    assert result.exit_code == 1
    fixed = await invoke(["migrate", "--database-url", uri, "--supabase", "--broadcast"])
    assert fixed.exit_code == 0  # recorded: nothing re-applied, the operator runs the fixes
    with psycopg.connect(uri, autocommit=True) as conn:
        for f in findings:
            if f.fix.startswith(("ALTER", "REVOKE")):
                conn.execute(f.fix.encode())
        conn.execute(f"DELETE FROM {S}.schema_migrations WHERE version LIKE 'supabase%%'")
    again = await invoke(["migrate", "--database-url", uri, "--supabase", "--broadcast"])
    assert again.exit_code == 0, again.output
    async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
        assert await diagnose(conn, preset="seed", schema=S) == []


async def test_a_traveler_reads_exactly_their_own_rows(make_database: MakeDatabase) -> None:
    uri = await supabase_database(make_database)
    a, b = await travelers_with_suggestions(uri)
    with psycopg.connect(uri, autocommit=True) as conn:
        # The engine's own connection (the owner) still sees everyone: the sweep wrote both.
        everyone = engine_rows(conn, a), engine_rows(conn, b)
        for rows in everyone:
            assert all(rows[t] for t in TABLES), rows
        for me, other in ((a, b), (b, a)):
            with acting(conn, "authenticated", claims_for(me)) as cur:
                for table in TABLES:
                    seen = owners(cur, table)
                    assert seen and set(seen) == {me}, table
                    cur.execute(f"SELECT count(*) FROM {S}.{table} WHERE user_id = %s",
                                (other,))
                    assert cur.fetchone() == (0,)
                cur.execute(f"SELECT {S}.my_preferences() ->> 'user_id'")
                assert cur.fetchone() == (str(me),)


async def test_anon_and_a_claim_without_sub_get_nothing(make_database: MakeDatabase) -> None:
    uri = await supabase_database(make_database)
    a, _ = await travelers_with_suggestions(uri)
    with psycopg.connect(uri, autocommit=True) as conn:
        target = live_suggestion(conn, a)
        # anon holds no grant at all: even the schema is out of reach.
        for table in TABLES:
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="schema"), \
                    acting(conn, "anon", claims_for(None, "anon")) as cur:
                cur.execute(f"SELECT * FROM {S}.{table}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege), \
                acting(conn, "anon", claims_for(a, "anon")) as cur:
            cur.execute(f"SELECT {S}.dismiss_suggestion(%s)", (target,))
        # A forged token without sub: authenticated, but no one: zero rows, every write refused.
        for claims in (claims_for(None), None):
            with acting(conn, "authenticated", claims) as cur:
                for table in TABLES:
                    assert owners(cur, table) == []
            for call in ("dismiss_suggestion(%s)", "mark_suggestion_acted(%s)"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="not signed in"), \
                        acting(conn, "authenticated", claims) as cur:
                    cur.execute(f"SELECT {S}.{call}", (target,))
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="not signed in"), \
                    acting(conn, "authenticated", claims) as cur:
                cur.execute(f"SELECT {S}.update_my_preferences('{{}}')")
        assert engine_rows(conn, a)["suggestions"][0]["status"] in ("open", "delivered")


async def test_writes_only_through_the_functions(make_database: MakeDatabase) -> None:
    uri = await supabase_database(make_database)
    a, b = await travelers_with_suggestions(uri)
    with psycopg.connect(uri, autocommit=True) as conn:
        mine, theirs = live_suggestion(conn, a), live_suggestion(conn, b)
        for statement, args in (
                (f"UPDATE {S}.suggestions SET status = 'dismissed' WHERE id = %s", (mine,)),
                (f"DELETE FROM {S}.outbox WHERE user_id = %s", (a,)),
                (f"INSERT INTO {S}.user_preferences (user_id) VALUES (%s)", (uuid4(),)),
                (f"SELECT {S}.close_suggestion(%s, 'dismissed', now(), %s)", (theirs, b)),
                (f"SELECT {S}.update_preferences(%s, '{{}}')", (b,)),
                (f"SELECT * FROM {S}.deliveries", ()),
                (f"SELECT * FROM {S}.traveler_expenses", ())):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), \
                    acting(conn, "authenticated", claims_for(a)) as cur:
                cur.execute(statement, args)
        before = engine_rows(conn, b)
        # Another traveler's suggestion is "absent": false, and nothing of B changes.
        for fn in ("dismiss_suggestion", "mark_suggestion_acted"):
            with acting(conn, "authenticated", claims_for(a), commit=True) as cur:
                cur.execute(f"SELECT {S}.{fn}(%s)", (theirs,))
                assert cur.fetchone() == (False,)
        assert engine_rows(conn, b) == before
        with acting(conn, "authenticated", claims_for(a), commit=True) as cur:
            cur.execute(f"SELECT {S}.dismiss_suggestion(%s)", (mine,))
            assert cur.fetchone() == (True,)
            cur.execute(f"SELECT {S}.dismiss_suggestion(%s)", (mine,))
            assert cur.fetchone() == (False,)  # already closed
        assert engine_rows(conn, b) == before


async def test_supabase_dismiss_is_the_engine_dismiss(make_database: MakeDatabase) -> None:
    """The same suggestion state, dismissed once through Supabase and once through the
    engine's store (the HTTP API's path): the same rows result, save ids and times."""
    uri = await supabase_database(make_database, broadcast=False)
    a, b = await travelers_with_suggestions(uri)
    with psycopg.connect(uri, autocommit=True) as conn:
        via_supabase, via_engine = live_suggestion(conn, a), live_suggestion(conn, b)
        # Their notifications not sent yet (as under quiet hours): a dismissal cancels them.
        conn.execute(f"UPDATE {S}.outbox SET delivered_at = NULL")
        with acting(conn, "authenticated", claims_for(a), commit=True) as cur:
            cur.execute(f"SELECT {S}.dismiss_suggestion(%s)", (via_supabase,))
    async with open_engine(settings_for("seed"), conninfo=uri) as engine:
        assert await store.dismiss(engine.db, S, via_engine, NOW + timedelta(minutes=1))
    with psycopg.connect(uri, autocommit=True) as conn:
        def state(sid: UUID) -> tuple[Any, ...]:
            row = conn.execute(
                f"SELECT s.status, s.status_changed_at = s.updated_at,"
                " array_agg(o.cancelled_at IS NOT NULL ORDER BY o.id)"
                f" FROM {S}.suggestions s JOIN {S}.outbox o ON o.suggestion_id = s.id"
                " WHERE s.id = %s GROUP BY s.id", (sid,)).fetchone()
            assert row is not None
            return tuple(row)
        assert state(via_supabase) == state(via_engine) == ("dismissed", True, [True])
    # The cooldown reads the dismissal: the next sweep does not suggest the subject again.
    async with open_engine(settings_for("seed"), conninfo=uri) as engine:
        await sweep(engine, NOW + timedelta(hours=1), user_ids=[a, b])
    with psycopg.connect(uri, autocommit=True) as conn:
        live = conn.execute(f"SELECT count(*) FROM {S}.suggestions"
                            " WHERE status IN ('open', 'delivered')").fetchone()
        assert live == (0,)


async def test_preferences_are_validated_and_own(make_database: MakeDatabase) -> None:
    uri = await supabase_database(make_database, broadcast=False)
    a, b = await travelers_with_suggestions(uri)
    new = uuid4()  # a traveler without a preferences row yet: the defaults
    with psycopg.connect(uri, autocommit=True) as conn:
        before = engine_rows(conn, b)
        with acting(conn, "authenticated", claims_for(new)) as cur:
            cur.execute(f"SELECT {S}.my_preferences()")
            row = cur.fetchone()
            assert row is not None and row[0]["opted_out"] is False
            assert row[0]["disabled_types"] == [] and row[0]["daily_cap"] is None
            # The digest's choices: null while the engine's defaults apply.
            assert (row[0]["digest"], row[0]["digest_hour"], row[0]["digest_priorities"]) == (
                None, None, None)
        changes = {"timezone": "Europe/Paris", "quiet_start": "22:00", "quiet_end": "07:30",
                   "daily_cap": 3, "disabled_types": ["fuel_low", "budget_overspend"],
                   "digest": True, "digest_hour": 7, "digest_priorities": ["high", "low"]}
        with acting(conn, "authenticated", claims_for(a), commit=True) as cur:
            cur.execute(f"SELECT {S}.update_my_preferences(%s)", (Jsonb(changes),))
            row = cur.fetchone()
            assert row is not None
            got = row[0]
        assert got["user_id"] == str(a) and got["timezone"] == "Europe/Paris"
        assert (got["quiet_start"], got["quiet_end"], got["daily_cap"]) == ("22:00", "07:30", 3)
        assert got["disabled_types"] == ["budget_overspend", "fuel_low"]
        assert (got["digest"], got["digest_hour"], got["digest_priorities"]) == (
            True, 7, ["low", "high"])
        stored = conn.execute(f"SELECT timezone, daily_cap FROM {S}.user_preferences"
                              " WHERE user_id = %s", (a,)).fetchone()
        assert stored == ("Europe/Paris", 3)
        bad = [({"timezone": "Mars/Olympus"}, "preferences.timezone"),
               ({"timezone": "posixrules"}, "preferences.timezone"),
               ({"daily_cap": 101}, "preferences.daily_cap"),
               ({"daily_cap": -1}, "preferences.daily_cap"),
               ({"daily_cap": 2.5}, "preferences.daily_cap"),
               ({"daily_cap": "3"}, "preferences.daily_cap"),
               ({"quiet_start": "25:00"}, "preferences.quiet_start"),
               ({"quiet_start": None}, "set both, or clear both"),
               ({"quiet_start": "07:30"}, "must differ"),
               ({"disabled_types": ["Fuel Low"]}, "preferences.disabled_types"),
               ({"disabled_types": "fuel_low"}, "preferences.disabled_types"),
               ({"opted_out": "yes"}, "preferences.opted_out"),
               ({"digest": "yes"}, "preferences.digest"),
               ({"digest_hour": 24}, "preferences.digest_hour"),
               ({"digest_hour": 7.5}, "preferences.digest_hour"),
               ({"digest_priorities": ["critical"]}, "critical is always sent at once"),
               ({"digest_priorities": []}, "preferences.digest_priorities"),
               ({"user_id": str(b)}, "preferences.user_id: unknown field"),
               ([], "expected a JSON object")]
        for change, message in bad:
            with pytest.raises(psycopg.errors.InvalidParameterValue, match=message), \
                    acting(conn, "authenticated", claims_for(a)) as cur:
                cur.execute(f"SELECT {S}.update_my_preferences(%s)", (Jsonb(change),))
        assert conn.execute(f"SELECT timezone, daily_cap FROM {S}.user_preferences"
                            " WHERE user_id = %s", (a,)).fetchone() == stored
        with acting(conn, "authenticated", claims_for(a), commit=True) as cur:
            cur.execute(f"SELECT {S}.update_my_preferences(%s)",
                        (Jsonb({"quiet_start": None, "quiet_end": None, "daily_cap": None}),))
            row = cur.fetchone()
            assert row is not None and row[0]["quiet_start"] is None
        assert engine_rows(conn, b) == before


async def test_a_sweep_broadcasts_on_the_travelers_private_channel(
        make_database: MakeDatabase) -> None:
    uri = await supabase_database(make_database)
    a, b = await travelers_with_suggestions(uri)
    with psycopg.connect(uri, autocommit=True) as conn:
        rows = conn.execute("SELECT topic, event, payload FROM realtime.messages"
                            " WHERE payload ->> 'table' = 'suggestions' ORDER BY id").fetchall()
        inserted = {r[0]: r[2] for r in rows if r[1] == "INSERT"}
        assert set(inserted) == {f"user:{a}:suggestions", f"user:{b}:suggestions"}
        for user in (a, b):
            record = inserted[f"user:{user}:suggestions"]["record"]
            assert record["user_id"] == str(user) and record["status"] == "open"
        assert all(r[2]["record"]["user_id"] == r[0].split(":")[1] for r in rows)
        outbox = conn.execute("SELECT topic FROM realtime.messages"
                              " WHERE payload ->> 'table' = 'outbox'").fetchall()
        assert {r[0] for r in outbox} == {f"user:{a}:suggestions", f"user:{b}:suggestions"}
        # Joining a private channel: allowed on one's own topic only (Supabase asks the
        # realtime.messages policy with realtime.topic() set to the topic joined).
        for topic, expected in ((f"user:{a}:suggestions", True),
                                (f"user:{b}:suggestions", False), ("user::suggestions", False)):
            with acting(conn, "authenticated", claims_for(a), topic=topic) as cur:
                cur.execute("SELECT count(*) > 0 FROM realtime.messages")
                assert cur.fetchone() == (expected,), topic
        with acting(conn, "authenticated", claims_for(None),
                    topic=f"user:{a}:suggestions") as cur:
            cur.execute("SELECT count(*) FROM realtime.messages")
            assert cur.fetchone() == (0,)
        # A dismissal through Supabase is broadcast too.
        mine = live_suggestion(conn, a)
        with acting(conn, "authenticated", claims_for(a), commit=True) as cur:
            cur.execute(f"SELECT {S}.dismiss_suggestion(%s)", (mine,))
        last = conn.execute("SELECT topic, event, payload -> 'record' ->> 'status'"
                            " FROM realtime.messages WHERE payload ->> 'table' = 'suggestions'"
                            " ORDER BY id DESC LIMIT 1").fetchone()
        assert last == (f"user:{a}:suggestions", "UPDATE", "dismissed")


async def test_the_tables_are_in_the_realtime_publication(make_database: MakeDatabase) -> None:
    uri = await supabase_database(make_database, broadcast=False)
    with psycopg.connect(uri, autocommit=True) as conn:
        cur = conn.execute("SELECT tablename::text FROM pg_publication_tables"
                           " WHERE pubname = 'supabase_realtime' AND schemaname = %s", (S,))
        assert sorted(r[0] for r in cur.fetchall()) == sorted(TABLES)
        cur = conn.execute("SELECT relname::text, relreplident::text FROM pg_class"
                           " WHERE relnamespace = %s::regnamespace AND relname = ANY(%s)",
                           (S, list(TABLES)))
        assert dict(cur.fetchall()) == dict.fromkeys(TABLES, "d")  # the primary key


def test_claims_helper_matches_supabase() -> None:
    assert json.loads(json.dumps(claims_for(None))) == {"role": "authenticated",
                                                        "aud": "authenticated"}


async def test_the_owning_role_still_reads_every_traveler(make_database: MakeDatabase) -> None:
    """On Supabase the engine connects as the tables' owner, not a superuser: RLS is enabled
    but not forced, so an owner (here a plain role given the tables) reads every row."""
    uri = await supabase_database(make_database, broadcast=False)
    a, b = await travelers_with_suggestions(uri)
    owner = f"pam_owner_{uuid4().hex[:8]}"
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {owner} NOLOGIN NOSUPERUSER NOBYPASSRLS")
        conn.execute(f"GRANT USAGE ON SCHEMA {S} TO {owner}")
        for table in TABLES:
            conn.execute(f"ALTER TABLE {S}.{table} OWNER TO {owner}")
        try:
            with acting(conn, owner) as cur:
                for table in TABLES:
                    assert set(owners(cur, table)) == {a, b}, table
            conn.execute(f"ALTER TABLE {S}.suggestions FORCE ROW LEVEL SECURITY")
            with acting(conn, owner) as cur:  # what doctor warns of: forced, it sees nothing
                assert owners(cur, "suggestions") == []
        finally:
            for table in TABLES:
                conn.execute(f"ALTER TABLE {S}.{table} OWNER TO CURRENT_USER")
            conn.execute(f"DROP OWNED BY {owner}")
            conn.execute(f"DROP ROLE {owner}")


def answer_rows(conn: psycopg.Connection[Any], table: str, sid: UUID) -> list[dict[str, Any]]:
    """A suggestion's snoozes or feedback as the engine's owner reads them, without what
    differs between two travelers' identical answers (ids, times, owner, subject), and whether
    they kept the suggestion's owner, subject and numbers."""
    cur = conn.execute(
        "SELECT to_jsonb(t) - 'id' - 'user_id' - 'suggestion_id' - 'created_at' - 'until'"
        " - 'dedup_key' - 'data' || jsonb_build_object('as_suggestion',"
        "  t.user_id = s.user_id AND t.dedup_key = s.dedup_key"
        "  AND coalesce(to_jsonb(t) -> 'data' = s.data, true))"
        f" FROM {S}.{table} AS t JOIN {S}.suggestions AS s ON s.id = t.suggestion_id"
        " WHERE t.suggestion_id = %s ORDER BY t.id", (sid,))
    return [r[0] for r in cur.fetchall()]


def outbox_cancelled(conn: psycopg.Connection[Any], sid: UUID) -> list[bool]:
    cur = conn.execute(f"SELECT cancelled_at IS NOT NULL FROM {S}.outbox"
                       " WHERE suggestion_id = %s ORDER BY id", (sid,))
    return [r[0] for r in cur.fetchall()]


async def test_supabase_answers_are_the_engine_answers(make_database: MakeDatabase) -> None:
    """Snooze, useful and dismiss-with-reason, once through Supabase (A) and once through the
    engine's answers (the HTTP API's and the CLI's path, B): the same rows result, save ids,
    owners and times; A then reads exactly their own snoozes and feedback."""
    uri = await supabase_database(make_database, broadcast=False)
    a, b = await travelers_with_suggestions(uri)
    with psycopg.connect(uri, autocommit=True) as conn:
        sa, sb = live_suggestion(conn, a), live_suggestion(conn, b)
        conn.execute(f"UPDATE {S}.outbox SET delivered_at = NULL")  # unsent: a snooze holds them
        with acting(conn, "authenticated", claims_for(a), commit=True) as cur:
            cur.execute(f"SELECT {S}.snooze_suggestion(%s, now() + interval '2 hours')", (sa,))
            row = cur.fetchone()
            assert row is not None
            snoozed = row[0]
            cur.execute(f"SELECT {S}.rate_suggestion_useful(%s)", (sa,))
            assert cur.fetchone() == (True,)
            cur.execute(f"SELECT {S}.rate_suggestion_useful(%s)", (sa,))
            assert cur.fetchone() == (False,)  # already rated: nothing more recorded
        assert set(snoozed) == {"snooze_id", "until", "notifications_held"}
        assert snoozed["notifications_held"] == 1
        until = conn.execute(f"SELECT until - created_at, until FROM {S}.snoozes WHERE id = %s",
                             (snoozed["snooze_id"],)).fetchone()
        assert until is not None and until[0] == timedelta(hours=2)
        assert datetime.fromisoformat(snoozed["until"]) == until[1]
    async with open_engine(settings_for("seed"), conninfo=uri) as engine:
        done = await answers.snooze(engine.db, S, sb, NOW, NOW + timedelta(hours=2))
        assert done is not None and done.held == 1
        assert await answers.rate_useful(engine.db, S, sb, NOW) is True
        assert await answers.rate_useful(engine.db, S, sb, NOW) is False
    with psycopg.connect(uri, autocommit=True) as conn:
        for table in ANSWERS:
            assert answer_rows(conn, table, sa) == answer_rows(conn, table, sb), table
        assert outbox_cancelled(conn, sa) == outbox_cancelled(conn, sb) == [True]
        with acting(conn, "authenticated", claims_for(a), commit=True) as cur:
            cur.execute(f"SELECT {S}.dismiss_suggestion(%s, 'wrong', 'not my van')", (sa,))
            assert cur.fetchone() == (True,)
    async with open_engine(settings_for("seed"), conninfo=uri) as engine:
        assert await answers.dismiss(engine.db, S, sb, NOW, "wrong", "not my van") is True
    with psycopg.connect(uri, autocommit=True) as conn:
        feedback = answer_rows(conn, "feedback", sa)
        assert feedback == answer_rows(conn, "feedback", sb)
        assert [(f["verdict"], f["reason"], f["note"], f["as_suggestion"]) for f in feedback] == [
            ("useful", None, None, True), ("dismissed", "wrong", "not my van", True)]
        status = f"SELECT status FROM {S}.suggestions WHERE id = %s"
        assert conn.execute(status, (sa,)).fetchone() == ("dismissed",)
        assert conn.execute(status, (sb,)).fetchone() == ("dismissed",)
        # Reading one's answers under RLS: exactly one's own, nothing of B even by id.
        for me, other, mine in ((a, b, sa), (b, a, sb)):
            with acting(conn, "authenticated", claims_for(me)) as cur:
                for table in ANSWERS:
                    assert set(owners(cur, table)) == {me}, table
                    cur.execute(f"SELECT count(*) FROM {S}.{table} WHERE user_id = %s",
                                (other,))
                    assert cur.fetchone() == (0,)
                cur.execute(f"SELECT suggestion_id, note FROM {S}.feedback"
                            " WHERE verdict = 'dismissed'")
                assert cur.fetchall() == [(mine, "not my van")]
            # Read only: the traveler writes them through the functions alone.
            for statement in (f"DELETE FROM {S}.feedback",
                              f"UPDATE {S}.snoozes SET until = now() + interval '1 day'",
                              f"INSERT INTO {S}.feedback (user_id) VALUES ('{me}')"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege), \
                        acting(conn, "authenticated", claims_for(me)) as cur:
                    cur.execute(statement)


async def test_answers_on_another_travelers_suggestion_change_nothing(
        make_database: MakeDatabase) -> None:
    uri = await supabase_database(make_database)
    a, b = await travelers_with_suggestions(uri)
    with psycopg.connect(uri, autocommit=True) as conn:
        theirs = live_suggestion(conn, b)
        conn.execute(f"UPDATE {S}.outbox SET delivered_at = NULL")
        before = engine_rows(conn, b)
        for call, args, expected in (
                ("snooze_suggestion(%s, now() + interval '1 hour')", (theirs,), None),
                ("dismiss_suggestion(%s, 'other', 'a note')", (theirs,), False),
                ("dismiss_suggestion(%s)", (theirs,), False),
                ("rate_suggestion_useful(%s)", (theirs,), None),
                ("snooze_suggestion(%s, now() + interval '1 hour')", (uuid4(),), None),
                ("rate_suggestion_useful(%s)", (uuid4(),), None)):
            with acting(conn, "authenticated", claims_for(a), commit=True) as cur:
                cur.execute(f"SELECT {S}.{call}", args)
                assert cur.fetchone() == (expected,), call
        assert engine_rows(conn, b) == before
        assert engine_rows(conn, a)["snoozes"] == engine_rows(conn, a)["feedback"] == []
        # The internal functions are the engine's: a traveler cannot call them for anyone.
        for call in ("answer_snooze(%s, now() + interval '1 hour', now(), %s)",
                     "answer_dismiss(%s, NULL, NULL, now(), %s)",
                     "answer_useful(%s, now(), %s)"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), \
                    acting(conn, "authenticated", claims_for(a)) as cur:
                cur.execute(f"SELECT * FROM {S}.{call}", (theirs, b))
        assert engine_rows(conn, b) == before


async def test_answers_need_a_signed_in_traveler(make_database: MakeDatabase) -> None:
    uri = await supabase_database(make_database, broadcast=False)
    a, _ = await travelers_with_suggestions(uri)
    calls = ("snooze_suggestion(%s, now() + interval '1 hour')",
             "dismiss_suggestion(%s, 'wrong')", "rate_suggestion_useful(%s)")
    with psycopg.connect(uri, autocommit=True) as conn:
        target = live_suggestion(conn, a)
        before = engine_rows(conn, a)
        for call in calls:
            # anon: not even the schema, whatever its claims say.
            with pytest.raises(psycopg.errors.InsufficientPrivilege), \
                    acting(conn, "anon", claims_for(a, "anon")) as cur:
                cur.execute(f"SELECT {S}.{call}", (target,))
            for claims in (claims_for(None), None):  # a token without sub, or no claims at all
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="not signed in"), \
                        acting(conn, "authenticated", claims) as cur:
                    cur.execute(f"SELECT {S}.{call}", (target,))
        with acting(conn, "authenticated", claims_for(None)) as cur:
            for table in ANSWERS:
                assert owners(cur, table) == []
        assert engine_rows(conn, a) == before


async def test_answers_are_bounded_in_sql_too(make_database: MakeDatabase) -> None:
    """What the API refuses with a 422 the SQL refuses too (22023), changing nothing."""
    uri = await supabase_database(make_database, broadcast=False)
    a, _ = await travelers_with_suggestions(uri)
    with psycopg.connect(uri, autocommit=True) as conn:
        mine = live_suggestion(conn, a)
        before = engine_rows(conn, a)
        for call, args, message in (
                ("snooze_suggestion(%s, now())", (mine,), "must end in the future"),
                ("snooze_suggestion(%s, now() - interval '1 minute')", (mine,),
                 "must end in the future"),
                ("snooze_suggestion(%s, now() + interval '720 hours 1 second')", (mine,),
                 "at most 30 days"),
                ("snooze_suggestion(%s, NULL)", (mine,), "until and now must be given"),
                ("dismiss_suggestion(%s, 'boring')", (mine,), "unknown reason"),
                ("dismiss_suggestion(%s, 'other', %s)", (mine, "x" * 501),
                 "longer than 500 characters")):
            with pytest.raises(psycopg.errors.InvalidParameterValue, match=message), \
                    acting(conn, "authenticated", claims_for(a), commit=True) as cur:
                cur.execute(f"SELECT {S}.{call}", args)
        assert engine_rows(conn, a) == before
        # The bounds themselves are allowed: 30 days exactly, a note of 500 characters.
        with acting(conn, "authenticated", claims_for(a), commit=True) as cur:
            cur.execute(f"SELECT {S}.snooze_suggestion(%s, now() + interval '720 hours')",
                        (mine,))
            row = cur.fetchone()
            assert row is not None and row[0]["snooze_id"] > 0
            cur.execute(f"SELECT {S}.dismiss_suggestion(%s, 'other', %s)", (mine, "x" * 500))
            assert cur.fetchone() == (True,)
        # The SQL's bounds are the Python's (answers.MAX_SNOOZE, MAX_NOTE, REASONS), which
        # the engine's callers meet first, with the same messages.
        python_bounds = answers.MAX_SNOOZE, answers.MAX_NOTE
        assert python_bounds == (timedelta(hours=720), 500)
        for reason in answers.REASONS:  # each accepted (an absent id: nothing to dismiss)
            with acting(conn, "authenticated", claims_for(a)) as cur:
                cur.execute(f"SELECT {S}.dismiss_suggestion(%s, %s)", (uuid4(), reason))
                assert cur.fetchone() == (False,)
    async with open_engine(settings_for("seed"), conninfo=uri) as engine:
        with pytest.raises(ValueError, match="at most 30 days"):
            await answers.snooze(engine.db, S, mine, NOW, NOW + timedelta(days=31))
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="at most 30 days"), \
            psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(f"SELECT * FROM {S}.answer_snooze(%s, %s, %s)",
                     (mine, NOW + timedelta(days=30, seconds=1), NOW))


async def test_the_reasonless_dismiss_is_replaced_compatibly(make_database: MakeDatabase) -> None:
    """A project migrated before reasons existed has dismiss_suggestion(uuid): re-applying the
    access drops it for the one with defaults, which the same one-argument call reaches."""
    uri = await supabase_database(make_database, broadcast=False)
    a, _ = await travelers_with_suggestions(uri)
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(f"DROP FUNCTION {S}.dismiss_suggestion(uuid, text, text)")
        conn.execute(f"CREATE FUNCTION {S}.dismiss_suggestion(suggestion_id uuid)"
                     " RETURNS boolean LANGUAGE sql AS 'SELECT false'")
        conn.execute(f"UPDATE {S}.schema_migrations SET checksum = 'old'"
                     " WHERE version = 'supabase'")
    result = await invoke(["migrate", "--database-url", uri, "--supabase"])
    assert result.exit_code == 0 and "supabase" in result.output, result.output
    with psycopg.connect(uri, autocommit=True) as conn:
        cur = conn.execute("SELECT p.oid::regprocedure::text FROM pg_proc p"
                           " WHERE p.proname = 'dismiss_suggestion'"
                           " AND p.pronamespace = %s::regnamespace", (S,))
        assert [r[0] for r in cur.fetchall()] == [f"{S}.dismiss_suggestion(uuid,text,text)"]
        mine = live_suggestion(conn, a)
        with acting(conn, "authenticated", claims_for(a), commit=True) as cur:
            # PostgREST's rpc('dismiss_suggestion', {suggestion_id}) is a call by name.
            cur.execute(f"SELECT {S}.dismiss_suggestion(suggestion_id => %s)", (mine,))
            assert cur.fetchone() == (True,)
        cur = conn.execute(f"SELECT reason, note FROM {S}.feedback WHERE suggestion_id = %s",
                           (mine,))
        assert cur.fetchall() == [(None, None)]
    async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as aconn:
        assert await diagnose(aconn, preset="seed", schema=S) == []


async def test_a_traveler_reads_and_resets_only_their_own_adaptations(
        make_database: MakeDatabase) -> None:
    """Adaptations under RLS: one's own rows only; reset_my_adaptations is migration 0014's
    reset_adaptations for auth.uid(), never for another traveler."""
    uri = await supabase_database(make_database, broadcast=False)
    a, b = uuid4(), uuid4()
    with psycopg.connect(uri, autocommit=True) as conn:
        for user in (a, b):  # as the store writes them (StoreStatements.adapt)
            conn.execute(f"INSERT INTO {S}.adaptations (user_id, type, kind, level, value,"
                         " answers, since, updated_at) VALUES (%s, 'fuel_low', 'not_useful',"
                         " 2, 2, 3, now(), now())", (user,))
        with acting(conn, "authenticated", claims_for(a)) as cur:
            cur.execute(f"SELECT user_id, level FROM {S}.adaptations")
            assert cur.fetchall() == [(a, 2)]
        with acting(conn, "authenticated", claims_for(a), commit=True) as cur:
            cur.execute(f"SELECT {S}.reset_my_adaptations('fuel_low')")
            assert cur.fetchone() == (1,)
            cur.execute(f"SELECT {S}.reset_my_adaptations()")
            assert cur.fetchone() == (0,)  # nothing left in force
        levels = conn.execute(f"SELECT user_id, level, reset_by FROM {S}.adaptations"
                              " WHERE kind = 'not_useful' ORDER BY level").fetchall()
        assert sorted(levels) == sorted([(a, 0, "traveler"), (b, 2, None)])
        for statement in (f"SELECT {S}.reset_adaptations('{b}', NULL, now(), 'traveler')",
                          f"UPDATE {S}.adaptations SET level = 0",
                          f"DELETE FROM {S}.adaptations"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), \
                    acting(conn, "authenticated", claims_for(a)) as cur:
                cur.execute(statement)
        assert conn.execute(f"SELECT level FROM {S}.adaptations WHERE user_id = %s",
                            (b,)).fetchall() == [(2,)]
