-- Failure groups (service::failure): current operations whose last failure has one
-- fingerprint, shown as one incident. `failure_group` holds each fingerprint once, with its
-- counts as of the last fold; writers never update it or `failure_client` (concurrent finishes
-- would wait on, and deadlock over, shared rows): every change of an operation's group, client
-- or currency appends a row to `failure_delta` (statement triggers, so no write path can
-- forget it), every failure too (the finish, in its transaction), and
-- `Failures::compact_failures` folds the deltas now and then. A read adds the unfolded deltas,
-- so counts are exact at any time. The conformance case
-- `the_failure_groups_agree_with_a_count_of_the_operations` holds them to a count of the rows.
CREATE TABLE failure_group (
    id          BIGSERIAL PRIMARY KEY,
    -- the stable id shown to people and scripts: 16 hex digits of the fingerprint's hash
    key         TEXT NOT NULL CONSTRAINT failure_group_key_unique UNIQUE,
    module_id   BIGINT NOT NULL REFERENCES processing_module (id),
    error_type  TEXT NOT NULL,
    template    TEXT NOT NULL,
    -- the first message seen with this fingerprint
    sample      TEXT NOT NULL,
    first_seen  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,
    -- current operations in the group, and their distinct clients, as of the last fold
    operations  BIGINT NOT NULL DEFAULT 0,
    clients     BIGINT NOT NULL DEFAULT 0,
    -- the one task opened for the whole group
    task_id     BIGINT REFERENCES task (id)
);
CREATE INDEX failure_group_by_operations ON failure_group (operations, id) WHERE operations <> 0;

-- Current operations per group and client, as of the last fold (rows with none are removed).
CREATE TABLE failure_client (
    group_id   BIGINT NOT NULL,
    client_id  BIGINT NOT NULL,
    n          BIGINT NOT NULL,
    PRIMARY KEY (group_id, client_id)
);

-- Failures per group and hour (the sparklines), as of the last fold; two days are kept.
CREATE TABLE failure_hour (
    group_id  BIGINT NOT NULL,
    hour      BIGINT NOT NULL,
    n         BIGINT NOT NULL,
    PRIMARY KEY (group_id, hour)
);

-- Changes not folded yet: `n` operations joining (+) or leaving (-) a group for one client,
-- or `failures` failures at `at`.
CREATE TABLE failure_delta (
    id        BIGSERIAL PRIMARY KEY,
    group_id  BIGINT NOT NULL,
    client_id BIGINT NOT NULL,
    n         BIGINT NOT NULL,
    failures  BIGINT NOT NULL,
    at        BIGINT
);

-- The group of an operation's last failure.
ALTER TABLE operation ADD COLUMN failure_id BIGINT REFERENCES failure_group (id);
-- The list filtered to a group, in id order.
CREATE INDEX operation_active_by_failure ON operation (failure_id, id)
    WHERE state IN ('waiting', 'running', 'error');

CREATE FUNCTION failure_member_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO failure_delta (group_id, client_id, n, failures)
    SELECT failure_id, client_id, COUNT(*), 0 FROM new_rows
    WHERE failure_id IS NOT NULL AND state IN ('waiting', 'running', 'error') GROUP BY 1, 2;
    RETURN NULL;
END $$;

CREATE FUNCTION failure_member_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO failure_delta (group_id, client_id, n, failures)
    SELECT failure_id, client_id, -COUNT(*), 0 FROM old_rows
    WHERE failure_id IS NOT NULL AND state IN ('waiting', 'running', 'error') GROUP BY 1, 2;
    RETURN NULL;
END $$;

CREATE FUNCTION failure_member_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO failure_delta (group_id, client_id, n, failures)
    SELECT group_id, client_id, SUM(n), 0 FROM (
        SELECT failure_id AS group_id, client_id, -1 AS n FROM old_rows
        WHERE failure_id IS NOT NULL AND state IN ('waiting', 'running', 'error')
        UNION ALL
        SELECT failure_id, client_id, 1 FROM new_rows
        WHERE failure_id IS NOT NULL AND state IN ('waiting', 'running', 'error')
    ) change GROUP BY 1, 2 HAVING SUM(n) <> 0;
    RETURN NULL;
END $$;

CREATE TRIGGER failure_member_insert AFTER INSERT ON operation
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION failure_member_insert();
CREATE TRIGGER failure_member_delete AFTER DELETE ON operation
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION failure_member_delete();
CREATE TRIGGER failure_member_update AFTER UPDATE ON operation
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION failure_member_update();
