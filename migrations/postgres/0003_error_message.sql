-- Error messages, each distinct text once. The list's error-text filter matches the (few)
-- distinct messages first, then compares integer ids while it walks the current operations in
-- id order, instead of matching the text of every row it passes.
CREATE TABLE error_message (
    id    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    text  TEXT NOT NULL CONSTRAINT error_message_text_unique UNIQUE
);
-- The message of the last failed attempt; `last_error` keeps its text for display.
ALTER TABLE operation ADD COLUMN last_error_id BIGINT REFERENCES error_message (id);
-- The walk in id order reads `last_error_id` from the index itself, not from each row.
DROP INDEX operation_active_by_id;
CREATE INDEX operation_active_by_id ON operation (id, last_error_id) WHERE state IN ('waiting', 'running', 'error');
-- The error-text filter naming one message walks this in id order, a page at a time.
CREATE INDEX operation_active_by_error ON operation (last_error_id, id) WHERE state IN ('waiting', 'running', 'error');
