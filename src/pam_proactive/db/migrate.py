"""Versioned SQL migrations of the engine schema, then the chosen preset's views.

Migrations are applied in order, recorded with a checksum, in one transaction under a
transaction-level advisory lock (session locks are unavailable behind Supabase's pooler), so
two processes migrating at once apply each file once. Running `migrate` again changes nothing.

Traveler tables are never created or altered here, except the seed preset's reference tables
on explicit request (``create_reference_tables``: `migrate --create-reference-tables`, `demo`,
`seed`). A database whose traveler tables do not fit the preset is refused before anything
changes, with the preset they look like (db/preset_fit.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg
from psycopg import sql

from pam_proactive.db.preset_fit import mismatch, public_columns
from pam_proactive.errors import MigrationError, PresetMismatchError

# An arbitrary constant: the advisory lock key that serialises concurrent migrations.
_LOCK_KEY = 0x70616D_7072

VIEW_NAMES = (
    "traveler_users",
    "traveler_expenses",
    "traveler_budgets",
    "traveler_trips",
    "traveler_events",
    "traveler_fuel_fills",
    "traveler_maintenance",
    "traveler_vehicles",
)


@dataclass(frozen=True, slots=True)
class Migration:
    version: str
    name: str
    text: str

    @property
    def checksum(self) -> str:
        """sha256 of the file's text."""
        return hashlib.sha256(self.text.encode()).hexdigest()


def render(text: str, schema: str) -> str:
    """Replace the ``@schema@`` placeholder with the quoted engine schema name."""
    # The name was validated as a plain lower-case identifier by the settings.
    return text.replace("@schema@", f'"{schema}"')


def engine_migrations() -> list[Migration]:
    """The packaged migrations, in version order."""
    folder = resources.files("pam_proactive.db") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version, _, rest = entry.name.partition("_")
            found.append(Migration(version, rest.removesuffix(".sql"), entry.read_text()))
    return sorted(found, key=lambda m: m.version)


def preset_sql(preset: str) -> str:
    """The SQL text installing the views of ``preset``."""
    entry = resources.files("pam_proactive.db") / "presets" / f"{preset}.sql"
    if not entry.is_file():
        raise MigrationError(f"unknown preset {preset!r}: use 'seed' or 'wheels-wins-live'")
    return entry.read_text()


# The only preset with reference tables the engine may create (on explicit request).
REFERENCE_PRESET = "seed"


def reference_tables_sql(preset: str) -> str:
    """The SQL text creating ``preset``'s reference tables and their indexes."""
    if preset != REFERENCE_PRESET:
        raise MigrationError(
            f"--create-reference-tables creates the seed preset's tables; preset {preset!r} "
            "reads a schema the engine never creates: use --preset seed, or leave the flag "
            "out (nothing was changed)")
    return (resources.files("pam_proactive.db") / "reference" / f"{preset}.sql").read_text()


# What `migrate --supabase` installs, recorded in schema_migrations under these versions.
SUPABASE_ACCESS = "supabase"
SUPABASE_BROADCAST = "supabase-broadcast"


def supabase_sql(name: str) -> str:
    """The SQL text of db/supabase/``name``.sql."""
    return (resources.files("pam_proactive.db") / "supabase" / f"{name}.sql").read_text()


# What Supabase provides that the Supabase SQL relies on: (what, present?) per check.
_SUPABASE_PRIMITIVES = (
    "SELECT 'schema auth', to_regnamespace('auth') IS NOT NULL"
    " UNION ALL SELECT 'function auth.uid()', EXISTS (SELECT 1 FROM pg_proc p"
    "  JOIN pg_namespace n ON n.oid = p.pronamespace"
    "  WHERE n.nspname = 'auth' AND p.proname = 'uid' AND p.pronargs = 0)"
    " UNION ALL SELECT 'role anon', EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon')"
    " UNION ALL SELECT 'role authenticated',"
    "  EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated')"
    " UNION ALL SELECT 'role service_role',"
    "  EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role')"
)
_BROADCAST_PRIMITIVES = (
    "SELECT 'function realtime.broadcast_changes',"
    " to_regprocedure('realtime.broadcast_changes(text, text, text, text, text, record, record,"
    " text)') IS NOT NULL"
)


async def _require(conn: psycopg.AsyncConnection[Any], query: str, flag: str) -> None:
    cur = await conn.execute(query)
    missing = [str(what) for what, ok in await cur.fetchall() if not ok]
    if missing:
        raise MigrationError(
            f"migrate {flag}: this database is not a Supabase project: missing "
            f"{', '.join(missing)} (nothing was changed)")


