-- Scheduled job runs, their ranges of users (the checkpoints), and health snapshots.
-- Engine schema only.

-- One row per run of a job for one cron slot. UNIQUE (job, slot): a second trigger of the
-- same slot (two schedulers, beat firing twice) finds the row and does nothing.
CREATE TABLE IF NOT EXISTS @schema@.job_runs (
    id           bigserial PRIMARY KEY,
    job          text        NOT NULL,
    slot         timestamptz NOT NULL,   -- the cron time this run is for
    as_of        timestamptz NOT NULL,   -- the `now` every range of the run is evaluated at
    runner       text        NOT NULL CHECK (runner IN ('inprocess', 'celery')),
    status       text        NOT NULL DEFAULT 'running'
                 CHECK (status IN ('running', 'ok', 'partial', 'failed')),
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at  timestamptz,
    -- Last range claimed or finished (database clock): a running run untouched for longer
    -- than a range's time limit has lost its workers.
    touched_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    ranges       integer     NOT NULL DEFAULT 0,
    ranges_failed  integer   NOT NULL DEFAULT 0,
    ranges_skipped integer   NOT NULL DEFAULT 0,
    users        integer     NOT NULL DEFAULT 0,
    created      integer     NOT NULL DEFAULT 0,
    escalated    integer     NOT NULL DEFAULT 0,
    resolved     integer     NOT NULL DEFAULT 0,
    expired      integer     NOT NULL DEFAULT 0,
    errors       integer     NOT NULL DEFAULT 0,  -- users whose detectors failed + failed ranges
    detail       jsonb       NOT NULL DEFAULT '{}'::jsonb,  -- job-specific counts
    CONSTRAINT job_runs_once UNIQUE (job, slot)
);

CREATE INDEX IF NOT EXISTS job_runs_recent ON @schema@.job_runs (job, slot DESC);
CREATE INDEX IF NOT EXISTS job_runs_running ON @schema@.job_runs (id) WHERE status = 'running';

-- A run's users cut into ranges lo < user_id <= hi; each range is claimed, processed and
-- finished on its own, so a crash redoes at most the ranges in hand.
CREATE TABLE IF NOT EXISTS @schema@.job_ranges (
    run_id      bigint      NOT NULL REFERENCES @schema@.job_runs (id) ON DELETE CASCADE,
    seq         integer     NOT NULL,
    lo          uuid        NOT NULL,
    hi          uuid        NOT NULL,
    status      text        NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'running', 'done', 'failed', 'skipped')),
    attempts    integer     NOT NULL DEFAULT 0,
    claim       uuid,                   -- token of the current holder: only it may finish
    claimed_at  timestamptz,
    finished_at timestamptz,
    users       integer     NOT NULL DEFAULT 0,
    created     integer     NOT NULL DEFAULT 0,
    escalated   integer     NOT NULL DEFAULT 0,
    resolved    integer     NOT NULL DEFAULT 0,
    expired     integer     NOT NULL DEFAULT 0,
    errors      integer     NOT NULL DEFAULT 0,
    detail      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    error       text,                   -- exception type (and an engine message), never data
    PRIMARY KEY (run_id, seq),
    CHECK (lo < hi)
);

CREATE INDEX IF NOT EXISTS job_ranges_open ON @schema@.job_ranges (run_id, seq)
    WHERE status IN ('pending', 'running');

-- What cleanup_and_health_check saw: one row per check.
CREATE TABLE IF NOT EXISTS @schema@.health_snapshots (
    id               bigserial PRIMARY KEY,
    taken_at         timestamptz NOT NULL,
    run_id           bigint REFERENCES @schema@.job_runs (id) ON DELETE SET NULL,
    database_ok      boolean     NOT NULL,
    live_suggestions integer     NOT NULL,
    pending_outbox   integer     NOT NULL,
    failed_outbox    integer     NOT NULL,
    last_runs        jsonb       NOT NULL  -- {job: {slot, status, finished_at}}
);

CREATE INDEX IF NOT EXISTS health_snapshots_taken ON @schema@.health_snapshots (taken_at DESC);
