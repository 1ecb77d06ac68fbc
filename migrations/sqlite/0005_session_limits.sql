-- Session hardening.
-- Every session now has an absolute end besides the idle one: `expires_at` (epoch ms), set when
-- it is opened (the configured lifetime; shorter for an `su` session with no admin session to
-- return to). Sessions opened before this migration end 12 hours after they were opened.
ALTER TABLE session ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
UPDATE session SET expires_at = created_at + 43200000;

-- A user's chosen language: the default of every session the user opens (NULL: the language
-- the browser or the call asks for).
ALTER TABLE app_user ADD COLUMN lang TEXT CONSTRAINT app_user_lang_known CHECK (lang IN ('ru', 'en'));
