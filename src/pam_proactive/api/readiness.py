"""Readiness: a list of checks, each answering ok or why not. Add a check by appending a
function to :data:`DEFAULT_CHECKS` (or passing ``checks`` to ``create_app``)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from pam_proactive.api import repository
from pam_proactive.db.migrate import engine_migrations, preset_sql
from pam_proactive.engine import Engine
from pam_proactive.errors import PamError, SchemaError

CHECK_TIMEOUT = 5.0  # seconds; a hung database must not hang the probe


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's outcome; ``detail`` says why it failed (or what it saw)."""

    name: str
    ok: bool
    detail: str


# A check is named after its function: a failure it raises is reported under that name.
Check = Callable[[Engine], Awaitable[CheckResult]]


async def database(engine: Engine) -> CheckResult:
    """The database answers a query."""
    await repository.ping(engine)
    return CheckResult("database", True, "reachable")


def _preset_checksum(preset: str) -> str:
    # The checksum migrate records for an installed preset (db/migrate.py _install_preset).
    return hashlib.sha256((preset + preset_sql(preset)).encode()).hexdigest()


async def migrations(engine: Engine) -> CheckResult:
    """Every packaged migration is applied unchanged, and the configured preset's views are
    the installed ones."""
    try:
        applied = await repository.migrations_applied(engine)
    except SchemaError:
        return CheckResult("migrations", False,
                           "the engine schema has no migrations: run `pam-proactive migrate`")
    problems = []
    for mig in engine_migrations():
        done = applied.get(mig.version)
        if done is None:
            problems.append(f"{mig.version}_{mig.name} not applied")
        elif done != mig.checksum:
            problems.append(f"{mig.version}_{mig.name} differs from the applied one")
    preset = engine.settings.preset
    if applied.get("preset") != _preset_checksum(preset):
        problems.append(f"the views of preset {preset!r} are not installed")
    if problems:
        return CheckResult("migrations", False,
                           "; ".join(problems) + ": run `pam-proactive migrate`")
    return CheckResult("migrations", True, f"{len(engine_migrations())} applied, preset {preset}")


DEFAULT_CHECKS: tuple[Check, ...] = (database, migrations)


async def _guarded(check: Check, engine: Engine) -> CheckResult:
    name = getattr(check, "__name__", "check")
    try:
        return await asyncio.wait_for(check(engine), CHECK_TIMEOUT)
    except TimeoutError:
        return CheckResult(name, False, f"no answer within {CHECK_TIMEOUT:.0f} s")
    except PamError as exc:
        return CheckResult(name, False, str(exc))


async def run_checks(engine: Engine, checks: Sequence[Check]) -> list[CheckResult]:
    """Every check's result, run concurrently; a check that raises or hangs fails."""
    return list(await asyncio.gather(*(_guarded(c, engine) for c in checks)))
