"""Safe by construction: no command but `demo`, `seed` and `migrate --create-reference-tables`
creates traveler tables; every other one migrates only the engine schema (saying so on stderr)
and refuses traveler tables that do not fit the preset; `doctor` names the preset a database
looks like and never prints DDL for traveler tables."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner, Result

from conftest import MakeDatabase
from pam_proactive.cli.main import app
from pam_proactive.db.embedded import database_uri, ensure_database

NOW = "2026-11-25T18:00:00+00:00"
SEED_TABLES = {"profiles", "expenses", "budgets", "trips", "calendar_events", "fuel_log",
               "maintenance_records", "vehicles"}
# DDL that would create, alter or drop a table, a column or a constraint in schema public (the
# traveler's tables). CREATE INDEX and GRANT on them are allowed fixes.
TRAVELER_DDL = re.compile(
    r"\b(CREATE|ALTER|DROP)\s+(TABLE|VIEW)\b[^;]*\bpublic\.|\bADD\s+COLUMN\b|"
    r"\bALTER\s+COLUMN\b", re.IGNORECASE)

runner = CliRunner()
CLI = Path(sys.executable).with_name("pam-proactive")
_names = itertools.count()


async def invoke(*args: str) -> Result:
    """Run the CLI in a thread (it runs its own event loop), piped as in a script."""
    return await asyncio.to_thread(runner.invoke, app, list(args))


def empty_database(pg_server: str) -> str:
    name = f"t_empty_{next(_names)}"
    ensure_database(pg_server, name)
    return database_uri(pg_server, name)


def public_tables(uri: str) -> set[str]:
    with psycopg.connect(uri) as conn:
        return {str(r[0]) for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}


def public_columns(uri: str) -> set[tuple[str, str]]:
    with psycopg.connect(uri) as conn:
        return {(str(t), str(c)) for t, c in conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public'")}


def engine_schema_exists(uri: str) -> bool:
    with psycopg.connect(uri) as conn:
        row = conn.execute("SELECT to_regnamespace('pam_proactive') IS NOT NULL").fetchone()
        return bool(row and row[0])


async def test_doctor_names_wheels_wins_live_without_traveler_ddl(
        make_database: MakeDatabase) -> None:
    """The production-shaped fixture, no --preset (so seed): one finding naming the preset."""
    uri = await make_database("wheels-wins-live", migrate_engine=False)
    result = await invoke("doctor", "--database-url", uri)
    assert result.exit_code == 1, result.output
    assert "this looks like wheels-wins-live: use `--preset wheels-wins-live`" in result.stdout
    assert not TRAVELER_DDL.search(result.stdout), result.stdout
    as_json = await invoke("doctor", "--database-url", uri, "--format", "json")
    findings = json.loads(as_json.stdout)
    assert len(findings) == 1 and findings[0]["severity"] == "error"
    assert "--preset wheels-wins-live" in findings[0]["fix"]
    assert not TRAVELER_DDL.search(as_json.stdout)
    # With the right preset: only the engine's own schema is left to do, and it says how.
    right = await invoke("doctor", "--database-url", uri, "--preset", "wheels-wins-live")
    assert "pam-proactive migrate --preset wheels-wins-live" in right.stdout
    assert not TRAVELER_DDL.search(right.stdout), right.stdout


async def test_doctor_never_prints_traveler_ddl(make_database: MakeDatabase,
                                                pg_server: str) -> None:
    """Whatever the database (empty, missing a column, of the other preset), every fix is
    advice or DDL of the engine's schema, indexes and grants."""
    dropped = await make_database("seed")
    with psycopg.connect(dropped, autocommit=True) as conn:
        conn.execute("ALTER TABLE public.expenses DROP COLUMN category CASCADE")
    seed_db = await make_database("seed")
    cases = [(empty_database(pg_server), "seed"), (empty_database(pg_server), "wheels-wins-live"),
             (dropped, "seed"), (seed_db, "wheels-wins-live")]
    for uri, preset in cases:
        result = await invoke("doctor", "--database-url", uri, "--preset", preset,
                              "--format", "json")
        assert result.exit_code == 1, (preset, result.output)
        for finding in json.loads(result.stdout):
            assert not TRAVELER_DDL.search(finding["fix"]), finding
    empty = await invoke("doctor", "--database-url", cases[0][0])
    assert "no traveler tables in this database" in empty.stdout
    assert "pam-proactive migrate --create-reference-tables" in empty.stdout
    missing = await invoke("doctor", "--database-url", dropped, "--format", "json")
    column = [f for f in json.loads(missing.stdout) if f["problem"] == "column missing"]
    assert [(f["table"], f["column"]) for f in column] == [("public.expenses", "category")]
    assert "A schema no preset fits" in column[0]["fix"]
    other = await invoke("doctor", "--database-url", seed_db, "--preset", "wheels-wins-live")
    assert "this looks like seed: use `--preset seed`" in other.stdout


