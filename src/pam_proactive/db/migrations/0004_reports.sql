-- Pattern insights per traveler, and the operator's fleet reports with their history.
-- Engine schema only.

-- One row per user, kind and period: recomputing the same period replaces the row, so an
-- insight is never duplicated; a new period (a new month, a new 90-day window) adds history.
CREATE TABLE IF NOT EXISTS @schema@.insights (
    user_id      uuid        NOT NULL,
    kind         text        NOT NULL CHECK (kind <> ''),
    period_start date        NOT NULL,
    period_end   date        NOT NULL,
    -- Numbers only (objects and arrays of numbers): the figures of the period. Quoted:
    -- VALUES is a reserved word.
    "values"     jsonb       NOT NULL,
    computed_for timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, kind, period_start),
    CHECK (period_end >= period_start),
    CHECK (jsonb_typeof("values") = 'object')
);

-- One row per fleet report: stored per run, so the fleet has a history.
CREATE TABLE IF NOT EXISTS @schema@.fleet_reports (
    id              bigserial PRIMARY KEY,
    computed_for    timestamptz      NOT NULL,
    -- The scheduled run that built it; a retried run finds its report instead of adding one.
    run_id          bigint UNIQUE,
    fleet_score     double precision CHECK (fleet_score BETWEEN 0 AND 100),
    vehicles        integer          NOT NULL CHECK (vehicles >= 0),
    critical        integer          NOT NULL CHECK (critical >= 0),
    threshold       double precision NOT NULL,
    overdue_by_task jsonb            NOT NULL DEFAULT '{}'::jsonb,
    -- Summary: critical list, expired documents, travelers skipped, errors, the weights.
    report          jsonb            NOT NULL DEFAULT '{}'::jsonb,
    created_at      timestamptz      NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS fleet_reports_latest
    ON @schema@.fleet_reports (computed_for DESC, id DESC);

-- Every vehicle of a report with its score and findings.
CREATE TABLE IF NOT EXISTS @schema@.fleet_vehicles (
    report_id    bigint  NOT NULL REFERENCES @schema@.fleet_reports (id) ON DELETE CASCADE,
    user_id      uuid    NOT NULL,
    vehicle_id   text,  -- NULL: the profile's vehicle (no vehicles row)
    health_score integer NOT NULL CHECK (health_score BETWEEN 0 AND 100),
    items        jsonb   NOT NULL DEFAULT '[]'::jsonb,
    PRIMARY KEY (report_id, user_id)
);

-- The operator alert of a report whose critical count grew from the previous report's: at
-- most one per report, sent at most once (sent_at set once the receiver answered 2xx).
CREATE TABLE IF NOT EXISTS @schema@.fleet_alerts (
    id                bigserial PRIMARY KEY,
    report_id         bigint      NOT NULL UNIQUE
                      REFERENCES @schema@.fleet_reports (id) ON DELETE CASCADE,
    previous_critical integer     NOT NULL,
    critical          integer     NOT NULL,
    payload           jsonb       NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    sent_at           timestamptz,
    attempts          integer     NOT NULL DEFAULT 0,
    http_status       integer,
    last_error        text
);
