//! Bulk jobs: one action on every current operation a filter matches, run on the server a
//! batch at a time ([`crate::service::bulk`]), with its progress kept in the database.

use serde::{Deserialize, Serialize};

use super::{Lang, Timestamp};

/// What a bulk job does to each operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BulkAction {
    Start,
    Stop,
    TaskCreate,
    Delete,
}

impl BulkAction {
    pub const ALL: [BulkAction; 4] = [
        BulkAction::Start,
        BulkAction::Stop,
        BulkAction::TaskCreate,
        BulkAction::Delete,
    ];

    /// The stored value, and how forms, URLs and the command line write it.
    pub fn raw(self) -> &'static str {
        match self {
            BulkAction::Start => "start",
            BulkAction::Stop => "stop",
            BulkAction::TaskCreate => "taskcreate",
            BulkAction::Delete => "delete",
        }
    }

    pub fn parse(raw: &str) -> Option<BulkAction> {
        BulkAction::ALL.into_iter().find(|a| a.raw() == raw)
    }

    /// The verb, in `lang`.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            BulkAction::Start => lang.pick("Запустить", "Start"),
            BulkAction::Stop => lang.pick("Остановить", "Stop"),
            BulkAction::TaskCreate => lang.pick("Создать задачи", "Create tasks"),
            BulkAction::Delete => lang.pick("Удалить", "Delete"),
        }
    }
}

/// Where a bulk job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BulkState {
    /// Waiting for a node to take it.
    Queued,
    Running,
    /// Every matching operation was handled.
    Done,
    Cancelled,
}

impl BulkState {
    pub const ALL: [BulkState; 4] = [
        BulkState::Queued,
        BulkState::Running,
        BulkState::Done,
        BulkState::Cancelled,
    ];

    pub fn raw(self) -> &'static str {
        match self {
            BulkState::Queued => "queued",
            BulkState::Running => "running",
            BulkState::Done => "done",
            BulkState::Cancelled => "cancelled",
        }
    }

    pub fn parse(raw: &str) -> Option<BulkState> {
        BulkState::ALL.into_iter().find(|s| s.raw() == raw)
    }

    /// Whether it will change nothing more.
    pub fn is_over(self) -> bool {
        matches!(self, BulkState::Done | BulkState::Cancelled)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            BulkState::Queued => lang.pick("в очереди", "queued"),
            BulkState::Running => lang.pick("выполняется", "running"),
            BulkState::Done => lang.pick("готово", "done"),
            BulkState::Cancelled => lang.pick("отменено", "cancelled"),
        }
    }
}

/// A bulk job as its progress bar and summary show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkJobView {
    pub id: i64,
    pub action: BulkAction,
    pub state: BulkState,
    /// Operations matching when it was asked for.
    pub total: i64,
    /// Operations changed so far.
    pub done: i64,
    /// Operations left as they were, by reason code (`running`, `module_off`, `has_task`,
    /// `gone`, `conflict`).
    pub skipped: Vec<(String, i64)>,
    pub user_name: String,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

impl BulkJobView {
    /// Operations handled so far, changed or not.
    pub fn handled(&self) -> i64 {
        self.done + self.skipped.iter().map(|(_, n)| n).sum::<i64>()
    }
}
