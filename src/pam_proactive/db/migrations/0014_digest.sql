-- Issue 17's daily digest: a traveler's non-urgent notifications (low and medium by default)
-- wait in the outbox as digest items and go out together as ONE notification (event
-- 'digest') at the traveler's chosen local hour (suggestions/digest.py). Items stay ordinary
-- outbox rows, so every rule that cancels a pending notification (resolved, dismissed,
-- snoozed, expired, held back, superseded by an escalation) leaves them out of the digest.

-- Per-traveler settings; NULL: the engine's default (PAM_DIGEST, PAM_DIGEST_HOUR,
-- PAM_DIGEST_PRIORITIES).
ALTER TABLE @schema@.user_preferences
    ADD COLUMN IF NOT EXISTS digest boolean,
    ADD COLUMN IF NOT EXISTS digest_hour smallint
        CHECK (digest_hour IS NULL OR digest_hour BETWEEN 0 AND 23),
    ADD COLUMN IF NOT EXISTS digest_priorities text[]
        CHECK (digest_priorities IS NULL OR (cardinality(digest_priorities) >= 1
               AND digest_priorities <@ ARRAY['low', 'medium', 'high']::text[]));

ALTER TABLE @schema@.outbox
    -- A digest row is about several suggestions: its items point to it, it has none itself.
    ALTER COLUMN suggestion_id DROP NOT NULL,
    -- A notification waiting for its traveler's digest: never claimed on its own.
    ADD COLUMN IF NOT EXISTS digest_item boolean NOT NULL DEFAULT false,
    -- The traveler's local day of the digest (the item's, or the digest row's own).
    ADD COLUMN IF NOT EXISTS digest_day date,
    -- The digest row an item went out in, once assembled.
    ADD COLUMN IF NOT EXISTS digest_id bigint REFERENCES @schema@.outbox (id) ON DELETE SET NULL;

ALTER TABLE @schema@.outbox DROP CONSTRAINT IF EXISTS outbox_event_check;
ALTER TABLE @schema@.outbox ADD CONSTRAINT outbox_event_check
    CHECK (event IN ('created', 'escalated', 'resumed', 'digest'));
ALTER TABLE @schema@.outbox DROP CONSTRAINT IF EXISTS outbox_digest_shape;
ALTER TABLE @schema@.outbox ADD CONSTRAINT outbox_digest_shape CHECK (
    CASE WHEN event = 'digest'
         THEN suggestion_id IS NULL AND digest_day IS NOT NULL AND NOT digest_item
         ELSE suggestion_id IS NOT NULL AND digest_item = (digest_day IS NOT NULL) END);

-- One digest per traveler and local day, whatever retries the drains and deliveries make.
CREATE UNIQUE INDEX IF NOT EXISTS outbox_digest_once
    ON @schema@.outbox (user_id, digest_day) WHERE event = 'digest';
-- A digest's items (its payload is rebuilt from the live ones when claimed).
CREATE INDEX IF NOT EXISTS outbox_digest_items
    ON @schema@.outbox (digest_id) WHERE digest_id IS NOT NULL;
-- Items waiting for their digest, by when it is due.
CREATE INDEX IF NOT EXISTS outbox_digest_waiting
    ON @schema@.outbox (deliver_after)
    WHERE digest_item AND digest_id IS NULL AND delivered_at IS NULL AND cancelled_at IS NULL;

-- A traveler's preferences as the app shows them: the stored row, or the defaults.
-- Quiet hours as 'HH:MM'. The digest fields are null while the engine's defaults apply
-- (PAM_DIGEST, PAM_DIGEST_HOUR, PAM_DIGEST_PRIORITIES: the database does not know them).
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
        'digest', p.digest,
        'digest_hour', p.digest_hour,
        'digest_priorities', to_jsonb(p.digest_priorities),
        'updated_at', p.updated_at)
    FROM (SELECT 1) AS one
    LEFT JOIN @schema@.user_preferences AS p ON p.user_id = p_user
$$;

