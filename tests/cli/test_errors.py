"""Every bad input gets one line on stderr naming what the user typed, and the right exit
code, on every command; a database that is not there fails within seconds."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from conftest import MakeDatabase, settings_for
from pam_proactive import __version__
from pam_proactive.cli.main import app
from pam_proactive.db.connection import Database
from pam_proactive.errors import DatabaseUnreachableError

UID = "0b7c2f4e-1d2a-4c1b-9e7f-3a5d6c8b9e01"
# Each command with the arguments it needs to get as far as reading its settings.
COMMANDS = [["migrate"], ["doctor"], ["seed", "--travelers", "3"], ["context", UID], ["demo"],
            ["sweep"]]
runner = CliRunner()


def run(args: list[str], env: dict[str, str | None] | None = None) -> Result:
    return runner.invoke(app, args, env=env)


def assert_one_line(result: Result, code: int, *fragments: str) -> None:
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in result.stderr


@pytest.fixture(autouse=True)
def no_embedded_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every command here must stop before it needs a database: if one got as far as the
    embedded server, it would start it here, not in the default data directory."""
    data_dir = tmp_path / "pgdata"
    monkeypatch.setenv("PAM_DATA_DIR", str(data_dir))
    yield
    assert not data_dir.exists(), "a command started the embedded server"


