-- Pass-through login keys (BILLmanager's `session.newkey`): an admin registers a key for a user,
-- who then logs in once with `func=auth&username=U&key=K`. Only the key's SHA-256 is kept; a key
-- works once and only until it expires.
CREATE TABLE login_key (
    key_hash    TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES app_user (id),
    expires_at  INTEGER NOT NULL
);
CREATE INDEX login_key_by_expiry ON login_key (expires_at);
