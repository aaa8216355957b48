-- `pam-proactive migrate --supabase --broadcast`: every change of a traveler's suggestions
-- and notifications is broadcast on that traveler's private channel user:<uuid>:suggestions
-- (realtime.broadcast_changes, which Supabase recommends over Postgres Changes at scale),
-- and a traveler may join only their own channel. Re-applied whole when this file changes.

CREATE OR REPLACE FUNCTION @schema@.broadcast_traveler_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_user uuid := CASE TG_OP WHEN 'DELETE' THEN OLD.user_id ELSE NEW.user_id END;
BEGIN
    PERFORM realtime.broadcast_changes(
        'user:' || v_user::text || ':suggestions', TG_OP, TG_OP, TG_TABLE_NAME,
        TG_TABLE_SCHEMA, NEW, OLD);
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION @schema@.broadcast_traveler_change() FROM PUBLIC;

DROP TRIGGER IF EXISTS pam_broadcast ON @schema@.suggestions;
CREATE TRIGGER pam_broadcast AFTER INSERT OR UPDATE OR DELETE ON @schema@.suggestions
    FOR EACH ROW EXECUTE FUNCTION @schema@.broadcast_traveler_change();
DROP TRIGGER IF EXISTS pam_broadcast ON @schema@.outbox;
CREATE TRIGGER pam_broadcast AFTER INSERT OR UPDATE OR DELETE ON @schema@.outbox
    FOR EACH ROW EXECUTE FUNCTION @schema@.broadcast_traveler_change();

-- Supabase's policy for private channels: the Realtime server lets a client join a topic
-- when a SELECT on realtime.messages passes with realtime.topic() set to it.
DO $$
BEGIN
    IF to_regclass('realtime.messages') IS NULL THEN
        RETURN;
    END IF;
    DROP POLICY IF EXISTS pam_traveler_receives_own ON realtime.messages;
    CREATE POLICY pam_traveler_receives_own ON realtime.messages
        FOR SELECT TO authenticated
        USING (realtime.messages.extension = 'broadcast'
               AND (SELECT realtime.topic()) = 'user:' || (SELECT auth.uid())::text
                                               || ':suggestions');
END
$$;
