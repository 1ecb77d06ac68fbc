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

impl AttemptRow {
    /// The id shown for the attempt under way: its row (and its log) is written when it ends.
    pub const UNDER_WAY: i64 = 0;

    /// The attempt under way of `operation_id` on service `item_id`, started at `started`.
    pub fn running(operation_id: i64, item_id: i64, started: Timestamp) -> AttemptRow {
        AttemptRow {
            id: AttemptRow::UNDER_WAY,
            operation_id,
            item_id,
            createdate: started,
            finished: None,
            outcome: AttemptOutcome::Running,
            error_type: None,
            error_message: None,
            task_id: None,
        }
    }

    /// Whether the attempt has a stored row, with a log to show (it has ended).
    pub fn has_log(&self) -> bool {
        self.id != AttemptRow::UNDER_WAY
    }
}
