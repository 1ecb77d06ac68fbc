-- Failure groups (service::failure): current operations whose last failure has one
-- fingerprint, shown as one incident. `failure_group` holds each fingerprint once, with its
-- counts as of the last fold; writers never update it or `failure_client`: every change of an
-- operation's group, client or currency appends a row to `failure_delta` (a trigger, so no
-- write path can forget it), every failure too (the finish, in its transaction), and
-- `Failures::compact_failures` folds the deltas now and then. A read adds the unfolded deltas,
-- so counts are exact at any time. The conformance case
-- `the_failure_groups_agree_with_a_count_of_the_operations` holds them to a count of the rows.
CREATE TABLE failure_group (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- the stable id shown to people and scripts: 16 hex digits of the fingerprint's hash
    key         TEXT NOT NULL CONSTRAINT failure_group_key_unique UNIQUE,
    module_id   INTEGER NOT NULL REFERENCES processing_module (id),
    error_type  TEXT NOT NULL,
    template    TEXT NOT NULL,
    -- the first message seen with this fingerprint
    sample      TEXT NOT NULL,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    -- current operations in the group, and their distinct clients, as of the last fold
    operations  INTEGER NOT NULL DEFAULT 0,
    clients     INTEGER NOT NULL DEFAULT 0,
    -- the one task opened for the whole group
    task_id     INTEGER REFERENCES task (id)
);
CREATE INDEX failure_group_by_operations ON failure_group (operations, id) WHERE operations <> 0;

-- Current operations per group and client, as of the last fold (rows with none are removed).
CREATE TABLE failure_client (
    group_id   INTEGER NOT NULL,
    client_id  INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (group_id, client_id)
) WITHOUT ROWID;

-- Failures per group and hour (the sparklines), as of the last fold; two days are kept.
CREATE TABLE failure_hour (
    group_id  INTEGER NOT NULL,
    hour      INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (group_id, hour)
) WITHOUT ROWID;

-- Changes not folded yet: `n` operations joining (+) or leaving (-) a group for one client,
-- or `failures` failures at `at`.
CREATE TABLE failure_delta (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id  INTEGER NOT NULL,
    client_id INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    failures  INTEGER NOT NULL,
    at        INTEGER
);

-- The group of an operation's last failure.
ALTER TABLE operation ADD COLUMN failure_id INTEGER REFERENCES failure_group (id);
-- The list filtered to a group, in id order.
CREATE INDEX operation_active_by_failure ON operation (failure_id, id)
    WHERE state IN ('waiting', 'running', 'error');

CREATE TRIGGER failure_member_insert AFTER INSERT ON operation
WHEN NEW.failure_id IS NOT NULL AND NEW.state IN ('waiting', 'running', 'error')
BEGIN
    INSERT INTO failure_delta (group_id, client_id, n, failures) VALUES (NEW.failure_id, NEW.client_id, 1, 0);
END;

CREATE TRIGGER failure_member_delete AFTER DELETE ON operation
WHEN OLD.failure_id IS NOT NULL AND OLD.state IN ('waiting', 'running', 'error')
BEGIN
    INSERT INTO failure_delta (group_id, client_id, n, failures) VALUES (OLD.failure_id, OLD.client_id, -1, 0);
END;

CREATE TRIGGER failure_member_update AFTER UPDATE OF state, failure_id, client_id ON operation
WHEN (CASE WHEN OLD.state IN ('waiting', 'running', 'error') THEN OLD.failure_id END) IS NOT
     (CASE WHEN NEW.state IN ('waiting', 'running', 'error') THEN NEW.failure_id END)
  OR (OLD.failure_id IS NOT NULL AND OLD.client_id IS NOT NEW.client_id)
BEGIN
    INSERT INTO failure_delta (group_id, client_id, n, failures)
    SELECT OLD.failure_id, OLD.client_id, -1, 0
    WHERE OLD.failure_id IS NOT NULL AND OLD.state IN ('waiting', 'running', 'error');
    INSERT INTO failure_delta (group_id, client_id, n, failures)
    SELECT NEW.failure_id, NEW.client_id, 1, 0
    WHERE NEW.failure_id IS NOT NULL AND NEW.state IN ('waiting', 'running', 'error');
END;
