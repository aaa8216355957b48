"""One grammar on every command: the same flags mean the same thing, honest metavars, old
spellings kept for a release with a note, tables readable at 80 columns, and a start-up that
imports only what `--help` and `--version` need."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
import typer.main
from rich.console import Console
from typer.testing import CliRunner

from pam_proactive.cli.jobs import _RUN_COLUMNS, _run_row
from pam_proactive.cli.main import app
from pam_proactive.cli.render import print_table
from pam_proactive.jobs.scheduling.runs import RunRecord
from pam_proactive.jobs.scheduling.schedule import JOBS

runner = CliRunner()
UID = "0b7c2f4e-1d2a-4c1b-9e7f-3a5d6c8b9e01"
CLOSED = ["--database-url", "postgresql://127.0.0.1:1/x"]


def commands() -> dict[str, Any]:
    group = typer.main.get_command(app)
    found: dict[str, Any] = {}
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        if hasattr(cmd, "commands"):
            found |= {f"{name} {sub}": c for sub, c in cmd.commands.items()}
        else:
            found[name] = cmd
    return found


def options(cmd: Any) -> dict[str, Any]:
    return {p.opts[0]: p for p in cmd.params if p.opts[0].startswith("--")}


def test_version_imports_no_engine_api_or_worker() -> None:
    code = ("import sys\nfrom pam_proactive.cli.main import app\n"
            "sys.argv = ['pam-proactive', '--version']\n"
            "try:\n    app()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('celery', 'fastapi', 'numpy', 'psycopg_pool', 'uvicorn', 'psycopg')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60)
    version_line, loaded = done.stdout.splitlines()
    assert version_line.startswith("pam-proactive ")
    assert json.loads(loaded.replace("'", '"')) == []


def test_every_format_flag_takes_table_json_and_jsonl() -> None:
    with_format = {name for name, cmd in commands().items() if "--format" in options(cmd)}
    # Every command that prints data; the others print one line of outcome.
    assert with_format >= {"doctor", "context", "sweep", "fleet", "jobs", "job", "runs",
                           "relevance", "deliveries list", "deliveries inspect"}
    for name in with_format:
        param = options(commands()[name])["--format"]
        assert list(param.type_descriptor.choices) == ["table", "json", "jsonl"], name
        assert param.default == "table", name


def test_database_flags_everywhere_a_database_is_used() -> None:
    for name, cmd in commands().items():
        opts = options(cmd)
        if name in ("install-triggers",) or "--database-url" in opts:
            assert {"--preset", "--data-dir"} <= set(opts), name
    assert "--database-url" in options(commands()["jobs"])
    assert "--preset" in options(commands()["demo"])


def test_counts_and_ids_are_named_apart() -> None:
    for name in ("seed", "demo"):
        opts = options(commands()[name])
        assert opts["--travelers"].metavar == "N" and opts["--users"].hidden
    sweep = options(commands()["sweep"])
    assert sweep["--user-ids"].metavar == "ID,..." and sweep["--users"].hidden
    run = options(commands()["run"])
    assert "--demo-travelers" in run and run["--demo-users"].hidden


def test_run_and_serve_listen_on_the_same_default_port() -> None:
    ports = {options(commands()[name])["--port"].default for name in ("run", "serve")}
    assert ports == {8000}


@pytest.mark.parametrize("name", sorted(commands()))
def test_help_shows_honest_metavars(name: str) -> None:
    result = runner.invoke(app, [*name.split(), "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    for made_up in ("<bool>", "<str>", "<int>", "<path>", "<text>"):
        assert made_up not in result.stdout.lower(), (name, made_up)
    for opt in options(commands()[name]).values():
        if not opt.is_flag and not opt.hidden:
            assert opt.metavar, (name, opt.opts)  # a value-taking option says what value


@pytest.mark.parametrize(("args", "old", "new"), [
    (["seed", "--users", "3"], "--users", "--travelers"),
    (["sweep", "--users", UID], "--users", "--user-ids"),
    (["context", UID, "--json"], "--json", "--format json"),
])
def test_old_spellings_still_work_with_a_note(args: list[str], old: str, new: str) -> None:
    # Against a closed port: the flag was read (the command went as far as connecting).
    result = runner.invoke(app, [*args, *CLOSED])
    assert result.stderr.splitlines()[0] == (
        f"note: {old} is deprecated and will be removed in the next release: use {new}")
    assert result.exit_code == 1 and "cannot connect to the database" in result.stderr


def _record(i: int) -> RunRecord:
    slot = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
    return RunRecord(id=1000 + i, job=JOBS[i % len(JOBS)].name, slot=slot, as_of=slot,
                     runner="worker-host-long-name:123456", status="partial",
                     started_at=slot, finished_at=slot, ranges=4, ranges_failed=1,
                     ranges_skipped=0, users=12345, created=77, escalated=3, resolved=9,
                     expired=0, errors=1, detail={"evaluated_changed": 5,
                                                  "evaluated_due": 2, "evaluated_full": 0})


def test_runs_fit_80_columns_on_a_terminal_and_keep_a_header_when_piped() -> None:
    rows = [_run_row(_record(i)) for i in range(len(JOBS))]
    screen = Console(file=io.StringIO(), width=80, force_terminal=True, color_system=None)
    print_table(screen, "recent job runs", _RUN_COLUMNS, rows)
    text = screen.file.getvalue()  # type: ignore[attr-defined]
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text
    for job in JOBS:  # the essential values whole, each on its line
        assert any(job.name in line and "2026-11-25T18:00Z" in line for line in
                   text.splitlines()), job.name
    assert "not shown at this width: " in text and "runner" in text
    piped = Console(file=io.StringIO(), width=80, force_terminal=False)
    print_table(piped, "recent job runs", _RUN_COLUMNS, rows)
    lines = piped.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert lines[1].split()[:4] == ["id", "job", "slot", "(UTC)"]
    assert [line.split()[1] for line in lines[2:]] == [r[1] for r in rows]
    assert "worker-host-long-name:123456" in lines[2]  # piped: every column


def test_jobs_piped_has_a_header_and_json_has_every_job() -> None:
    now = ["--now", "2026-11-25T18:00:00+00:00"]
    text = runner.invoke(app, ["jobs", *now], env={"DATABASE_URL": None,
                                                   "SUPABASE_DB_URL": None}).stdout
    lines = text.splitlines()
    assert lines[1].split()[:3] == ["job", "cron", "(UTC)"]
    assert [line.split()[0] for line in lines[2:]] == [j.name for j in JOBS]
    listed = json.loads(runner.invoke(app, ["jobs", *now, "--format", "json"],
                                      env={"DATABASE_URL": None,
                                           "SUPABASE_DB_URL": None}).stdout)
    assert [j["job"] for j in listed] == [j.name for j in JOBS]
    assert all(j["last_run"] is None for j in listed)  # no database given: none read
