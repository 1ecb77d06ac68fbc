//! The queue's domain: the states an operation moves through, what a claim takes and hands to a
//! worker, how an attempt ended and what becomes of the operation after it, and the employee
//! task an operation needs when it cannot be done automatically. The engine and the service
//! decide with these; the store only writes what they decided.

use serde::{Deserialize, Serialize};

use super::{AttemptOutcome, Intname, ItemStatus, Timestamp};

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
    /// When it became due (its `next_run_at`): `started - due` is how long it waited.
    pub due: Timestamp,
    /// Whether it is its module's probe: the one operation run while the module's circuit is
    /// open, whose end closes or reopens it.
    pub probe: bool,
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
    /// The failure's fingerprint: the operation joins its group (failed and interrupted
    /// attempts; a stop keeps the group it was in).
    pub failure: Option<super::failure::FailureMark>,
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

/// One transaction of a rescue: the operations it returned for a restart, and whether more
/// expired leases may be left for the next one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RescuedBatch {
    pub ids: Vec<i64>,
    pub more: bool,
}
