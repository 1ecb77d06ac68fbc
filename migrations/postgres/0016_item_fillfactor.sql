-- A finish sets its service's status (`open` → active, `suspend` → suspended, ...): no index
-- holds the status, so PostgreSQL can rewrite the row in place (a HOT update, no index entry)
-- when its page has room. Pages filled to the brim by a bulk load have none; a tenth of each
-- page is now kept free for it (pages written from now on; older ones as they are rewritten).
ALTER TABLE item SET (fillfactor = 90);
