//! The PostgreSQL backend: any number of server nodes share one database.

use std::time::Duration;

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{Pool, Postgres};

use super::dialect::{Dialect, SqlStore};
use super::migrate::Migration;
use super::{ChangeListener, StoreResult};

/// The longest any one statement may run, in milliseconds.
pub const STATEMENT_TIMEOUT_MS: u64 = 5_000;

/// A store in a PostgreSQL database.
pub type PgStore = SqlStore<Postgres>;

impl SqlStore<Postgres> {
    /// Connects to the database a `postgres://` URL names. Every statement is cut at
    /// [`STATEMENT_TIMEOUT_MS`], so that no list query can hold a connection for long, and the
    /// planner is told that index reads are cheap.
    pub async fn connect(url: &str) -> sqlx::Result<PgStore> {
        // random_page_cost 1.1 (SSD storage): at PostgreSQL's default of 4 the planner prefers
        // sorting thousands of rows to walking an index in order for one page.
        let options = PgConnectOptions::from_str(url)?.options([
            ("statement_timeout", STATEMENT_TIMEOUT_MS.to_string()),
            ("random_page_cost", "1.1".to_owned()),
        ]);
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        // PostgreSQL takes concurrent writers: no gate.
        Ok(SqlStore::new(pool, false))
    }
}

/// The `LISTEN`/`NOTIFY` channel billops nodes talk on.
pub const CHANNEL: &str = "billops";

/// A `LISTEN` connection.
struct Listener(PgListener);

#[async_trait::async_trait]
impl ChangeListener for Listener {
    async fn recv(&mut self) -> sqlx::Result<String> {
        Ok(self.0.recv().await?.payload().to_owned())
    }
}

#[async_trait::async_trait]
impl Dialect for Postgres {
    const BACKEND: &'static str = "postgres";
    // Nodes starting together: the first migrates, the others wait here and find it done.
    const MIGRATION_LOCK: Option<&'static str> = Some("SELECT pg_advisory_xact_lock(727001)");
    const MIGRATIONS: &'static [Migration] = super::migrate::POSTGRES;
    // Autovacuum analyses too, but only after enough churn; this keeps plans right after bulk
    // changes. It samples, so it stays cheap on large tables.
    const MAINTAIN: &'static str = "ANALYZE operation, item, client";
    const TEXT_MATCH: &'static str = "ILIKE";
    const CLAIM_PRELUDE: Option<&'static str> = None;
    // Claims from several nodes queue here, one at a time; NO KEY UPDATE does not block the
    // key-share locks that inserting operations (foreign keys) take on module rows.
    const LOCK_MODULES: &'static str = " FOR NO KEY UPDATE";
    // An operation an admin is editing is left for the next claim.
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";
    const NUMBERED_PLACEHOLDERS: bool = true;
    // The server's files are not this process's to copy; pg_dump makes a consistent dump of a
    // live database and restores into any version.
    const BACKUP: Result<&'static str, &'static str> = Err(
        "billops backup copies SQLite databases only: back up a PostgreSQL database with pg_dump",
    );
    // An export's one statement sends rows as its reader takes them, for as long as that takes.
    const LONG_READ: Option<&'static str> = Some("SET LOCAL statement_timeout = '1800s'");
    // Deltas taken and summed in one statement; totals upserted in key order, so that two
    // nodes compacting at once never wait for each other in a cycle.
    const COMPACT_COUNTS: Option<&'static str> = Some(
        "WITH moved AS (DELETE FROM operation_count_delta RETURNING module_id, status, n) \
         INSERT INTO operation_count (module_id, status, n) \
         SELECT module_id, status, SUM(n) FROM moved GROUP BY module_id, status \
         ORDER BY module_id, status \
         ON CONFLICT (module_id, status) DO UPDATE SET n = operation_count.n + EXCLUDED.n",
    );
    // A node that finds another compacting skips its turn (rather than wait past the
    // statement limit behind a long fold).
    const ROLLUP_LOCK: &'static str = "SELECT pg_try_advisory_xact_lock(727002)";
    const FAILURE_LOCK: &'static str = "SELECT pg_try_advisory_xact_lock(727003)";
    // As the counts: taken and summed in one statement, upserted in key order; at most 10,000
    // deltas a statement, so that a backlog (a bulk load) folds in steps within the statement
    // time limit.
    const FOLD_ATTEMPT_DELTAS: Option<&'static str> = Some(
        "WITH moved AS (DELETE FROM attempt_rollup_delta WHERE ctid IN \
                            (SELECT ctid FROM attempt_rollup_delta LIMIT 10000) \
                        RETURNING module_id, bucket, ok, failed, other) \
         INSERT INTO attempt_rollup (module_id, span, bucket, ok, failed, other) \
         SELECT module_id, 'minute', bucket, SUM(ok), SUM(failed), SUM(other) FROM moved \
         GROUP BY module_id, bucket ORDER BY bucket, module_id \
         ON CONFLICT (bucket, module_id, span) DO UPDATE \
         SET ok = attempt_rollup.ok + EXCLUDED.ok, failed = attempt_rollup.failed + EXCLUDED.failed, \
             other = attempt_rollup.other + EXCLUDED.other",
    );
    const PAGE_PER_MODULE: bool = true;
    const RUNNING_APART: bool = true;

    /// Tells every node listening on [`CHANNEL`].
    async fn notify(pool: &Pool<Postgres>, payload: &str) -> StoreResult<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(pool)
            .await?;
        Ok(())
    }

    /// Listens on [`CHANNEL`] on a connection of its own.
    async fn listen(pool: &Pool<Postgres>) -> StoreResult<Option<Box<dyn ChangeListener>>> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(Some(Box::new(Listener(listener))))
    }
}
