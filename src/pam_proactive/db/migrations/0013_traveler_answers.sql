-- Issue 17's answers as SQL functions, the ONE implementation of snooze, dismiss with a reason
-- and "useful" (as 0011 is for dismiss/acted): the engine (suggestions/answers.py, hence the
-- HTTP API and the CLI) calls them without a traveler; `migrate --supabase` wraps them in
-- SECURITY DEFINER functions passing auth.uid(). Each takes the sweep's per-user lock
-- (store.USER_LOCK_CLASS = 0x70616D), as close_suggestion does, so an answer and a sweep of
-- the same traveler never interleave. With p_user, only that traveler's suggestion is touched:
-- another's id is "absent" (nothing reveals it exists). Not executable by PUBLIC.

-- Snooze a live suggestion's subject (user + dedup_key) until p_until: in the future and at
-- most 30 days (720 hours, answers.MAX_SNOOZE) after p_now, else SQLSTATE 22023. Snoozing
-- again moves the end. Its unsent notifications are cancelled, not postponed: the snooze's end
-- writes one 'resumed' notification with what is true then (store_sql.END_SNOOZES). One row
-- (the snooze's id, its end, the notifications held), or none when the suggestion is absent,
-- another's or no longer live.
CREATE OR REPLACE FUNCTION @schema@.answer_snooze(
    p_id uuid, p_until timestamptz, p_now timestamptz, p_user uuid DEFAULT NULL
) RETURNS TABLE (snooze_id bigint, until timestamptz, held integer)
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_owner uuid;
BEGIN
    IF p_now IS NULL OR p_until IS NULL THEN
        RAISE EXCEPTION 'snooze: until and now must be given' USING ERRCODE = '22023';
    END IF;
    IF p_until <= p_now THEN
        RAISE EXCEPTION 'the snooze must end in the future' USING ERRCODE = '22023';
    END IF;
    IF p_until - p_now > interval '720 hours' THEN
        RAISE EXCEPTION 'a snooze lasts at most 30 days' USING ERRCODE = '22023';
    END IF;
    SELECT s.user_id INTO v_owner FROM @schema@.suggestions AS s
     WHERE s.id = p_id AND (p_user IS NULL OR s.user_id = p_user);
    IF v_owner IS NULL THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(7364973, hashtext(v_owner::text));
    -- Read after the lock: a sweep that closed the suggestion meanwhile wins.
    RETURN QUERY
    WITH s AS (
        SELECT g.id, g.user_id, g.dedup_key, g.type, g.priority, g.priority_rank
          FROM @schema@.suggestions AS g
         WHERE g.id = p_id AND g.status IN ('open', 'delivered')
    ), sn AS (
        INSERT INTO @schema@.snoozes AS n (user_id, dedup_key, suggestion_id, type, priority,
                                           priority_rank, created_at, until)
        SELECT s.user_id, s.dedup_key, s.id, s.type, s.priority, s.priority_rank, p_now, p_until
          FROM s
        ON CONFLICT (user_id, dedup_key) WHERE ended_at IS NULL DO UPDATE SET
            until = EXCLUDED.until, suggestion_id = EXCLUDED.suggestion_id,
            priority = EXCLUDED.priority, priority_rank = EXCLUDED.priority_rank
        RETURNING n.id, n.until
    ), cancelled AS (
        UPDATE @schema@.outbox AS o SET cancelled_at = p_now FROM s
         WHERE o.suggestion_id = s.id AND o.delivered_at IS NULL AND o.cancelled_at IS NULL
        RETURNING o.id
    )
    SELECT sn.id, sn.until, (SELECT count(*) FROM cancelled)::integer FROM sn;
END
$$;

-- Dismiss a live suggestion (close_suggestion, the one rule for closing) and keep the
-- traveler's feedback: the optional reason and note (at most 500 characters: the traveler's
-- own words, stored for their export, never echoed in an error) with the suggestion's type,
-- priority, subject and numbers. An unknown reason or a longer note is SQLSTATE 22023 and
-- changes nothing. True when a live suggestion was dismissed; false when absent, another's
-- or already closed.
CREATE OR REPLACE FUNCTION @schema@.answer_dismiss(
    p_id uuid, p_reason text, p_note text, p_now timestamptz, p_user uuid DEFAULT NULL
) RETURNS boolean
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
    IF p_reason IS NOT NULL
       AND p_reason NOT IN ('not_useful', 'wrong', 'already_done', 'too_early', 'other') THEN
        RAISE EXCEPTION 'unknown reason: use one of not_useful, wrong, already_done, '
            'too_early, other' USING ERRCODE = '22023';
    END IF;
    IF p_note IS NOT NULL AND length(p_note) > 500 THEN
        RAISE EXCEPTION 'the note is longer than 500 characters' USING ERRCODE = '22023';
    END IF;
    IF NOT @schema@.close_suggestion(p_id, 'dismissed', p_now, p_user) THEN
        RETURN false;
    END IF;
    INSERT INTO @schema@.feedback (suggestion_id, user_id, dedup_key, type, priority,
                                   priority_rank, data, verdict, reason, note, created_at)
    SELECT s.id, s.user_id, s.dedup_key, s.type, s.priority, s.priority_rank, s.data,
           'dismissed', p_reason, p_note, p_now
      FROM @schema@.suggestions AS s
     WHERE s.id = p_id AND s.status = 'dismissed'
    ON CONFLICT (suggestion_id, verdict) DO NOTHING;
    RETURN true;
END
$$;

-- "Useful", on a suggestion in any status (it stays as it is). NULL when the suggestion is
-- absent or another's; true when recorded now; false when it was already rated useful.
CREATE OR REPLACE FUNCTION @schema@.answer_useful(
    p_id uuid, p_now timestamptz, p_user uuid DEFAULT NULL
) RETURNS boolean
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_owner uuid;
    v_kept  integer;
BEGIN
    IF p_now IS NULL THEN
        RAISE EXCEPTION 'useful: now must be given' USING ERRCODE = '22023';
    END IF;
    SELECT s.user_id INTO v_owner FROM @schema@.suggestions AS s
     WHERE s.id = p_id AND (p_user IS NULL OR s.user_id = p_user);
    IF v_owner IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock(7364973, hashtext(v_owner::text));
    INSERT INTO @schema@.feedback (suggestion_id, user_id, dedup_key, type, priority,
                                   priority_rank, data, verdict, reason, note, created_at)
    SELECT s.id, s.user_id, s.dedup_key, s.type, s.priority, s.priority_rank, s.data,
           'useful', NULL, NULL, p_now
      FROM @schema@.suggestions AS s WHERE s.id = p_id
    ON CONFLICT (suggestion_id, verdict) DO NOTHING;
    GET DIAGNOSTICS v_kept = ROW_COUNT;
    RETURN v_kept = 1;
END
$$;

REVOKE ALL ON FUNCTION @schema@.answer_snooze(uuid, timestamptz, timestamptz, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION @schema@.answer_dismiss(uuid, text, text, timestamptz, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION @schema@.answer_useful(uuid, timestamptz, uuid) FROM PUBLIC;
