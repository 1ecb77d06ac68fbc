-- The engine's queries.
-- A claim looks for due operations of one module at a time (each module has its own cap on
-- running operations), earliest first; with `id` last the index gives the claim's order (ties on
-- the run time are common: a batch of orders) without sorting.
CREATE INDEX operation_due_by_module ON operation (module_id, next_run_at, id) WHERE state IN ('waiting', 'error');
-- A worker finishes its attempt by token: the one row still `running` with that token.
CREATE INDEX attempt_running_by_token ON attempt (token) WHERE outcome = 'running';
