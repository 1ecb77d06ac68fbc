//! What differs between the backends, and the store type both share.
//!
//! The store's SQL is written once, in one module per aggregate, as generic code over
//! [`Dialect`]: a sqlx database (SQLite or PostgreSQL) plus the few pieces of SQL where the two
//! differ (the migration lock, `LIKE` without case, the claim's locking clauses, the backup)
//! and how the nodes sharing a database talk. Why generic code rather than a macro or
//! `sqlx::Any`: the compiler, rustfmt and editors see every statement where it is written, and
//! each backend keeps its own driver types (no conversion of every row into `Any` values on the
//! hot path). The price is a `where` block on each `impl`, the same in every file: the sqlx
//! traits that let generic code bind `i64`, `bool` and text and read them back.

use async_trait::async_trait;
use sqlx::Pool;

use super::migrate::Migration;
use super::{ChangeListener, StoreResult};

/// How long a streamed export may run in all, in seconds (each chunk must also be taken by its
/// reader within `service::export::STALL`).
pub const EXPORT_TIME_LIMIT_SECS: u64 = 1800;

/// A backend: a sqlx database and its dialect of SQL.
#[async_trait]
pub trait Dialect: sqlx::Database<QueryResult: Affected> {
    /// `sqlite` or `postgres`.
    const BACKEND: &'static str;
    /// Run first in the migration transaction: PostgreSQL takes an advisory lock so that nodes
    /// starting together migrate once.
    const MIGRATION_LOCK: Option<&'static str>;
    /// The backend's migrations, oldest first.
    const MIGRATIONS: &'static [Migration];
    /// Refreshes the planner's statistics.
    const MAINTAIN: &'static str;
    /// The `LIKE` that ignores case.
    const TEXT_MATCH: &'static str;
    /// Run first in a claim's (and a rescue's) transaction: SQLite takes its write lock with
    /// it, before reading.
    const CLAIM_PRELUDE: Option<&'static str>;
    /// Ends the select of the module rows in a claim (PostgreSQL locks them, serialising claims
    /// between nodes).
    const LOCK_MODULES: &'static str;
    /// Ends the select of due operations in a claim.
    const SKIP_LOCKED: &'static str;
    /// Whether statements built with `Sql` number their placeholders (`$1`) or leave them
    /// positional (`?`). SQLite finds a numbered parameter by name, walking a list: a statement
    /// of a thousand values spent most of its time there.
    const NUMBERED_PLACEHOLDERS: bool;
    /// Writes a consistent copy of the database, while others read and write it, to the file
    /// bound as `$1`; or why billops makes no copies of this backend (it has its own tool).
    const BACKUP: Result<&'static str, &'static str>;

    /// Run first in the transaction of a read that streams for long (a CSV export): PostgreSQL
    /// lifts its statement time limit there, to [`EXPORT_TIME_LIMIT_SECS`].
    const LONG_READ: Option<&'static str>;
    /// Folds `operation_count_delta` into `operation_count` ([`super::counts`]); `None` where
    /// writers update the totals themselves.
    const COMPACT_COUNTS: Option<&'static str>;

    /// Run first in the transaction that compacts the charts' rollups ([`super::rollups`]), so
    /// that one compaction runs at a time: SQLite takes its write lock (no row back),
    /// PostgreSQL tries an advisory lock and answers whether it got it (nodes compacting at
    /// once would each fold the same minutes into an hour; one that does not get it skips).
    const ROLLUP_LOCK: &'static str;
    /// The same for the fold of the failure groups' deltas ([`super::failures`]): two nodes
    /// folding at once would each wait on the rows the other took.
    const FAILURE_LOCK: &'static str;
    /// Folds up to 10,000 rows of `attempt_rollup_delta` into `attempt_rollup`'s minutes in
    /// one statement (run again while it changes anything); `None` where the triggers update
    /// the minutes themselves.
    const FOLD_ATTEMPT_DELTAS: Option<&'static str>;
    /// Whether a shallow page sorted by module is read as each module's first rows in id
    /// order, merged (`LATERAL`). PostgreSQL cannot tell that the module walk by (unique) name
    /// leaves each module's rows in id order, and sorts every row of the first module to show
    /// one page of it; SQLite's planner walks the two indexes in order by itself.
    const PAGE_PER_MODULE: bool;
    /// Whether the indexes over current operations leave the running ones out (PostgreSQL,
    /// migration 0017: a claim then writes three index entries, not fifteen). A walk of the
    /// current list in index order is then two walks, the queued part and the running part,
    /// merged ([`super::sql::current_parts`]).
    const RUNNING_APART: bool;

    /// Tells every node listening; with one node, nobody.
    async fn notify(pool: &Pool<Self>, payload: &str) -> StoreResult<()>;
    /// Listens for other nodes' messages; `None` where there are no other nodes.
    async fn listen(pool: &Pool<Self>) -> StoreResult<Option<Box<dyn ChangeListener>>>;
}

/// The store on backend `D`. Its operations are implemented by aggregate, one module each:
/// [`super::reference`], [`super::operations`], [`super::list`], [`super::sessions`],
/// [`super::queue`], [`super::journal`], [`super::counts`], [`super::schema`], [`super::seed`].
pub struct SqlStore<D: Dialect> {
    pub(super) pool: Pool<D>,
    /// The engine's writers queue here when the backend admits one writer at a time (SQLite,
    /// whose busy handler would make a waiting writer sleep in steps of up to 100 ms).
    gate: Option<tokio::sync::Mutex<()>>,
}

impl<D: Dialect> SqlStore<D> {
    /// A store over `pool`; `one_writer` queues the engine's writes in the process.
    pub(super) fn new(pool: Pool<D>, one_writer: bool) -> SqlStore<D> {
        SqlStore {
            pool,
            gate: one_writer.then(|| tokio::sync::Mutex::new(())),
        }
    }

    /// The engine's turn to write (nothing to wait for where writers run concurrently).
    pub(super) async fn write_gate(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.gate {
            Some(gate) => Some(gate.lock().await),
            None => None,
        }
    }
}

/// How many rows a statement changed (each backend's result has it, under no common trait).
pub trait Affected {
    /// The number of rows the statement inserted, changed or deleted.
    fn rows_affected(&self) -> u64;
}

impl Affected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::sqlite::SqliteQueryResult::rows_affected(self)
    }
}

impl Affected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::postgres::PgQueryResult::rows_affected(self)
    }
}
