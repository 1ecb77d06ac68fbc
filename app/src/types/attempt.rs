//! Attempts: one row per run of an operation (`runningoperation.errorhistory`).

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttemptOutcome {
    /// Still running.
    Running,
    /// The module succeeded.
    Ok,
    /// The module failed.
    Error,
    /// Its worker's lease expired (the node died); the operation was returned for a restart.
    Interrupted,
    /// An admin stopped it.
    Stopped,
}

impl AttemptOutcome {
    /// Every outcome.
    pub const ALL: [AttemptOutcome; 5] = [
        AttemptOutcome::Running,
        AttemptOutcome::Ok,
        AttemptOutcome::Error,
        AttemptOutcome::Interrupted,
        AttemptOutcome::Stopped,
    ];

    /// The stored value.
    pub fn raw(self) -> &'static str {
        match self {
            AttemptOutcome::Running => "running",
            AttemptOutcome::Ok => "ok",
            AttemptOutcome::Error => "error",
            AttemptOutcome::Interrupted => "interrupted",
            AttemptOutcome::Stopped => "stopped",
        }
    }

    /// Reads a stored value.
    pub fn parse(raw: &str) -> Option<AttemptOutcome> {
        AttemptOutcome::ALL.into_iter().find(|o| o.raw() == raw)
    }
}

/// One row of an operation's error history; the log itself comes from `errorhistory.showlog`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttemptRow {
    pub id: i64,
    pub operation_id: i64,
    pub item_id: i64,
    /// When the run started (`createdate`).
    pub createdate: Timestamp,
    pub finished: Option<Timestamp>,
    pub outcome: AttemptOutcome,
    pub error_type: Option<String>,
    pub error_message: Option<String>,
    pub task_id: Option<i64>,
}
