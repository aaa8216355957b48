-- Issue 17, "the engine learns from a traveler, within bounds": per traveler and suggestion
-- type, what the traveler's dismissal reasons changed (suggestions/adaptation.py). Rows are
-- written by the store from `feedback` (store_sql.ADAPT, one statement per batch), read by
-- the store's own statements, explained in each suggestion's `why`, exported and erased with
-- the traveler, and reset (never deleted) by the traveler or the operator.

-- One row per (user, type, kind) — and per subject (dedup_key) for 'wrong'.
--   not_useful: level 1..3 (1: cooldown x value; 2: digest only; 3: a one-time offer to turn
--               the type off), from the not_useful answers of the last window;
--   too_early:  level 1 while in force; value = days its first notification is held;
--   wrong:      level 1 while in force; fingerprint = the silenced subject's numbers.
-- level 0 = reset: the answers before reset_at no longer count.
CREATE TABLE IF NOT EXISTS @schema@.adaptations (
    user_id           uuid        NOT NULL,
    type              text        NOT NULL,
    kind              text        NOT NULL CHECK (kind IN ('not_useful', 'too_early', 'wrong')),
    dedup_key         text        NOT NULL DEFAULT '',  -- the subject of 'wrong'; else ''
    level             smallint    NOT NULL DEFAULT 0 CHECK (level BETWEEN 0 AND 3),
    value             integer     NOT NULL DEFAULT 0 CHECK (value BETWEEN 0 AND 366),
    answers           integer     NOT NULL DEFAULT 0 CHECK (answers >= 0),
    fingerprint       text,
    since             timestamptz,  -- when it (last) came into force
    updated_at        timestamptz NOT NULL,
    offered_at        timestamptz,  -- not_useful level 3: the offer's moment (made once)
    offer_answered_at timestamptz,  -- the offer was accepted or dismissed: never made again
    reset_at          timestamptz,
    reset_by          text CHECK (reset_by IS NULL OR reset_by IN ('traveler', 'operator')),
    PRIMARY KEY (user_id, type, kind, dedup_key),
    CHECK ((kind = 'wrong') = (dedup_key <> ''))
);

-- The numbers behind a subject, for 'wrong': its data without the values that change only
-- because the clock moves (days left or elapsed, and the budget's daily pace and projection
-- computed from them), so that only a change of the data itself lifts the silence.
CREATE OR REPLACE FUNCTION @schema@.subject_fingerprint(p_data jsonb) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT md5((p_data - ARRAY['days_left', 'days_elapsed', 'typical_daily',
                               'projected'])::text)
$$;

-- The predicate the digest consults: the traveler answered `not_useful` often enough (level
-- 2 or more) that this type's non-urgent notifications go to the digest only.
CREATE OR REPLACE FUNCTION @schema@.digest_only(p_user uuid, p_type text) RETURNS boolean
LANGUAGE sql STABLE
AS $$
    SELECT EXISTS (SELECT 1 FROM @schema@.adaptations AS a
                    WHERE a.user_id = p_user AND a.type = p_type AND a.kind = 'not_useful'
                      AND a.dedup_key = '' AND a.level >= 2)
$$;

-- The moment a subject's notification is due by at the latest, for too_early holds: the
-- earliest of its expiry and the dates its detector put in `data` — an event's or a trip's
-- start (starts_at), a service's due date (next_due_date), a document's expiry (expires_on,
-- local dates read at 00:00 UTC). NULL when it has none (a hold is then bounded by its
-- maximum only). Values not in ISO 8601 form are ignored, never guessed.
CREATE OR REPLACE FUNCTION @schema@.subject_deadline(p_data jsonb, p_expires timestamptz)
RETURNS timestamptz
LANGUAGE sql IMMUTABLE
AS $$
    SELECT least(
        p_expires,
        CASE WHEN p_data ->> 'starts_at' ~ '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)$'
             THEN (p_data ->> 'starts_at')::timestamptz END,
        CASE WHEN p_data ->> 'next_due_date' ~ '^\d{4}-\d{2}-\d{2}$'
             THEN (p_data ->> 'next_due_date')::timestamp AT TIME ZONE 'UTC' END,
        CASE WHEN p_data ->> 'expires_on' ~ '^\d{4}-\d{2}-\d{2}$'
             THEN (p_data ->> 'expires_on')::timestamp AT TIME ZONE 'UTC' END)
$$;

