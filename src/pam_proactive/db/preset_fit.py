"""Which preset a database's traveler tables fit: the tables and columns each preset reads.

The engine never changes traveler tables to make them fit: `migrate` refuses a database they
do not fit (naming the preset they look like), and `doctor` says which preset it is. Only an
explicit `migrate --create-reference-tables` (and `demo`, `seed`) creates the seed preset's
tables, in a database that has none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

Columns = dict[str, str]  # column -> SQL type (what the preset's views read)

SEED_TABLES: dict[str, Columns] = {
    "profiles": {"id": "uuid", "email": "text", "vehicle_type": "text", "fuel_type": "text",
                 "towing": "text", "region": "text", "status": "text",
                 "preferred_units": "text", "created_at": "timestamptz"},
    "expenses": {"id": "uuid", "user_id": "uuid", "amount": "numeric(10,2)", "category": "text",
                 "description": "text", "date": "date", "created_at": "timestamptz"},
    "budgets": {"id": "uuid", "user_id": "uuid", "category": "text", "amount": "numeric(10,2)",
                "period": "text", "start_date": "date", "end_date": "date",
                "created_at": "timestamptz"},
    "trips": {"id": "uuid", "user_id": "uuid", "origin": "text", "destination": "text",
              "start_date": "date", "end_date": "date", "distance_miles": "numeric(10,2)",
              "estimated_cost": "numeric(10,2)", "status": "text", "route_data": "jsonb",
              "created_at": "timestamptz"},
    "calendar_events": {"id": "uuid", "user_id": "uuid", "title": "text",
                        "start_date": "timestamptz", "end_date": "timestamptz",
                        "all_day": "boolean", "event_type": "text", "location_name": "text",
                        "created_at": "timestamptz"},
    "fuel_log": {"id": "uuid", "user_id": "uuid", "date": "date", "gallons": "numeric(10,2)",
                 "cost": "numeric(10,2)", "odometer": "integer", "mpg": "numeric(5,2)",
                 "created_at": "timestamptz"},
    "maintenance_records": {"id": "uuid", "user_id": "uuid", "task": "text", "date": "date",
                            "mileage": "integer", "next_due_date": "date",
                            "next_due_mileage": "integer", "created_at": "timestamptz"},
    "vehicles": {"id": "uuid", "user_id": "uuid", "name": "text", "vehicle_type": "text",
                 "fuel_type": "text", "fuel_capacity_gallons": "numeric(6,2)",
                 "mileage_current": "integer", "registration_expires": "date",
                 "insurance_expires": "date", "is_primary": "boolean"},
}

WWL_TABLES: dict[str, Columns] = {
    "profiles": {"id": "uuid", "status": "text", "region": "text", "vehicle_type": "text",
                 "fuel_type": "text", "towing": "text", "current_latitude": "double precision",
                 "current_longitude": "double precision", "created_at": "timestamptz"},
    "user_settings": {"user_id": "uuid", "notification_preferences": "jsonb",
                      "regional_preferences": "jsonb", "pam_preferences": "jsonb"},
    "expenses": {"id": "bigint", "user_id": "uuid", "amount": "numeric", "category": "text",
                 "description": "text", "date": "date", "expense_date": "date",
                 "created_at": "timestamptz"},
    "budgets": {"id": "uuid", "user_id": "uuid", "category": "text", "monthly_limit": "numeric",
                "budgeted_amount": "numeric", "alert_threshold": "numeric",
                "start_date": "date", "end_date": "date"},
    "user_trips": {"id": "uuid", "user_id": "uuid", "start_date": "date", "end_date": "date",
                   "status": "text", "total_budget": "numeric", "created_at": "timestamptz"},
    "trip_routes": {"trip_id": "uuid", "route_order": "integer", "start_location": "text",
                    "end_location": "text", "distance_km": "numeric", "route_data": "jsonb"},
    "calendar_events": SEED_TABLES["calendar_events"],
    "fuel_log": {"id": "bigint", "user_id": "uuid", "date": "date", "odometer": "numeric",
                 "volume": "numeric", "total": "numeric", "consumption": "numeric",
                 "filled_to_top": "boolean", "created_at": "timestamptz"},
    "maintenance_records": {"id": "bigint", "user_id": "uuid", "task": "text", "date": "date",
                            "mileage": "numeric", "next_due_date": "date",
                            "next_due_mileage": "numeric", "status": "text"},
    "vehicles": {**SEED_TABLES["vehicles"], "fuel_consumption_mpg": "numeric",
                 "fuel_consumption_l_per_100km": "numeric"},
}

# In the order `doctor` and the errors name them: the default first.
PRESET_TABLES: dict[str, dict[str, Columns]] = {"seed": SEED_TABLES,
                                                "wheels-wins-live": WWL_TABLES}

# Where the documentation tells how to read a schema that fits no preset.
OWN_SCHEMA_HELP = "the docs' section 'A schema no preset fits' (docs/writing-a-preset.md)"

# The command that creates the seed preset's tables: the only one besides demo and seed.
CREATE_REFERENCE_TABLES = "pam-proactive migrate --create-reference-tables"

# Every column of every table, view or foreign table in public, from the catalogs:
# information_schema.columns would hide the columns the engine's role has no privilege on.
_PUBLIC_COLUMNS = (
    "SELECT c.relname::text, a.attname::text FROM pg_attribute a"
    " JOIN pg_class c ON c.oid = a.attrelid"
    " JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'"
    " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped"
)


async def public_columns(conn: psycopg.AsyncConnection[Any]) -> dict[str, set[str]]:
    """The columns of each relation in schema public, by relation name."""
    cur = await conn.execute(_PUBLIC_COLUMNS)
    found: dict[str, set[str]] = {}
    for table, column in await cur.fetchall():
        found.setdefault(str(table), set()).add(str(column))
    return found


@dataclass(frozen=True, slots=True)
class PresetFit:
    """How far a database's public tables fit one preset."""

    preset: str
    missing_tables: tuple[str, ...]
    missing_columns: tuple[tuple[str, str], ...]  # (table, column) of tables that exist
    expected: int  # columns the preset reads, in all

    @property
    def fits(self) -> bool:
        return not self.missing_tables and not self.missing_columns

    @property
    def found(self) -> int:
        """Columns the preset reads that the database has."""
        tables = PRESET_TABLES[self.preset]
        lost = sum(len(tables[t]) for t in self.missing_tables) + len(self.missing_columns)
        return self.expected - lost

    def summary(self) -> str:
        """One line: the preset and the first of what it reads that is missing."""
        return f"the traveler tables do not fit preset {self.preset!r} (missing {self.missing()})"

    def missing(self, limit: int = 4) -> str:
        """The first ``limit`` missing tables and columns, e.g. 'public.trips, ...'."""
        names = [f"public.{t}" for t in self.missing_tables]
        names += [f"public.{t}.{c}" for t, c in self.missing_columns]
        shown = ", ".join(names[:limit])
        return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def fit(preset: str, columns: dict[str, set[str]]) -> PresetFit:
    """How the tables and ``columns`` found (see :func:`public_columns`) fit ``preset``."""
    tables = PRESET_TABLES[preset]
    missing_tables = tuple(t for t in tables if t not in columns)
    missing_columns = tuple((t, c) for t, cols in tables.items() if t in columns
                            for c in cols if c not in columns[t])
    return PresetFit(preset, missing_tables, missing_columns,
                     sum(len(cols) for cols in tables.values()))


