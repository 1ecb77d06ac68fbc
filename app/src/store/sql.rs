//! The one SQL implementation of [`Store`](super::Store), expanded for each backend by
//! [`impl_store!`]. Placeholders are `$N`, which both SQLite and PostgreSQL read; booleans are
//! written `TRUE`/`FALSE`; times are epoch milliseconds. Where the dialects differ the backend
//! passes its own text (the migration lock).

/// The current list holds these states.
pub(crate) const ACTIVE: &str = "('waiting', 'running', 'error')";

/// The status people see, derived from the queue state and `manual`.
pub(crate) const STATUS_SQL: &str = "CASE WHEN o.state = 'running' THEN 'running' \
     WHEN o.manual THEN 'manual' WHEN o.state = 'error' THEN 'error' ELSE 'waiting' END";

/// The columns of an operation list row, in the order `operation_row` reads them.
pub(crate) const ROW_COLUMNS: &str =
    "SELECT o.id, o.intname, o.item_id, i.name AS item_name, o.itemtype, \
     o.client_id, c.name AS client_name, o.cdate, o.trycount, o.module_id, m.name AS module_name, \
     o.task_id, o.state, o.manual, o.comment, o.last_error";

/// The tables a list row's names come from, joined to `operation o`.
pub(crate) const ROW_JOINS: &str =
    "JOIN item i ON i.id = o.item_id JOIN client c ON c.id = o.client_id \
     JOIN processing_module m ON m.id = o.module_id";

pub(crate) const OPERATION_SELECT: &str = "SELECT id, intname, item_id, client_id, module_id, itemtype, cdate, \
     trycount, manual, comment, state, task_id, next_run_at, run_requested, stop_requested, last_error, \
     updated_at FROM operation";

pub(crate) const MODULE_SELECT: &str =
    "SELECT id, name, kind, target, secret, panel_url, max_running, \
     max_tries, timeout_secs, enabled FROM processing_module";

pub(crate) const SESSION_SELECT: &str = "SELECT s.id_hash, s.user_id, u.name AS user_name, s.level, s.client_id, \
     s.parent_hash, s.lang, s.created_at, s.last_seen_at, s.expires_at FROM session s JOIN app_user u ON u.id = s.user_id";

pub(crate) const ATTEMPT_SELECT: &str =
    "SELECT id, operation_id, item_id, started_at, finished_at, outcome, \
     error_type, error_message, task_id, log FROM attempt";

/// The SQL expression a sort column orders by.
pub(crate) fn sort_sql(column: crate::types::SortColumn) -> &'static str {
    use crate::types::SortColumn as C;
    match column {
        C::Id => "o.id",
        C::Desc => "o.intname",
        C::Item => "o.item_id",
        C::Itemtype => "o.itemtype",
        C::Client => "c.name",
        C::Cdate => "o.cdate",
        C::Trycount => "o.trycount",
        C::Processingmodule => "m.name",
        C::Task => "COALESCE(o.task_id, 0)",
        C::Status => STATUS_SQL,
    }
}

/// The joins the inner (id-only) query of a page needs to sort by `column`.
pub(crate) fn sort_joins(column: crate::types::SortColumn) -> &'static str {
    use crate::types::SortColumn as C;
    match column {
        C::Client => " JOIN client c ON c.id = o.client_id",
        C::Processingmodule => " JOIN processing_module m ON m.id = o.module_id",
        _ => "",
    }
}

/// The predicate that selects operations of one status: word for word the `WHERE` of that
/// status's partial index (migrations), which is how the planner knows it may use it.
pub(crate) fn status_sql(status: crate::types::Status) -> &'static str {
    use crate::types::Status as S;
    match status {
        S::Running => "o.state = 'running'",
        S::Manual => "o.state IN ('waiting', 'error') AND o.manual = TRUE",
        S::Error => "o.state = 'error' AND o.manual = FALSE",
        S::Waiting => "o.state = 'waiting' AND o.manual = FALSE",
    }
}

/// `%text%` for a case-insensitive `LIKE ... ESCAPE '\'`, with the wildcards in `text` escaped
/// (lowercased too: SQLite's `LIKE` ignores ASCII case only, as its `LOWER` does).
pub(crate) fn like_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for ch in text.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

/// A stored value that fails to parse is a corrupt row: report it as a decode error.
pub(crate) fn corrupt(column: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unexpected value {value:?} in column {column}").into())
}

