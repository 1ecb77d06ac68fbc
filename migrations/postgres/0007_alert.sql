-- Alert webhooks (`billops alert add`): where to POST, under which secret, on which events;
-- and the outbox of alerts to deliver. An alert is written once per hook and incident (the
-- unique key), so an incident seen twice, or by two nodes, is delivered once; a delivery that
-- fails stays in the outbox and is tried again later, with backoff.
CREATE TABLE alert_hook (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url        TEXT NOT NULL,
    secret     TEXT,
    -- comma-separated: manual, burst
    events     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE alert_outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hook_id         BIGINT NOT NULL REFERENCES alert_hook (id) ON DELETE CASCADE,
    event           TEXT NOT NULL,
    incident        TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    -- when a node may (next) try it; a node trying it pushes this past its attempt
    next_attempt_at BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    delivered_at    BIGINT,
    last_error      TEXT,
    CONSTRAINT alert_once_per_incident UNIQUE (hook_id, incident)
);
CREATE INDEX alert_outbox_due ON alert_outbox (next_attempt_at) WHERE delivered_at IS NULL;
