-- An attempt's row is written once, when the run ends, with how it ended: a claim no longer
-- inserts a `running` row that its finish then rewrites (an insert, an update and the update's
-- index entries per run, for a row nobody reads before the end). While it runs, the attempt
-- is the operation's own: its token, its lease and, here, when it started. The history shows
-- it from there (store::operations `list_attempts`).
ALTER TABLE operation ADD COLUMN attempt_started_at INTEGER;

-- The runs under way when this is applied keep their start, and their `running` rows go: the
-- end of each run now inserts its row.
UPDATE operation SET attempt_started_at = COALESCE(
    (SELECT MAX(a.started_at) FROM attempt a
     WHERE a.token = operation.attempt_token AND a.outcome = 'running'),
    updated_at)
WHERE state = 'running';
DELETE FROM attempt WHERE outcome = 'running';
DROP INDEX attempt_running_by_token;
DROP TRIGGER attempt_rollup_finish;
