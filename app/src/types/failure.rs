//! Failure groups: current operations whose last failure has one fingerprint (module, error
//! type, message with its variable parts replaced), shown as one incident with its counts and
//! acted on as a whole ([`crate::service::failure`]).

use serde::{Deserialize, Serialize};

use super::{Lang, Timestamp};

/// The fingerprint of one failure, as the engine hands it to the store with the finish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailureMark {
    /// The group's stable id: 16 hex digits of a hash of module, error type and template.
    pub key: String,
    pub module_id: i64,
    pub error_type: String,
    /// The message with its variable parts replaced by placeholders.
    pub template: String,
    /// The message itself (cut), kept once per group as its sample.
    pub sample: String,
}

/// Whether `raw` is written as a group's id is (16 lowercase hex digits).
pub fn is_failure_key(raw: &str) -> bool {
    raw.len() == 16
        && raw
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// One group as the failures view and `runningoperation.failures` show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureGroup {
    pub key: String,
    pub module_id: i64,
    pub module_name: String,
    pub error_type: String,
    pub template: String,
    pub sample: String,
    /// Current operations whose last failure is this one.
    pub operations: i64,
    /// Distinct clients of those operations.
    pub clients: i64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// The group's task, when one was opened for it.
    pub task_id: Option<i64>,
    /// Failures per hour over the last [`SPARK_HOURS`] hours, oldest first.
    pub per_hour: Vec<i64>,
}

/// Hours the sparkline of a group covers.
pub const SPARK_HOURS: usize = 24;

/// What can be done to every operation of a group at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FailureAction {
    Start,
    Stop,
    /// One task for the group, linked from each of its operations.
    TaskCreate,
}

impl FailureAction {
    pub const ALL: [FailureAction; 3] = [
        FailureAction::Start,
        FailureAction::Stop,
        FailureAction::TaskCreate,
    ];

    /// How forms and URLs write it.
    pub fn raw(self) -> &'static str {
        match self {
            FailureAction::Start => "start",
            FailureAction::Stop => "stop",
            FailureAction::TaskCreate => "taskcreate",
        }
    }

    pub fn parse(raw: &str) -> Option<FailureAction> {
        FailureAction::ALL.into_iter().find(|a| a.raw() == raw)
    }

    /// The button's words.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            FailureAction::Start => lang.pick("Запустить все", "Start all"),
            FailureAction::Stop => lang.pick("Остановить все", "Stop all"),
            FailureAction::TaskCreate => {
                lang.pick("Одна задача на группу", "One task for the group")
            }
        }
    }
}

/// What a group action did: how many operations it changed and, for the rest, why not.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureActionSummary {
    /// Operations changed.
    pub done: u64,
    /// Operations left as they were, by reason (a stable code, e.g. `running`).
    pub skipped: Vec<(String, u64)>,
    /// The task opened for the group (`TaskCreate`).
    pub task_id: Option<i64>,
}

impl FailureActionSummary {
    /// Counts one skipped operation under `reason`.
    pub fn skip(&mut self, reason: &str) {
        self.skip_many(reason, 1);
    }

    /// Counts `count` skipped operations under `reason`.
    pub fn skip_many(&mut self, reason: &str, count: u64) {
        match self.skipped.iter_mut().find(|(r, _)| r == reason) {
            Some((_, n)) => *n += count,
            None => self.skipped.push((reason.to_owned(), count)),
        }
    }

    /// Adds another summary's counts.
    pub fn add(&mut self, other: FailureActionSummary) {
        self.done += other.done;
        for (reason, n) in other.skipped {
            self.skip_many(&reason, n);
        }
        self.task_id = self.task_id.or(other.task_id);
    }
}

/// The failures view: the groups, whether the caller may act on them, and the time they were
/// read at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailuresView {
    pub groups: Vec<FailureGroup>,
    pub can_act: bool,
    pub now: Timestamp,
}

/// What a skip reason code says, in `lang` (`None` for a code no action gives).
pub fn skip_reason_label(code: &str, lang: Lang) -> Option<&'static str> {
    Some(match code {
        "running" => lang.pick("выполняются", "running"),
        "module_off" => lang.pick("обработчик выключен", "module switched off"),
        "gone" => lang.pick("уже не текущие", "no longer current"),
        "has_task" => lang.pick("уже есть задача", "had a task already"),
        "conflict" => lang.pick("в другом состоянии", "in another state"),
        "failed" => lang.pick("ошибка", "failed"),
        _ => return None,
    })
}
