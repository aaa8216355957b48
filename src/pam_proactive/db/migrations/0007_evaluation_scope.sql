-- Evaluation state per scope: each scheduled traveler job (monitor_user_context,
-- analyze_user_patterns, generate_predictive_recommendations) keeps its own state, since its
-- recheck_at comes only from its own detectors' boundaries; 'all' is the scope of
-- `sweep --incremental` and the watcher (every detector). Existing rows were written by those.
ALTER TABLE @schema@.evaluation_state ADD COLUMN IF NOT EXISTS scope text NOT NULL DEFAULT 'all';

ALTER TABLE @schema@.evaluation_state DROP CONSTRAINT IF EXISTS evaluation_state_pkey;
ALTER TABLE @schema@.evaluation_state ADD CONSTRAINT evaluation_state_pkey
    PRIMARY KEY (scope, user_id);

DROP INDEX IF EXISTS @schema@.evaluation_state_recheck;
CREATE INDEX IF NOT EXISTS evaluation_state_scope_recheck
    ON @schema@.evaluation_state (scope, recheck_at);

