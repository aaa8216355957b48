-- The operator's fleet alert is delivered like a traveler's notification (issue 14): claimed
-- with a short lease, sent outside any transaction, its outcome recorded in a short one,
-- retried on the delivery schedule and dead (visibly) after the last attempt.

ALTER TABLE @schema@.fleet_alerts
    -- When the next attempt is due (the engine's time): the report's moment, then the schedule.
    ADD COLUMN IF NOT EXISTS deliver_after timestamptz NOT NULL DEFAULT now(),
    -- A claim's lease: until then the alert is being sent by the claim holding lease_token.
    ADD COLUMN IF NOT EXISTS leased_until timestamptz,
    ADD COLUMN IF NOT EXISTS lease_token uuid,
    -- Set when the last scheduled attempt failed: not retried, counted in pam_outbox_dead.
    ADD COLUMN IF NOT EXISTS dead_at timestamptz;

-- Alerts sent before counted up to three quick tries per run: their schedule starts afresh.
UPDATE @schema@.fleet_alerts SET attempts = 0, deliver_after = created_at WHERE sent_at IS NULL;

CREATE INDEX IF NOT EXISTS fleet_alerts_due
    ON @schema@.fleet_alerts (deliver_after) WHERE sent_at IS NULL AND dead_at IS NULL;
