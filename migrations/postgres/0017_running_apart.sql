-- The indexes the current list walks leave running operations out: a claim turns an operation
-- from `waiting` (or `error`) to `running`, and PostgreSQL writes an entry in every index whose
-- predicate the new row meets (no HOT update: `state` is in every predicate). Over all three
-- states that was all fifteen of the table's indexes at every claim; over `waiting` and
-- `error` it is three (the primary key, the unique service index, `operation_running`), and a
-- claim and its finish measured 45 % less time side by side. The running operations, a
-- module's cap of them at most, are read through `operation_running`; the list reads the two
-- parts apart, each in index order, and merges them (store::sql `current_parts`).
-- The unique index of a service's one current operation keeps all three states: it is the
-- rule, not a walk.
DROP INDEX operation_active_by_id;
DROP INDEX operation_active_by_client;
DROP INDEX operation_active_by_module;
DROP INDEX operation_active_by_cdate;
DROP INDEX operation_active_by_error;
DROP INDEX operation_active_by_failure;
DROP INDEX operation_active_by_intname;
DROP INDEX operation_active_by_itemtype;
DROP INDEX operation_active_by_trycount;
DROP INDEX operation_active_by_task;
DROP INDEX operation_active_by_status;
CREATE INDEX operation_queued_by_id ON operation (id, last_error_id)
    WHERE state IN ('waiting', 'error');
CREATE INDEX operation_queued_by_client ON operation (client_id, id)
    WHERE state IN ('waiting', 'error');
CREATE INDEX operation_queued_by_module ON operation (module_id, id)
    WHERE state IN ('waiting', 'error');
CREATE INDEX operation_queued_by_cdate ON operation (cdate, id)
    WHERE state IN ('waiting', 'error');
CREATE INDEX operation_queued_by_error ON operation (last_error_id, id)
    WHERE state IN ('waiting', 'error');
CREATE INDEX operation_queued_by_failure ON operation (failure_id, id)
    WHERE state IN ('waiting', 'error');
CREATE INDEX operation_queued_by_intname ON operation (intname, id)
    WHERE state IN ('waiting', 'error');
CREATE INDEX operation_queued_by_itemtype ON operation (itemtype, id)
    WHERE state IN ('waiting', 'error');
CREATE INDEX operation_queued_by_trycount ON operation (trycount, id)
    WHERE state IN ('waiting', 'error');
CREATE INDEX operation_queued_by_task ON operation (COALESCE(task_id, 0), id)
    WHERE state IN ('waiting', 'error');
CREATE INDEX operation_queued_by_status ON operation (
    (CASE WHEN state = 'running' THEN 'running' WHEN manual THEN 'manual'
          WHEN state = 'error' THEN 'error' ELSE 'waiting' END), id)
    INCLUDE (state, manual)
    WHERE state IN ('waiting', 'error');
