-- One cause, one notification (see suggestions/relations.py): what a suggestion speaks about,
-- and the live suggestion it is part of while it is held back.
ALTER TABLE @schema@.suggestions
    -- Subjects named by the detector ("fuel:<vehicle>", "service:<vehicle>:<task>", ...): a
    -- JSON array of strings, so that relations can be decided from the stored rows alone (a
    -- scheduled job running some detectors sees the other jobs' suggestions this way).
    ADD COLUMN IF NOT EXISTS subjects jsonb NOT NULL DEFAULT '[]'::jsonb,
    -- The live suggestion holding this one back (it carries the same advice): this one is
    -- stored and listed, never notified while set. No foreign key: history pruning deletes
    -- rows in bulk, and a dangling id is cleared by the owner's next sweep anyway.
    ADD COLUMN IF NOT EXISTS held_by uuid;

-- The notification step ranks a holder by what it holds back (store_sql.NOTIFY).
CREATE INDEX IF NOT EXISTS suggestions_held_by
    ON @schema@.suggestions (held_by) WHERE held_by IS NOT NULL;
