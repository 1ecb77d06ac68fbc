-- How many current operations each module has in each status (Status::of: running, then
-- manual, then error, else waiting), kept by triggers in the transaction of every change, so
-- that metrics read a few rows instead of counting millions. PostgreSQL appends deltas instead
-- (its writers run at once); SQLite has one writer, so it updates the totals in place and its
-- delta table stays empty. The conformance case
-- `the_operation_counts_agree_with_a_count_of_the_rows` holds both to a count of the rows.
CREATE TABLE operation_count (
    module_id INTEGER NOT NULL,
    status    TEXT NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (module_id, status)
) WITHOUT ROWID;

CREATE TABLE operation_count_delta (
    module_id INTEGER NOT NULL,
    status    TEXT NOT NULL,
    n         INTEGER NOT NULL
);

INSERT INTO operation_count (module_id, status, n)
SELECT module_id,
       CASE WHEN state = 'running' THEN 'running' WHEN manual THEN 'manual'
            WHEN state = 'error' THEN 'error' ELSE 'waiting' END,
       COUNT(*)
FROM operation WHERE state IN ('waiting', 'running', 'error') GROUP BY 1, 2;

CREATE TRIGGER operation_count_insert AFTER INSERT ON operation
WHEN NEW.state IN ('waiting', 'running', 'error')
BEGIN
    INSERT INTO operation_count (module_id, status, n)
    VALUES (NEW.module_id,
            CASE WHEN NEW.state = 'running' THEN 'running' WHEN NEW.manual THEN 'manual'
                 WHEN NEW.state = 'error' THEN 'error' ELSE 'waiting' END,
            1)
    ON CONFLICT (module_id, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER operation_count_delete AFTER DELETE ON operation
WHEN OLD.state IN ('waiting', 'running', 'error')
BEGIN
    UPDATE operation_count SET n = n - 1
    WHERE module_id = OLD.module_id
      AND status = CASE WHEN OLD.state = 'running' THEN 'running' WHEN OLD.manual THEN 'manual'
                        WHEN OLD.state = 'error' THEN 'error' ELSE 'waiting' END;
END;

CREATE TRIGGER operation_count_update AFTER UPDATE OF state, manual, module_id ON operation
WHEN OLD.module_id IS NOT NEW.module_id
  OR (CASE WHEN OLD.state NOT IN ('waiting', 'running', 'error') THEN NULL
           WHEN OLD.state = 'running' THEN 'running' WHEN OLD.manual THEN 'manual'
           WHEN OLD.state = 'error' THEN 'error' ELSE 'waiting' END)
     IS NOT
     (CASE WHEN NEW.state NOT IN ('waiting', 'running', 'error') THEN NULL
           WHEN NEW.state = 'running' THEN 'running' WHEN NEW.manual THEN 'manual'
           WHEN NEW.state = 'error' THEN 'error' ELSE 'waiting' END)
BEGIN
    UPDATE operation_count SET n = n - 1
    WHERE module_id = OLD.module_id
      AND status = CASE WHEN OLD.state NOT IN ('waiting', 'running', 'error') THEN NULL
                        WHEN OLD.state = 'running' THEN 'running' WHEN OLD.manual THEN 'manual'
                        WHEN OLD.state = 'error' THEN 'error' ELSE 'waiting' END;
    INSERT INTO operation_count (module_id, status, n)
    SELECT NEW.module_id, status, 1
    FROM (SELECT CASE WHEN NEW.state NOT IN ('waiting', 'running', 'error') THEN NULL
                      WHEN NEW.state = 'running' THEN 'running' WHEN NEW.manual THEN 'manual'
                      WHEN NEW.state = 'error' THEN 'error' ELSE 'waiting' END AS status)
    WHERE status IS NOT NULL
    ON CONFLICT (module_id, status) DO UPDATE SET n = n + 1;
END;