@pytest.fixture(scope="module")
def closed_port() -> Iterator[int]:
    """A 127.0.0.1 port with nothing listening (bound once to get a free number, then
    released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    yield port


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize(("flag", "value", "said"), [
    ("--database-url", "notaurl", "--database-url: should be a postgresql:// URL"),
    ("--now", "garbage", "--now garbage: should be ISO-8601"),
    ("--now", "9999-12-31T23:59:59Z",
     "--now 9999-12-31T23:59:59Z: should be within 20 years of the current time"),
    ("--preset", "nosuch", "--preset nosuch: should be 'seed' or 'wheels-wins-live'"),
])
def test_a_bad_flag_names_the_flag_on_every_command(command: list[str], flag: str, value: str,
                                                    said: str) -> None:
    if command[0] in ("migrate", "doctor") and flag == "--now":
        said = "No such option: --now"  # they read no traveler data: no clock
    # A closed port: a command that got past its settings would fail to connect instead.
    result = run([*command, flag, value, "--database-url", "postgresql://127.0.0.1:1/x"]
                 if flag != "--database-url" else [*command, flag, value])
    assert_one_line(result, 2, said)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize(("variable", "value", "said"), [
    ("PAM_BATCH_SIZE", "-5", "PAM_BATCH_SIZE=-5: should be greater than or equal to 1 "
                             "(unset PAM_BATCH_SIZE for the default, 1000)"),
    ("PAM_CACHE_TTL", "abc", "PAM_CACHE_TTL=abc: should be a number"),
    ("PAM_PRESET", "nosuch", "PAM_PRESET=nosuch: should be 'seed' or 'wheels-wins-live'"),
    ("SUPABASE_DB_URL", "mysql://u:secret@h/d", "SUPABASE_DB_URL: should be a postgresql://"),
    ("PAM_LOG_LEVEL", "loud", "PAM_LOG_LEVEL=loud: should be one of DEBUG"),
])
def test_a_bad_variable_names_the_variable_on_every_command(
        command: list[str], variable: str, value: str, said: str) -> None:
    if command[0] == "demo" and variable == "PAM_PRESET":
        pytest.skip("the demo always uses the seed preset")
    env: dict[str, str | None] = {"DATABASE_URL": "postgresql://127.0.0.1:1/x",
                                  "SUPABASE_DB_URL": None, "PAM_DATABASE_URL": None}
    if variable == "SUPABASE_DB_URL":
        env["DATABASE_URL"] = None
    env[variable] = value
    result = run(command, env=env)
    assert_one_line(result, 2, said)
    assert "secret" not in result.stderr  # a URL's password is never echoed


@pytest.mark.parametrize(("args", "said"), [
    (["sweep", "--format", "xml"], "'--format': 'xml' is not one of 'table', 'json', 'jsonl'"),
    (["doctor", "--format", "xml"], "'--format': 'xml' is not one of 'table', 'json', 'jsonl'"),
    (["seed", "--travelers", "abc"], "'--travelers': should be a whole number"),
    (["seed", "--travelers", "0"], "'--travelers': should be greater than or equal to 1"),
    (["context", UID, "--now", "2026-11-25T12:00:00"],
     "--now 2026-11-25T12:00:00: give its UTC offset, e.g. 2026-11-25T12:00:00+00:00"),
    (["sweep", "--now", "2026-11-25"], "--now 2026-11-25: give its UTC offset"),
    (["context"], "Missing argument"),
    (["context", "not-a-uuid"], "USER_ID not-a-uuid: not a user id"),
    (["sweep", "--user-ids", f"{UID},nope,zz"], "--user-ids nope, zz: not a user id"),
    (["sweep", "--user-ids", ","], "--user-ids: give at least one user id"),
    (["sweep", "--bogus"], "No such option: --bogus"),
    (["nosuch"], "No such command 'nosuch'"),
])
def test_usage_errors_are_one_line(args: list[str], said: str) -> None:
    assert_one_line(run([*args, "--database-url", "postgresql://127.0.0.1:1/x"]
                        if args[0] != "nosuch" else args), 2, said)


def test_version() -> None:
    result = run(["--version"])
    assert result.exit_code == 0 and result.stdout == f"pam-proactive {__version__}\n"


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("host", ["127.0.0.1", "nosuchhost.invalid"])
def test_an_unreachable_database_fails_within_seconds(command: list[str], host: str,
                                                      closed_port: int) -> None:
    url = f"postgresql://postgres@{host}:{closed_port}/x"
    started = time.monotonic()
    result = run([*command, "--database-url", url])
    elapsed = time.monotonic() - started
    assert_one_line(result, 1, "cannot connect to the database:", "Check DATABASE_URL")
    assert ("Connection refused" if host == "127.0.0.1" else "nosuchhost.invalid") in (
        result.stderr)
    assert elapsed < 5, elapsed


async def test_database_open_fails_fast_and_is_not_retried(closed_port: int) -> None:
    # A long query timeout: the pool alone would wait that long for a first connection.
    settings = settings_for(query_timeout=30.0, retry_max_seconds=30)
    db = Database(f"postgresql://postgres@127.0.0.1:{closed_port}/x", settings)
    started = time.monotonic()
    with pytest.raises(DatabaseUnreachableError, match="Connection refused"):
        await db.open()
    assert time.monotonic() - started < 5
    await db.close()


async def test_database_open_still_opens_a_reachable_one(make_database: MakeDatabase) -> None:
    uri = await make_database("seed")
    db = Database(uri, settings_for())
    await asyncio.wait_for(db.open(), 10)
    try:
        assert await db.fetch("one", "SELECT 1") == [(1,)]
    finally:
        await db.close()


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_an_unusable_data_dir_is_one_line(command: list[str], tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = run([*command, "--data-dir", str(blocker / "pgdata")],
                 env={"DATABASE_URL": None, "SUPABASE_DB_URL": None, "PAM_DATABASE_URL": None})
    assert_one_line(result, 1, "could not start the embedded PostgreSQL in",
                    "choose another with --data-dir (or PAM_DATA_DIR)")


def test_seed_refuses_another_preset_naming_where_it_came_from() -> None:
    url = ["--database-url", "postgresql://127.0.0.1:1/x"]
    assert_one_line(run(["seed", "--preset", "wheels-wins-live", *url]), 2,
                    "--preset wheels-wins-live: demo data is written in the seed preset's")
    assert_one_line(run(["seed", *url], env={"PAM_PRESET": "wheels-wins-live"}), 2,
                    "PAM_PRESET=wheels-wins-live: demo data")