def has_traveler_tables(columns: dict[str, set[str]]) -> bool:
    """Whether any table a preset reads is there (False: an empty database)."""
    return any(t in columns for tables in PRESET_TABLES.values() for t in tables)


def recognise(columns: dict[str, set[str]]) -> list[str]:
    """Every preset the tables fit (usually none or one)."""
    return [p for p in PRESET_TABLES if fit(p, columns).fits]


def closest(columns: dict[str, set[str]]) -> PresetFit:
    """The preset of which the database has the largest share of the columns read."""
    return max((fit(p, columns) for p in PRESET_TABLES), key=lambda f: f.found / f.expected)


def mismatch(preset: str, columns: dict[str, set[str]]) -> str | None:
    """Why the traveler tables do not fit ``preset`` and what to do, or None when they fit.

    The advice never changes traveler tables: it names the preset they fit, the command that
    creates the reference tables in an empty database, or how to write a preset."""
    chosen = fit(preset, columns)
    if chosen.fits:
        return None
    if not has_traveler_tables(columns):
        where = ("this database has no traveler tables (none of public.profiles, "
                 "public.expenses, ...)")
        if preset == "seed":
            return (f"{where}: to create the seed preset's reference tables here run "
                    f"`{CREATE_REFERENCE_TABLES}` (or `pam-proactive demo`, `pam-proactive "
                    "seed`); to read your own tables, point DATABASE_URL (or --database-url) "
                    "at their database")
        return (f"{where}, which preset {preset!r} reads: point DATABASE_URL (or "
                "--database-url) at the database that has them")
    head = chosen.summary()
    others = [p for p in recognise(columns) if p != preset]
    if others:
        return (f"{head}: this looks like {others[0]}: use `--preset {others[0]}` "
                f"(or PAM_PRESET={others[0]})")
    near = closest(columns)
    return (f"{head}: they fit no preset (closest: {near.preset}, {near.found} of "
            f"{near.expected} columns); `pam-proactive doctor --preset {near.preset}` lists "
            f"what differs, and {OWN_SCHEMA_HELP} tells how to write a preset")
