-- The suggestion lifecycle and its notification outbox. Engine schema only: traveler tables
-- never hold engine state.

-- One row per suggestion shown to a traveler. A suggestion is "live" while open or delivered;
-- every other status is final and kept as history (the cooldown reads it).
CREATE TABLE IF NOT EXISTS @schema@.suggestions (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id           uuid        NOT NULL,
    type              text        NOT NULL,
    priority          text        NOT NULL
                      CHECK (priority IN ('low', 'medium', 'high', 'critical')),
    priority_rank     smallint    NOT NULL CHECK (priority_rank BETWEEN 1 AND 4),
    title             text        NOT NULL,
    message           text        NOT NULL,
    data              jsonb       NOT NULL DEFAULT '{}'::jsonb,
    dedup_key         text        NOT NULL,
    computed_for      timestamptz NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    expires_at        timestamptz,
    status            text        NOT NULL DEFAULT 'open'
                      CHECK (status IN ('open', 'delivered', 'dismissed', 'acted', 'resolved',
                                        'expired')),
    status_changed_at timestamptz NOT NULL DEFAULT now(),
    -- Highest priority rank already notified (or deliberately not, when capped): a
    -- notification is only ever written for a rank above it, so nothing is notified twice.
    notified_rank     smallint CHECK (notified_rank IS NULL OR notified_rank BETWEEN 1 AND 4)
);

-- At most one live suggestion per user and subject: the core "never repeat" guarantee,
-- enforced by the database even if two sweeps race.
CREATE UNIQUE INDEX IF NOT EXISTS suggestions_live_key
    ON @schema@.suggestions (user_id, dedup_key)
    WHERE status IN ('open', 'delivered');

-- Cooldown lookup: was this subject dismissed (or acted upon) recently?
CREATE INDEX IF NOT EXISTS suggestions_cooldown
    ON @schema@.suggestions (user_id, dedup_key, status_changed_at)
    WHERE status IN ('dismissed', 'acted');

-- Flapping guard: a subject resolved or expired recently is not notified again at the same rank.
CREATE INDEX IF NOT EXISTS suggestions_recently_closed
    ON @schema@.suggestions (user_id, dedup_key, status_changed_at)
    WHERE status IN ('resolved', 'expired');

-- Listing a user's suggestions, newest first.
CREATE INDEX IF NOT EXISTS suggestions_user_updated
    ON @schema@.suggestions (user_id, updated_at DESC);

-- One row per notification to send. The outbox is the record: an app may poll it or subscribe
-- to it (Supabase Realtime); channels (webhook, ...) deliver from it.
CREATE TABLE IF NOT EXISTS @schema@.outbox (
    id            bigserial PRIMARY KEY,
    suggestion_id uuid        NOT NULL REFERENCES @schema@.suggestions (id) ON DELETE CASCADE,
    user_id       uuid        NOT NULL,
    event         text        NOT NULL CHECK (event IN ('created', 'escalated')),
    priority      text        NOT NULL
                  CHECK (priority IN ('low', 'medium', 'high', 'critical')),
    payload       jsonb       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- Quiet hours hold a notification until their end: held, never dropped.
    deliver_after timestamptz NOT NULL DEFAULT now(),
    delivered_at  timestamptz,
    -- Set when the notification must no longer be sent: its suggestion was resolved, expired,
    -- dismissed or acted upon, or a newer notification of the same suggestion superseded it.
    cancelled_at  timestamptz,
    attempts      integer     NOT NULL DEFAULT 0,
    last_error    text,
    -- A retried sweep can never write the same notification twice.
    CONSTRAINT outbox_once UNIQUE (suggestion_id, event, priority)
);

CREATE INDEX IF NOT EXISTS outbox_due
    ON @schema@.outbox (deliver_after)
    WHERE delivered_at IS NULL AND cancelled_at IS NULL;

-- The daily cap counts a user's notifications of one local day.
CREATE INDEX IF NOT EXISTS outbox_user_created
    ON @schema@.outbox (user_id, created_at);

-- One row per delivery attempt through one channel, failures included.
CREATE TABLE IF NOT EXISTS @schema@.deliveries (
    id          bigserial PRIMARY KEY,
    outbox_id   bigint      NOT NULL REFERENCES @schema@.outbox (id) ON DELETE CASCADE,
    channel     text        NOT NULL,
    attempt     integer     NOT NULL CHECK (attempt >= 1),
    ok          boolean     NOT NULL,
    http_status integer,
    error       text,
    at          timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS deliveries_outbox
    ON @schema@.deliveries (outbox_id, channel);
