-- `pam-proactive migrate --supabase`: a Supabase app reads its traveler's suggestions,
-- notifications, insights, preferences, snoozes and feedback under Row Level Security, and changes them only
-- through the SECURITY DEFINER functions below. Re-applied whole when this file changes.

-- authenticated may reach the schema; anon gets nothing at all (not even USAGE).
REVOKE ALL ON SCHEMA @schema@ FROM PUBLIC, anon;
GRANT USAGE ON SCHEMA @schema@ TO authenticated, service_role;
REVOKE ALL ON ALL TABLES IN SCHEMA @schema@ FROM PUBLIC, anon, authenticated;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA @schema@ FROM PUBLIC, anon, authenticated;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA @schema@ FROM PUBLIC, anon, authenticated;
-- (A per-schema default cannot take back PUBLIC's EXECUTE on functions added later: each
-- migration revokes it itself, and doctor lists any function the API roles may call.)

-- Reading: exactly one's own rows. The engine's role owns the tables and RLS is not FORCEd,
-- so its sweeps keep reading every traveler; service_role bypasses RLS (Supabase's backend).
-- Snoozes and feedback (notes included) are the traveler's own answers, in their export too.
-- Adaptations are what those answers changed (migration 0014), each reversible below.
GRANT SELECT ON @schema@.suggestions, @schema@.outbox, @schema@.insights,
    @schema@.user_preferences, @schema@.snoozes, @schema@.feedback, @schema@.adaptations
    TO authenticated, service_role;

ALTER TABLE @schema@.suggestions ENABLE ROW LEVEL SECURITY;
ALTER TABLE @schema@.outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE @schema@.insights ENABLE ROW LEVEL SECURITY;
ALTER TABLE @schema@.user_preferences ENABLE ROW LEVEL SECURITY;
ALTER TABLE @schema@.snoozes ENABLE ROW LEVEL SECURITY;
ALTER TABLE @schema@.feedback ENABLE ROW LEVEL SECURITY;
ALTER TABLE @schema@.adaptations ENABLE ROW LEVEL SECURITY;

-- (SELECT auth.uid()): evaluated once per statement, not once per row (Supabase's advice).
DROP POLICY IF EXISTS pam_traveler_reads_own ON @schema@.suggestions;
CREATE POLICY pam_traveler_reads_own ON @schema@.suggestions
    FOR SELECT TO authenticated USING (user_id = (SELECT auth.uid()));
DROP POLICY IF EXISTS pam_traveler_reads_own ON @schema@.outbox;
CREATE POLICY pam_traveler_reads_own ON @schema@.outbox
    FOR SELECT TO authenticated USING (user_id = (SELECT auth.uid()));
DROP POLICY IF EXISTS pam_traveler_reads_own ON @schema@.insights;
CREATE POLICY pam_traveler_reads_own ON @schema@.insights
    FOR SELECT TO authenticated USING (user_id = (SELECT auth.uid()));
DROP POLICY IF EXISTS pam_traveler_reads_own ON @schema@.user_preferences;
CREATE POLICY pam_traveler_reads_own ON @schema@.user_preferences
    FOR SELECT TO authenticated USING (user_id = (SELECT auth.uid()));
DROP POLICY IF EXISTS pam_traveler_reads_own ON @schema@.snoozes;
CREATE POLICY pam_traveler_reads_own ON @schema@.snoozes
    FOR SELECT TO authenticated USING (user_id = (SELECT auth.uid()));
DROP POLICY IF EXISTS pam_traveler_reads_own ON @schema@.feedback;
CREATE POLICY pam_traveler_reads_own ON @schema@.feedback
    FOR SELECT TO authenticated USING (user_id = (SELECT auth.uid()));
DROP POLICY IF EXISTS pam_traveler_reads_own ON @schema@.adaptations;
CREATE POLICY pam_traveler_reads_own ON @schema@.adaptations
    FOR SELECT TO authenticated USING (user_id = (SELECT auth.uid()));

-- The signed-in traveler, or an error: a JWT without `sub` (anon, a forged claim) acts as no
-- one. Internal: not executable by the API roles.
CREATE OR REPLACE FUNCTION @schema@.signed_in_traveler() RETURNS uuid
LANGUAGE plpgsql STABLE
SET search_path = ''
AS $$
DECLARE
    v_user uuid := auth.uid();
BEGIN
    IF v_user IS NULL THEN
        RAISE EXCEPTION 'not signed in: the request has no traveler (JWT sub)'
            USING ERRCODE = '42501';
    END IF;
    RETURN v_user;
END
$$;

-- Writing: only these, each acting for auth.uid() and never for an id it is given. They
-- call the engine's own implementation (migrations 0011 and 0012), as the engine's HTTP API
-- and CLI do.
-- Dismiss, optionally with a reason and a note (migration 0013's answer_dismiss). It replaces
-- the reason-less dismiss_suggestion(uuid) of earlier versions: with defaults, the same call
-- rpc('dismiss_suggestion', {suggestion_id}) reaches it, and two overloads would make it
-- ambiguous.
DROP FUNCTION IF EXISTS @schema@.dismiss_suggestion(uuid);
CREATE OR REPLACE FUNCTION @schema@.dismiss_suggestion(
    suggestion_id uuid, reason text DEFAULT NULL, note text DEFAULT NULL
) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
    RETURN @schema@.answer_dismiss(suggestion_id, reason, note, pg_catalog.now(),
                                   @schema@.signed_in_traveler());
END
$$;

-- Snooze until a moment (in the future, at most 30 days ahead, else 22023): the snooze as the
-- engine's API answers it ({snooze_id, until, notifications_held}), or NULL when the
-- suggestion is absent, another's or no longer live.
CREATE OR REPLACE FUNCTION @schema@.snooze_suggestion(suggestion_id uuid, until timestamptz)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_done jsonb;
BEGIN
    SELECT pg_catalog.jsonb_build_object('snooze_id', a.snooze_id, 'until', a.until,
                                         'notifications_held', a.held)
      INTO v_done
      FROM @schema@.answer_snooze(snooze_suggestion.suggestion_id, snooze_suggestion.until,
                                  pg_catalog.now(), @schema@.signed_in_traveler()) AS a;
    RETURN v_done;
END
$$;

-- "Useful": true when recorded, false when already rated, NULL when absent or another's.
CREATE OR REPLACE FUNCTION @schema@.rate_suggestion_useful(suggestion_id uuid) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
    RETURN @schema@.answer_useful(suggestion_id, pg_catalog.now(),
                                  @schema@.signed_in_traveler());
END
$$;

CREATE OR REPLACE FUNCTION @schema@.mark_suggestion_acted(suggestion_id uuid) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
    RETURN @schema@.close_suggestion(suggestion_id, 'acted', pg_catalog.now(),
                                     @schema@.signed_in_traveler());
END
$$;

-- Reverse the signed-in traveler's adaptations of one type (all with NULL): migration 0014's
-- reset_adaptations, as the engine's DELETE /v1/users/{id}/adaptations[/{type}]. Returns how
-- many were in force.
CREATE OR REPLACE FUNCTION @schema@.reset_my_adaptations(suggestion_type text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
    RETURN @schema@.reset_adaptations(@schema@.signed_in_traveler(), suggestion_type,
                                      pg_catalog.now(), 'traveler');
END
$$;

CREATE OR REPLACE FUNCTION @schema@.my_preferences() RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
    RETURN @schema@.preferences_of(@schema@.signed_in_traveler());
END
$$;

CREATE OR REPLACE FUNCTION @schema@.update_my_preferences(changes jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
    RETURN @schema@.update_preferences(@schema@.signed_in_traveler(), changes);
END
$$;

REVOKE ALL ON FUNCTION @schema@.signed_in_traveler() FROM PUBLIC, anon, authenticated;
REVOKE ALL ON FUNCTION @schema@.dismiss_suggestion(uuid, text, text) FROM PUBLIC, anon;
REVOKE ALL ON FUNCTION @schema@.snooze_suggestion(uuid, timestamptz) FROM PUBLIC, anon;
REVOKE ALL ON FUNCTION @schema@.rate_suggestion_useful(uuid) FROM PUBLIC, anon;
REVOKE ALL ON FUNCTION @schema@.mark_suggestion_acted(uuid) FROM PUBLIC, anon;
REVOKE ALL ON FUNCTION @schema@.my_preferences() FROM PUBLIC, anon;
REVOKE ALL ON FUNCTION @schema@.reset_my_adaptations(text) FROM PUBLIC, anon;
REVOKE ALL ON FUNCTION @schema@.update_my_preferences(jsonb) FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION @schema@.dismiss_suggestion(uuid, text, text),
    @schema@.snooze_suggestion(uuid, timestamptz), @schema@.rate_suggestion_useful(uuid),
    @schema@.mark_suggestion_acted(uuid), @schema@.my_preferences(),
    @schema@.update_my_preferences(jsonb), @schema@.reset_my_adaptations(text) TO authenticated;

-- Realtime's Postgres Changes: the tables join Supabase's publication (not snoozes and
-- feedback: the traveler's own answers, returned by the functions above; a snooze's end shows
-- as its 'resumed' notification in outbox). Replica identity stays DEFAULT (the primary key):
-- Realtime checks RLS on the new row, which it gets whole, and under RLS it sends only the key
-- of an old row anyway; FULL would log every column of every sweep's update for nothing.
DO $$
DECLARE
    v_table regclass;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = 'supabase_realtime')
    THEN
        RETURN;  -- doctor reports the missing publication
    END IF;
    FOREACH v_table IN ARRAY ARRAY['@schema@.suggestions', '@schema@.outbox', '@schema@.insights',
                                   '@schema@.user_preferences']::regclass[] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_publication_rel AS r
                         JOIN pg_catalog.pg_publication AS p ON p.oid = r.prpubid
                        WHERE p.pubname = 'supabase_realtime' AND r.prrelid = v_table) THEN
            EXECUTE format('ALTER PUBLICATION supabase_realtime ADD TABLE %s', v_table);
        END IF;
    END LOOP;
END
$$;
