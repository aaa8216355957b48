"""The shipped deployment files hold their invariants: the image runs as a user, not root, with
a health check on /health/ready; every compose service and systemd unit runs a real
`pam-proactive` or `celery` command whose subcommand and options exist; the API is probed on
/health/ready and the worker with `celery inspect ping`. No container tool is needed (CI builds
no image): deploy/smoke.sh builds and runs them (docs/deployment.md)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from celery.bin.celery import celery as celery_group

from pam_proactive.cli.main import app
from pam_proactive.jobs.celery_app import app as celery_app

ROOT = Path(__file__).resolve().parent.parent
CELERY_APP = "pam_proactive.jobs.celery_app"
PAM_SERVICES = ("migrate", "api", "worker", "beat", "watch")
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))


def _joined_lines(text: str) -> list[str]:
    """Logical lines: backslash continuations joined, comments and blanks dropped."""
    lines: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        lines.append(current + line)
        current = ""
    return lines


def _dockerfile() -> list[tuple[str, str]]:
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1])
            for line in _joined_lines((ROOT / "Dockerfile").read_text())]


def _final_stage() -> list[tuple[str, str]]:
    steps = _dockerfile()
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return data


def _options(cmd: Any) -> set[str]:
    return {opt for param in cmd.params for opt in param.opts if opt.startswith("-")}


def _flags(argv: list[str]) -> list[str]:
    return [arg.split("=", 1)[0] for arg in argv if arg.startswith("-")]


def check_pam_command(argv: list[str]) -> None:
    """``argv`` (after ``pam-proactive``) names a command of the CLI with options it has."""
    # Typer's command group (its own click): read through duck typing.
    commands: dict[str, Any] = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    assert argv and argv[0] in commands, f"no pam-proactive command {argv[:1]}"
    cmd = commands[argv[0]]
    unknown = set(_flags(argv[1:])) - _options(cmd)
    assert not unknown, f"pam-proactive {argv[0]} has no option {sorted(unknown)}"


def check_celery_command(argv: list[str]) -> None:
    """``argv`` (after ``celery``) loads the engine's app and runs a Celery subcommand with
    options it has."""
    assert argv[:2] == ["-A", CELERY_APP], argv
    sub = argv[2]
    assert sub in celery_group.commands, f"no celery subcommand {sub!r}"
    unknown = set(_flags(argv[3:])) - _options(celery_group.commands[sub])
    assert not unknown, f"celery {sub} has no option {sorted(unknown)}"


def check_command(argv: list[str]) -> None:
    program, rest = Path(argv[0]).name, argv[1:]
    assert program in ("pam-proactive", "celery"), argv
    if program == "pam-proactive":
        check_pam_command(rest)
    else:
        check_celery_command(rest)


def _service_argv(service: dict[str, Any]) -> list[str]:
    entrypoint = service.get("entrypoint", ["pam-proactive"])  # the image's ENTRYPOINT
    return [*entrypoint, *service["command"]]


def _shell_argv(test: list[str]) -> list[str]:
    assert test[0] == "CMD-SHELL", test  # podman-compose 1.0 mangles the exec form
    return shlex.split(test[1].replace("$$(cat /etc/hostname)", "HOST"))


def test_image_is_multi_stage_slim_and_runs_as_a_user() -> None:
    steps = _dockerfile()
    assert [arg for op, arg in steps if op == "FROM"] == ["${BASE_IMAGE} AS build",
                                                           "${BASE_IMAGE}"]
    assert "BASE_IMAGE=python:3.11-slim" in [arg for op, arg in steps if op == "ARG"]
    final = _final_stage()
    users = [arg for op, arg in final if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    # Installed offline from the build stage's wheels, and smoke-tested at build time.
    assert any(op == "RUN" and "--no-index" in arg for op, arg in final)
    assert ("RUN", "pam-proactive --version") in final


def test_image_never_bakes_the_package_index_or_its_secrets() -> None:
    final = _final_stage()
    assert not [arg for op, arg in final if op in ("ARG", "ENV") and "PIP_INDEX" in arg]
    assert not [arg for op, arg in _dockerfile() if op == "COPY" and "pip.conf" in arg]


def test_image_health_check_probes_readiness_and_default_command_is_real() -> None:
    final = dict(_final_stage())
    assert "/health/ready" in final["HEALTHCHECK"]
    entrypoint, cmd = json.loads(final["ENTRYPOINT"]), json.loads(final["CMD"])
    assert entrypoint == ["pam-proactive"]
    check_command([*entrypoint, *cmd])


def test_build_context_is_only_what_the_build_copies() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*") + 1:][:6] == [
        "!pyproject.toml", "!README.md", "!LICENSE", "!src/", "!deploy/image_requirements.py",
        "**/__pycache__"]


def test_compose_has_the_stack_and_every_command_is_real() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", *PAM_SERVICES}
    for name in PAM_SERVICES:
        check_command(_service_argv(services[name]))
    assert services["migrate"]["command"][0] == "migrate"
    assert services["api"]["command"][0] == "serve"
    assert services["watch"]["command"][:3] == ["watch", "--executor", "celery"]
    assert services["beat"]["command"][0] == "beat"


def test_compose_worker_consumes_every_queue_the_engine_routes_to() -> None:
    argv = _service_argv(_compose()["services"]["worker"])
    queues = set(argv[argv.index("-Q") + 1].split(","))
    routed = {route["queue"] for route in celery_app.conf.task_routes.values()}
    assert routed and routed <= queues


def test_compose_health_checks_are_wired() -> None:
    services = _compose()["services"]
    api = _shell_argv(services["api"]["healthcheck"]["test"])
    assert api[:2] == ["python3", "-c"] and "/health/ready" in api[2]
    worker = _shell_argv(services["worker"]["healthcheck"]["test"])
    check_command(worker)
    assert worker[3:5] == ["inspect", "ping"]
    assert worker[worker.index("--destination") + 1] == "worker@HOST"
    command = services["worker"]["command"]
    assert command[command.index("--hostname") + 1] == "worker@%h"
    # Beat, the watcher and the one-shot migrate serve no HTTP: the image's check is off there.
    for name in ("beat", "watch", "migrate"):
        assert services[name]["healthcheck"] == {"disable": True}, name
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"][0] == "CMD-SHELL", name


def test_compose_ordering_and_settings() -> None:
    services = _compose()["services"]
    for name in ("api", "worker", "beat", "watch"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"}, name
        env = services[name]["environment"]
        assert env["PAM_CHANNELS"] and env["DATABASE_URL"] and env["REDIS_URL"], name
    assert "PAM_API_TOKEN" in services["api"]["environment"]


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_systemd_unit_runs_a_real_command_hardened(unit: Path) -> None:
    service: dict[str, str] = {}
    for line in _joined_lines(unit.read_text()):
        if "=" in line and not line.startswith("["):
            key, value = line.split("=", 1)
            service.setdefault(key, value)
    argv = shlex.split(re.sub(r"\$\{(\w+)\}", r"\1", service["ExecStart"]))
    assert argv[0].startswith("/opt/pam-proactive/bin/")
    check_command(argv)
    assert service["User"] == "pam-proactive"
    assert service["EnvironmentFile"] == "/etc/pam-proactive/pam-proactive.env"
    assert service["Restart"] == "on-failure"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["CapabilityBoundingSet"] == ""


def test_systemd_units_cover_both_topologies() -> None:
    names = {unit.name for unit in UNITS}
    assert names == {f"pam-proactive-{n}.service"
                     for n in ("run", "serve", "worker", "beat", "watch")}
    run = (ROOT / "deploy" / "systemd" / "pam-proactive-run.service").read_text()
    # `run` schedules and watches itself: it must never run beside beat or the watcher.
    assert ("Conflicts=pam-proactive-serve.service pam-proactive-beat.service "
            "pam-proactive-watch.service") in run
