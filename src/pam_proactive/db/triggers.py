"""Optional triggers that wake the watcher at once (LISTEN/NOTIFY) instead of at its next poll.

They are the only objects the engine ever puts on traveler tables, so they are never installed
by ``migrate``: ``pam-proactive install-triggers`` prints this SQL for the operator to read,
and runs it only with ``--apply``. Each trigger notifies the traveler's id after any insert,
update or delete (deletes are otherwise only seen by the periodic full pass). A notification
is a wake-up call, not the record: the watcher still reads what changed from the change feed.
"""

from __future__ import annotations

# The traveler tables of each preset and the column holding the traveler's id.
TRIGGER_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "seed": (("profiles", "id"), ("expenses", "user_id"), ("budgets", "user_id"),
             ("trips", "user_id"), ("calendar_events", "user_id"), ("fuel_log", "user_id"),
             ("maintenance_records", "user_id"), ("vehicles", "user_id")),
    "wheels-wins-live": (("profiles", "id"), ("user_settings", "user_id"),
                         ("expenses", "user_id"), ("budgets", "user_id"),
                         ("user_trips", "user_id"), ("trip_routes", "user_id"),
                         ("calendar_events", "user_id"), ("fuel_log", "user_id"),
                         ("maintenance_records", "user_id"), ("vehicles", "user_id")),
}

TRIGGER_NAME = "pam_proactive_notify"

# SECURITY DEFINER: the app's role writes traveler rows, the function (owned by the engine's
# role) queues deletes in the engine's schema.
_FUNCTION = """CREATE OR REPLACE FUNCTION "{schema}".notify_traveler_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    traveler text;
BEGIN
    -- TG_ARGV: the channel, then the column holding the traveler's id.
    IF TG_OP = 'DELETE' THEN
        traveler := to_jsonb(OLD) ->> TG_ARGV[1];
        IF traveler IS NOT NULL THEN
            INSERT INTO "{schema}".deletions (user_id) VALUES (traveler::uuid);
        END IF;
    ELSE
        traveler := to_jsonb(NEW) ->> TG_ARGV[1];
    END IF;
    IF traveler IS NOT NULL THEN
        PERFORM pg_notify(TG_ARGV[0], traveler);
    END IF;
    RETURN NULL;
END
$$;
"""

_TRIGGER = """DROP TRIGGER IF EXISTS {name} ON {table};
CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION "{schema}".notify_traveler_change('{channel}', '{column}');
"""


def trigger_sql(preset: str, schema: str, channel: str) -> str:
    """The SQL installing the notify triggers of ``preset`` (idempotent). ``schema`` and
    ``channel`` are validated identifiers (settings); table names are constants."""
    tables = [(f"public.{t}", c) for t, c in TRIGGER_TABLES[preset]]
    tables.append((f'"{schema}".user_preferences', "user_id"))
    parts = [f"-- pam-proactive: notify triggers for preset {preset!r}\n",
             _FUNCTION.format(schema=schema)]
    parts += [_TRIGGER.format(name=TRIGGER_NAME, table=t, schema=schema, channel=channel,
                              column=c) for t, c in tables]
    return "\n".join(parts)


def drop_trigger_sql(preset: str, schema: str) -> str:
    """The SQL removing them again."""
    tables = [f"public.{t}" for t, _ in TRIGGER_TABLES[preset]]
    tables.append(f'"{schema}".user_preferences')
    lines = [f"DROP TRIGGER IF EXISTS {TRIGGER_NAME} ON {t};" for t in tables]
    lines.append(f'DROP FUNCTION IF EXISTS "{schema}".notify_traveler_change();')
    return "\n".join(lines) + "\n"
