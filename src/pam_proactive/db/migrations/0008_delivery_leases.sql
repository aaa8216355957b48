-- Delivery that never loses and never blocks (issue 14): rows are claimed with a short lease
-- and sent outside any transaction, retried on a schedule of hours, dead (visibly) after the
-- last attempt, and replayable. Channels are recorded here, circuits are shared by workers.

ALTER TABLE @schema@.outbox
    -- The Standard Webhooks `webhook-id` (msg_<hex>): the same on every retry and replay.
    ADD COLUMN IF NOT EXISTS message_id uuid NOT NULL DEFAULT gen_random_uuid(),
    -- Delivery rounds made: each claim tries every channel still missing once.
    ADD COLUMN IF NOT EXISTS tries integer NOT NULL DEFAULT 0,
    -- Channels that accepted this notification (since its last replay).
    ADD COLUMN IF NOT EXISTS channels_done text[] NOT NULL DEFAULT '{}',
    -- A claim's lease: until then the row is being sent by the claim holding lease_token.
    ADD COLUMN IF NOT EXISTS leased_until timestamptz,
    ADD COLUMN IF NOT EXISTS lease_token uuid,
    -- Set when the last scheduled attempt failed: not retried until replayed.
    ADD COLUMN IF NOT EXISTS dead_at timestamptz,
    ADD COLUMN IF NOT EXISTS replayed_at timestamptz;

-- What earlier runs delivered per channel, so no channel is sent a row twice.
UPDATE @schema@.outbox AS o
SET channels_done = ARRAY(SELECT DISTINCT d.channel FROM @schema@.deliveries AS d
                          WHERE d.outbox_id = o.id AND d.ok ORDER BY 1)
WHERE o.delivered_at IS NULL AND o.cancelled_at IS NULL;

-- Rows the old delivery gave up on (25 attempts) were silently abandoned: they are dead now,
-- listed by `pam-proactive deliveries list --dead` and replayable.
UPDATE @schema@.outbox SET dead_at = now(), tries = attempts
WHERE delivered_at IS NULL AND cancelled_at IS NULL AND attempts >= 25;

DROP INDEX IF EXISTS @schema@.outbox_due;
CREATE INDEX IF NOT EXISTS outbox_due_live
    ON @schema@.outbox (deliver_after)
    WHERE delivered_at IS NULL AND cancelled_at IS NULL AND dead_at IS NULL;

CREATE INDEX IF NOT EXISTS outbox_dead
    ON @schema@.outbox (id)
    WHERE dead_at IS NOT NULL AND delivered_at IS NULL AND cancelled_at IS NULL;

-- The engine's push channels, recorded once for every process (one row). Empty: outbox only,
-- the outbox row itself is the delivery. No row: not configured, nothing is released.
CREATE TABLE IF NOT EXISTS @schema@.delivery_channels (
    singleton   boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    channels    text[]      NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);

-- One circuit breaker per channel, shared by every worker.
CREATE TABLE IF NOT EXISTS @schema@.channel_circuits (
    channel    text        PRIMARY KEY,
    failures   integer     NOT NULL DEFAULT 0,  -- consecutive failed attempts
    open_until timestamptz,                     -- while open: no sends, then one probe
    changed_at timestamptz NOT NULL DEFAULT now()
);