async def migrate(
    conn: psycopg.AsyncConnection[Any], *, schema: str, preset: str, supabase: bool = False,
    broadcast: bool = False, create_reference_tables: bool = False,
) -> list[str]:
    """Apply pending migrations and (re)install the preset's views; return what was applied.

    Refused with :class:`PresetMismatchError`, nothing changed, when the traveler tables in
    public do not fit ``preset``. With ``create_reference_tables`` (seed preset only), the
    seed's reference tables are created first where absent (reported as
    ``reference-tables:seed`` when any was). With ``supabase``, also install the
    traveler-facing grants, RLS policies, functions and Realtime publication membership
    (db/supabase/access.sql); with ``broadcast`` too, the
    per-traveler broadcast triggers (db/supabase/broadcast.sql). Either is refused, before
    anything changes, on a database without Supabase's primitives."""
    if broadcast and not supabase:
        raise MigrationError("migrate --broadcast needs --supabase")
    reference = reference_tables_sql(preset) if create_reference_tables else None
    applied: list[str] = []
    if supabase:
        await _require(conn, _SUPABASE_PRIMITIVES, "--supabase")
    if broadcast:
        await _require(conn, _BROADCAST_PRIMITIVES, "--broadcast")
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        if reference is not None:
            before = await public_columns(conn)
            await conn.execute(reference.encode())
            if await public_columns(conn) != before:
                applied.append(f"reference-tables:{preset}")
        # Checked inside the transaction: a refusal rolls back the reference tables too.
        problem = mismatch(preset, await public_columns(conn))
        if problem is not None:
            raise PresetMismatchError(f"{problem}; nothing was changed")
        await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        await conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {}.schema_migrations ("
                " version text PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            ).format(sql.Identifier(schema))
        )
        done = await _applied(conn, schema)
        for mig in engine_migrations():
            if mig.version in done:
                if done[mig.version] != mig.checksum:
                    raise MigrationError(
                        f"migration {mig.version}_{mig.name} changed after it was applied; "
                        "add a new migration instead of editing an applied one"
                    )
                continue
            await conn.execute(render(mig.text, schema).encode())
            await _record(conn, schema, mig.version, mig.name, mig.checksum)
            applied.append(f"{mig.version}_{mig.name}")
        if await _install_preset(conn, schema, preset, done):
            applied.append(f"preset:{preset}")
        extras = [SUPABASE_ACCESS] if supabase else []
        extras += [SUPABASE_BROADCAST] if broadcast else []
        for version in extras:
            if await _install_extra(conn, schema, version, done):
                applied.append(version)
    return applied


async def _install_extra(
    conn: psycopg.AsyncConnection[Any], schema: str, version: str, done: dict[str, str]
) -> bool:
    """Apply a re-runnable SQL file unless this text of it is already recorded."""
    name = "access" if version == SUPABASE_ACCESS else "broadcast"
    text = supabase_sql(name)
    checksum = hashlib.sha256(text.encode()).hexdigest()
    if done.get(version) == checksum:
        return False
    await conn.execute(render(text, schema).encode())
    await _record(conn, schema, version, name, checksum)
    return True


async def _applied(conn: psycopg.AsyncConnection[Any], schema: str) -> dict[str, str]:
    cur = await conn.execute(
        sql.SQL("SELECT version, checksum FROM {}.schema_migrations").format(sql.Identifier(schema))
    )
    return {str(v): str(c) for v, c in await cur.fetchall()}


async def _record(
    conn: psycopg.AsyncConnection[Any], schema: str, version: str, name: str, checksum: str
) -> None:
    await conn.execute(
        sql.SQL(
            "INSERT INTO {}.schema_migrations (version, name, checksum) VALUES (%s, %s, %s)"
            " ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name,"
            " checksum = EXCLUDED.checksum, applied_at = now()"
        ).format(sql.Identifier(schema)),
        (version, name, checksum),
    )


async def _install_preset(
    conn: psycopg.AsyncConnection[Any], schema: str, preset: str, done: dict[str, str]
) -> bool:
    text = preset_sql(preset)
    checksum = hashlib.sha256((preset + text).encode()).hexdigest()
    if done.get("preset") == checksum:
        return False
    # Views are derived objects: dropping and recreating them is how a preset changes.
    for view in VIEW_NAMES:
        await conn.execute(
            sql.SQL("DROP VIEW IF EXISTS {}.{} CASCADE").format(
                sql.Identifier(schema), sql.Identifier(view)
            )
        )
    try:
        await conn.execute(render(text, schema).encode())
    except psycopg.errors.UndefinedTable as exc:
        raise MigrationError(
            f"preset {preset!r} does not match this database ({exc.diag.message_primary}); "
            "run `pam-proactive doctor` to see what is missing"
        ) from exc
    except psycopg.errors.UndefinedColumn as exc:
        raise MigrationError(
            f"preset {preset!r} does not match this database ({exc.diag.message_primary}); "
            "run `pam-proactive doctor` to see what is missing"
        ) from exc
    await _record(conn, schema, "preset", preset, checksum)
    return True
