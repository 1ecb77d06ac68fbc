-- Every column the current list sorts by has an index in that order (ties by id, as the list
-- breaks them), over current operations only, so any sort's page is a short index walk however
-- many operations there are. Each expression is word for word the list's `ORDER BY` (store::sql
-- `sort_sql`): that is how the planner knows it may use it. Sorting by service and by date
-- already had theirs (operation_one_active_per_item, operation_active_by_cdate); sorting by
-- client walks clients by name and each one's operations by id (operation_active_by_client),
-- an incremental sort ordering each name's few rows. The status index carries the columns its
-- expression reads, so PostgreSQL answers from the index alone (an expression index cannot
-- otherwise be scanned index-only).
CREATE INDEX operation_active_by_intname ON operation (intname, id)
    WHERE state IN ('waiting', 'running', 'error');
CREATE INDEX operation_active_by_itemtype ON operation (itemtype, id)
    WHERE state IN ('waiting', 'running', 'error');
CREATE INDEX operation_active_by_trycount ON operation (trycount, id)
    WHERE state IN ('waiting', 'running', 'error');
CREATE INDEX operation_active_by_task ON operation (COALESCE(task_id, 0), id)
    WHERE state IN ('waiting', 'running', 'error');
CREATE INDEX operation_active_by_status ON operation (
    (CASE WHEN state = 'running' THEN 'running' WHEN manual THEN 'manual'
          WHEN state = 'error' THEN 'error' ELSE 'waiting' END), id)
    INCLUDE (state, manual)
    WHERE state IN ('waiting', 'running', 'error');
CREATE INDEX client_by_name ON client (name, id);

-- The status filter is the status expression equal to one status, which the status index
-- answers in id order: the three partial indexes per status it replaces were three more
-- entries for the engine to move at every claim and every failure. (operation_running stays:
-- the engine counts and renews running operations with `state = 'running'`.) The claim and the
-- oldest-due figure read operation_due_by_module (0004); nothing reads operation_due any longer.
DROP INDEX operation_waiting;
DROP INDEX operation_failed;
DROP INDEX operation_needs_attention;
DROP INDEX operation_due;
