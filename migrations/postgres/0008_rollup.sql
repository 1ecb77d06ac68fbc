-- What the charts draw (service::chart), kept so that a chart reads one row per module and
-- bucket whatever the number of attempts: attempts finished per module per minute, and the
-- current operations per module and status sampled each minute. Minutes older than an hour
-- and a bit are folded into hours, hours are kept 35 days (Rollups::compact_rollups).
-- As with the operation counts (0006), writers never update a shared row: each statement that
-- finishes attempts appends its per-module, per-minute sums to `attempt_rollup_delta`, folded
-- into `attempt_rollup` by the compaction; a read adds the two. The conformance case
-- `the_attempt_rollup_agrees_with_the_attempts` holds both to a count of the attempts.
-- No attempt finishes between the backfill below and the triggers that keep it.
LOCK TABLE attempt IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE attempt_rollup (
    module_id BIGINT NOT NULL,
    span      TEXT NOT NULL CONSTRAINT attempt_rollup_span_known CHECK (span IN ('minute', 'hour')),
    -- the bucket's start, epoch milliseconds
    bucket    BIGINT NOT NULL,
    ok        BIGINT NOT NULL,
    failed    BIGINT NOT NULL,
    -- interrupted (a node died) or stopped by an admin
    other     BIGINT NOT NULL,
    PRIMARY KEY (bucket, module_id, span)
);

CREATE TABLE attempt_rollup_delta (
    module_id BIGINT NOT NULL,
    bucket    BIGINT NOT NULL,
    ok        BIGINT NOT NULL,
    failed    BIGINT NOT NULL,
    other     BIGINT NOT NULL
);

CREATE TABLE queue_sample (
    module_id BIGINT NOT NULL,
    status    TEXT NOT NULL,
    span      TEXT NOT NULL CONSTRAINT queue_sample_span_known CHECK (span IN ('minute', 'hour')),
    bucket    BIGINT NOT NULL,
    -- the count at the minute; an hour's is the mean of its minutes
    n         BIGINT NOT NULL,
    PRIMARY KEY (bucket, module_id, status, span)
);

-- The attempts of the last 35 days, by the minute they finished in.
INSERT INTO attempt_rollup (module_id, span, bucket, ok, failed, other)
SELECT o.module_id, 'minute', a.finished_at - a.finished_at % 60000,
       COUNT(*) FILTER (WHERE a.outcome = 'ok'), COUNT(*) FILTER (WHERE a.outcome = 'error'),
       COUNT(*) FILTER (WHERE a.outcome IN ('interrupted', 'stopped'))
FROM attempt a JOIN operation o ON o.id = a.operation_id
WHERE a.outcome <> 'running' AND a.finished_at IS NOT NULL
  AND a.finished_at >= (SELECT COALESCE(MAX(finished_at), 0) FROM attempt) - 35::BIGINT * 86400000
GROUP BY 1, 3;

-- Sums per module and minute of the attempts in `done` (finished rows only).
CREATE FUNCTION attempt_rollup_append() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO attempt_rollup_delta (module_id, bucket, ok, failed, other)
        SELECT o.module_id, n.finished_at - n.finished_at % 60000,
               COUNT(*) FILTER (WHERE n.outcome = 'ok'), COUNT(*) FILTER (WHERE n.outcome = 'error'),
               COUNT(*) FILTER (WHERE n.outcome IN ('interrupted', 'stopped'))
        FROM new_rows n JOIN operation o ON o.id = n.operation_id
        WHERE n.outcome <> 'running' AND n.finished_at IS NOT NULL
        GROUP BY 1, 2;
    ELSE
        INSERT INTO attempt_rollup_delta (module_id, bucket, ok, failed, other)
        SELECT o.module_id, n.finished_at - n.finished_at % 60000,
               COUNT(*) FILTER (WHERE n.outcome = 'ok'), COUNT(*) FILTER (WHERE n.outcome = 'error'),
               COUNT(*) FILTER (WHERE n.outcome IN ('interrupted', 'stopped'))
        FROM new_rows n JOIN old_rows p ON p.id = n.id JOIN operation o ON o.id = n.operation_id
        WHERE p.outcome = 'running' AND n.outcome <> 'running' AND n.finished_at IS NOT NULL
        GROUP BY 1, 2;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER attempt_rollup_insert AFTER INSERT ON attempt
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION attempt_rollup_append();
CREATE TRIGGER attempt_rollup_finish AFTER UPDATE ON attempt
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION attempt_rollup_append();
