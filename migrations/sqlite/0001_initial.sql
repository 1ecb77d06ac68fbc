-- billops schema, SQLite flavour. Forward-only: once applied, never edit this file; add a new one.
-- Times are UTC epoch milliseconds (INTEGER) in both backends, so one SQL text serves both and
-- sorting by time compares integers. Booleans are INTEGER 0/1 (what sqlx binds for bool).
-- Every state column has a named CHECK so a bad value is refused by the database too.

-- Clients of the hosting company (BILLmanager `account`).
CREATE TABLE client (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL CONSTRAINT client_name_not_empty CHECK (length(name) > 0),
    email       TEXT,
    created_at  INTEGER NOT NULL
);

-- Processing modules (BILLmanager `processing`): how operations of their services execute.
CREATE TABLE processing_module (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL CONSTRAINT processing_module_name_unique UNIQUE,
    kind          TEXT NOT NULL CONSTRAINT processing_module_kind_known CHECK (kind IN ('exec', 'http')),
    -- the program (exec) or URL (http)
    target        TEXT NOT NULL,
    -- HMAC secret of http modules; write-only for every client, never shown or logged
    secret        TEXT,
    panel_url     TEXT,
    -- BILLmanager's maxrunningoperation: operations of this module running at once
    max_running   INTEGER NOT NULL CONSTRAINT processing_module_max_running_positive CHECK (max_running > 0),
    -- tries before an operation turns manual and gets a task (ISPsystem's default is 10)
    max_tries     INTEGER NOT NULL CONSTRAINT processing_module_max_tries_positive CHECK (max_tries > 0),
    timeout_secs  INTEGER NOT NULL CONSTRAINT processing_module_timeout_positive CHECK (timeout_secs > 0),
    enabled       INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL
);

-- A client's service (BILLmanager `item`): a VPS, a domain, a hosting account...
CREATE TABLE item (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id   INTEGER NOT NULL REFERENCES client (id),
    module_id   INTEGER NOT NULL REFERENCES processing_module (id),
    itemtype    TEXT NOT NULL,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL CONSTRAINT item_status_known
                CHECK (status IN ('ordered', 'active', 'suspended', 'deleted', 'processing')),
    created_at  INTEGER NOT NULL
);
CREATE INDEX item_by_client ON item (client_id, id);

-- Employee tasks, created for an operation by an admin or when its tries run out.
CREATE TABLE task (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    operation_id  INTEGER NOT NULL,
    item_id       INTEGER NOT NULL REFERENCES item (id),
    kind          TEXT NOT NULL CONSTRAINT task_kind_known
                  CHECK (kind IN ('setup', 'suspend', 'resume', 'delete', 'change')),
    status        TEXT NOT NULL CONSTRAINT task_status_known CHECK (status IN ('open', 'done')),
    comment       TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL
);
CREATE INDEX task_by_operation ON task (operation_id);

-- Operations (BILLmanager `runningoperation`). `state` is the queue state; the status shown to
-- people is derived: running, else manual when `manual`, else error or waiting.
-- client_id, module_id and itemtype are copies of the item's, kept so the list's filters are
-- served by indexes on this table alone; an item never changes client, module or type while it
-- has an active operation (the service layer refuses it).
CREATE TABLE operation (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    intname         TEXT NOT NULL,
    item_id         INTEGER NOT NULL REFERENCES item (id),
    client_id       INTEGER NOT NULL REFERENCES client (id),
    module_id       INTEGER NOT NULL REFERENCES processing_module (id),
    itemtype        TEXT NOT NULL,
    cdate           INTEGER NOT NULL,
    trycount        INTEGER NOT NULL DEFAULT 0 CONSTRAINT operation_trycount_not_negative CHECK (trycount >= 0),
    state           TEXT NOT NULL CONSTRAINT operation_state_known
                    CHECK (state IN ('waiting', 'running', 'error', 'done', 'deleted')),
    manual          INTEGER NOT NULL DEFAULT 0,
    comment         TEXT NOT NULL DEFAULT '',
    task_id         INTEGER REFERENCES task (id),
    -- when a worker may claim it next
    next_run_at     INTEGER NOT NULL,
    -- an admin pressed Start: run once now even if manual
    run_requested   INTEGER NOT NULL DEFAULT 0,
    -- an admin pressed Stop while it ran: the worker holding it terminates the module
    stop_requested  INTEGER NOT NULL DEFAULT 0,
    -- the lease of the worker that holds it, and the token its writes must match
    lease_owner     TEXT,
    lease_expires_at INTEGER,
    attempt_token   TEXT,
    last_error      TEXT,
    finished_at     INTEGER,
    updated_at      INTEGER NOT NULL,
    CONSTRAINT operation_running_has_lease
        CHECK (state <> 'running' OR (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL AND attempt_token IS NOT NULL))
);
-- At most one active operation per service: two modules must never act on one service at once.
CREATE UNIQUE INDEX operation_one_active_per_item ON operation (item_id)
    WHERE state IN ('waiting', 'running', 'error');
-- The list shows active operations only; each index below serves one filter with the default
-- sort by id, so a page is read in index order without sorting the whole set.
CREATE INDEX operation_active_by_id ON operation (id) WHERE state IN ('waiting', 'running', 'error');
CREATE INDEX operation_active_by_client ON operation (client_id, id) WHERE state IN ('waiting', 'running', 'error');
CREATE INDEX operation_active_by_module ON operation (module_id, id) WHERE state IN ('waiting', 'running', 'error');
-- One index per status, each matching the status filter's predicate word for word (that is how
-- a partial index is chosen). Deliberately no index with `state` as a column: with one, the
-- planner answers "all current operations" through it and sorts them all to show one page.
CREATE INDEX operation_waiting ON operation (id) WHERE state = 'waiting' AND manual = FALSE;
CREATE INDEX operation_running ON operation (id) WHERE state = 'running';
CREATE INDEX operation_failed ON operation (id) WHERE state = 'error' AND manual = FALSE;
CREATE INDEX operation_needs_attention ON operation (id) WHERE state IN ('waiting', 'error') AND manual = TRUE;
CREATE INDEX operation_active_by_cdate ON operation (cdate, id) WHERE state IN ('waiting', 'running', 'error');
-- The engine's claim: due, automatic operations by run time.
CREATE INDEX operation_due ON operation (next_run_at) WHERE state IN ('waiting', 'error');

