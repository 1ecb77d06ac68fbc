-- How many current operations each module has in each status (Status::of: running, then
-- manual, then error, else waiting), so that metrics read a few rows instead of counting
-- millions. Writers run at once here, and updating shared total rows in place would make them
-- wait for each other (and deadlock, taking rows in different orders): each statement that
-- changes operations appends its net change per module and status to `operation_count_delta`
-- instead (no row is ever updated, so nothing waits), and `Schema::compact_counts` folds the
-- deltas into `operation_count` now and then, in key order. The true count is always the total
-- plus the deltas. The conformance case `the_operation_counts_agree_with_a_count_of_the_rows`
-- holds it to a count of the rows.
-- No operation changes between the count below and the triggers that keep it.
LOCK TABLE operation IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE operation_count (
    module_id BIGINT NOT NULL,
    status    TEXT NOT NULL,
    n         BIGINT NOT NULL,
    PRIMARY KEY (module_id, status)
);

CREATE TABLE operation_count_delta (
    module_id BIGINT NOT NULL,
    status    TEXT NOT NULL,
    n         BIGINT NOT NULL
);

-- Status::of, or NULL for an operation no longer current.
CREATE FUNCTION operation_status(state TEXT, manual BOOLEAN) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN state NOT IN ('waiting', 'running', 'error') THEN NULL
                WHEN state = 'running' THEN 'running' WHEN manual THEN 'manual'
                WHEN state = 'error' THEN 'error' ELSE 'waiting' END
$$;

INSERT INTO operation_count (module_id, status, n)
SELECT module_id, operation_status(state, manual), COUNT(*)
FROM operation WHERE state IN ('waiting', 'running', 'error') GROUP BY 1, 2;

CREATE FUNCTION operation_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO operation_count_delta (module_id, status, n)
    SELECT module_id, operation_status(state, manual), COUNT(*)
    FROM new_rows WHERE operation_status(state, manual) IS NOT NULL GROUP BY 1, 2;
    RETURN NULL;
END $$;

CREATE FUNCTION operation_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO operation_count_delta (module_id, status, n)
    SELECT module_id, operation_status(state, manual), -COUNT(*)
    FROM old_rows WHERE operation_status(state, manual) IS NOT NULL GROUP BY 1, 2;
    RETURN NULL;
END $$;

CREATE FUNCTION operation_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO operation_count_delta (module_id, status, n)
    SELECT module_id, status, SUM(n) FROM (
        SELECT module_id, operation_status(state, manual) AS status, -1 AS n FROM old_rows
        UNION ALL
        SELECT module_id, operation_status(state, manual), 1 FROM new_rows
    ) change
    WHERE status IS NOT NULL GROUP BY 1, 2 HAVING SUM(n) <> 0;
    RETURN NULL;
END $$;

CREATE TRIGGER operation_count_insert AFTER INSERT ON operation
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION operation_count_insert();
CREATE TRIGGER operation_count_delete AFTER DELETE ON operation
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION operation_count_delete();
CREATE TRIGGER operation_count_update AFTER UPDATE ON operation
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION operation_count_update();
