-- A processing module's circuit breaker (service::circuit): `closed` (operations run),
-- `open` (its panel looks down: none is claimed until `circuit_retry_at`, then one probe),
-- `probing` (one operation is the probe; none other is claimed until it ends, or until
-- `circuit_retry_at` if its node dies) or `paused` (an admin stopped it by hand; only an admin
-- resumes it). The rule that opens it is a module setting: `circuit_failures` distinct
-- operations failing with a module-level error within `circuit_window_secs` (0: never opens).
ALTER TABLE processing_module ADD COLUMN circuit TEXT NOT NULL DEFAULT 'closed'
    CONSTRAINT processing_module_circuit_known
    CHECK (circuit IN ('closed', 'open', 'probing', 'paused'));
ALTER TABLE processing_module ADD COLUMN circuit_since BIGINT;
ALTER TABLE processing_module ADD COLUMN circuit_reason TEXT;
ALTER TABLE processing_module ADD COLUMN circuit_retry_at BIGINT;
-- failed probes in a row: the wait before the next one doubles with each
ALTER TABLE processing_module ADD COLUMN circuit_probes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE processing_module ADD COLUMN circuit_failures BIGINT NOT NULL DEFAULT 5
    CONSTRAINT processing_module_circuit_failures_range
    CHECK (circuit_failures BETWEEN 0 AND 10000);
ALTER TABLE processing_module ADD COLUMN circuit_window_secs BIGINT NOT NULL DEFAULT 60
    CONSTRAINT processing_module_circuit_window_range
    CHECK (circuit_window_secs BETWEEN 1 AND 86400);
