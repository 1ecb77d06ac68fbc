//! The store: the only place in billops with SQL. One trait, [`Store`], with two backends that
//! share one implementation ([`sql`]): SQLite, the embedded default, and PostgreSQL, for several
//! server nodes sharing one database. The backend is chosen by the database URL's scheme.
//!
//! An operation's last error is kept twice: its text (`last_error`, for display) and the id of
//! that text in `error_message` (`last_error_id`, for the list's text filter); every write of
//! one writes the other.
//!
//! Every change an admin makes writes its journal row in the same transaction. The store
//! decides nothing: which transitions are allowed is the service layer's business; the store's
//! guards (`WHERE state IN ...`) only make each write atomic.

mod migrate;
pub mod postgres;
mod sql;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::types::{
    AttemptOutcome, AttemptRow, ClientView, Intname, ItemStatus, ItemView, Level, ListQuery,
    ModuleKind, ModuleView, OperationFilter, OperationRow, Timestamp,
};

pub use sqlx::Error as StoreError;

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

/// The queue state of an operation (the status people see is derived from it and `manual`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OperationState {
    Waiting,
    Running,
    Error,
    Done,
    Deleted,
}

impl OperationState {
    /// The stored value.
    pub fn raw(self) -> &'static str {
        match self {
            OperationState::Waiting => "waiting",
            OperationState::Running => "running",
            OperationState::Error => "error",
            OperationState::Done => "done",
            OperationState::Deleted => "deleted",
        }
    }

    /// Reads a stored value.
    pub fn parse(raw: &str) -> Option<OperationState> {
        [
            OperationState::Waiting,
            OperationState::Running,
            OperationState::Error,
            OperationState::Done,
            OperationState::Deleted,
        ]
        .into_iter()
        .find(|s| s.raw() == raw)
    }

    /// True while the operation is on the current list.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            OperationState::Waiting | OperationState::Running | OperationState::Error
        )
    }
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

/// The kind of an employee task, derived from the operation it is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaskKind {
    Setup,
    Suspend,
    Resume,
    Delete,
    Change,
}

impl TaskKind {
    /// The task an operation of type `intname` needs when it cannot be done automatically.
    pub fn for_operation(intname: Intname) -> TaskKind {
        match intname {
            Intname::Open | Intname::Reopen => TaskKind::Setup,
            Intname::Suspend => TaskKind::Suspend,
            Intname::Resume => TaskKind::Resume,
            Intname::Close => TaskKind::Delete,
            _ => TaskKind::Change,
        }
    }

    /// The stored value.
    pub fn raw(self) -> &'static str {
        match self {
            TaskKind::Setup => "setup",
            TaskKind::Suspend => "suspend",
            TaskKind::Resume => "resume",
            TaskKind::Delete => "delete",
            TaskKind::Change => "change",
        }
    }
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

/// An operation a worker has claimed, with what its processing module is told about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub operation_id: i64,
    pub intname: Intname,
    pub item_id: i64,
    pub item_name: String,
    pub itemtype: String,
    pub client_id: i64,
    pub client_name: String,
    pub module_id: i64,
    /// The try this attempt is (`trycount` after the claim incremented it).
    pub trycount: i64,
    pub manual: bool,
    pub comment: String,
    /// The attempt's token: every write about this attempt must name it.
    pub token: String,
    pub started: Timestamp,
}

/// What a claim may take: how many operations, for whom, for how long.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimRequest {
    /// The node (and worker pool) taking the lease.
    pub owner: String,
    /// At most this many operations.
    pub limit: u32,
    pub now: Timestamp,
    /// The lease runs out at this instant unless renewed.
    pub lease_until: Timestamp,
}

/// How an attempt ended, as the engine reports it to the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finish {
    pub operation_id: i64,
    pub token: String,
    pub at: Timestamp,
    pub outcome: AttemptOutcome,
    pub error_type: Option<String>,
    pub error_message: Option<String>,
    /// The module's output tail, secrets already masked.
    pub log: String,
    pub next: AfterAttempt,
}

/// What becomes of an operation after an attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AfterAttempt {
    /// It is done: it leaves the current list, and its service takes `item_status`.
    Done { item_status: Option<ItemStatus> },
    /// It failed (or was stopped): due again at `next_run_at`; `manual` turns automatic
    /// restarts off; `task` opens an employee task unless the operation has one.
    Retry {
        next_run_at: Timestamp,
        manual: bool,
        task: Option<(TaskKind, String)>,
    },
}

/// A lease a node still holds after renewing, and whether an admin asked to stop its module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldLease {
    pub token: String,
    pub stop_requested: bool,
}

/// Messages from the other nodes sharing the database (PostgreSQL `LISTEN`).
#[async_trait]
pub trait ChangeListener: Send {
    /// The next message's payload; an error means the connection is gone.
    async fn recv(&mut self) -> StoreResult<String>;
}

