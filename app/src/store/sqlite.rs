//! The SQLite backend: the embedded default, one file, one server node.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite};

use super::dialect::{Dialect, SqlStore};
use super::migrate::Migration;
use super::{ChangeListener, StoreResult};

/// A store in a SQLite file.
pub type SqliteStore = SqlStore<Sqlite>;

impl SqlStore<Sqlite> {
    /// Opens (creating when missing) the file a `sqlite://` URL names. WAL mode lets the list be
    /// read while a write is under way; the busy timeout queues writers instead of failing them.
    pub async fn connect(url: &str) -> sqlx::Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // 12 MiB of page cache per connection (SQLite's default is 2 MiB): the pages the
            // engine rewrites (the indexes' newest ends) stay in memory; the rest of a large
            // database is the operating system's file cache, not this process's memory (four
            // connections of 64 MiB held 547 MB resident after a dozen lists of 10M; with
            // 16 MiB a server serving 10M settled at 99 MiB).
            .pragma("cache_size", "-12288")
            // The planner's statistics (`MAINTAIN`) from about 1,000 rows of each index: a full
            // analysis of 10M operations held the write lock for 23 s at start-up (every
            // login and claim meanwhile failed "database is locked"); sampled, under 2 s.
            .pragma("analysis_limit", "1000");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            // A connection must come back outside any transaction. One that failed to commit
            // (a full disk: SQLite may already have rolled back, so sqlx's own ROLLBACK fails
            // and it goes on counting a transaction) would otherwise hold the write lock, or
            // think it does, and every later write would find the database locked. A ROLLBACK
            // that succeeds here means exactly that: the connection is closed, a fresh one
            // takes its place. On a healthy connection it fails at once ("no transaction").
            .after_release(|conn, _| {
                Box::pin(async move {
                    use sqlx::Executor;
                    match conn.execute("ROLLBACK").await {
                        Ok(_) => {
                            tracing::warn!("a connection came back inside a transaction: closed");
                            Ok(false)
                        }
                        Err(_) => Ok(true),
                    }
                })
            })
            .connect_with(options)
            .await?;
        // SQLite admits one writer at a time: the engine's writers queue in the process.
        Ok(SqlStore::new(pool, true))
    }
}

#[async_trait]
impl Dialect for Sqlite {
    const BACKEND: &'static str = "sqlite";
    const MIGRATION_LOCK: Option<&'static str> = None;
    const MIGRATIONS: &'static [Migration] = super::migrate::SQLITE;
    // Statistics for the planner: without them SQLite sorts the whole current list to show
    // its first page. 0x10002 also analyses tables never analysed before.
    const MAINTAIN: &'static str = "PRAGMA optimize=0x10002";
    // SQLite's LIKE ignores (ASCII) case by itself; no LOWER() per row.
    const TEXT_MATCH: &'static str = "LIKE";
    // A write first, so the claim's transaction holds SQLite's write lock before it reads (a
    // reader that later writes could find the snapshot stale and fail instead of waiting).
    const CLAIM_PRELUDE: Option<&'static str> =
        Some("UPDATE processing_module SET max_running = max_running WHERE id = -1");
    const LOCK_MODULES: &'static str = "";
    const SKIP_LOCKED: &'static str = "";
    const NUMBERED_PLACEHOLDERS: bool = false;
    // A read transaction: writers go on meanwhile (WAL), and the copy is the database as it
    // stood when the statement began. The path is bound, never spliced into the SQL, so no
    // file name can end the string. SQLite refuses a target that exists and is not empty.
    const BACKUP: Result<&'static str, &'static str> = Ok("VACUUM INTO $1");
    // No statement time limit to lift.
    const LONG_READ: Option<&'static str> = None;
    // One writer at a time: the triggers update the totals in place.
    const COMPACT_COUNTS: Option<&'static str> = None;
    const ROLLUP_LOCK: &'static str =
        "UPDATE processing_module SET max_running = max_running WHERE id = -1";
    const FOLD_ATTEMPT_DELTAS: Option<&'static str> = None;
    const PAGE_PER_MODULE: bool = false;
    const RUNNING_APART: bool = false;
    const FAILURE_LOCK: &'static str =
        "UPDATE processing_module SET max_running = max_running WHERE id = -1";

    /// One node: nobody else to tell.
    async fn notify(_pool: &Pool<Sqlite>, _payload: &str) -> StoreResult<()> {
        Ok(())
    }

    /// One node: nobody else to hear from.
    async fn listen(_pool: &Pool<Sqlite>) -> StoreResult<Option<Box<dyn ChangeListener>>> {
        Ok(None)
    }
}
