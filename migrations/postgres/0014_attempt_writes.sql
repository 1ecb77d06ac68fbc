-- The engine's attempt rows, cheaper to write (PostgreSQL only: SQLite's triggers are per row,
-- with conditions of their own, and its foreign keys cost an index probe, not a trigger).
--
-- The charts' minutes of finished attempts. PL/pgSQL keeps the plan of a statement for the
-- session's later calls; for the join of an update's old and new rows it kept one made for a
-- handful of rows (a nested loop), and a finish of 500 attempts compared every old row with
-- every new one (38 µs an attempt, the engine's largest single cost). An update of many
-- attempts now has its join planned at the call, with the rows' real numbers (a hash join);
-- an update of a few (a failure, a rescue: one attempt a statement) keeps the cached plan,
-- which suits it and costs no planning.
CREATE OR REPLACE FUNCTION attempt_rollup_append() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO attempt_rollup_delta (module_id, bucket, ok, failed, other)
        SELECT o.module_id, n.finished_at - n.finished_at % 60000,
               COUNT(*) FILTER (WHERE n.outcome = 'ok'), COUNT(*) FILTER (WHERE n.outcome = 'error'),
               COUNT(*) FILTER (WHERE n.outcome IN ('interrupted', 'stopped'))
        FROM new_rows n JOIN operation o ON o.id = n.operation_id
        WHERE n.outcome <> 'running' AND n.finished_at IS NOT NULL
        GROUP BY 1, 2;
    ELSIF (SELECT COUNT(*) FROM new_rows) <= 8 THEN
        INSERT INTO attempt_rollup_delta (module_id, bucket, ok, failed, other)
        SELECT o.module_id, n.finished_at - n.finished_at % 60000,
               COUNT(*) FILTER (WHERE n.outcome = 'ok'), COUNT(*) FILTER (WHERE n.outcome = 'error'),
               COUNT(*) FILTER (WHERE n.outcome IN ('interrupted', 'stopped'))
        FROM new_rows n JOIN old_rows p ON p.id = n.id JOIN operation o ON o.id = n.operation_id
        WHERE p.outcome = 'running' AND n.outcome <> 'running' AND n.finished_at IS NOT NULL
        GROUP BY 1, 2;
    ELSE
        EXECUTE $sql$
            INSERT INTO attempt_rollup_delta (module_id, bucket, ok, failed, other)
            SELECT o.module_id, n.finished_at - n.finished_at % 60000,
                   COUNT(*) FILTER (WHERE n.outcome = 'ok'), COUNT(*) FILTER (WHERE n.outcome = 'error'),
                   COUNT(*) FILTER (WHERE n.outcome IN ('interrupted', 'stopped'))
            FROM new_rows n JOIN old_rows p ON p.id = n.id JOIN operation o ON o.id = n.operation_id
            WHERE p.outcome = 'running' AND n.outcome <> 'running' AND n.finished_at IS NOT NULL
            GROUP BY 1, 2
        $sql$;
    END IF;
    RETURN NULL;
END $$;

-- An attempt's operation and service are checked by no foreign key any longer: attempts are
-- written only by the engine's statements, from the operation's own row in the same statement,
-- and operations and services are never deleted; the two checks cost more than the insert of
-- the attempt itself (an index probe each, through the trigger machinery: 11 µs an attempt).
ALTER TABLE attempt DROP CONSTRAINT attempt_operation_id_fkey;
ALTER TABLE attempt DROP CONSTRAINT attempt_item_id_fkey;