-- Change a traveler's preferences: each key of p_changes present is set (JSON null clears
-- it), every value validated; an unknown key, a wrong type, an unknown time zone, a cap out
-- of 0..100, half-set quiet hours, a digest hour outside 0..23 or digest priorities other than
-- a non-empty set of low, medium, high is refused with SQLSTATE 22023 naming the field, and
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
    v_digest boolean;
    v_hour  smallint;
    v_prios text[];
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
                         'quiet_end', 'daily_cap', 'digest', 'digest_hour',
                         'digest_priorities') THEN
            RAISE EXCEPTION 'preferences.%: unknown field (known: opted_out, disabled_types, '
                'timezone, quiet_start, quiet_end, daily_cap, digest, digest_hour, '
                'digest_priorities)', v_key USING ERRCODE = '22023';
        END IF;
    END LOOP;

    -- The row as it is (locked), or the defaults.
    SELECT p.opted_out, p.disabled_types, p.timezone, p.quiet_start, p.quiet_end, p.daily_cap,
           p.digest, p.digest_hour, p.digest_priorities
      INTO v_opted, v_types, v_tz, v_start, v_end, v_cap, v_digest, v_hour, v_prios
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

    IF p_changes ? 'digest' THEN
        v_val := p_changes -> 'digest';
        IF jsonb_typeof(v_val) = 'null' THEN
            v_digest := NULL;
        ELSIF jsonb_typeof(v_val) = 'boolean' THEN
            v_digest := v_val::boolean;
        ELSE
            RAISE EXCEPTION 'preferences.digest: expected true, false, or null for the '
                'engine''s default' USING ERRCODE = '22023';
        END IF;
    END IF;

    IF p_changes ? 'digest_hour' THEN
        v_val := p_changes -> 'digest_hour';
        IF jsonb_typeof(v_val) = 'null' THEN
            v_hour := NULL;
        ELSIF jsonb_typeof(v_val) = 'number' AND v_val::numeric = trunc(v_val::numeric)
              AND v_val::numeric BETWEEN 0 AND 23 THEN
            v_hour := v_val::smallint;
        ELSE
            RAISE EXCEPTION 'preferences.digest_hour: expected a whole local hour from 0 to 23, '
                'or null for the engine''s default' USING ERRCODE = '22023';
        END IF;
    END IF;

    IF p_changes ? 'digest_priorities' THEN
        v_val := p_changes -> 'digest_priorities';
        IF jsonb_typeof(v_val) = 'null' THEN
            v_prios := NULL;
        ELSIF jsonb_typeof(v_val) <> 'array' OR jsonb_array_length(v_val) NOT BETWEEN 1 AND 3
              OR EXISTS (SELECT 1 FROM jsonb_array_elements(v_val) AS e(x)
                          WHERE jsonb_typeof(e.x) <> 'string'
                             OR (e.x #>> '{}') NOT IN ('low', 'medium', 'high')) THEN
            -- Critical notifications always go out at once: they are not a digest's.
            RAISE EXCEPTION 'preferences.digest_priorities: expected a non-empty list of '
                '"low", "medium", "high" (critical is always sent at once), or null for the '
                'engine''s default' USING ERRCODE = '22023';
        ELSE
            v_prios := ARRAY(SELECT DISTINCT e.x FROM jsonb_array_elements_text(v_val) AS e(x)
                              ORDER BY e.x);
            -- In rank order, so the stored value reads low, medium, high.
            v_prios := ARRAY(SELECT x FROM unnest(v_prios) AS x
                              ORDER BY array_position(ARRAY['low', 'medium', 'high'], x));
        END IF;
    END IF;

    INSERT INTO @schema@.user_preferences AS p
        (user_id, opted_out, disabled_types, timezone, quiet_start, quiet_end, daily_cap,
         digest, digest_hour, digest_priorities, updated_at)
    VALUES (p_user, v_opted, v_types, v_tz, v_start, v_end, v_cap, v_digest, v_hour, v_prios,
            now())
    ON CONFLICT (user_id) DO UPDATE SET
        opted_out = EXCLUDED.opted_out, disabled_types = EXCLUDED.disabled_types,
        timezone = EXCLUDED.timezone, quiet_start = EXCLUDED.quiet_start,
        quiet_end = EXCLUDED.quiet_end, daily_cap = EXCLUDED.daily_cap,
        digest = EXCLUDED.digest, digest_hour = EXCLUDED.digest_hour,
        digest_priorities = EXCLUDED.digest_priorities,
        updated_at = EXCLUDED.updated_at;
    RETURN @schema@.preferences_of(p_user);
END
$$;

