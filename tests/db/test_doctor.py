"""`doctor` names what is wrong, where, and how to fix it; its exit code says if the engine runs."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from typer.testing import CliRunner, Result

from conftest import PRESETS, MakeDatabase
from pam_proactive.cli.main import app
from pam_proactive.db.doctor import diagnose

runner = CliRunner()


async def invoke(args: list[str]) -> Result:
    """Run the CLI in a thread: it runs its own event loop, as in a terminal."""
    return await asyncio.to_thread(runner.invoke, app, args, terminal_width=200)


@pytest.mark.parametrize("preset", PRESETS)
async def test_a_fitting_database_has_no_errors(make_database: MakeDatabase, preset: str) -> None:
    uri = await make_database(preset)
    async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
        findings = await diagnose(conn, preset=preset, schema="pam_proactive")
    assert [f for f in findings if f.severity == "error"] == []
    result = await invoke(["doctor", "--database-url", uri, "--preset", preset])
    assert result.exit_code == 0, result.output


async def test_dropped_column_is_named_with_its_fix(make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("ALTER TABLE public.expenses DROP COLUMN category CASCADE")
    async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
        findings = await diagnose(conn, preset="seed", schema="pam_proactive")
    missing = [f for f in findings if f.problem == "column missing"]
    assert [(f.table, f.column) for f in missing] == [("public.expenses", "category")]
    # Advice, never DDL for the traveler's own table.
    assert missing[0].fix.startswith("preset 'seed' reads it: choose the preset these tables fit")
    assert "ALTER" not in missing[0].fix
    assert any(f.table == "pam_proactive.traveler_expenses" for f in findings)  # view dropped
    result = await invoke(["doctor", "--database-url", uri])
    assert result.exit_code == 1
    assert "public.expenses" in result.output and "category" in result.output


async def test_wwl_lists_missing_indexes_and_wrong_preset(make_database: MakeDatabase) -> None:
    uri = await make_database("wheels-wins-live")
    async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
        findings = await diagnose(conn, preset="wheels-wins-live", schema="pam_proactive")
        fixes = {f.fix for f in findings if f.severity == "warning"}
        assert ("CREATE INDEX CONCURRENTLY IF NOT EXISTS fuel_log_user_id_date_idx "
                "ON public.fuel_log (user_id, date);") in fixes
        wrong = await diagnose(conn, preset="seed", schema="pam_proactive")
    # The wrong preset: one finding, naming the right one (the route catalogue public.trips
    # is not the seed's trips table).
    assert len(wrong) == 1 and wrong[0].severity == "error"
    assert wrong[0].problem.startswith("the traveler tables do not fit preset 'seed' (missing ")
    assert wrong[0].fix.startswith("this looks like wheels-wins-live: use `--preset "
                                   "wheels-wins-live`")


async def test_unmigrated_database_is_an_error(make_database: MakeDatabase) -> None:
    uri = await make_database("wheels-wins-live", migrate_engine=False)
    async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
        findings = await diagnose(conn, preset="wheels-wins-live", schema="pam_proactive")
    assert any(f.problem == "engine schema not migrated" and f.fix.startswith("pam-proactive")
               for f in findings)


async def test_rls_without_bypass_is_reported(make_database: MakeDatabase) -> None:
    uri = await make_database("wheels-wins-live")
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS pam_reader")
        conn.execute("CREATE ROLE pam_reader LOGIN")
        conn.execute("GRANT USAGE ON SCHEMA pam_proactive TO pam_reader")
        conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO pam_reader")
        conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA pam_proactive TO pam_reader")
    reader = psycopg.conninfo.make_conninfo(uri, user="pam_reader")
    async with await psycopg.AsyncConnection.connect(reader, autocommit=True) as conn:
        findings = await diagnose(conn, preset="wheels-wins-live", schema="pam_proactive")
    rls = [f for f in findings if "row-level security" in f.problem]
    assert {f.table for f in rls} >= {"public.expenses", "public.profiles"}
    assert rls[0].fix.startswith('ALTER ROLE "pam_reader" BYPASSRLS')
