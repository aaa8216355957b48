"""The documentation says what the code does: the README's two commands are the ones CI runs
and its links lead somewhere; the Python example of the docs runs against a real seeded
database, the commands table matches the command line, the settings table every setting the
code reads."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer.main
from typer.testing import CliRunner

from conftest import MakeDatabase
from pam_proactive.cli.main import app
from pam_proactive.config import Settings, env_names

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
DOCS = ROOT / "docs"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def section(page: str, title: str) -> str:
    """The text of ``docs/page`` from the heading ``title`` to the next heading of that level
    (the whole page after it for a page's ``# `` title)."""
    text = (DOCS / page).read_text()
    level = title.split(" ", 1)[0]
    start = text.index(title + "\n")
    rest = text[start + len(title) + 1:]
    end = re.search(rf"^{level} ", rest, re.MULTILINE)
    return rest[: end.start()] if end else rest


def table_rows(text: str, first_cell: str) -> list[list[str]]:
    """Cells of the rows of a markdown table whose first cell starts with ``first_cell``."""
    rows = []
    for line in text.splitlines():
        if line.startswith("| " + first_cell):
            cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
            rows.append([c.strip() for c in cells])
    return rows


def example(name: str) -> str:
    text = (DOCS / "python-api.md").read_text()
    marker = f"<!-- readme-example: {name} -->\n```python\n"
    start = text.index(marker) + len(marker)
    return text[start: text.index("```", start)]


def test_the_readme_test_command_is_the_one_ci_runs() -> None:
    blocks = re.findall(r"```bash\n(.*?)\n```", README, re.DOTALL)
    demo = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/pam-proactive demo"
    tests = "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/pytest"
    assert blocks[:2] == [demo, tests]
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci.splitlines()
    # The packages the README names for the tests are the ones CI installs.
    apt = next(b for b in blocks if b.startswith("sudo apt-get install"))
    for package in apt.split()[4:]:
        assert f"install -y -qq {package}" in ci or f" {package} >" in ci, package


def test_the_readme_links_lead_to_files_that_exist() -> None:
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README)
    local = [link for link in links if not link.startswith(("http://", "https://"))]
    assert len(local) > 20
    for link in local:
        assert (ROOT / link).exists(), link


def test_the_commands_table_lists_every_command_with_exactly_its_flags() -> None:
    group = typer.main.get_command(app)
    commands: dict[str, Any] = {}  # a group's commands as "group command"
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        if hasattr(cmd, "commands"):  # a group (typer's own click classes)
            commands |= {f"{name} {sub}": c for sub, c in cmd.commands.items()}
        else:
            commands[name] = cmd
    documented = {}
    for cells in table_rows(section("cli.md", "## Commands"), "`pam-proactive "):
        words = cells[0].strip("`").split()
        name = " ".join(words[1:3]) if " ".join(words[1:3]) in commands else words[1]
        documented[name] = set(re.findall(r"--[a-z][a-z-]*", cells[1]))
    # Hidden options are the deprecated spellings, named in the prose, not in the table.
    actual = {name: {opt for p in cmd.params for opt in p.opts
                     if opt.startswith("--") and opt != "--help" and not p.hidden}
              for name, cmd in commands.items()}
    assert documented == actual
    deprecated = {opt for cmd in commands.values() for p in cmd.params if p.hidden
                  for opt in p.opts}
    # The prose under the table names only flags that exist on some command.
    prose = section("cli.md", "## Commands").split("\n\n", 2)[2]
    every_flag = set().union(*actual.values()) | deprecated | {"--version", "--help"}
    assert set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", prose)) <= every_flag


def test_the_settings_table_lists_every_setting_the_code_reads() -> None:
    settings_table = section("configuration.md", "# Configuration")
    documented = {name for cells in table_rows(settings_table, "`")
                  for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0])}
    from_settings = {name for field in Settings.model_fields for name in env_names(field)}
    # Variables read straight from the environment (not through Settings); XDG_RUNTIME_DIR is
    # set by the embedded server for its own socket, not a setting.
    read_directly = set()
    for path in (ROOT / "src").rglob("*.py"):
        read_directly |= set(re.findall(r"""environ\.get\(\s*["']([A-Z0-9_]+)["']""",
                                        path.read_text()))
        read_directly |= set(re.findall(r"""getenv\(\s*["']([A-Z0-9_]+)["']""",
                                        path.read_text()))
    assert "PAM_LOG_LEVEL" in read_directly  # the scan sees what it should
    assert documented == from_settings | read_directly


def test_the_settings_table_gives_the_real_defaults() -> None:
    rows = table_rows(section("configuration.md", "# Configuration"), "`PAM_")
    defaults = {re.findall(r"`([A-Z0-9_]+)`", cells[0])[0]: cells[1].strip("`")
                for cells in rows if "/" not in cells[0]}
    for field, info in Settings.model_fields.items():
        name = env_names(field)[0]
        if name in defaults and info.default is not None and not isinstance(info.default,
                                                                             Path):
            shown = f"{info.default:g}" if isinstance(info.default, float) else str(
                info.default)
            assert defaults[name] == shown, name


async def test_the_python_example_runs_on_a_seeded_database(make_database: MakeDatabase,
                                                            tmp_path: Path) -> None:
    uri = await make_database("seed")
    seeded = await asyncio.to_thread(CliRunner().invoke, app,
                                     ["seed", "--travelers", "40", "--database-url", uri])
    assert seeded.exit_code == 0, seeded.stderr
    script = tmp_path / "example.py"
    script.write_text(example("python-api"))
    env = {**os.environ, "DATABASE_URL": uri, "PAM_DATA_DIR": str(tmp_path / "unused")}
    done = await asyncio.to_thread(subprocess.run, [sys.executable, str(script)], env=env,
                                   capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 5, done.stdout
    for line in lines[:3]:
        assert re.match(rf"^{UUID} \d+\.\d\d USD this month; budgets: ", line), line
    assert re.fullmatch(r"(\d+) profiles; \1 spending summaries", lines[3]), lines[3]
    count, found = re.fullmatch(r"(\d+) suggestions: (\{.*\})", lines[4]).groups()  # type: ignore[union-attr]
    assert int(count) > 0 and "'" in found
    assert not (tmp_path / "unused").exists()  # it used the database it was given


def test_the_api_calls_the_readme_names_exist() -> None:
    from pam_proactive.data.integration import ProactiveDataIntegrator

    text = section("python-api.md", "# Python API")
    paragraph = text[text.index("The other calls keep the seed's names"):]
    per_user = paragraph.split("; and", 1)[0]
    named = re.findall(r"`(get_\w+|health_check|invalidate_user)`", paragraph)
    assert len(named) > 10
    for name in named:
        assert callable(getattr(ProactiveDataIntegrator, name)), name
    for name in re.findall(r"`(get_\w+)`", per_user.split("):", 1)[1]):
        assert callable(getattr(ProactiveDataIntegrator, name + "_batch")), name
