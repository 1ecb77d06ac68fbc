-- The journal page (service::journal) pages newest first by id, narrowed by user, by kind of
-- object, or by time: an index for each, so that any page is a short index walk however long
-- the journal grows (the object's own rows already have journal_by_object).
CREATE INDEX journal_by_user ON journal (user_name, id);
CREATE INDEX journal_by_kind ON journal (object, id);
CREATE INDEX journal_by_at ON journal (at, id);
