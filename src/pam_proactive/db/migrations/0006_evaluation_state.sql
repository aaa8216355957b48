-- Incremental sweeps and event-driven detection: what the engine knows about each traveler's
-- last evaluation, where the change feed stands, and the rows it has already seen.

-- One row per traveler evaluated by an incremental path (sweep --incremental, watch).
CREATE TABLE IF NOT EXISTS @schema@.evaluation_state (
    user_id        uuid PRIMARY KEY,
    evaluated_for  timestamptz NOT NULL,  -- the `now` of the last evaluation
    watermark      timestamptz,           -- latest change time seen in the traveler's rows
    recheck_at     timestamptz NOT NULL,  -- earliest moment the suggestions can change alone
    recheck_reason text        NOT NULL,  -- the detector (or 'daily') that set recheck_at
    reason         text        NOT NULL CHECK (reason IN ('changed', 'due', 'full')),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS evaluation_state_recheck
    ON @schema@.evaluation_state (recheck_at);

-- Where each consumer of the change feed stands (`incremental`, `watch`).
CREATE TABLE IF NOT EXISTS @schema@.change_cursors (
    feed          text PRIMARY KEY,
    position      timestamptz NOT NULL,  -- changes up to here were handed over
    full_sweep_at timestamptz,           -- the last full pass of this consumer
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Rows already handed over inside the overlap window: the feed re-reads the window on every
-- poll (created_at is a transaction's start, not its commit), and these keep it from handing
-- the same row over twice. Pruned once the cursor has left them behind.
CREATE TABLE IF NOT EXISTS @schema@.change_seen (
    feed       text        NOT NULL,
    source     text        NOT NULL,
    row_id     text        NOT NULL,
    changed_at timestamptz NOT NULL,
    PRIMARY KEY (feed, source, row_id, changed_at)
);

CREATE INDEX IF NOT EXISTS change_seen_prune
    ON @schema@.change_seen (feed, changed_at);

-- The engine's own preferences are a change source too.
CREATE INDEX IF NOT EXISTS user_preferences_updated
    ON @schema@.user_preferences (updated_at);

-- Travelers with a live suggestion past its expiry are due for a look.
CREATE INDEX IF NOT EXISTS suggestions_live_expiry
    ON @schema@.suggestions (expires_at) WHERE status IN ('open', 'delivered');

-- Deletes are invisible to the change feed. When the operator installs the optional triggers
-- (`pam-proactive install-triggers`), each delete of a traveler row queues the traveler here;
-- the first incremental consumer to poll takes them (DELETE ... RETURNING: each once).
CREATE TABLE IF NOT EXISTS @schema@.deletions (
    id         bigserial PRIMARY KEY,
    user_id    uuid        NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now()
);
