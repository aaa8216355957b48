"""`pam-proactive doctor`: does this database fit the chosen preset, and if not, which one?

Each finding names the table, the column and the fix. Errors mean the engine cannot run;
warnings mean it runs, slower or with less data. A fix is SQL only for the engine's own schema,
indexes, grants and roles: never DDL that creates or alters a traveler table (a database that
does not fit is told the preset it looks like, or how to write one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import psycopg

from pam_proactive.db.migrate import (
    SUPABASE_ACCESS,
    SUPABASE_BROADCAST,
    VIEW_NAMES,
    engine_migrations,
)
from pam_proactive.db.preset_fit import (
    CREATE_REFERENCE_TABLES,
    OWN_SCHEMA_HELP,
    PRESET_TABLES,
    fit,
    has_traveler_tables,
    public_columns,
    recognise,
)

# The index each per-user read needs: (table, columns). Without it a sweep scans the table.
SWEEP_INDEXES: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "seed": [("expenses", ("user_id", "date")), ("budgets", ("user_id",)),
             ("trips", ("user_id",)), ("calendar_events", ("user_id", "start_date")),
             ("fuel_log", ("user_id", "date")), ("maintenance_records", ("user_id",)),
             ("vehicles", ("user_id",))],
    "wheels-wins-live": [("expenses", ("user_id", "date")), ("budgets", ("user_id",)),
                         ("user_trips", ("user_id",)), ("trip_routes", ("trip_id",)),
                         ("calendar_events", ("user_id", "start_date")),
                         ("fuel_log", ("user_id", "date")), ("maintenance_records", ("user_id",)),
                         ("vehicles", ("user_id",)), ("user_settings", ("user_id",))],
}


# Every index the feed's range scans need, per preset: (table, column). `doctor` prints the
# missing ones as CREATE INDEX statements; the seed reference tables come with them. The feed
# itself is data/changes.py.
_SEED_CHANGE_INDEXES: list[tuple[str, tuple[str, ...]]] = [
    (t, (c,)) for t in ("profiles", "expenses", "budgets", "trips", "calendar_events",
                        "maintenance_records") for c in ("created_at", "updated_at")]
CHANGE_INDEXES: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "seed": [*_SEED_CHANGE_INDEXES, ("fuel_log", ("created_at",))],
    "wheels-wins-live": [("profiles", ("created_at",)), ("profiles", ("updated_at",)),
                         ("expenses", ("created_at",)), ("user_trips", ("created_at",)),
                         ("user_trips", ("updated_at",)), ("calendar_events", ("created_at",)),
                         ("calendar_events", ("updated_at",)), ("fuel_log", ("created_at",))],
}


@dataclass(frozen=True, slots=True)
class Finding:
    severity: Literal["error", "warning", "ok"]
    table: str
    column: str
    problem: str
    fix: str


async def diagnose(
    conn: psycopg.AsyncConnection[Any], *, preset: str, schema: str
) -> list[Finding]:
    """Every problem of this database for ``preset``; empty means all is well.

    When the traveler tables fit another preset, that is the one finding: the rest would be
    about the wrong preset (`doctor --preset OTHER` tells it)."""
    columns = await public_columns(conn)
    chosen = fit(preset, columns)
    others = [p for p in recognise(columns) if p != preset]
    if others and not chosen.fits:
        return [Finding("error", "public.*", "-", chosen.summary(),
                        f"this looks like {others[0]}: use `--preset {others[0]}` (e.g. "
                        f"`pam-proactive doctor --preset {others[0]}`)")]
    findings = _table_findings(preset, columns)
    findings += await _index_findings(conn, preset, columns)
    findings += await _engine_findings(conn, schema, preset, chosen.fits)
    findings += await _privilege_findings(conn, preset, columns)
    findings += await _supabase_findings(conn, schema)
    return findings


def _table_findings(preset: str, columns: dict[str, set[str]]) -> list[Finding]:
    """What the preset reads that is not there, with advice that never alters the tables."""
    if not has_traveler_tables(columns):
        fix = (f"`{CREATE_REFERENCE_TABLES}` creates the seed preset's reference tables here"
               if preset == "seed" else
               "point DATABASE_URL (or --database-url) at the database that has them")
        return [Finding("error", "public.*", "-", "no traveler tables in this database", fix)]
    advice = (f"choose the preset these tables fit (`pam-proactive doctor --preset NAME`), "
              f"or write one for your schema: {OWN_SCHEMA_HELP}")
    found = fit(preset, columns)
    out = [Finding("error", f"public.{table}", "-", "table missing",
                   f"preset {preset!r} reads it: {advice}") for table in found.missing_tables]
    out += [Finding("error", f"public.{table}", column, "column missing",
                    f"preset {preset!r} reads it: {advice}")
            for table, column in found.missing_columns]
    return out


async def _index_findings(
    conn: psycopg.AsyncConnection[Any], preset: str, columns: dict[str, set[str]]
) -> list[Finding]:
    cur = await conn.execute(
        "SELECT t.relname::text, array_agg(a.attname::text ORDER BY k.ord)"
        " FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid"
        " JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'"
        " CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)"
        " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum"
        " GROUP BY i.indexrelid, t.relname"
    )
    leading: dict[str, list[list[str]]] = {}
    for table, cols in await cur.fetchall():
        leading.setdefault(table, []).append(list(cols))
    out = []
    checks = [(t, w, "no index for per-user reads") for t, w in SWEEP_INDEXES[preset]]
    checks += [(t, w, "no index for the change feed (sweep --incremental, watch)")
               for t, w in CHANGE_INDEXES[preset]]
    for table, wanted, problem in checks:
        if table not in columns or not set(wanted) <= columns[table]:
            continue
        if any(idx[: len(wanted)] == list(wanted) for idx in leading.get(table, [])):
            continue
        name = f"{table}_{'_'.join(wanted)}_idx"
        out.append(Finding(
            "warning", f"public.{table}", ", ".join(wanted), problem,
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON public.{table} "
            f"({', '.join(wanted)});"))
    return out


async def _engine_findings(
    conn: psycopg.AsyncConnection[Any], schema: str, preset: str, fits: bool
) -> list[Finding]:
    # `migrate` refuses tables that do not fit: the fix comes after theirs (listed above).
    migrate = ("" if fits else "once the traveler tables fit: ") + (
        f"pam-proactive migrate --preset {preset}")
    cur = await conn.execute(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = %s",
        (schema,))
    present = {r[0] for r in await cur.fetchall()}
    if "schema_migrations" not in present:
        return [Finding("error", f"{schema}.*", "-", "engine schema not migrated",
                        migrate)]
    cur = await conn.execute(
        f'SELECT version, name FROM "{schema}".schema_migrations'  # schema name validated
    )
    done = {str(v): str(n) for v, n in await cur.fetchall()}
    out = []
    pending = [m for m in engine_migrations() if m.version not in done]
    if pending:
        out.append(Finding("error", f"{schema}.schema_migrations", "-",
                           f"{len(pending)} migration(s) pending", "pam-proactive migrate"))
    if done.get("preset") != preset:
        out.append(Finding("error", f"{schema}.traveler_*", "-",
                           f"views installed for preset {done.get('preset')!r}, not {preset!r}",
                           migrate))
    for view in VIEW_NAMES:
        if view not in present:
            out.append(Finding("error", f"{schema}.{view}", "-", "view missing", migrate))
    return out


async def _privilege_findings(
    conn: psycopg.AsyncConnection[Any], preset: str, columns: dict[str, set[str]]
) -> list[Finding]:
    cur = await conn.execute(
        "SELECT current_user::text, rolsuper OR rolbypassrls FROM pg_roles"
        " WHERE rolname = current_user")
    role, bypass = (await cur.fetchone()) or ("current_user", False)
    out = []
    for table in PRESET_TABLES[preset]:
        if table not in columns:
            continue
        cur = await conn.execute(
            "SELECT has_table_privilege(current_user, c.oid, 'SELECT'), c.relrowsecurity,"
            " pg_get_userbyid(c.relowner) = current_user"
            " FROM pg_class c WHERE c.oid = %s::regclass", (f"public.{table}",))
        can_read, rls, owner = (await cur.fetchone()) or (False, False, False)
        if not can_read:
            out.append(Finding("error", f"public.{table}", "-", "engine role cannot read it",
                               f'GRANT SELECT ON public.{table} TO "{role}";'))
        elif rls and not (bypass or owner):
            out.append(Finding(
                "error", f"public.{table}", "-",
                "row-level security hides other users' rows from the engine role",
                f'ALTER ROLE "{role}" BYPASSRLS;  -- or connect as a role that has it'))
    return out


# What `migrate --supabase` exposes: the traveler-facing tables (SELECT under RLS) and the
# functions an app calls (SECURITY DEFINER, search_path pinned), by signature.
# Of the tables, the first four are in the supabase_realtime publication (snoozes, feedback and
# adaptations are the traveler's own answers and what they changed, returned by the functions).
TRAVELER_TABLES = ("suggestions", "outbox", "insights", "user_preferences", "snoozes",
                   "feedback", "adaptations")
REALTIME_TABLES = TRAVELER_TABLES[:4]
TRAVELER_FUNCTIONS = ("dismiss_suggestion(uuid, text, text)",
                      "snooze_suggestion(uuid, timestamptz)", "rate_suggestion_useful(uuid)",
                      "mark_suggestion_acted(uuid)", "my_preferences()",
                      "update_my_preferences(jsonb)", "reset_my_adaptations(text)")
TRAVELER_POLICY = "pam_traveler_reads_own"

# From the catalogs: to_regprocedure would need USAGE on schema auth, which doctor's role may
# lack.
_IS_SUPABASE = ("SELECT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n"
                " ON n.oid = p.pronamespace WHERE n.nspname = 'auth' AND p.proname = 'uid')"
                " AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon')"
                " AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated')")

# Per traveler table: RLS on, not forced, our policy present, its publication membership.
_TABLE_STATE = (
    "SELECT t.name, c.relrowsecurity, c.relforcerowsecurity,"
    " EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = %(policy)s),"
    " EXISTS (SELECT 1 FROM pg_publication_rel r JOIN pg_publication b ON b.oid = r.prpubid"
    "  WHERE b.pubname = 'supabase_realtime' AND r.prrelid = c.oid),"
    " EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = c.oid AND g.tgname = 'pam_broadcast'"
    "  AND g.tgenabled <> 'D')"
    " FROM unnest(%(tables)s::text[]) AS t(name)"
    " JOIN pg_class c ON c.relname = t.name"
    " JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = %(schema)s"
)

# Every privilege anon or authenticated holds in the engine schema, beyond what we grant.
_EXTRA_GRANTS = (
    "SELECT r.rolname::text, 'USAGE', 'SCHEMA ' || quote_ident(%(schema)s)"
    " FROM pg_roles r WHERE r.rolname = 'anon' AND has_schema_privilege(r.oid, %(schema)s, 'USAGE')"
    " UNION ALL"
    " SELECT r.rolname::text, p.priv, c.oid::regclass::text"
    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = %(schema)s"
    " CROSS JOIN pg_roles r"
    " CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS p(priv)"
    " WHERE r.rolname IN ('anon', 'authenticated') AND c.relkind IN ('r', 'v', 'm', 'p')"
    "  AND has_table_privilege(r.oid, c.oid, p.priv)"
    "  AND NOT (r.rolname = 'authenticated' AND p.priv = 'SELECT'"
    "           AND c.relname = ANY(%(tables)s::text[]))"
    " UNION ALL"
    " SELECT r.rolname::text, 'EXECUTE', 'FUNCTION ' || f.oid::regprocedure::text"
    " FROM pg_proc f JOIN pg_namespace n ON n.oid = f.pronamespace AND n.nspname = %(schema)s"
    " CROSS JOIN pg_roles r"
    " WHERE r.rolname IN ('anon', 'authenticated') AND f.prokind = 'f'"
    "  AND f.prorettype <> 'trigger'::regtype"
    "  AND has_function_privilege(r.oid, f.oid, 'EXECUTE')"
    "  AND NOT (r.rolname = 'authenticated' AND f.oid = ANY(%(functions)s::regprocedure[]))"
    " ORDER BY 1, 3, 2"
)

# Per app function: present, SECURITY DEFINER, search_path pinned to ''.
_FUNCTION_STATE = (
    "SELECT f.name, p.prosecdef, coalesce('search_path=\"\"' = ANY(p.proconfig), false)"
    " FROM unnest(%(functions)s::text[]) WITH ORDINALITY AS f(name, ord)"
    " LEFT JOIN pg_proc p ON p.oid = to_regprocedure(f.name) ORDER BY f.ord"
)


async def _supabase_findings(conn: psycopg.AsyncConnection[Any], schema: str) -> list[Finding]:
    """On a Supabase project: is the traveler access of `migrate --supabase` whole?"""
    cur = await conn.execute(_IS_SUPABASE)
    row = await cur.fetchone()
    if not (row and row[0]):
        return []
    if await _regclass(conn, f'"{schema}".schema_migrations') is None:
        return []  # _engine_findings already says: not migrated
    cur = await conn.execute(
        f'SELECT version FROM "{schema}".schema_migrations'  # schema name validated
        " WHERE version IN (%s, %s)", (SUPABASE_ACCESS, SUPABASE_BROADCAST))
    installed = {str(r[0]) for r in await cur.fetchall()}
    if SUPABASE_ACCESS not in installed:
        return [Finding("warning", f"{schema}.*", "-",
                        "a Supabase project, but its apps cannot read suggestions (no RLS "
                        "policies, grants or functions installed)",
                        "pam-proactive migrate --supabase")]
    fix = "pam-proactive migrate --supabase" + (
        " --broadcast" if SUPABASE_BROADCAST in installed else "")
    functions = [f"{schema}.{f}" for f in TRAVELER_FUNCTIONS]
    params = {"schema": schema, "tables": list(TRAVELER_TABLES), "policy": TRAVELER_POLICY,
              "functions": [f'"{schema}".{f}' for f in TRAVELER_FUNCTIONS]}
    out: list[Finding] = []
    cur = await conn.execute(_TABLE_STATE, params)
    seen = set()
    cur2 = await conn.execute("SELECT EXISTS (SELECT 1 FROM pg_publication"
                              " WHERE pubname = 'supabase_realtime')")
    pub = await cur2.fetchone()
    has_publication = bool(pub and pub[0])
    for table, rls, forced, policy, published, broadcasting in await cur.fetchall():
        seen.add(table)
        where = f"{schema}.{table}"
        if not rls:
            out.append(Finding("error", where, "-", "row-level security is off: every "
                               "signed-in traveler reads every row",
                               f"ALTER TABLE {where} ENABLE ROW LEVEL SECURITY;"))
        if forced:
            out.append(Finding("error", where, "-", "row-level security is FORCEd: the "
                               "engine's own role no longer sees other travelers' rows",
                               f"ALTER TABLE {where} NO FORCE ROW LEVEL SECURITY;"))
        if not policy:
            out.append(Finding("error", where, "-",
                               f"policy {TRAVELER_POLICY} missing: travelers read nothing", fix))
        if has_publication and table in REALTIME_TABLES and not published:
            out.append(Finding("warning", where, "-", "not in the supabase_realtime "
                               "publication: apps get no live changes",
                               f"ALTER PUBLICATION supabase_realtime ADD TABLE {where};"))
        if (SUPABASE_BROADCAST in installed and table in ("suggestions", "outbox")
                and not broadcasting):
            out.append(Finding("error", where, "-", "broadcast trigger pam_broadcast "
                               "missing or disabled", fix))
    for table in TRAVELER_TABLES:
        if table not in seen:
            out.append(Finding("error", f"{schema}.{table}", "-", "table missing",
                               "pam-proactive migrate"))
    if not has_publication:
        out.append(Finding("warning", "supabase_realtime", "-", "publication missing: "
                           "apps get no Postgres Changes", "CREATE PUBLICATION "
                           "supabase_realtime;  -- then pam-proactive migrate --supabase"))
    cur = await conn.execute(_FUNCTION_STATE, {"functions": params["functions"]})
    for (_name, definer, pinned), short in zip(await cur.fetchall(), functions, strict=True):
        if definer is None:
            out.append(Finding("error", short, "-", "function missing", fix))
        elif not definer:
            out.append(Finding("error", short, "-", "not SECURITY DEFINER: travelers cannot "
                               "write through it", fix))
        elif not pinned:
            out.append(Finding("error", short, "-", "search_path not pinned: a caller's "
                               "objects could stand in for the engine's",
                               f"ALTER FUNCTION {short} SET search_path = '';"))
    cur = await conn.execute(_EXTRA_GRANTS, params)
    for role, privilege, target in await cur.fetchall():
        # A function's EXECUTE usually comes from PUBLIC's default grant.
        grantees = f"{role}, PUBLIC" if privilege == "EXECUTE" else role
        out.append(Finding("error", target, "-", f"{role} may {privilege} it: travelers "
                           "must reach only their own rows, through the app functions",
                           f"REVOKE {privilege} ON {target} FROM {grantees};"))
    return out


async def _regclass(conn: psycopg.AsyncConnection[Any], name: str) -> str | None:
    cur = await conn.execute("SELECT to_regclass(%s)::text", (name,))
    row = await cur.fetchone()
    return None if row is None or row[0] is None else str(row[0])
