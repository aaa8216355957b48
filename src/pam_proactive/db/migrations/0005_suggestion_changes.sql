-- Change tracking for the HTTP API's suggestion stream (server-sent events).
--
-- suggestions.updated_at is the engine's clock (a sweep's `now`, possibly minutes before its
-- batch commits, or a replayed moment), so it cannot tell a poller what changed since its last
-- look. Instead each write stamps the row with its transaction id (xid8, never wraps): a poller
-- reading `change_xid >= the previous snapshot's xmax, or = one of its in-progress ids` in one
-- statement with pg_current_snapshot() sees every committed change exactly once, whatever the
-- order of commits, and works behind Supabase's transaction pooler (no LISTEN needed).
ALTER TABLE @schema@.suggestions
    ADD COLUMN IF NOT EXISTS change_xid  xid8,
    ADD COLUMN IF NOT EXISTS change_kind text
        CHECK (change_kind IS NULL OR change_kind IN ('created', 'escalated', 'updated', 'closed'));

CREATE OR REPLACE FUNCTION @schema@.suggestions_track_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    kind text;
BEGIN
    NEW.change_xid := pg_current_xact_id();
    IF TG_OP = 'INSERT' THEN
        kind := 'created';
    ELSIF NEW.status NOT IN ('open', 'delivered') THEN
        kind := 'closed';
    ELSIF NEW.priority_rank > OLD.priority_rank THEN
        kind := 'escalated';
    ELSE
        kind := 'updated';
    END IF;
    -- A sweep inserts (or escalates) a row and then records its notified rank in the same
    -- transaction: the stream must still call it created (or escalated).
    IF TG_OP = 'UPDATE' AND kind = 'updated' AND OLD.change_xid = NEW.change_xid THEN
        kind := OLD.change_kind;
    END IF;
    NEW.change_kind := kind;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS suggestions_track_change ON @schema@.suggestions;
CREATE TRIGGER suggestions_track_change
    BEFORE INSERT OR UPDATE ON @schema@.suggestions
    FOR EACH ROW EXECUTE FUNCTION @schema@.suggestions_track_change();

CREATE INDEX IF NOT EXISTS suggestions_change_xid
    ON @schema@.suggestions (change_xid);
