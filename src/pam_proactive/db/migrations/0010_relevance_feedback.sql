-- Issue 17, first half: snoozes, feedback with a reason, and what relevance is measured from.
-- Rows keep the suggestion's type, priority, subject and numbers at the time, so a digest or an
-- adaptation built later reads them without joining back to a suggestion that may be gone.

-- One row per snooze of a subject (user + dedup_key). Live while ended_at is NULL; ended by a
-- sweep when `until` passes or the priority rises above the snoozed one, never deleted (the
-- relevance figures count them).
CREATE TABLE IF NOT EXISTS @schema@.snoozes (
    id            bigserial PRIMARY KEY,
    user_id       uuid        NOT NULL,
    dedup_key     text        NOT NULL,
    suggestion_id uuid        NOT NULL,  -- the suggestion snoozed (the subject may outlive it)
    type          text        NOT NULL,
    priority      text        NOT NULL
                  CHECK (priority IN ('low', 'medium', 'high', 'critical')),
    priority_rank smallint    NOT NULL CHECK (priority_rank BETWEEN 1 AND 4),
    created_at    timestamptz NOT NULL,
    until         timestamptz NOT NULL,
    ended_at      timestamptz,
    -- resumed: notified again at its end; improved: its priority fell, not notified; gone: no
    -- live suggestion at its end; escalated: broken by a higher priority (notified at once).
    outcome       text CHECK (outcome IS NULL
                              OR outcome IN ('resumed', 'improved', 'gone', 'escalated')),
    CHECK (until > created_at),
    CHECK ((ended_at IS NULL) = (outcome IS NULL))
);

-- At most one live snooze per subject: snoozing again moves its end.
CREATE UNIQUE INDEX IF NOT EXISTS snoozes_live_subject
    ON @schema@.snoozes (user_id, dedup_key) WHERE ended_at IS NULL;

-- Travelers whose snooze has ended are due for a sweep (data/changes.py DUE).
CREATE INDEX IF NOT EXISTS snoozes_live_until
    ON @schema@.snoozes (until) WHERE ended_at IS NULL;

CREATE INDEX IF NOT EXISTS snoozes_created ON @schema@.snoozes (created_at);

-- A traveler's verdict on a suggestion: a dismissal (with an optional reason) or a "useful".
-- `note` is the traveler's free text (what 'other' means, or a detail): stored for the
-- traveler's export, never logged.
CREATE TABLE IF NOT EXISTS @schema@.feedback (
    id            bigserial PRIMARY KEY,
    suggestion_id uuid        NOT NULL,
    user_id       uuid        NOT NULL,
    dedup_key     text        NOT NULL,
    type          text        NOT NULL,
    priority      text        NOT NULL
                  CHECK (priority IN ('low', 'medium', 'high', 'critical')),
    priority_rank smallint    NOT NULL CHECK (priority_rank BETWEEN 1 AND 4),
    data          jsonb       NOT NULL,  -- the numbers behind the suggestion when answered
    verdict       text        NOT NULL CHECK (verdict IN ('dismissed', 'useful')),
    reason        text CHECK (reason IS NULL OR reason IN
                              ('not_useful', 'wrong', 'already_done', 'too_early', 'other')),
    note          text CHECK (note IS NULL OR length(note) <= 500),
    created_at    timestamptz NOT NULL,
    CHECK (verdict = 'dismissed' OR reason IS NULL)
);

-- One verdict of each kind per suggestion: a repeated "useful" changes nothing.
CREATE UNIQUE INDEX IF NOT EXISTS feedback_once ON @schema@.feedback (suggestion_id, verdict);
CREATE INDEX IF NOT EXISTS feedback_user_subject ON @schema@.feedback (user_id, dedup_key);
CREATE INDEX IF NOT EXISTS feedback_created ON @schema@.feedback (created_at);

-- The notification written when a snooze ends: event 'resumed', tied to its snooze so that each
-- snooze resumes at most once (outbox_once now counts the snooze; 0 for every other row, so
-- the constraint needs no NULLS NOT DISTINCT and works on any supported PostgreSQL).
ALTER TABLE @schema@.outbox ADD COLUMN IF NOT EXISTS snooze_id bigint NOT NULL DEFAULT 0;
ALTER TABLE @schema@.outbox DROP CONSTRAINT IF EXISTS outbox_event_check;
ALTER TABLE @schema@.outbox ADD CONSTRAINT outbox_event_check
    CHECK (event IN ('created', 'escalated', 'resumed'));
ALTER TABLE @schema@.outbox DROP CONSTRAINT IF EXISTS outbox_once;
ALTER TABLE @schema@.outbox ADD CONSTRAINT outbox_once
    UNIQUE (suggestion_id, event, priority, snooze_id);

-- Relevance reads delivered notifications by week.
CREATE INDEX IF NOT EXISTS outbox_delivered
    ON @schema@.outbox (delivered_at) WHERE delivered_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS suggestions_closed_at
    ON @schema@.suggestions (status_changed_at) WHERE status IN ('acted', 'dismissed', 'expired');
