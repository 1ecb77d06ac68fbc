-- Bulk jobs (service::bulk): one action (start, stop, taskcreate, delete) on every current
-- operation a filter matched, run by whichever node holds the job's lease, a batch at a time in
-- id order; each batch is one transaction with its journal rows and the job's progress, so a
-- job survives a reload, a node's restart or its death (another node takes it over when the
-- lease runs out) and is never applied twice to one operation.
CREATE TABLE bulk_job (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    action      TEXT NOT NULL CONSTRAINT bulk_job_action_known
                CHECK (action IN ('start', 'stop', 'taskcreate', 'delete')),
    -- the list filter the job was asked for, as JSON (the saved filter's format)
    filter      TEXT NOT NULL,
    user_id     INTEGER REFERENCES app_user (id),
    user_name   TEXT NOT NULL,
    state       TEXT NOT NULL CONSTRAINT bulk_job_state_known
                CHECK (state IN ('queued', 'running', 'done', 'cancelled')),
    -- operations matching when it was asked for (the job takes those still matching)
    total       INTEGER NOT NULL,
    done        INTEGER NOT NULL DEFAULT 0,
    -- operations left as they were, by reason, as JSON ([["running", 2], ...])
    skipped     TEXT NOT NULL DEFAULT '[]',
    -- the last operation id handled: the next batch starts after it
    cursor      INTEGER NOT NULL DEFAULT 0,
    owner       TEXT,
    lease_until INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX bulk_job_unfinished ON bulk_job (id) WHERE state IN ('queued', 'running');
