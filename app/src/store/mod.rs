//! The store: the only place in billops with SQL. [`Store`] is what the service layer holds: one
//! small trait per aggregate, each in its own module with its SQL:
//!
//! | module | trait | holds |
//! |---|---|---|
//! | [`reference`] | [`Reference`] | clients, processing modules, services |
//! | [`operations`] | [`Operations`] | one operation: add, edit, start, stop, delete; attempts; tasks |
//! | [`list`] | [`OperationList`] | the current list: pages, counts, the error-text filter, exports |
//! | [`counts`] | [`Counts`] | current operations per module and status, kept by the database |
//! | [`sessions`] | [`Sessions`] | users, sessions, login keys, saved filters |
//! | [`queue`] | [`Queue`] | the engine: claims, finishes, leases, rescues, messages between nodes |
//! | [`journal`] | [`Journal`] | who changed what |
//! | [`alerts`] | [`Alerts`] | alert webhooks and the outbox of their deliveries |
//! | [`circuits`] | [`Circuits`] | processing modules' circuit breakers and the rule that opens them |
//! | [`rollups`] | [`Rollups`] | what the charts draw: attempts and the queue per module per hour |
//! | [`bulk`] | [`BulkJobs`] | bulk jobs: one action on everything a filter matched, a batch at a time |
//! | [`failures`] | [`Failures`] | failure groups: one per fingerprint, their counts kept by the database |
//! | [`schema`] | [`Schema`] | migrations and the planner's statistics |
//! | [`seed`] | [`Seed`] | demo data and test set-up |
//! | `fixtures` | `Fixtures` | bulk inserts for benchmarks (feature `fixtures`, not in [`Store`]) |
//!
//! Each is written once, generic over the backend ([`dialect`] says how and why): SQLite, the
//! embedded default, and PostgreSQL, for several server nodes sharing one database. The
//! backend is chosen by the database URL's scheme. The records below are what the store reads
//! and writes; the domain's own types (queue states, claims, what follows an attempt) are in
//! [`crate::types::queue`], and the rules that choose them in the service layer.
//!
//! An operation's last error is kept twice: its text (`last_error`, for display) and the id of
//! that text in `error_message` (`last_error_id`, for the list's text filter); every write of
//! one writes the other.
//!
//! Every change an admin makes writes its journal row in the same transaction. The store
//! decides nothing: which transitions are allowed is the service layer's business; the store's
//! guards (`WHERE state IN ...`) only make each write atomic.

pub mod alerts;
pub mod bulk;
pub mod circuits;
pub mod counts;
pub mod dialect;
pub mod failures;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod journal;
pub mod list;
mod migrate;
pub mod operations;
pub mod postgres;
pub mod queue;
pub mod reference;
pub mod rollups;
pub mod schema;
pub mod seed;
pub mod sessions;
mod sql;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::types::{
    AttemptOutcome, Intname, ItemStatus, Level, ModuleKind, ModuleView, OperationState, Timestamp,
};

pub use alerts::{AlertDelivery, AlertHook, AlertOutcome, Alerts};
pub use bulk::{BulkBatch, BulkJobRecord, BulkJobs};
pub use circuits::{CircuitChange, Circuits};
pub use counts::{Counts, StatusCount};
pub use failures::{Failures, GroupQuery, GroupTask};
pub use journal::{Journal, JournalFilter};
pub use list::OperationList;
pub use operations::Operations;
pub use queue::Queue;
pub use reference::Reference;
pub use rollups::Rollups;
pub use schema::Schema;
pub use seed::Seed;
pub use sessions::Sessions;
pub use sqlx::Error as StoreError;

/// Everything billops keeps: the aggregates' traits together. Callers bring the traits they use
/// into scope with `use crate::store::prelude::*`.
pub trait Store:
    Schema
    + Reference
    + Operations
    + OperationList
    + Counts
    + Sessions
    + Queue
    + Journal
    + Alerts
    + Circuits
    + Rollups
    + Failures
    + BulkJobs
    + Seed
    + 'static
{
}

impl<T> Store for T where
    T: Schema
        + Reference
        + Operations
        + OperationList
        + Counts
        + Sessions
        + Queue
        + Journal
        + Alerts
        + Circuits
        + Rollups
        + Failures
        + BulkJobs
        + Seed
        + 'static
{
}

