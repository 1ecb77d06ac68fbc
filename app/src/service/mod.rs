//! The service layer: every use case of billops, once. The `#[server]` functions, the legacy
//! `/billmgr` adapter and the CLI are thin adapters over these functions; none of them holds a
//! business rule. Each aggregate has its own module and error enum; an error becomes an
//! [`AppError`] once, at the boundary, through the `From` impls here.
//!
//! No axum and no leptos here: only the [`Store`] and the wasm-safe [`crate::types`].

pub mod alert;
pub mod backup;
pub mod bulk;
pub mod chart;
pub mod circuit;
pub mod client;
pub mod demo;
pub mod dossier;
pub mod engine;
pub mod export;
pub mod failure;
pub mod filter;
pub mod item;
pub mod journal;
pub mod module;
pub mod operation;
pub mod session;
pub mod throttle;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use crate::store::{JournalEntry, Store, StoreError};
use crate::types::{AppError, Lang, Level, Timestamp};

pub use backup::{BackupError, BackupSummary};
pub use chart::ChartError;
pub use circuit::CircuitError;
pub use client::ClientError;
pub use dossier::DossierError;
pub use item::ItemError;
pub use journal::JournalError;
pub use module::{ModuleChange, ModuleError, ModuleInput};
pub use operation::{GroupOutcome, OperationError};
pub use session::{AuthError, SessionToken, UserError};

/// Where the service layer reads the time: the system clock in production, a hand-moved one in
/// tests (session expiry, schedules).
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp(chrono::Utc::now().timestamp_millis())
    }
}

/// A clock that moves only when told: for tests.
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: Timestamp) -> ManualClock {
        ManualClock(AtomicI64::new(start.0))
    }

    /// Moves the clock forward by `millis`.
    pub fn advance(&self, millis: i64) {
        self.0.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

/// The service layer: a store and a clock. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Services {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    throttle: Arc<session::LoginThrottle>,
    /// How long a session lasts at most, in milliseconds ([`session::SESSION_LIFETIME_MILLIS`]).
    session_lifetime: i64,
    /// Where `exec` programs must live (none: anywhere, as in tests that make their own).
    modules_dir: Option<Arc<std::path::Path>>,
    /// This node's name: in leases and in change messages.
    node: Arc<str>,
    changes: tokio::sync::broadcast::Sender<engine::Changed>,
    /// The node's export slots ([`export::MAX_EXPORTS`]).
    exports: Arc<tokio::sync::Semaphore>,
    /// This node's recent failures per module, for burst alerts.
    bursts: Arc<alert::BurstWatch>,
    /// This node's recent failures per module, for the circuit breakers.
    circuits: Arc<circuit::CircuitWatch>,
    /// Operations one batch of a bulk job handles ([`bulk::BATCH`] unless configured).
    bulk_batch: u32,
}

impl Services {
    /// Services over `store`, reading time from `clock`.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Services {
        Services {
            store,
            clock,
            throttle: Arc::default(),
            session_lifetime: session::SESSION_LIFETIME_MILLIS,
            modules_dir: None,
            node: format!("{}-{:08x}", hostname(), rand::random::<u32>()).into(),
            changes: tokio::sync::broadcast::channel(1024).0,
            exports: Arc::new(tokio::sync::Semaphore::new(export::MAX_EXPORTS)),
            bursts: Arc::default(),
            circuits: Arc::default(),
            bulk_batch: bulk::BATCH,
        }
    }

    /// The same services, running bulk jobs `batch` operations (one transaction) at a time.
    pub fn with_bulk_batch(mut self, batch: u32) -> Services {
        self.bulk_batch = batch.clamp(1, bulk::MAX_BATCH);
        self
    }

    /// The same services, with sessions that end `millis` after they were opened.
    pub fn with_session_lifetime(mut self, millis: i64) -> Services {
        self.session_lifetime = millis.max(1);
        self
    }

    /// The same services, alerting on a module's failures by `rule`.
    pub fn with_burst_rule(mut self, rule: alert::BurstRule) -> Services {
        self.bursts = Arc::new(alert::BurstWatch::new(rule));
        self
    }

    /// The same services, taking `exec` programs only from inside `dir`.
    pub fn with_modules_dir(mut self, dir: &std::path::Path) -> Services {
        self.modules_dir = Some(Arc::from(dir));
        self
    }

    /// The store underneath (for the engine, which has its own rules).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Now, by this service's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Periodic upkeep: ends idle sessions and refreshes the store's planner statistics.
    pub async fn maintain(&self) -> Result<u64, AuthError> {
        let expired = self.expire_sessions().await?;
        self.store.maintain().await?;
        Ok(expired)
    }

    /// A journal entry for `actor` doing `action` to `object` `object_id`.
    fn journal(
        &self,
        actor: &Actor,
        action: &str,
        object: &str,
        object_id: Option<i64>,
        detail: String,
    ) -> JournalEntry {
        JournalEntry {
            at: self.now(),
            user_id: actor.user_id,
            user_name: actor.user_name.clone(),
            action: action.to_owned(),
            object: object.to_owned(),
            object_id,
            detail,
        }
    }
}

/// The machine's name, for node names that say where a node runs.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "node".into())
}

/// Who is calling: a session's user, or the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// `None` for the command line.
    pub user_id: Option<i64>,
    pub user_name: String,
    pub level: Level,
    /// The client a `user`-level session acts for.
    pub client_id: Option<i64>,
    /// The SHA-256 of the session id (never the id itself); `None` for the command line.
    pub session_hash: Option<String>,
    /// For an `su` session, the admin session it returns to.
    pub parent_hash: Option<String>,
    pub lang: Lang,
}

impl Actor {
    /// The operator at the command line: a full admin with no session.
    pub fn command_line() -> Actor {
        Actor {
            user_id: None,
            user_name: "cli".into(),
            level: Level::Admin,
            client_id: None,
            session_hash: None,
            parent_hash: None,
            lang: Lang::En,
        }
    }

    /// Passes for employees (admin and read-only): what reading `runningoperation` needs.
    pub fn require_staff(&self) -> Result<(), Denied> {
        if self.level.is_staff() {
            Ok(())
        } else {
            Err(Denied)
        }
    }

    /// Passes for full admins only: what any change needs.
    pub fn require_admin(&self) -> Result<(), Denied> {
        if self.level == Level::Admin {
            Ok(())
        } else {
            Err(Denied)
        }
    }
}

/// The caller's level does not allow the function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("access denied")]
pub struct Denied;

impl From<Denied> for AppError {
    fn from(_: Denied) -> AppError {
        AppError::Access
    }
}

/// Logs a store failure once, with its database text, and tells the client only "internal".
pub(crate) fn internal(error: &StoreError) -> AppError {
    tracing::error!(error = %error, "store failure");
    AppError::Internal
}

/// True when the store refused a write because a unique constraint (or index) was violated.
pub(crate) fn is_unique_violation(error: &StoreError) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

/// The characters of a text field beyond which it is refused.
pub(crate) fn too_long(text: &str, max: usize) -> bool {
    text.chars().count() > max
}