-- One row per run of an operation: the error history, with the module's log (secrets masked).
CREATE TABLE attempt (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    operation_id   INTEGER NOT NULL REFERENCES operation (id),
    item_id        INTEGER NOT NULL REFERENCES item (id),
    token          TEXT NOT NULL,
    started_at     INTEGER NOT NULL,
    finished_at    INTEGER,
    outcome        TEXT NOT NULL CONSTRAINT attempt_outcome_known
                   CHECK (outcome IN ('running', 'ok', 'error', 'interrupted', 'stopped')),
    error_type     TEXT,
    error_message  TEXT,
    log            TEXT NOT NULL DEFAULT '',
    task_id        INTEGER REFERENCES task (id)
);
CREATE INDEX attempt_by_operation ON attempt (operation_id, id);

-- People: employees (admin, readonly) and client users (user, bound to a client).
CREATE TABLE app_user (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT NOT NULL CONSTRAINT app_user_name_unique UNIQUE,
    password_hash  TEXT NOT NULL,
    level          TEXT NOT NULL CONSTRAINT app_user_level_known CHECK (level IN ('admin', 'readonly', 'user')),
    client_id      INTEGER REFERENCES client (id),
    created_at     INTEGER NOT NULL,
    CONSTRAINT app_user_client_iff_user CHECK ((level = 'user') = (client_id IS NOT NULL))
);

-- Sessions. The id a client holds is never stored: only its SHA-256, so a copy of the database
-- opens no session. A session made by `su` points at the admin session it returns to.
CREATE TABLE session (
    id_hash       TEXT PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES app_user (id),
    level         TEXT NOT NULL CONSTRAINT session_level_known CHECK (level IN ('admin', 'readonly', 'user')),
    client_id     INTEGER REFERENCES client (id),
    parent_hash   TEXT REFERENCES session (id_hash) ON DELETE CASCADE,
    lang          TEXT NOT NULL CONSTRAINT session_lang_known CHECK (lang IN ('ru', 'en')),
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL
);
CREATE INDEX session_by_last_seen ON session (last_seen_at);

-- Saved list filters, one per user and list (shared by the UI and the legacy API).
CREATE TABLE saved_filter (
    user_id     INTEGER NOT NULL REFERENCES app_user (id),
    list        TEXT NOT NULL,
    filter      TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, list)
);

-- Who did what to which object, when: every change by an admin, through the API or the UI.
CREATE TABLE journal (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    user_id     INTEGER REFERENCES app_user (id),
    user_name   TEXT NOT NULL,
    action      TEXT NOT NULL,
    object      TEXT NOT NULL,
    object_id   INTEGER,
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX journal_by_object ON journal (object, object_id, id);