async def test_sweep_on_an_empty_database_refuses_and_creates_nothing(pg_server: str) -> None:
    uri = empty_database(pg_server)
    result = await invoke("sweep", "--now", NOW, "--database-url", uri)
    assert result.exit_code == 1, result.output
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith("error: this database has no traveler tables")
    assert "pam-proactive migrate --create-reference-tables" in error
    assert public_tables(uri) == set()
    assert not engine_schema_exists(uri)


@pytest.mark.parametrize("command", [
    ["sweep", "--now", NOW], ["fleet", "--now", NOW], ["runs"],
    ["job", "cleanup_and_health_check", "--now", NOW], ["deliveries", "list"], ["relevance"],
])
async def test_every_migrating_command_refuses_a_production_database_of_another_preset(
        make_database: MakeDatabase, command: list[str]) -> None:
    uri = await make_database("wheels-wins-live", migrate_engine=False)
    before = public_columns(uri)
    result = await invoke(*command, "--database-url", uri)
    assert result.exit_code == 1, result.output
    assert "this looks like wheels-wins-live: use `--preset wheels-wins-live`" in result.stderr
    assert "nothing was changed" in result.stderr
    assert public_columns(uri) == before
    assert not engine_schema_exists(uri)


async def test_tables_that_fit_no_preset_are_refused_with_the_closest(
        make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("ALTER TABLE public.expenses DROP COLUMN category CASCADE")
    before = public_columns(uri)
    result = await invoke("sweep", "--now", NOW, "--database-url", uri)
    assert result.exit_code == 1, result.output
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith("error: the traveler tables do not fit preset 'seed' (missing "
                            "public.expenses.category): they fit no preset (closest: seed, ")
    assert "`pam-proactive doctor --preset seed`" in error
    assert "'A schema no preset fits'" in error and error.endswith("nothing was changed")
    assert public_columns(uri) == before


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["run", "--port", "0"],
                                     ["watch"]])
async def test_long_running_commands_refuse_before_they_start(
        make_database: MakeDatabase, command: list[str]) -> None:
    """Real processes (they install signal handlers): one line, exit 1, not a traceback."""
    uri = await make_database("wheels-wins-live", migrate_engine=False)
    before = public_columns(uri)
    env = {**os.environ, "DATABASE_URL": uri}
    env.pop("PAM_PRESET", None)
    done = await asyncio.to_thread(subprocess.run, [str(CLI), *command], env=env,
                                   capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr[-2000:]
    assert done.stderr.startswith("error: the traveler tables do not fit preset 'seed'")
    assert "this looks like wheels-wins-live: use `--preset wheels-wins-live`" in done.stderr
    assert done.stderr.count("\n") == 1 and done.stdout == ""
    assert public_columns(uri) == before
    assert not engine_schema_exists(uri)


async def test_migrate_creates_traveler_tables_only_when_asked(pg_server: str) -> None:
    uri = empty_database(pg_server)
    plain = await invoke("migrate", "--database-url", uri)
    assert plain.exit_code == 1 and "--create-reference-tables" in plain.stderr
    assert public_tables(uri) == set()
    wrong = await invoke("migrate", "--create-reference-tables", "--preset", "wheels-wins-live",
                         "--database-url", uri)
    assert wrong.exit_code == 1 and "use --preset seed" in wrong.stderr
    assert public_tables(uri) == set()
    created = await invoke("migrate", "--create-reference-tables", "--database-url", uri)
    assert created.exit_code == 0, created.output
    assert created.stdout.startswith("applied: reference-tables:seed, 0001_engine_preferences")
    assert public_tables(uri) == SEED_TABLES
    again = await invoke("migrate", "--create-reference-tables", "--database-url", uri)
    assert again.stdout.strip() == "applied: nothing (up to date)"
    doctor = await invoke("doctor", "--database-url", uri)
    assert doctor.exit_code == 0, doctor.output


async def test_a_command_that_migrates_says_so_on_stderr(make_database: MakeDatabase) -> None:
    """One line naming what it applied, the first time only; nothing in public changes."""
    for command in (["sweep", "--now", NOW], ["runs"], ["fleet", "--now", NOW]):
        uri = await make_database("seed", migrate_engine=False)
        before = public_columns(uri)
        first = await invoke(*command, "--database-url", uri)
        assert first.exit_code == 0, first.output
        lines = [line for line in first.stderr.splitlines() if "migrated" in line]
        assert len(lines) == 1, first.stderr
        assert lines[0].startswith("note: migrated schema pam_proactive (preset seed): applied "
                                   "0001_engine_preferences, ")
        assert lines[0].endswith(", preset:seed")
        assert public_columns(uri) == before
        second = await invoke(*command, "--database-url", uri)
        assert second.exit_code == 0 and "migrated" not in second.stderr


async def test_seed_creates_the_reference_tables_of_an_empty_database(pg_server: str) -> None:
    uri = empty_database(pg_server)
    result = await invoke("seed", "--users", "20", "--now", NOW, "--database-url", uri)
    assert result.exit_code == 0, result.output
    assert "applied reference-tables:seed, 0001_engine_preferences" in result.stderr
    assert public_tables(uri) == SEED_TABLES
    with psycopg.connect(uri) as conn:
        row = conn.execute("SELECT count(*) FROM public.profiles").fetchone()
    assert row is not None and row[0] == 20