/// Everything billops keeps. Implemented once in [`sql`] for both backends.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Brings the schema up to date; safe to call from several nodes at once.
    async fn migrate(&self) -> StoreResult<()>;

    // --- clients
    async fn insert_client(&self, client: &NewClient, journal: &JournalEntry) -> StoreResult<i64>;
    async fn update_client(&self, client: &ClientView, journal: &JournalEntry)
        -> StoreResult<bool>;
    async fn get_client(&self, id: i64) -> StoreResult<Option<ClientView>>;
    async fn list_clients(&self) -> StoreResult<Vec<ClientView>>;

    // --- processing modules
    async fn insert_module(
        &self,
        module: &ModuleRecord,
        journal: &JournalEntry,
    ) -> StoreResult<i64>;
    async fn update_module(
        &self,
        module: &ModuleRecord,
        journal: &JournalEntry,
    ) -> StoreResult<bool>;
    async fn get_module(&self, id: i64) -> StoreResult<Option<ModuleRecord>>;
    async fn list_modules(&self) -> StoreResult<Vec<ModuleRecord>>;

    // --- services of clients (items)
    async fn insert_item(&self, item: &NewItem, journal: &JournalEntry) -> StoreResult<i64>;
    async fn update_item(&self, item: &ItemView, journal: &JournalEntry) -> StoreResult<bool>;
    async fn get_item(&self, id: i64) -> StoreResult<Option<ItemView>>;
    async fn list_items(&self, client_id: Option<i64>) -> StoreResult<Vec<ItemView>>;

    // --- operations
    /// Adds an operation in `state`, due at `next_run_at`. Fails with a unique violation when
    /// its item already has an active operation.
    async fn insert_operation(
        &self,
        fields: &OperationFields,
        state: OperationState,
        next_run_at: Timestamp,
        journal: &JournalEntry,
    ) -> StoreResult<i64>;
    /// Overwrites the editable fields of an operation that is not finished.
    async fn update_operation(
        &self,
        id: i64,
        fields: &OperationFields,
        journal: &JournalEntry,
    ) -> StoreResult<bool>;
    async fn get_operation(&self, id: i64) -> StoreResult<Option<OperationRecord>>;
    /// One page of active operations, filtered and sorted as asked.
    async fn list_operations(&self, query: &ListQuery) -> StoreResult<Vec<OperationRow>>;
    /// How many active operations the filter matches, counting no further than `limit`.
    async fn count_operations(&self, filter: &OperationFilter, limit: u64) -> StoreResult<u64>;
    /// One page and the count of what the filter matches (up to `count_limit`), at once.
    async fn page_operations(
        &self,
        query: &ListQuery,
        count_limit: u64,
    ) -> StoreResult<(Vec<OperationRow>, u64)>;
    /// Asks for a run now (even if manual) of a waiting or failed operation.
    async fn request_start(
        &self,
        id: i64,
        now: Timestamp,
        journal: &JournalEntry,
    ) -> StoreResult<bool>;
    /// Turns automatic restarts off; if the operation is running, asks its worker to stop it.
    async fn request_stop(
        &self,
        id: i64,
        now: Timestamp,
        journal: &JournalEntry,
    ) -> StoreResult<bool>;
    /// Takes a waiting or failed operation off the current list (its history stays).
    async fn delete_operation(
        &self,
        id: i64,
        now: Timestamp,
        journal: &JournalEntry,
    ) -> StoreResult<bool>;
    /// Sets the queue state directly: for demo data and tests of the service layer. A running
    /// operation gets the token `forced-<id>` and a lease that has run out at `now`, so that the
    /// engine's rescue returns it (with its attempt of that token) as soon as a node starts.
    async fn force_state(
        &self,
        id: i64,
        state: OperationState,
        last_error: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<()>;

    // --- attempts
    async fn insert_attempt(&self, attempt: &NewAttempt) -> StoreResult<i64>;
    /// The attempts of an operation, oldest first.
    async fn list_attempts(&self, operation_id: i64) -> StoreResult<Vec<AttemptRow>>;
    /// One attempt and its log.
    async fn get_attempt(&self, id: i64) -> StoreResult<Option<(AttemptRow, String)>>;

    // --- tasks
    /// Creates a task for an operation and links it, unless the operation already has one
    /// (then nothing is written and `None` comes back).
    async fn create_task(
        &self,
        operation_id: i64,
        kind: TaskKind,
        comment: &str,
        now: Timestamp,
        journal: &JournalEntry,
    ) -> StoreResult<Option<i64>>;
    async fn get_task(&self, id: i64) -> StoreResult<Option<TaskView>>;

    // --- users and sessions
    async fn insert_user(
        &self,
        user: &UserRecord,
        now: Timestamp,
        journal: &JournalEntry,
    ) -> StoreResult<i64>;
    async fn set_password(
        &self,
        user_id: i64,
        password_hash: &str,
        journal: &JournalEntry,
    ) -> StoreResult<bool>;
    async fn find_user(&self, name: &str) -> StoreResult<Option<UserRecord>>;
    async fn insert_session(&self, session: &SessionRecord) -> StoreResult<()>;
    /// Finds a session seen at or after `idle_cutoff` and marks it seen `now`.
    async fn touch_session(
        &self,
        id_hash: &str,
        now: Timestamp,
        idle_cutoff: Timestamp,
    ) -> StoreResult<Option<SessionRecord>>;
    async fn get_session(&self, id_hash: &str) -> StoreResult<Option<SessionRecord>>;
    /// Remembers user `user_id`'s language for the next sessions.
    async fn set_user_lang(&self, user_id: i64, lang: crate::types::Lang) -> StoreResult<()>;
    /// Changes the language of a session (and of the `su` sessions opened from it).
    async fn set_session_lang(&self, id_hash: &str, lang: crate::types::Lang) -> StoreResult<bool>;
    /// Ends a session and the `su` sessions opened from it.
    async fn delete_session(&self, id_hash: &str) -> StoreResult<bool>;
    /// Ends the sessions idle since before `idle_cutoff`; returns how many.
    async fn delete_idle_sessions(&self, idle_cutoff: Timestamp) -> StoreResult<u64>;

    /// Registers a one-time login key for a user (replacing none: keys are unique by hash).
    async fn insert_login_key(
        &self,
        key_hash: &str,
        user_id: i64,
        expires: Timestamp,
        journal: &JournalEntry,
    ) -> StoreResult<()>;
    /// Uses up a login key of user `name` that has not expired: returns the user, and the key is gone.
    async fn take_login_key(
        &self,
        name: &str,
        key_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<UserRecord>>;
    async fn get_user(&self, id: i64) -> StoreResult<Option<UserRecord>>;

    // --- saved filters
    async fn load_filter(&self, user_id: i64, list: &str) -> StoreResult<Option<String>>;
    async fn save_filter(
        &self,
        user_id: i64,
        list: &str,
        filter: &str,
        now: Timestamp,
    ) -> StoreResult<()>;

    // --- journal
    /// Records an action that changed no stored object (such as `su`).
    async fn insert_journal(&self, entry: &JournalEntry) -> StoreResult<()>;
    /// Journal rows about one object, oldest first.
    async fn list_journal(&self, object: &str, object_id: i64) -> StoreResult<Vec<JournalRow>>;
    /// Adds many services at once, without journal rows: for benchmarks only.
    async fn bulk_insert_items(&self, items: &[NewItem]) -> StoreResult<()>;
    /// Adds many operations at once, each with its queue state and last error, without journal
    /// rows: for benchmarks only.
    async fn bulk_insert_operations(
        &self,
        operations: &[(OperationFields, OperationState, Option<String>)],
    ) -> StoreResult<()>;
    // --- the engine
    /// Claims up to `limit` due operations in one transaction: `waiting` or `error`, due by
    /// `now`, automatic (`manual` off) or asked to start, of a module that is on and under its
    /// cap of running operations. Each becomes `running` with the lease and a fresh token,
    /// `trycount` goes up by one, and its attempt row is written as `running`.
    async fn claim_operations(&self, request: &ClaimRequest) -> StoreResult<Vec<Claim>>;
    /// Records how attempts ended, in one transaction. A finish whose token is no longer the
    /// operation's changes nothing; the result says, per finish, whether it was applied.
    async fn finish_attempts(
        &self,
        finishes: &[Finish],
        journal: &JournalEntry,
    ) -> StoreResult<Vec<bool>>;
    /// Extends the unexpired leases `owner` holds to `until`; returns the leases it still holds.
    async fn renew_leases(
        &self,
        owner: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> StoreResult<Vec<HeldLease>>;
    /// Returns running operations whose lease ran out before `now` to `error`, due at once,
    /// with their attempt recorded as interrupted by `message`; returns their ids.
    async fn rescue_expired(&self, now: Timestamp, message: &str) -> StoreResult<Vec<i64>>;
    /// Tells every node listening (PostgreSQL `NOTIFY`); SQLite has one node: nothing to do.
    async fn notify(&self, payload: &str) -> StoreResult<()>;
    /// Listens for other nodes' messages; `None` where there are no other nodes (SQLite).
    async fn listen(&self) -> StoreResult<Option<Box<dyn ChangeListener>>>;
    /// How many operations of a module are running now.
    async fn running_count(&self, module_id: i64) -> StoreResult<i64>;
    /// Refreshes the query planner's statistics; the server calls it every few minutes.
    async fn maintain(&self) -> StoreResult<()>;
    /// How many operations exist in any state (to know whether demo data was loaded).
    async fn count_all_operations(&self) -> StoreResult<u64>;
}
