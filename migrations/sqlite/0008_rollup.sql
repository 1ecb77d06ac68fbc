-- What the charts draw (service::chart), kept so that a chart reads one row per module and
-- bucket whatever the number of attempts: attempts finished per module per minute, and the
-- current operations per module and status sampled each minute. Minutes older than an hour
-- and a bit are folded into hours, hours are kept 35 days (Rollups::compact_rollups).
-- SQLite has one writer: a trigger adds each finished attempt to its minute in place, and the
-- delta table (PostgreSQL's way, see there) stays empty. The conformance case
-- `the_attempt_rollup_agrees_with_the_attempts` holds both to a count of the attempts.
CREATE TABLE attempt_rollup (
    module_id INTEGER NOT NULL,
    span      TEXT NOT NULL CONSTRAINT attempt_rollup_span_known CHECK (span IN ('minute', 'hour')),
    -- the bucket's start, epoch milliseconds
    bucket    INTEGER NOT NULL,
    ok        INTEGER NOT NULL,
    failed    INTEGER NOT NULL,
    -- interrupted (a node died) or stopped by an admin
    other     INTEGER NOT NULL,
    PRIMARY KEY (bucket, module_id, span)
) WITHOUT ROWID;

CREATE TABLE attempt_rollup_delta (
    module_id INTEGER NOT NULL,
    bucket    INTEGER NOT NULL,
    ok        INTEGER NOT NULL,
    failed    INTEGER NOT NULL,
    other     INTEGER NOT NULL
);

CREATE TABLE queue_sample (
    module_id INTEGER NOT NULL,
    status    TEXT NOT NULL,
    span      TEXT NOT NULL CONSTRAINT queue_sample_span_known CHECK (span IN ('minute', 'hour')),
    bucket    INTEGER NOT NULL,
    -- the count at the minute; an hour's is the mean of its minutes
    n         INTEGER NOT NULL,
    PRIMARY KEY (bucket, module_id, status, span)
) WITHOUT ROWID;

-- The attempts of the last 35 days, by the minute they finished in.
INSERT INTO attempt_rollup (module_id, span, bucket, ok, failed, other)
SELECT o.module_id, 'minute', a.finished_at - a.finished_at % 60000,
       SUM(a.outcome = 'ok'), SUM(a.outcome = 'error'),
       SUM(a.outcome IN ('interrupted', 'stopped'))
FROM attempt a JOIN operation o ON o.id = a.operation_id
WHERE a.outcome <> 'running' AND a.finished_at IS NOT NULL
  AND a.finished_at >= (SELECT COALESCE(MAX(finished_at), 0) FROM attempt) - 35 * 86400000
GROUP BY 1, 3;

CREATE TRIGGER attempt_rollup_finish AFTER UPDATE OF outcome ON attempt
WHEN OLD.outcome = 'running' AND NEW.outcome <> 'running' AND NEW.finished_at IS NOT NULL
BEGIN
    INSERT INTO attempt_rollup (module_id, span, bucket, ok, failed, other)
    SELECT o.module_id, 'minute', NEW.finished_at - NEW.finished_at % 60000,
           NEW.outcome = 'ok', NEW.outcome = 'error', NEW.outcome IN ('interrupted', 'stopped')
    FROM operation o WHERE o.id = NEW.operation_id
    ON CONFLICT (bucket, module_id, span) DO UPDATE
    SET ok = ok + excluded.ok, failed = failed + excluded.failed, other = other + excluded.other;
END;

CREATE TRIGGER attempt_rollup_insert AFTER INSERT ON attempt
WHEN NEW.outcome <> 'running' AND NEW.finished_at IS NOT NULL
BEGIN
    INSERT INTO attempt_rollup (module_id, span, bucket, ok, failed, other)
    SELECT o.module_id, 'minute', NEW.finished_at - NEW.finished_at % 60000,
           NEW.outcome = 'ok', NEW.outcome = 'error', NEW.outcome IN ('interrupted', 'stopped')
    FROM operation o WHERE o.id = NEW.operation_id
    ON CONFLICT (bucket, module_id, span) DO UPDATE
    SET ok = ok + excluded.ok, failed = failed + excluded.failed, other = other + excluded.other;
END;
