-- A traveler's actions as SQL functions: the ONE implementation of dismiss, acted and the
-- preference update. The engine (store.py, the HTTP API) calls them with the traveler's id;
-- `migrate --supabase` wraps them in SECURITY DEFINER functions that pass auth.uid(), so a
-- Supabase app and the engine's API do exactly the same thing. Not executable by PUBLIC: only
-- the owner (the engine's role) and the roles it grants may call them.

-- Close a live suggestion as 'dismissed' or 'acted' at p_now and cancel its unsent
-- notifications; the cooldown then reads status_changed_at. With p_user, only that
-- traveler's suggestion is touched (another's id is "absent": nothing reveals it exists).
-- True when a live suggestion was closed; false when absent, another's, or already closed.
CREATE OR REPLACE FUNCTION @schema@.close_suggestion(
    p_id uuid, p_status text, p_now timestamptz, p_user uuid DEFAULT NULL
) RETURNS boolean
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_owner  uuid;
    v_closed integer;
BEGIN
    IF p_status IS NULL OR p_status NOT IN ('dismissed', 'acted') THEN
        RAISE EXCEPTION 'close_suggestion: status must be dismissed or acted, not %', p_status
            USING ERRCODE = '22023';
    END IF;
    IF p_now IS NULL THEN
        RAISE EXCEPTION 'close_suggestion: now must be given' USING ERRCODE = '22023';
    END IF;
    SELECT s.user_id INTO v_owner FROM @schema@.suggestions AS s
     WHERE s.id = p_id AND (p_user IS NULL OR s.user_id = p_user);
    IF v_owner IS NULL THEN
        RETURN false;
    END IF;
    -- The sweep's per-user lock (store.USER_LOCK_CLASS = 0x70616D): a dismissal is never
    -- lost under a sweep's update of the same traveler.
    PERFORM pg_advisory_xact_lock(7364973, hashtext(v_owner::text));
    WITH closed AS (
        UPDATE @schema@.suggestions AS s
           SET status = p_status, status_changed_at = p_now, updated_at = p_now
         WHERE s.id = p_id AND s.status IN ('open', 'delivered')
        RETURNING s.id
    ), cancelled AS (
        UPDATE @schema@.outbox AS o SET cancelled_at = p_now FROM closed
         WHERE o.suggestion_id = closed.id AND o.delivered_at IS NULL AND o.cancelled_at IS NULL
    )
    SELECT count(*) INTO v_closed FROM closed;
    RETURN v_closed = 1;
END
$$;

-- A traveler's preferences as the app shows them: the stored row, or the defaults.
-- Quiet hours as 'HH:MM'.
CREATE OR REPLACE FUNCTION @schema@.preferences_of(p_user uuid) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = ''
AS $$
    SELECT jsonb_build_object(
        'user_id', p_user,
        'opted_out', coalesce(p.opted_out, false),
        'disabled_types', to_jsonb(coalesce(p.disabled_types, '{}'::text[])),
        'timezone', p.timezone,
        'quiet_start', to_char(p.quiet_start, 'HH24:MI'),
        'quiet_end', to_char(p.quiet_end, 'HH24:MI'),
        'daily_cap', p.daily_cap,
        'updated_at', p.updated_at)
    FROM (SELECT 1) AS one
    LEFT JOIN @schema@.user_preferences AS p ON p.user_id = p_user
$$;