/// Implements [`Store`](super::Store) for `$store` (which has a `pool: sqlx::Pool<$db>`).
/// `$lock` is SQL run first in the migration transaction (PostgreSQL takes an advisory lock so
/// that nodes starting together migrate once), `$migrations` the backend's migration list,
/// `$maintain` the statement that refreshes the planner's statistics, `$text_match` the
/// case-insensitive `LIKE` of the dialect. For the engine's claim: `$claim_prelude` is run first
/// (SQLite takes its write lock with it, before reading), `$lock_modules` ends the select of the
/// module rows (PostgreSQL locks them, serialising claims between nodes), `$skip_locked` ends the
/// select of due operations. The backend also provides `notify_nodes` and `listen_nodes`, and
/// `write_gate`, taken by the engine's writes (SQLite: one writer at a time, queued in the
/// process rather than by SQLite's sleeping busy handler).
macro_rules! impl_store {
    ($store:ty, $db:ty, $row:ty, $backend:literal, $lock:expr, $migrations:expr, $maintain:expr, $text_match:expr,
     $claim_prelude:expr, $lock_modules:expr, $skip_locked:expr) => {
        use async_trait::async_trait;
        use sqlx::{QueryBuilder, Row};

        use $crate::store::sql::{
            corrupt, like_pattern, sort_joins, sort_sql, status_sql, ACTIVE, ATTEMPT_SELECT, MODULE_SELECT,
            OPERATION_SELECT, ROW_COLUMNS, ROW_JOINS, SESSION_SELECT,
        };
        use $crate::store::{
            AfterAttempt, ChangeListener, Claim, ClaimRequest, Finish, HeldLease, JournalEntry, JournalRow, ModuleRecord, NewAttempt, NewClient, NewItem, OperationFields,
            OperationRecord, OperationState, SessionRecord, Store, StoreResult, TaskKind, TaskView,
            UserRecord,
        };
        use $crate::types::{
            AttemptOutcome, AttemptRow, ClientView, Intname, ItemStatus, ItemView, Lang, Level,
            ListQuery, ModuleKind, OperationFilter, OperationRow, SortOrder, Status, Timestamp,
        };

        fn parse_with<T>(column: &str, raw: String, parse: impl Fn(&str) -> Option<T>) -> StoreResult<T> {
            parse(&raw).ok_or_else(|| corrupt(column, &raw))
        }

        fn operation_row(row: &$row) -> StoreResult<OperationRow> {
            let state: String = row.try_get("state")?;
            let manual: bool = row.try_get("manual")?;
            let status = match state.as_str() {
                "running" => Status::Running,
                _ if manual => Status::Manual,
                "error" => Status::Error,
                _ => Status::Waiting,
            };
            Ok(OperationRow {
                id: row.try_get("id")?,
                intname: parse_with("intname", row.try_get("intname")?, Intname::parse)?,
                item_id: row.try_get("item_id")?,
                item_name: row.try_get("item_name")?,
                itemtype: row.try_get("itemtype")?,
                client_id: row.try_get("client_id")?,
                client_name: row.try_get("client_name")?,
                cdate: Timestamp(row.try_get("cdate")?),
                trycount: row.try_get("trycount")?,
                module_id: row.try_get("module_id")?,
                module_name: row.try_get("module_name")?,
                task_id: row.try_get("task_id")?,
                status,
                manual,
                comment: row.try_get("comment")?,
                last_error: row.try_get("last_error")?,
            })
        }

        fn operation_record(row: &$row) -> StoreResult<OperationRecord> {
            Ok(OperationRecord {
                id: row.try_get("id")?,
                fields: OperationFields {
                    intname: parse_with("intname", row.try_get("intname")?, Intname::parse)?,
                    item_id: row.try_get("item_id")?,
                    client_id: row.try_get("client_id")?,
                    module_id: row.try_get("module_id")?,
                    itemtype: row.try_get("itemtype")?,
                    cdate: Timestamp(row.try_get("cdate")?),
                    trycount: row.try_get("trycount")?,
                    manual: row.try_get("manual")?,
                    comment: row.try_get("comment")?,
                },
                state: parse_with("state", row.try_get("state")?, OperationState::parse)?,
                task_id: row.try_get("task_id")?,
                next_run_at: Timestamp(row.try_get("next_run_at")?),
                run_requested: row.try_get("run_requested")?,
                stop_requested: row.try_get("stop_requested")?,
                last_error: row.try_get("last_error")?,
                updated_at: Timestamp(row.try_get("updated_at")?),
            })
        }

        fn module_record(row: &$row) -> StoreResult<ModuleRecord> {
            Ok(ModuleRecord {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                kind: parse_with("kind", row.try_get("kind")?, ModuleKind::parse)?,
                target: row.try_get("target")?,
                secret: row.try_get("secret")?,
                panel_url: row.try_get("panel_url")?,
                max_running: row.try_get("max_running")?,
                max_tries: row.try_get("max_tries")?,
                timeout_secs: row.try_get("timeout_secs")?,
                enabled: row.try_get("enabled")?,
            })
        }

        fn client_view(row: &$row) -> StoreResult<ClientView> {
            Ok(ClientView {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                email: row.try_get("email")?,
                created: Timestamp(row.try_get("created_at")?),
            })
        }

        fn item_view(row: &$row) -> StoreResult<ItemView> {
            Ok(ItemView {
                id: row.try_get("id")?,
                client_id: row.try_get("client_id")?,
                module_id: row.try_get("module_id")?,
                itemtype: row.try_get("itemtype")?,
                name: row.try_get("name")?,
                status: parse_with("status", row.try_get("status")?, ItemStatus::parse)?,
            })
        }

        fn attempt_row(row: &$row) -> StoreResult<AttemptRow> {
            Ok(AttemptRow {
                id: row.try_get("id")?,
                operation_id: row.try_get("operation_id")?,
                item_id: row.try_get("item_id")?,
                createdate: Timestamp(row.try_get("started_at")?),
                finished: row.try_get::<Option<i64>, _>("finished_at")?.map(Timestamp),
                outcome: parse_with("outcome", row.try_get("outcome")?, AttemptOutcome::parse)?,
                error_type: row.try_get("error_type")?,
                error_message: row.try_get("error_message")?,
                task_id: row.try_get("task_id")?,
            })
        }

        fn session_record(row: &$row) -> StoreResult<SessionRecord> {
            Ok(SessionRecord {
                id_hash: row.try_get("id_hash")?,
                user_id: row.try_get("user_id")?,
                user_name: row.try_get("user_name")?,
                level: parse_with("level", row.try_get("level")?, Level::parse)?,
                client_id: row.try_get("client_id")?,
                parent_hash: row.try_get("parent_hash")?,
                lang: parse_with("lang", row.try_get("lang")?, Lang::parse)?,
                created: Timestamp(row.try_get("created_at")?),
                last_seen: Timestamp(row.try_get("last_seen_at")?),
                expires: Timestamp(row.try_get("expires_at")?),
            })
        }

        fn user_record(row: &$row) -> StoreResult<UserRecord> {
            Ok(UserRecord {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                password_hash: row.try_get("password_hash")?,
                level: parse_with("level", row.try_get("level")?, Level::parse)?,
                client_id: row.try_get("client_id")?,
                lang: row
                    .try_get::<Option<String>, _>("lang")?
                    .map(|raw| parse_with("lang", raw, Lang::parse))
                    .transpose()?,
            })
        }

        /// Appends the filter's predicates (each after ` AND `) to a query over `operation o`.
        /// Most distinct messages an error-text filter lists by id; past it, it matches in SQL.
        const MAX_ERROR_IDS: usize = 200;

        /// The ids of the error messages containing `text`, when there are at most
        /// [`MAX_ERROR_IDS`] of them.
        async fn matching_error_ids(pool: &sqlx::Pool<$db>, text: &str) -> StoreResult<Option<Vec<i64>>> {
            let text_match: &str = $text_match;
            let ids: Vec<i64> = sqlx::query_scalar(&format!(
                "SELECT id FROM error_message WHERE text {text_match} $1 ESCAPE '\\' ORDER BY id LIMIT $2"
            ))
            .bind(like_pattern(text))
            .bind(MAX_ERROR_IDS as i64 + 1)
            .fetch_all(pool)
            .await?;
            Ok((ids.len() <= MAX_ERROR_IDS).then_some(ids))
        }

        /// The error ids a filter's text matches (`None`: no text, or too many to list).
        async fn error_ids_of(pool: &sqlx::Pool<$db>, filter: &OperationFilter) -> StoreResult<Option<Vec<i64>>> {
            match filter.error_text.as_deref().filter(|t| !t.is_empty()) {
                Some(text) => matching_error_ids(pool, text).await,
                None => Ok(None),
            }
        }

        fn push_filter(qb: &mut QueryBuilder<'_, $db>, filter: &OperationFilter, error_ids: Option<&[i64]>) {
            if let Some(id) = filter.id {
                qb.push(" AND o.id = ").push_bind(id);
            }
            if let Some(intname) = filter.intname {
                qb.push(" AND o.intname = ").push_bind(intname.raw());
            }
            if let Some(item) = filter.item {
                qb.push(" AND o.item_id = ").push_bind(item);
            }
            if let Some(itemtype) = &filter.itemtype {
                qb.push(" AND o.itemtype = ").push_bind(itemtype.clone());
            }
            if let Some(client) = filter.client {
                qb.push(" AND o.client_id = ").push_bind(client);
            }
            if let Some(module) = filter.processingmodule {
                qb.push(" AND o.module_id = ").push_bind(module);
            }
            if let Some(status) = filter.status {
                qb.push(" AND ").push(status_sql(status));
            }
            if let Some(manual) = filter.manual {
                qb.push(" AND o.manual = ").push_bind(manual);
            }
            match filter.has_task {
                Some(true) => {
                    qb.push(" AND o.task_id IS NOT NULL");
                }
                Some(false) => {
                    qb.push(" AND o.task_id IS NULL");
                }
                None => {}
            }
            if let Some(from) = filter.created_from {
                qb.push(" AND o.cdate >= ").push_bind(from.0);
            }
            if let Some(to) = filter.created_to {
                qb.push(" AND o.cdate <= ").push_bind(to.0);
            }
            if let Some(min) = filter.min_trycount {
                qb.push(" AND o.trycount >= ").push_bind(min);
            }
            if let Some(text) = filter.error_text.as_deref().filter(|t| !t.is_empty()) {
                match error_ids {
                    // No message contains the text: nothing matches.
                    Some([]) => {
                        qb.push(" AND 1 = 0");
                    }
                    // A few messages: an id list, which one message turns into an index walk
                    // of (last_error_id, id) in id order.
                    Some(ids) => {
                        qb.push(" AND o.last_error_id IN (");
                        let mut list = qb.separated(", ");
                        for id in ids {
                            list.push_bind(*id);
                        }
                        list.push_unseparated(")");
                    }
                    // Many messages: match them in SQL and compare ids row by row.
                    None => {
                        let text_match: &str = $text_match;
                        qb.push(" AND o.last_error_id IN (SELECT id FROM error_message WHERE text ")
                            .push(text_match)
                            .push(" ")
                            .push_bind(like_pattern(text))
                            .push(" ESCAPE '\\')");
                    }
                }
            }
        }

    /// One page of current operations, the error-text filter's ids already looked up.
    async fn page_rows(pool: &sqlx::Pool<$db>, query: &ListQuery, error_ids: Option<&[i64]>) -> StoreResult<Vec<OperationRow>> {
            // Two steps: the page's ids from `operation` alone (index order, skipping the
            // offset without touching other tables), then the joins for those rows only.
            let order = match query.order {
                SortOrder::Asc => "ASC",
                SortOrder::Desc => "DESC",
            };
            let sort = sort_sql(query.sort);
            // `CROSS JOIN` keeps the page as the outer loop in SQLite, whose planner would
            // otherwise walk all of `operation` in id order to meet the page's 100 rows.
            let mut qb = QueryBuilder::<$db>::new(format!(
                "{ROW_COLUMNS} FROM (SELECT o.id AS page_id FROM operation o{}",
                sort_joins(query.sort)
            ));
            qb.push(format!(" WHERE o.state IN {ACTIVE}"));
            push_filter(&mut qb, &query.filter, error_ids);
            qb.push(format!(" ORDER BY {sort} {order}, o.id {order}"));
            qb.push(" LIMIT ").push_bind(i64::from(query.page_size));
            qb.push(" OFFSET ").push_bind(i64::try_from(query.offset()).unwrap_or(i64::MAX));
            qb.push(format!(
                ") page CROSS JOIN operation o {ROW_JOINS} WHERE o.id = page.page_id ORDER BY {sort} {order}, o.id {order}"
            ));
            qb.build().fetch_all(pool).await?.iter().map(operation_row).collect()
        }

    /// How many current operations match, up to `limit`, the error ids already looked up.
    async fn page_count(pool: &sqlx::Pool<$db>, filter: &OperationFilter, limit: u64, error_ids: Option<&[i64]>) -> StoreResult<u64> {
            let mut qb = QueryBuilder::<$db>::new("SELECT COUNT(*) FROM (SELECT 1 FROM operation o");
            qb.push(format!(" WHERE o.state IN {ACTIVE}"));
            push_filter(&mut qb, filter, error_ids);
            qb.push(" LIMIT ").push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
            qb.push(") AS matched");
            let count: i64 = qb.build_query_scalar().fetch_one(pool).await?;
            Ok(u64::try_from(count).unwrap_or(0))
        }

        async fn journal(conn: &mut <$db as sqlx::Database>::Connection, entry: &JournalEntry) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO journal (at, user_id, user_name, action, object, object_id, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(entry.at.0)
            .bind(entry.user_id)
            .bind(&entry.user_name)
            .bind(&entry.action)
            .bind(&entry.object)
            .bind(entry.object_id)
            .bind(&entry.detail)
            .execute(conn)
            .await?;
            Ok(())
        }

        /// The id of an error message's text, added when new.
        async fn error_message_id(conn: &mut <$db as sqlx::Database>::Connection, text: &str) -> StoreResult<i64> {
            sqlx::query("INSERT INTO error_message (text) VALUES ($1) ON CONFLICT (text) DO NOTHING")
                .bind(text)
                .execute(&mut *conn)
                .await?;
            sqlx::query_scalar("SELECT id FROM error_message WHERE text = $1")
                .bind(text)
                .fetch_one(&mut *conn)
                .await
        }

        /// Appends `ids` as a comma-separated list of bound values.
        fn push_ids(qb: &mut QueryBuilder<'_, $db>, ids: &[i64]) {
            let mut list = qb.separated(", ");
            for id in ids {
                list.push_bind(*id);
            }
        }

        /// Records the successful finishes `finishes[i]` for `i` in `chunk` (at most 500), in
        /// four statements or so: the operations whose token still matches become `done`, their
        /// services take their new status, their attempts their outcome and log.
        async fn finish_done(
            conn: &mut <$db as sqlx::Database>::Connection,
            finishes: &[Finish],
            chunk: &[usize],
            applied: &mut [bool],
        ) -> StoreResult<()> {
            let at = finishes[chunk[0]].at.0;
            let mut qb = QueryBuilder::<$db>::new(
                "UPDATE operation SET state = 'done', finished_at = ",
            );
            qb.push_bind(at)
                .push(", updated_at = ")
                .push_bind(at)
                .push(
                    ", lease_owner = NULL, lease_expires_at = NULL, attempt_token = NULL, \
                     run_requested = FALSE, stop_requested = FALSE FROM (VALUES ",
                );
            let mut rows = qb.separated(", ");
            for &i in chunk {
                rows.push("(")
                    .push_bind_unseparated(finishes[i].operation_id)
                    .push_unseparated(", ")
                    .push_bind_unseparated(finishes[i].token.clone())
                    .push_unseparated(")");
            }
            // The id list lets the planner find the rows by primary key, whatever it believes
            // about how many are running; the join checks each one's token.
            qb.push(") AS v WHERE operation.id IN (");
            let ids: Vec<i64> = chunk.iter().map(|&i| finishes[i].operation_id).collect();
            push_ids(&mut qb, &ids);
            qb.push(
                ") AND operation.id = v.column1 AND operation.attempt_token = v.column2 \
                 AND operation.state = 'running' RETURNING id, item_id",
            );
            let finished: std::collections::HashMap<i64, i64> = qb
                .build_query_as::<(i64, i64)>()
                .fetch_all(&mut *conn)
                .await?
                .into_iter()
                .collect();
            if finished.is_empty() {
                return Ok(());
            }
            let mut by_status: std::collections::HashMap<&'static str, Vec<i64>> = Default::default();
            let mut attempts: Vec<&Finish> = Vec::with_capacity(finished.len());
            for &i in chunk {
                let f = &finishes[i];
                let Some(item_id) = finished.get(&f.operation_id) else {
                    continue;
                };
                applied[i] = true;
                attempts.push(f);
                if let AfterAttempt::Done { item_status: Some(status) } = &f.next {
                    by_status.entry(status.raw()).or_default().push(*item_id);
                }
            }
            for (status, items) in by_status {
                let mut qb = QueryBuilder::<$db>::new("UPDATE item SET status = ");
                qb.push_bind(status).push(" WHERE id IN (");
                push_ids(&mut qb, &items);
                qb.push(")");
                qb.build().execute(&mut *conn).await?;
            }
            let mut qb = QueryBuilder::<$db>::new("UPDATE attempt SET outcome = 'ok', finished_at = ");
            qb.push_bind(at).push(
                ", error_type = NULL, error_message = NULL, log = v.column2 FROM (VALUES ",
            );
            let mut rows = qb.separated(", ");
            for f in &attempts {
                rows.push("(")
                    .push_bind_unseparated(f.token.clone())
                    .push_unseparated(", ")
                    .push_bind_unseparated(f.log.clone())
                    .push_unseparated(")");
            }
            // The token list lets both planners walk the index of running attempts by token.
            qb.push(") AS v WHERE attempt.token IN (");
            let mut tokens = qb.separated(", ");
            for f in &attempts {
                tokens.push_bind(f.token.clone());
            }
            qb.push(") AND attempt.token = v.column1 AND attempt.outcome = 'running'");
            qb.build().execute(&mut *conn).await?;
            Ok(())
        }

        /// The journal entry with the id of the object just created.
        fn with_id(entry: &JournalEntry, id: i64) -> JournalEntry {
            JournalEntry { object_id: Some(id), ..entry.clone() }
        }

        #[async_trait]
        impl Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn migrate(&self) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                let lock: Option<&str> = $lock;
                if let Some(lock) = lock {
                    sqlx::query(lock).execute(&mut *tx).await?;
                }
                sqlx::query(
                    "CREATE TABLE IF NOT EXISTS schema_migration \
                     (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
                )
                .execute(&mut *tx)
                .await?;
                let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migration")
                    .fetch_all(&mut *tx)
                    .await?;
                for migration in $migrations {
                    if applied.contains(&migration.version) {
                        continue;
                    }
                    // A plain string without arguments goes as one simple query: several
                    // statements at once, on both backends.
                    let conn: &mut <$db as sqlx::Database>::Connection = &mut *tx;
                    sqlx::Executor::execute(conn, migration.sql).await?;
                    sqlx::query("INSERT INTO schema_migration (version, name, applied_at) VALUES ($1, $2, $3)")
                        .bind(migration.version)
                        .bind(migration.name)
                        .bind($crate::store::migrate::now_millis())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await
            }

            async fn insert_client(&self, client: &NewClient, entry: &JournalEntry) -> StoreResult<i64> {
                let mut tx = self.pool.begin().await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO client (name, email, created_at) VALUES ($1, $2, $3) RETURNING id",
                )
                .bind(&client.name)
                .bind(&client.email)
                .bind(client.created.0)
                .fetch_one(&mut *tx)
                .await?;
                journal(&mut *tx, &with_id(entry, id)).await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn update_client(&self, client: &ClientView, entry: &JournalEntry) -> StoreResult<bool> {
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query("UPDATE client SET name = $1, email = $2 WHERE id = $3")
                    .bind(&client.name)
                    .bind(&client.email)
                    .bind(client.id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
                if done {
                    journal(&mut *tx, entry).await?;
                }
                tx.commit().await?;
                Ok(done)
            }

            async fn get_client(&self, id: i64) -> StoreResult<Option<ClientView>> {
                sqlx::query("SELECT id, name, email, created_at FROM client WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|row| client_view(&row))
                    .transpose()
            }

            async fn list_clients(&self) -> StoreResult<Vec<ClientView>> {
                sqlx::query("SELECT id, name, email, created_at FROM client ORDER BY id")
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(client_view)
                    .collect()
            }

            async fn insert_module(&self, m: &ModuleRecord, entry: &JournalEntry) -> StoreResult<i64> {
                let mut tx = self.pool.begin().await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO processing_module (name, kind, target, secret, panel_url, max_running, \
                     max_tries, timeout_secs, enabled, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                )
                .bind(&m.name)
                .bind(m.kind.raw())
                .bind(&m.target)
                .bind(&m.secret)
                .bind(&m.panel_url)
                .bind(m.max_running)
                .bind(m.max_tries)
                .bind(m.timeout_secs)
                .bind(m.enabled)
                .bind(entry.at.0)
                .fetch_one(&mut *tx)
                .await?;
                journal(&mut *tx, &with_id(entry, id)).await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn update_module(&self, m: &ModuleRecord, entry: &JournalEntry) -> StoreResult<bool> {
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query(
                    "UPDATE processing_module SET name = $1, kind = $2, target = $3, secret = $4, \
                     panel_url = $5, max_running = $6, max_tries = $7, timeout_secs = $8, enabled = $9 \
                     WHERE id = $10",
                )
                .bind(&m.name)
                .bind(m.kind.raw())
                .bind(&m.target)
                .bind(&m.secret)
                .bind(&m.panel_url)
                .bind(m.max_running)
                .bind(m.max_tries)
                .bind(m.timeout_secs)
                .bind(m.enabled)
                .bind(m.id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if done {
                    journal(&mut *tx, entry).await?;
                }
                tx.commit().await?;
                Ok(done)
            }

            async fn get_module(&self, id: i64) -> StoreResult<Option<ModuleRecord>> {
                sqlx::query(&format!("{MODULE_SELECT} WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|row| module_record(&row))
                    .transpose()
            }

            async fn list_modules(&self) -> StoreResult<Vec<ModuleRecord>> {
                sqlx::query(&format!("{MODULE_SELECT} ORDER BY id"))
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(module_record)
                    .collect()
            }

            async fn insert_item(&self, item: &NewItem, entry: &JournalEntry) -> StoreResult<i64> {
                let mut tx = self.pool.begin().await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO item (client_id, module_id, itemtype, name, status, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(item.client_id)
                .bind(item.module_id)
                .bind(&item.itemtype)
                .bind(&item.name)
                .bind(item.status.raw())
                .bind(item.created.0)
                .fetch_one(&mut *tx)
                .await?;
                journal(&mut *tx, &with_id(entry, id)).await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn update_item(&self, item: &ItemView, entry: &JournalEntry) -> StoreResult<bool> {
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query(
                    "UPDATE item SET client_id = $1, module_id = $2, itemtype = $3, name = $4, status = $5 \
                     WHERE id = $6",
                )
                .bind(item.client_id)
                .bind(item.module_id)
                .bind(&item.itemtype)
                .bind(&item.name)
                .bind(item.status.raw())
                .bind(item.id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if done {
                    journal(&mut *tx, entry).await?;
                }
                tx.commit().await?;
                Ok(done)
            }

            async fn get_item(&self, id: i64) -> StoreResult<Option<ItemView>> {
                sqlx::query("SELECT id, client_id, module_id, itemtype, name, status FROM item WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|row| item_view(&row))
                    .transpose()
            }

            async fn list_items(&self, client_id: Option<i64>) -> StoreResult<Vec<ItemView>> {
                let mut qb = QueryBuilder::<$db>::new(
                    "SELECT id, client_id, module_id, itemtype, name, status FROM item",
                );
                if let Some(client_id) = client_id {
                    qb.push(" WHERE client_id = ").push_bind(client_id);
                }
                qb.push(" ORDER BY id");
                qb.build().fetch_all(&self.pool).await?.iter().map(item_view).collect()
            }

            async fn insert_operation(
                &self,
                f: &OperationFields,
                state: OperationState,
                next_run_at: Timestamp,
                entry: &JournalEntry,
            ) -> StoreResult<i64> {
                let mut tx = self.pool.begin().await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO operation (intname, item_id, client_id, module_id, itemtype, cdate, trycount, \
                     manual, comment, state, next_run_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
                )
                .bind(f.intname.raw())
                .bind(f.item_id)
                .bind(f.client_id)
                .bind(f.module_id)
                .bind(&f.itemtype)
                .bind(f.cdate.0)
                .bind(f.trycount)
                .bind(f.manual)
                .bind(&f.comment)
                .bind(state.raw())
                .bind(next_run_at.0)
                .bind(entry.at.0)
                .fetch_one(&mut *tx)
                .await?;
                journal(&mut *tx, &with_id(entry, id)).await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn update_operation(&self, id: i64, f: &OperationFields, entry: &JournalEntry) -> StoreResult<bool> {
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query(&format!(
                    "UPDATE operation SET intname = $1, item_id = $2, client_id = $3, module_id = $4, \
                     itemtype = $5, cdate = $6, trycount = $7, manual = $8, comment = $9, updated_at = $10 \
                     WHERE id = $11 AND state IN {ACTIVE}"
                ))
                .bind(f.intname.raw())
                .bind(f.item_id)
                .bind(f.client_id)
                .bind(f.module_id)
                .bind(&f.itemtype)
                .bind(f.cdate.0)
                .bind(f.trycount)
                .bind(f.manual)
                .bind(&f.comment)
                .bind(entry.at.0)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if done {
                    journal(&mut *tx, entry).await?;
                }
                tx.commit().await?;
                Ok(done)
            }

            async fn get_operation(&self, id: i64) -> StoreResult<Option<OperationRecord>> {
                sqlx::query(&format!("{OPERATION_SELECT} WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|row| operation_record(&row))
                    .transpose()
            }

            async fn list_operations(&self, query: &ListQuery) -> StoreResult<Vec<OperationRow>> {
                let error_ids = error_ids_of(&self.pool, &query.filter).await?;
                page_rows(&self.pool, query, error_ids.as_deref()).await
            }

            async fn count_operations(&self, filter: &OperationFilter, limit: u64) -> StoreResult<u64> {
                let error_ids = error_ids_of(&self.pool, filter).await?;
                page_count(&self.pool, filter, limit, error_ids.as_deref()).await
            }

            async fn page_operations(&self, query: &ListQuery, count_limit: u64) -> StoreResult<(Vec<OperationRow>, u64)> {
                // The text filter's messages are looked up once for both queries; the page and
                // its count scan the same rows, so on two connections they take as long as the
                // slower of them.
                let error_ids = error_ids_of(&self.pool, &query.filter).await?;
                tokio::try_join!(
                    page_rows(&self.pool, query, error_ids.as_deref()),
                    page_count(&self.pool, &query.filter, count_limit, error_ids.as_deref())
                )
            }

            async fn request_start(&self, id: i64, now: Timestamp, entry: &JournalEntry) -> StoreResult<bool> {
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query(
                    "UPDATE operation SET run_requested = TRUE, next_run_at = $1, updated_at = $1 \
                     WHERE id = $2 AND state IN ('waiting', 'error')",
                )
                .bind(now.0)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if done {
                    journal(&mut *tx, entry).await?;
                }
                tx.commit().await?;
                Ok(done)
            }

            async fn request_stop(&self, id: i64, now: Timestamp, entry: &JournalEntry) -> StoreResult<bool> {
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query(&format!(
                    "UPDATE operation SET manual = TRUE, run_requested = FALSE, \
                     stop_requested = (state = 'running'), updated_at = $1 \
                     WHERE id = $2 AND state IN {ACTIVE}"
                ))
                .bind(now.0)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if done {
                    journal(&mut *tx, entry).await?;
                }
                tx.commit().await?;
                Ok(done)
            }

            async fn delete_operation(&self, id: i64, now: Timestamp, entry: &JournalEntry) -> StoreResult<bool> {
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query(
                    "UPDATE operation SET state = 'deleted', finished_at = $1, updated_at = $1 \
                     WHERE id = $2 AND state IN ('waiting', 'error')",
                )
                .bind(now.0)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if done {
                    journal(&mut *tx, entry).await?;
                }
                tx.commit().await?;
                Ok(done)
            }

            async fn force_state(
                &self,
                id: i64,
                state: OperationState,
                last_error: Option<&str>,
                now: Timestamp,
            ) -> StoreResult<()> {
                let running = state == OperationState::Running;
                let mut tx = self.pool.begin().await?;
                let error_id = match last_error {
                    Some(text) => Some(error_message_id(&mut tx, text).await?),
                    None => None,
                };
                sqlx::query(
                    "UPDATE operation SET state = $1, last_error = $2, lease_owner = $3, \
                     lease_expires_at = $4, attempt_token = $5, last_error_id = $6 WHERE id = $7",
                )
                .bind(state.raw())
                .bind(last_error)
                .bind(running.then_some("forced"))
                .bind(running.then_some(now.0))
                .bind(running.then(|| format!("forced-{id}")))
                .bind(error_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await
            }

            async fn insert_attempt(&self, a: &NewAttempt) -> StoreResult<i64> {
                sqlx::query_scalar(
                    "INSERT INTO attempt (operation_id, item_id, token, started_at, finished_at, outcome, \
                     error_type, error_message, log, task_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                )
                .bind(a.operation_id)
                .bind(a.item_id)
                .bind(&a.token)
                .bind(a.started.0)
                .bind(a.finished.map(|t| t.0))
                .bind(a.outcome.raw())
                .bind(&a.error_type)
                .bind(&a.error_message)
                .bind(&a.log)
                .bind(a.task_id)
                .fetch_one(&self.pool)
                .await
            }

            async fn list_attempts(&self, operation_id: i64) -> StoreResult<Vec<AttemptRow>> {
                sqlx::query(&format!("{ATTEMPT_SELECT} WHERE operation_id = $1 ORDER BY id"))
                    .bind(operation_id)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(attempt_row)
                    .collect()
            }

            async fn get_attempt(&self, id: i64) -> StoreResult<Option<(AttemptRow, String)>> {
                let Some(row) = sqlx::query(&format!("{ATTEMPT_SELECT} WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                else {
                    return Ok(None);
                };
                Ok(Some((attempt_row(&row)?, row.try_get("log")?)))
            }

            async fn create_task(
                &self,
                operation_id: i64,
                kind: TaskKind,
                comment: &str,
                now: Timestamp,
                entry: &JournalEntry,
            ) -> StoreResult<Option<i64>> {
                let mut tx = self.pool.begin().await?;
                let item_id: Option<i64> = sqlx::query_scalar(
                    "SELECT item_id FROM operation WHERE id = $1 AND task_id IS NULL",
                )
                .bind(operation_id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(item_id) = item_id else {
                    return Ok(None);
                };
                let task_id: i64 = sqlx::query_scalar(
                    "INSERT INTO task (operation_id, item_id, kind, status, comment, created_at) \
                     VALUES ($1, $2, $3, 'open', $4, $5) RETURNING id",
                )
                .bind(operation_id)
                .bind(item_id)
                .bind(kind.raw())
                .bind(comment)
                .bind(now.0)
                .fetch_one(&mut *tx)
                .await?;
                // The guard makes two concurrent creations link one task: the loser rolls back.
                let linked = sqlx::query(
                    "UPDATE operation SET task_id = $1, updated_at = $2 WHERE id = $3 AND task_id IS NULL",
                )
                .bind(task_id)
                .bind(now.0)
                .bind(operation_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if !linked {
                    tx.rollback().await?;
                    return Ok(None);
                }
                journal(&mut *tx, entry).await?;
                tx.commit().await?;
                Ok(Some(task_id))
            }

            async fn get_task(&self, id: i64) -> StoreResult<Option<TaskView>> {
                let Some(row) = sqlx::query(
                    "SELECT id, operation_id, item_id, kind, status, comment, created_at FROM task WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                else {
                    return Ok(None);
                };
                Ok(Some(TaskView {
                    id: row.try_get("id")?,
                    operation_id: row.try_get("operation_id")?,
                    item_id: row.try_get("item_id")?,
                    kind: row.try_get("kind")?,
                    status: row.try_get("status")?,
                    comment: row.try_get("comment")?,
                    created: Timestamp(row.try_get("created_at")?),
                }))
            }

            async fn insert_user(&self, user: &UserRecord, now: Timestamp, entry: &JournalEntry) -> StoreResult<i64> {
                let mut tx = self.pool.begin().await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO app_user (name, password_hash, level, client_id, created_at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(&user.name)
                .bind(&user.password_hash)
                .bind(user.level.raw())
                .bind(user.client_id)
                .bind(now.0)
                .fetch_one(&mut *tx)
                .await?;
                journal(&mut *tx, &with_id(entry, id)).await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn set_password(&self, user_id: i64, password_hash: &str, entry: &JournalEntry) -> StoreResult<bool> {
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query("UPDATE app_user SET password_hash = $1 WHERE id = $2")
                    .bind(password_hash)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
                if done {
                    journal(&mut *tx, entry).await?;
                }
                tx.commit().await?;
                Ok(done)
            }

            async fn find_user(&self, name: &str) -> StoreResult<Option<UserRecord>> {
                sqlx::query("SELECT id, name, password_hash, level, client_id, lang FROM app_user WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|row| user_record(&row))
                    .transpose()
            }

            async fn insert_login_key(
                &self,
                key_hash: &str,
                user_id: i64,
                expires: Timestamp,
                entry: &JournalEntry,
            ) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                sqlx::query("DELETE FROM login_key WHERE expires_at < $1")
                    .bind(entry.at.0)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("INSERT INTO login_key (key_hash, user_id, expires_at) VALUES ($1, $2, $3)")
                    .bind(key_hash)
                    .bind(user_id)
                    .bind(expires.0)
                    .execute(&mut *tx)
                    .await?;
                journal(&mut *tx, entry).await?;
                tx.commit().await
            }

            async fn take_login_key(&self, name: &str, key_hash: &str, now: Timestamp) -> StoreResult<Option<UserRecord>> {
                let mut tx = self.pool.begin().await?;
                let user_id: Option<i64> = sqlx::query_scalar(
                    "DELETE FROM login_key WHERE key_hash = $1 AND expires_at >= $2 \
                     AND user_id = (SELECT id FROM app_user WHERE name = $3) RETURNING user_id",
                )
                .bind(key_hash)
                .bind(now.0)
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
                let user = match user_id {
                    Some(id) => sqlx::query("SELECT id, name, password_hash, level, client_id, lang FROM app_user WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .map(|row| user_record(&row))
                        .transpose()?,
                    None => None,
                };
                tx.commit().await?;
                Ok(user)
            }

            async fn get_user(&self, id: i64) -> StoreResult<Option<UserRecord>> {
                sqlx::query("SELECT id, name, password_hash, level, client_id, lang FROM app_user WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|row| user_record(&row))
                    .transpose()
            }

            async fn insert_session(&self, s: &SessionRecord) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO session (id_hash, user_id, level, client_id, parent_hash, lang, created_at, \
                     last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&s.id_hash)
                .bind(s.user_id)
                .bind(s.level.raw())
                .bind(s.client_id)
                .bind(&s.parent_hash)
                .bind(s.lang.code())
                .bind(s.created.0)
                .bind(s.last_seen.0)
                .bind(s.expires.0)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn touch_session(
                &self,
                id_hash: &str,
                now: Timestamp,
                idle_cutoff: Timestamp,
            ) -> StoreResult<Option<SessionRecord>> {
                let touched = sqlx::query(
                    "UPDATE session SET last_seen_at = $1 WHERE id_hash = $2 AND last_seen_at >= $3",
                )
                .bind(now.0)
                .bind(id_hash)
                .bind(idle_cutoff.0)
                .execute(&self.pool)
                .await?
                .rows_affected()
                    == 1;
                if !touched {
                    return Ok(None);
                }
                self.get_session(id_hash).await
            }

            async fn set_session_lang(&self, id_hash: &str, lang: Lang) -> StoreResult<bool> {
                Ok(sqlx::query("UPDATE session SET lang = $1 WHERE id_hash = $2 OR parent_hash = $2")
                    .bind(lang.code())
                    .bind(id_hash)
                    .execute(&self.pool)
                    .await?
                    .rows_affected()
                    > 0)
            }

            async fn set_user_lang(&self, user_id: i64, lang: Lang) -> StoreResult<()> {
                sqlx::query("UPDATE app_user SET lang = $1 WHERE id = $2")
                    .bind(lang.code())
                    .bind(user_id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn get_session(&self, id_hash: &str) -> StoreResult<Option<SessionRecord>> {
                sqlx::query(&format!("{SESSION_SELECT} WHERE s.id_hash = $1"))
                    .bind(id_hash)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|row| session_record(&row))
                    .transpose()
            }

            async fn delete_session(&self, id_hash: &str) -> StoreResult<bool> {
                let mut tx = self.pool.begin().await?;
                sqlx::query("DELETE FROM session WHERE parent_hash = $1")
                    .bind(id_hash)
                    .execute(&mut *tx)
                    .await?;
                let done = sqlx::query("DELETE FROM session WHERE id_hash = $1")
                    .bind(id_hash)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
                tx.commit().await?;
                Ok(done)
            }

            async fn delete_idle_sessions(&self, idle_cutoff: Timestamp) -> StoreResult<u64> {
                let mut tx = self.pool.begin().await?;
                // Children first: an expired admin session takes its `su` sessions with it.
                let children = sqlx::query(
                    "DELETE FROM session WHERE parent_hash IN \
                     (SELECT id_hash FROM session WHERE last_seen_at < $1)",
                )
                .bind(idle_cutoff.0)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let parents = sqlx::query("DELETE FROM session WHERE last_seen_at < $1")
                    .bind(idle_cutoff.0)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(children + parents)
            }

            async fn load_filter(&self, user_id: i64, list: &str) -> StoreResult<Option<String>> {
                sqlx::query_scalar("SELECT filter FROM saved_filter WHERE user_id = $1 AND list = $2")
                    .bind(user_id)
                    .bind(list)
                    .fetch_optional(&self.pool)
                    .await
            }

            async fn save_filter(&self, user_id: i64, list: &str, filter: &str, now: Timestamp) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO saved_filter (user_id, list, filter, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (user_id, list) DO UPDATE SET filter = excluded.filter, \
                     updated_at = excluded.updated_at",
                )
                .bind(user_id)
                .bind(list)
                .bind(filter)
                .bind(now.0)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn insert_journal(&self, entry: &JournalEntry) -> StoreResult<()> {
                let mut conn = self.pool.acquire().await?;
                journal(&mut conn, entry).await
            }

            async fn list_journal(&self, object: &str, object_id: i64) -> StoreResult<Vec<JournalRow>> {
                let rows = sqlx::query(
                    "SELECT id, at, user_name, action, object, object_id, detail FROM journal \
                     WHERE object = $1 AND object_id = $2 ORDER BY id",
                )
                .bind(object)
                .bind(object_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(JournalRow {
                            id: row.try_get("id")?,
                            at: Timestamp(row.try_get("at")?),
                            user_name: row.try_get("user_name")?,
                            action: row.try_get("action")?,
                            object: row.try_get("object")?,
                            object_id: row.try_get("object_id")?,
                            detail: row.try_get("detail")?,
                        })
                    })
                    .collect()
            }

            async fn bulk_insert_items(&self, items: &[NewItem]) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                for chunk in items.chunks(1000) {
                    let mut qb = QueryBuilder::<$db>::new(
                        "INSERT INTO item (client_id, module_id, itemtype, name, status, created_at) ",
                    );
                    qb.push_values(chunk, |mut b, item| {
                        b.push_bind(item.client_id)
                            .push_bind(item.module_id)
                            .push_bind(item.itemtype.clone())
                            .push_bind(item.name.clone())
                            .push_bind(item.status.raw())
                            .push_bind(item.created.0);
                    });
                    qb.build().execute(&mut *tx).await?;
                }
                tx.commit().await
            }

            async fn bulk_insert_operations(
                &self,
                operations: &[(OperationFields, OperationState, Option<String>)],
            ) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                let mut error_ids = std::collections::HashMap::new();
                for text in operations.iter().filter_map(|(_, _, e)| e.as_deref()) {
                    if !error_ids.contains_key(text) {
                        error_ids.insert(text.to_owned(), error_message_id(&mut tx, text).await?);
                    }
                }
                for chunk in operations.chunks(1000) {
                    let mut qb = QueryBuilder::<$db>::new(
                        "INSERT INTO operation (intname, item_id, client_id, module_id, itemtype, cdate, trycount, \
                         manual, comment, state, next_run_at, updated_at, last_error, lease_owner, lease_expires_at, \
                         attempt_token, last_error_id) ",
                    );
                    qb.push_values(chunk, |mut b, (f, state, last_error)| {
                        let running = *state == OperationState::Running;
                        b.push_bind(f.intname.raw())
                            .push_bind(f.item_id)
                            .push_bind(f.client_id)
                            .push_bind(f.module_id)
                            .push_bind(f.itemtype.clone())
                            .push_bind(f.cdate.0)
                            .push_bind(f.trycount)
                            .push_bind(f.manual)
                            .push_bind(f.comment.clone())
                            .push_bind(state.raw())
                            .push_bind(f.cdate.0)
                            .push_bind(f.cdate.0)
                            .push_bind(last_error.clone())
                            .push_bind(running.then_some("bulk"))
                            .push_bind(running.then_some(f.cdate.0 + 60_000))
                            .push_bind(running.then(|| format!("bulk-{}", f.item_id)))
                            .push_bind(last_error.as_ref().and_then(|e| error_ids.get(e).copied()));
                    });
                    qb.build().execute(&mut *tx).await?;
                }
                tx.commit().await
            }

            async fn claim_operations(&self, request: &ClaimRequest) -> StoreResult<Vec<Claim>> {
                let _gate = self.write_gate().await;
                use rand::Rng;
                let mut tx = self.pool.begin().await?;
                // Claims are serialised: the module rows (and their caps) are locked first.
                let prelude: Option<&str> = $claim_prelude;
                if let Some(prelude) = prelude {
                    sqlx::query(prelude).execute(&mut *tx).await?;
                }
                let lock_modules: &str = $lock_modules;
                let mut modules: Vec<(i64, i64)> = sqlx::query_as(&format!(
                    "SELECT id, max_running FROM processing_module WHERE enabled = TRUE ORDER BY id{lock_modules}"
                ))
                .fetch_all(&mut *tx)
                .await?;
                if modules.is_empty() {
                    return Ok(Vec::new());
                }
                let running: std::collections::HashMap<i64, i64> = sqlx::query_as::<_, (i64, i64)>(
                    "SELECT module_id, COUNT(*) FROM operation WHERE state = 'running' GROUP BY module_id",
                )
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
                // Start at a random module so that a small limit does not favour the first one.
                let start = rand::thread_rng().gen_range(0..modules.len());
                modules.rotate_left(start);
                let skip_locked: &str = $skip_locked;
                let mut ids: Vec<i64> = Vec::new();
                let mut left = i64::from(request.limit);
                for (module_id, max_running) in modules {
                    let room = (max_running - running.get(&module_id).copied().unwrap_or(0)).min(left);
                    if room <= 0 {
                        continue;
                    }
                    let found: Vec<i64> = sqlx::query_scalar(&format!(
                        "SELECT id FROM operation WHERE module_id = $1 AND state IN ('waiting', 'error') \
                         AND next_run_at <= $2 AND (manual = FALSE OR run_requested = TRUE) \
                         ORDER BY next_run_at, id LIMIT $3{skip_locked}"
                    ))
                    .bind(module_id)
                    .bind(request.now.0)
                    .bind(room)
                    .fetch_all(&mut *tx)
                    .await?;
                    left -= found.len() as i64;
                    ids.extend(found);
                    if left == 0 {
                        break;
                    }
                }
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let prefix = format!("{}:{:016x}:", request.owner, rand::thread_rng().gen::<u64>());
                let mut qb = QueryBuilder::<$db>::new(
                    "UPDATE operation SET state = 'running', trycount = trycount + 1, run_requested = FALSE, \
                     stop_requested = FALSE, lease_owner = ",
                );
                qb.push_bind(&request.owner)
                    .push(", lease_expires_at = ")
                    .push_bind(request.lease_until.0)
                    .push(", attempt_token = ")
                    .push_bind(&prefix)
                    .push(" || CAST(id AS TEXT), updated_at = ")
                    .push_bind(request.now.0)
                    .push(" WHERE id IN (");
                push_ids(&mut qb, &ids);
                qb.push(")");
                qb.build().execute(&mut *tx).await?;

                let mut qb = QueryBuilder::<$db>::new(
                    "INSERT INTO attempt (operation_id, item_id, token, started_at, outcome, log) \
                     SELECT id, item_id, attempt_token, ",
                );
                qb.push_bind(request.now.0).push(", 'running', '' FROM operation WHERE id IN (");
                push_ids(&mut qb, &ids);
                qb.push(")");
                qb.build().execute(&mut *tx).await?;

                let mut qb = QueryBuilder::<$db>::new(
                    "SELECT o.id, o.intname, o.item_id, i.name AS item_name, o.itemtype, o.client_id, \
                     c.name AS client_name, o.module_id, o.trycount, o.manual, o.comment, o.attempt_token \
                     FROM operation o JOIN item i ON i.id = o.item_id JOIN client c ON c.id = o.client_id \
                     WHERE o.id IN (",
                );
                push_ids(&mut qb, &ids);
                qb.push(") ORDER BY o.next_run_at, o.id");
                let rows = qb.build().fetch_all(&mut *tx).await?;
                let claims = rows
                    .iter()
                    .map(|row| {
                        Ok(Claim {
                            operation_id: row.try_get("id")?,
                            intname: parse_with("intname", row.try_get("intname")?, Intname::parse)?,
                            item_id: row.try_get("item_id")?,
                            item_name: row.try_get("item_name")?,
                            itemtype: row.try_get("itemtype")?,
                            client_id: row.try_get("client_id")?,
                            client_name: row.try_get("client_name")?,
                            module_id: row.try_get("module_id")?,
                            trycount: row.try_get("trycount")?,
                            manual: row.try_get("manual")?,
                            comment: row.try_get("comment")?,
                            token: row.try_get("attempt_token")?,
                            started: request.now,
                        })
                    })
                    .collect::<StoreResult<Vec<Claim>>>()?;
                tx.commit().await?;
                Ok(claims)
            }

            async fn finish_attempts(&self, finishes: &[Finish], entry: &JournalEntry) -> StoreResult<Vec<bool>> {
                let _gate = self.write_gate().await;
                let mut tx = self.pool.begin().await?;
                let mut applied = vec![false; finishes.len()];
                // Successes, the common case, are written set-wise: a few statements per batch.
                let done: Vec<usize> = (0..finishes.len())
                    .filter(|&i| matches!(finishes[i].next, AfterAttempt::Done { .. }))
                    .collect();
                for chunk in done.chunks(500) {
                    finish_done(&mut tx, finishes, chunk, &mut applied).await?;
                }
                for (i, f) in finishes.iter().enumerate() {
                    let mut task_id: Option<i64> = None;
                    let done = match &f.next {
                        AfterAttempt::Done { .. } => continue,
                        AfterAttempt::Retry { next_run_at, manual, task } => {
                            let error_id = match f.error_message.as_deref() {
                                Some(text) => Some(error_message_id(&mut tx, text).await?),
                                None => None,
                            };
                            let row: Option<(i64, Option<i64>)> = sqlx::query_as(
                                "UPDATE operation SET state = 'error', manual = (manual OR $1), next_run_at = $2, \
                                 last_error = COALESCE($3, last_error), last_error_id = COALESCE($4, last_error_id), \
                                 lease_owner = NULL, lease_expires_at = NULL, attempt_token = NULL, \
                                 run_requested = FALSE, stop_requested = FALSE, updated_at = $5 \
                                 WHERE id = $6 AND attempt_token = $7 AND state = 'running' RETURNING item_id, task_id",
                            )
                            .bind(*manual)
                            .bind(next_run_at.0)
                            .bind(f.error_message.as_deref())
                            .bind(error_id)
                            .bind(f.at.0)
                            .bind(f.operation_id)
                            .bind(&f.token)
                            .fetch_optional(&mut *tx)
                            .await?;
                            if let (Some((item_id, None)), Some((kind, comment))) = (row, task) {
                                let id: i64 = sqlx::query_scalar(
                                    "INSERT INTO task (operation_id, item_id, kind, status, comment, created_at) \
                                     VALUES ($1, $2, $3, 'open', $4, $5) RETURNING id",
                                )
                                .bind(f.operation_id)
                                .bind(item_id)
                                .bind(kind.raw())
                                .bind(comment)
                                .bind(f.at.0)
                                .fetch_one(&mut *tx)
                                .await?;
                                sqlx::query("UPDATE operation SET task_id = $1 WHERE id = $2")
                                    .bind(id)
                                    .bind(f.operation_id)
                                    .execute(&mut *tx)
                                    .await?;
                                journal(&mut *tx, &JournalEntry {
                                    object_id: Some(f.operation_id),
                                    detail: format!("task {id}"),
                                    ..entry.clone()
                                })
                                .await?;
                                task_id = Some(id);
                            }
                            row.is_some()
                        }
                    };
                    if done {
                        sqlx::query(
                            "UPDATE attempt SET outcome = $1, finished_at = $2, error_type = $3, error_message = $4, \
                             log = $5, task_id = $6 WHERE token = $7 AND outcome = 'running'",
                        )
                        .bind(f.outcome.raw())
                        .bind(f.at.0)
                        .bind(f.error_type.as_deref())
                        .bind(f.error_message.as_deref())
                        .bind(&f.log)
                        .bind(task_id)
                        .bind(&f.token)
                        .execute(&mut *tx)
                        .await?;
                    }
                    applied[i] = done;
                }
                tx.commit().await?;
                Ok(applied)
            }

            async fn renew_leases(&self, owner: &str, now: Timestamp, until: Timestamp) -> StoreResult<Vec<HeldLease>> {
                let _gate = self.write_gate().await;
                let rows: Vec<(String, bool)> = sqlx::query_as(
                    "UPDATE operation SET lease_expires_at = $1 \
                     WHERE lease_owner = $2 AND state = 'running' AND lease_expires_at >= $3 \
                     RETURNING attempt_token, stop_requested",
                )
                .bind(until.0)
                .bind(owner)
                .bind(now.0)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(token, stop_requested)| HeldLease { token, stop_requested })
                    .collect())
            }

            async fn rescue_expired(&self, now: Timestamp, message: &str) -> StoreResult<Vec<i64>> {
                let _gate = self.write_gate().await;
                let mut tx = self.pool.begin().await?;
                // As in a claim: SQLite's write lock first, so the read below cannot go stale.
                let prelude: Option<&str> = $claim_prelude;
                if let Some(prelude) = prelude {
                    sqlx::query(prelude).execute(&mut *tx).await?;
                }
                let skip_locked: &str = $skip_locked;
                let expired: Vec<(i64, String)> = sqlx::query_as(&format!(
                    "SELECT id, attempt_token FROM operation \
                     WHERE state = 'running' AND lease_expires_at < $1 ORDER BY id{skip_locked}"
                ))
                .bind(now.0)
                .fetch_all(&mut *tx)
                .await?;
                if expired.is_empty() {
                    return Ok(Vec::new());
                }
                let error_id = error_message_id(&mut tx, message).await?;
                let mut rescued = Vec::with_capacity(expired.len());
                for (id, token) in expired {
                    sqlx::query(
                        "UPDATE attempt SET outcome = 'interrupted', finished_at = $1, error_type = 'interrupted', \
                         error_message = $2 WHERE token = $3 AND outcome = 'running'",
                    )
                    .bind(now.0)
                    .bind(message)
                    .bind(&token)
                    .execute(&mut *tx)
                    .await?;
                    let done = sqlx::query(
                        "UPDATE operation SET state = 'error', next_run_at = $1, lease_owner = NULL, \
                         lease_expires_at = NULL, attempt_token = NULL, stop_requested = FALSE, \
                         last_error = $2, last_error_id = $3, updated_at = $1 \
                         WHERE id = $4 AND attempt_token = $5 AND state = 'running'",
                    )
                    .bind(now.0)
                    .bind(message)
                    .bind(error_id)
                    .bind(id)
                    .bind(&token)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                        == 1;
                    if done {
                        rescued.push(id);
                    }
                }
                tx.commit().await?;
                Ok(rescued)
            }

            async fn notify(&self, payload: &str) -> StoreResult<()> {
                <$store>::notify_nodes(&self.pool, payload).await
            }

            async fn listen(&self) -> StoreResult<Option<Box<dyn ChangeListener>>> {
                <$store>::listen_nodes(&self.pool).await
            }

            async fn running_count(&self, module_id: i64) -> StoreResult<i64> {
                sqlx::query_scalar("SELECT COUNT(*) FROM operation WHERE module_id = $1 AND state = 'running'")
                    .bind(module_id)
                    .fetch_one(&self.pool)
                    .await
            }

            async fn maintain(&self) -> StoreResult<()> {
                let statement: &str = $maintain;
                sqlx::query(statement).execute(&self.pool).await?;
                Ok(())
            }

            async fn count_all_operations(&self) -> StoreResult<u64> {
                let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM operation").fetch_one(&self.pool).await?;
                Ok(u64::try_from(count).unwrap_or(0))
            }
        }

    };
}

pub(crate) use impl_store;

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_patterns_escape_wildcards_and_lowercase() {
        assert_eq!(like_pattern("Disk_100%"), "%disk\\_100\\%%");
        assert_eq!(like_pattern("a\\b"), "%a\\\\b%");
    }
}