/// The store's traits, for calling them on an `Arc<dyn Store>`.
pub mod prelude {
    pub use super::{
        BulkJobs, Circuits, Counts, Failures, Journal, OperationList, Operations, Queue, Reference,
        Rollups, Schema, Seed, Sessions, Store,
    };
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// Opens the store a database URL names: `sqlite://...` or `postgres://...` (`postgresql://`).
/// A SQLite file is created when missing. Migrations are not run here: call [`Store::migrate`].
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::connect(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::connect(url).await?))
    } else {
        Err(StoreError::Configuration(
            format!(
                "unsupported database URL (use sqlite:// or postgres://): {}",
                scheme_of(url)
            )
            .into(),
        ))
    }
}

/// The scheme part of a URL, for error messages that must not echo a password.
fn scheme_of(url: &str) -> &str {
    url.split_once(':').map_or("(none)", |(scheme, _)| scheme)
}

/// Who changed what, written beside the change it describes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalEntry {
    pub at: Timestamp,
    pub user_id: Option<i64>,
    pub user_name: String,
    /// The function, e.g. `runningoperation.edit`.
    pub action: String,
    /// The kind of object: `runningoperation`, `account`, `item`, `processing`, `user`.
    pub object: String,
    pub object_id: Option<i64>,
    pub detail: String,
}

/// A stored journal row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalRow {
    pub id: i64,
    pub at: Timestamp,
    pub user_name: String,
    pub action: String,
    pub object: String,
    pub object_id: Option<i64>,
    pub detail: String,
}

/// A new client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewClient {
    pub name: String,
    pub email: Option<String>,
    pub created: Timestamp,
}

/// A processing module with its secret: server-side only; clients get [`ModuleView`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleRecord {
    /// Ignored on insert.
    pub id: i64,
    pub name: String,
    pub kind: ModuleKind,
    pub target: String,
    pub secret: Option<String>,
    pub panel_url: Option<String>,
    pub max_running: i64,
    pub max_tries: i64,
    pub timeout_secs: i64,
    pub enabled: bool,
}

impl ModuleRecord {
    /// The module as it may be shown: the secret reduced to whether one is set.
    pub fn view(&self) -> ModuleView {
        ModuleView {
            id: self.id,
            name: self.name.clone(),
            kind: self.kind,
            target: self.target.clone(),
            has_secret: self.secret.is_some(),
            panel_url: self.panel_url.clone(),
            max_running: self.max_running,
            max_tries: self.max_tries,
            timeout_secs: self.timeout_secs,
            enabled: self.enabled,
        }
    }
}

/// A new service of a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewItem {
    pub client_id: i64,
    pub module_id: i64,
    pub itemtype: String,
    pub name: String,
    pub status: ItemStatus,
    pub created: Timestamp,
}

/// The editable fields of an operation, plus the item's copies kept on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperationFields {
    pub intname: Intname,
    pub item_id: i64,
    pub client_id: i64,
    pub module_id: i64,
    pub itemtype: String,
    pub cdate: Timestamp,
    pub trycount: i64,
    pub manual: bool,
    pub comment: String,
}

/// A stored operation, as the service layer reasons about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperationRecord {
    pub id: i64,
    pub fields: OperationFields,
    pub state: OperationState,
    pub task_id: Option<i64>,
    pub next_run_at: Timestamp,
    pub run_requested: bool,
    pub stop_requested: bool,
    pub last_error: Option<String>,
    pub updated_at: Timestamp,
}

/// A new attempt (a run of an operation), as the engine or the demo data records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAttempt {
    pub operation_id: i64,
    pub item_id: i64,
    pub token: String,
    pub started: Timestamp,
    pub finished: Option<Timestamp>,
    pub outcome: AttemptOutcome,
    pub error_type: Option<String>,
    pub error_message: Option<String>,
    pub log: String,
    pub task_id: Option<i64>,
}

/// A stored task: the same shape the detail page shows.
pub use crate::types::dossier::TaskView;

/// A stored user with its password hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    /// Ignored on insert.
    pub id: i64,
    pub name: String,
    pub password_hash: String,
    pub level: Level,
    pub client_id: Option<i64>,
    /// The language the user chose last, if any: the default of the user's sessions.
    pub lang: Option<crate::types::Lang>,
}

/// A stored session (keyed by the SHA-256 of the id its holder has).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub id_hash: String,
    pub user_id: i64,
    pub user_name: String,
    pub level: Level,
    pub client_id: Option<i64>,
    pub parent_hash: Option<String>,
    pub lang: crate::types::Lang,
    pub created: Timestamp,
    pub last_seen: Timestamp,
    /// The absolute end: past it the session is refused however recently it was used.
    pub expires: Timestamp,
}

/// Messages from the other nodes sharing the database (PostgreSQL `LISTEN`).
#[async_trait]
pub trait ChangeListener: Send {
    /// The next message's payload; an error means the connection is gone.
    async fn recv(&mut self) -> StoreResult<String>;
}