-- Change a traveler's preferences: each key of p_changes present is set (JSON null clears
-- it), every value validated; an unknown key, a wrong type, an unknown time zone, a cap out
-- of 0..100 or half-set quiet hours is refused with SQLSTATE 22023 naming the field, and
-- nothing changes. Returns the preferences after the change (preferences_of).
CREATE OR REPLACE FUNCTION @schema@.update_preferences(p_user uuid, p_changes jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_key   text;
    v_val   jsonb;
    v_opted boolean;
    v_types text[];
    v_tz    text;
    v_start time;
    v_end   time;
    v_cap   integer;
BEGIN
    IF p_user IS NULL THEN
        RAISE EXCEPTION 'preferences: no traveler' USING ERRCODE = '42501';
    END IF;
    IF p_changes IS NULL OR jsonb_typeof(p_changes) <> 'object' THEN
        RAISE EXCEPTION 'preferences: expected a JSON object of fields to change'
            USING ERRCODE = '22023';
    END IF;
    FOR v_key IN SELECT jsonb_object_keys(p_changes) LOOP
        IF v_key NOT IN ('opted_out', 'disabled_types', 'timezone', 'quiet_start',
                         'quiet_end', 'daily_cap') THEN
            RAISE EXCEPTION 'preferences.%: unknown field (known: opted_out, disabled_types, '
                'timezone, quiet_start, quiet_end, daily_cap)', v_key USING ERRCODE = '22023';
        END IF;
    END LOOP;

    -- The row as it is (locked), or the defaults.
    SELECT p.opted_out, p.disabled_types, p.timezone, p.quiet_start, p.quiet_end, p.daily_cap
      INTO v_opted, v_types, v_tz, v_start, v_end, v_cap
      FROM @schema@.user_preferences AS p WHERE p.user_id = p_user FOR UPDATE;
    v_opted := coalesce(v_opted, false);
    v_types := coalesce(v_types, '{}'::text[]);

    IF p_changes ? 'opted_out' THEN
        v_val := p_changes -> 'opted_out';
        IF jsonb_typeof(v_val) <> 'boolean' THEN
            RAISE EXCEPTION 'preferences.opted_out: expected true or false'
                USING ERRCODE = '22023';
        END IF;
        v_opted := v_val::boolean;
    END IF;

    IF p_changes ? 'disabled_types' THEN
        v_val := p_changes -> 'disabled_types';
        IF jsonb_typeof(v_val) = 'null' THEN
            v_types := '{}'::text[];
        ELSIF jsonb_typeof(v_val) <> 'array' OR jsonb_array_length(v_val) > 64
              OR EXISTS (SELECT 1 FROM jsonb_array_elements(v_val) AS e(x)
                          WHERE jsonb_typeof(e.x) <> 'string'
                             OR NOT (e.x #>> '{}') ~ '^[a-z][a-z0-9_]{0,63}$') THEN
            RAISE EXCEPTION 'preferences.disabled_types: expected at most 64 suggestion types '
                '(lower-case names such as "fuel_low")' USING ERRCODE = '22023';
        ELSE
            v_types := ARRAY(SELECT DISTINCT e.x FROM jsonb_array_elements_text(v_val) AS e(x)
                              ORDER BY e.x);
        END IF;
    END IF;

    IF p_changes ? 'timezone' THEN
        v_val := p_changes -> 'timezone';
        IF jsonb_typeof(v_val) = 'null' THEN
            v_tz := NULL;
        ELSIF jsonb_typeof(v_val) <> 'string' OR NOT EXISTS (
                SELECT 1 FROM pg_catalog.pg_timezone_names AS z
                 WHERE z.name = (v_val #>> '{}') AND z.name !~ '^(posix|right)/'
                   AND z.name NOT IN ('posixrules', 'localtime', 'Factory')) THEN
            -- The value is not quoted back: errors never echo input.
            RAISE EXCEPTION 'preferences.timezone: expected an IANA time zone name '
                '(e.g. "America/Denver") or null' USING ERRCODE = '22023';
        ELSE
            v_tz := v_val #>> '{}';
        END IF;
    END IF;

    FOREACH v_key IN ARRAY ARRAY['quiet_start', 'quiet_end'] LOOP
        CONTINUE WHEN NOT p_changes ? v_key;
        v_val := p_changes -> v_key;
        IF jsonb_typeof(v_val) <> 'null' AND (jsonb_typeof(v_val) <> 'string'
              OR NOT (v_val #>> '{}') ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$') THEN
            RAISE EXCEPTION 'preferences.%: expected a local time "HH:MM" (00:00 to 23:59) '
                'or null', v_key USING ERRCODE = '22023';
        END IF;
        IF v_key = 'quiet_start' THEN
            v_start := (v_val #>> '{}')::time;
        ELSE
            v_end := (v_val #>> '{}')::time;
        END IF;
    END LOOP;
    IF (v_start IS NULL) <> (v_end IS NULL) THEN
        RAISE EXCEPTION 'preferences.quiet_start, quiet_end: set both, or clear both'
            USING ERRCODE = '22023';
    END IF;
    IF v_start = v_end THEN
        RAISE EXCEPTION 'preferences.quiet_start, quiet_end: must differ (an empty or a '
            'whole-day quiet period is meant as opted_out)' USING ERRCODE = '22023';
    END IF;

    IF p_changes ? 'daily_cap' THEN
        v_val := p_changes -> 'daily_cap';
        IF jsonb_typeof(v_val) = 'null' THEN
            v_cap := NULL;
        ELSIF jsonb_typeof(v_val) = 'number' AND v_val::numeric = trunc(v_val::numeric)
              AND v_val::numeric BETWEEN 0 AND 100 THEN
            v_cap := v_val::integer;
        ELSE
            RAISE EXCEPTION 'preferences.daily_cap: expected a whole number of notifications '
                'a day from 0 to 100, or null for no cap' USING ERRCODE = '22023';
        END IF;
    END IF;

    INSERT INTO @schema@.user_preferences AS p
        (user_id, opted_out, disabled_types, timezone, quiet_start, quiet_end, daily_cap,
         updated_at)
    VALUES (p_user, v_opted, v_types, v_tz, v_start, v_end, v_cap, now())
    ON CONFLICT (user_id) DO UPDATE SET
        opted_out = EXCLUDED.opted_out, disabled_types = EXCLUDED.disabled_types,
        timezone = EXCLUDED.timezone, quiet_start = EXCLUDED.quiet_start,
        quiet_end = EXCLUDED.quiet_end, daily_cap = EXCLUDED.daily_cap,
        updated_at = EXCLUDED.updated_at;
    RETURN @schema@.preferences_of(p_user);
END
$$;

REVOKE ALL ON FUNCTION @schema@.close_suggestion(uuid, text, timestamptz, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION @schema@.preferences_of(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION @schema@.update_preferences(uuid, jsonb) FROM PUBLIC;
