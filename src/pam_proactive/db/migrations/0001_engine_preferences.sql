-- The engine's own per-user preferences. Traveler tables never hold engine state, so an
-- operator can drop the engine schema without touching traveler data.
CREATE TABLE IF NOT EXISTS @schema@.user_preferences (
    user_id        uuid PRIMARY KEY,
    opted_out      boolean NOT NULL DEFAULT false,
    disabled_types text[]  NOT NULL DEFAULT '{}',
    timezone       text,
    currency       text,
    quiet_start    time,
    quiet_end      time,
    daily_cap      integer CHECK (daily_cap IS NULL OR daily_cap >= 0),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