-- Reverse a traveler's adaptations (one type, or all with p_type NULL): level 0, and the
-- answers given before p_now no longer count. The ONE implementation of the reversal: the
-- HTTP API, the CLI (`adaptations reset`) and Supabase's reset_my_adaptations call it. Takes
-- the sweep's per-user lock. Returns the rows reset.
CREATE OR REPLACE FUNCTION @schema@.reset_adaptations(
    p_user uuid, p_type text, p_now timestamptz, p_by text
) RETURNS integer
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_reset integer;
BEGIN
    IF p_user IS NULL OR p_now IS NULL THEN
        RAISE EXCEPTION 'reset_adaptations: a traveler and now must be given'
            USING ERRCODE = '22023';
    END IF;
    IF p_by IS NULL OR p_by NOT IN ('traveler', 'operator') THEN
        RAISE EXCEPTION 'reset_adaptations: by must be traveler or operator'
            USING ERRCODE = '22023';
    END IF;
    IF p_type IS NOT NULL AND p_type !~ '^[a-z][a-z0-9_]{0,63}$' THEN
        RAISE EXCEPTION 'reset_adaptations: expected a suggestion type such as "fuel_low"'
            USING ERRCODE = '22023';
    END IF;
    PERFORM pg_advisory_xact_lock(7364973, hashtext(p_user::text));
    SELECT count(*) INTO v_reset FROM @schema@.adaptations AS a
     WHERE a.user_id = p_user AND (p_type IS NULL OR a.type = p_type) AND a.level > 0;
    -- Every row of the scope restarts its count, those not (yet) in force included; a type
    -- named without any row gets its markers, so answers given before the reset never count.
    IF p_type IS NOT NULL THEN
        INSERT INTO @schema@.adaptations (user_id, type, kind, updated_at)
        SELECT p_user, p_type, k.kind, p_now
          FROM unnest(ARRAY['not_useful', 'too_early']) AS k(kind)
        ON CONFLICT DO NOTHING;
    END IF;
    UPDATE @schema@.adaptations AS a
       SET level = 0, value = 0, fingerprint = NULL, offered_at = NULL,
           offer_answered_at = NULL, reset_at = p_now, reset_by = p_by, updated_at = p_now
     WHERE a.user_id = p_user AND (p_type IS NULL OR a.type = p_type);
    RETURN v_reset;
END
$$;

-- close_suggestion (0011) again, plus the answer to an `adaptation_offer`: either answer
-- ends the offer for good (it is made once); acting on it ("turn these off") adds the
-- offered type to the traveler's disabled types through update_preferences, the one
-- preference rule.
CREATE OR REPLACE FUNCTION @schema@.close_suggestion(
    p_id uuid, p_status text, p_now timestamptz, p_user uuid DEFAULT NULL
) RETURNS boolean
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_owner   uuid;
    v_closed  integer;
    v_type    text;
    v_offered text;
    v_off     text[];
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
        RETURNING s.id, s.type, s.data ->> 'offered_type' AS offered
    ), cancelled AS (
        UPDATE @schema@.outbox AS o SET cancelled_at = p_now FROM closed
         WHERE o.suggestion_id = closed.id AND o.delivered_at IS NULL AND o.cancelled_at IS NULL
    )
    SELECT count(*), max(closed.type), max(closed.offered) INTO v_closed, v_type, v_offered
      FROM closed;
    IF v_closed = 1 AND v_type = 'adaptation_offer' AND v_offered IS NOT NULL THEN
        UPDATE @schema@.adaptations AS a SET offer_answered_at = p_now, updated_at = p_now
         WHERE a.user_id = v_owner AND a.type = v_offered AND a.kind = 'not_useful'
           AND a.dedup_key = '';
        IF p_status = 'acted' THEN
            SELECT p.disabled_types INTO v_off FROM @schema@.user_preferences AS p
             WHERE p.user_id = v_owner;
            PERFORM @schema@.update_preferences(v_owner, jsonb_build_object(
                'disabled_types', to_jsonb(coalesce(v_off, '{}'::text[]) || v_offered)));
        END IF;
    END IF;
    RETURN v_closed = 1;
END
$$;

REVOKE ALL ON FUNCTION @schema@.subject_fingerprint(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION @schema@.digest_only(uuid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @schema@.subject_deadline(jsonb, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION @schema@.reset_adaptations(uuid, text, timestamptz, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @schema@.close_suggestion(uuid, text, timestamptz, uuid) FROM PUBLIC;
