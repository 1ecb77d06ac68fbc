//! Operations (`runningoperation`): their statuses, operation types (`intname`), the list row,
//! and the edit form as shown and as submitted.

use serde::{Deserialize, Serialize};

use super::{Lang, Timestamp};

/// What an admin sees in the `status` column. The raw value is BILLmanager's `$orig`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Will run at its next run time.
    Waiting,
    /// A worker holds it now.
    Running,
    /// The last attempt failed; an automatic restart is due.
    Error,
    /// Automatic restart is off (`manual=on`, stopped, or tries exhausted).
    Manual,
}

impl Status {
    /// Every status, in the order a filter offers them.
    pub const ALL: [Status; 4] = [
        Status::Waiting,
        Status::Running,
        Status::Error,
        Status::Manual,
    ];

    /// The raw value (`$orig`).
    pub fn raw(self) -> &'static str {
        match self {
            Status::Waiting => "waiting",
            Status::Running => "running",
            Status::Error => "error",
            Status::Manual => "manual",
        }
    }

    /// The status people see, from an operation's queue state and its `manual` flag: a
    /// running operation is running; otherwise `manual` makes it need attention; otherwise a
    /// failed one waits for its scheduled restart. This is the one derivation: the store's SQL
    /// for sorting and filtering by status says the same, and its conformance tests hold it to
    /// this function.
    pub fn of(state: super::OperationState, manual: bool) -> Status {
        match state {
            super::OperationState::Running => Status::Running,
            _ if manual => Status::Manual,
            super::OperationState::Error => Status::Error,
            _ => Status::Waiting,
        }
    }

    /// Reads a raw value.
    pub fn parse(raw: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.raw() == raw.trim())
    }

    /// The label in the session's language.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Status::Waiting => lang.pick("Ожидает выполнения", "Waiting"),
            Status::Running => lang.pick("Выполняется", "Running"),
            Status::Error => lang.pick(
                "Ошибка, перезапуск по расписанию",
                "Error, restart scheduled",
            ),
            Status::Manual => lang.pick("Требует вмешательства", "Needs attention"),
        }
    }
}

/// The known operation types: BILLmanager's processing-module commands that act on a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intname {
    Open,
    Suspend,
    Resume,
    Close,
    Prolong,
    Setparam,
    Reopen,
    SyncItem,
    Transfer,
    UpdateNs,
}

impl Intname {
    /// Every known type.
    pub const ALL: [Intname; 10] = [
        Intname::Open,
        Intname::Suspend,
        Intname::Resume,
        Intname::Close,
        Intname::Prolong,
        Intname::Setparam,
        Intname::Reopen,
        Intname::SyncItem,
        Intname::Transfer,
        Intname::UpdateNs,
    ];

    /// The internal name, as stored and as passed to a module's `--command`.
    pub fn raw(self) -> &'static str {
        match self {
            Intname::Open => "open",
            Intname::Suspend => "suspend",
            Intname::Resume => "resume",
            Intname::Close => "close",
            Intname::Prolong => "prolong",
            Intname::Setparam => "setparam",
            Intname::Reopen => "reopen",
            Intname::SyncItem => "sync_item",
            Intname::Transfer => "transfer",
            Intname::UpdateNs => "update_ns",
        }
    }

    /// Reads an internal name; unknown names are `None`.
    pub fn parse(raw: &str) -> Option<Intname> {
        Intname::ALL.into_iter().find(|i| i.raw() == raw.trim())
    }

    /// A verb for the operation's description.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Intname::Open => lang.pick("Открытие", "Open"),
            Intname::Suspend => lang.pick("Приостановка", "Suspend"),
            Intname::Resume => lang.pick("Возобновление", "Resume"),
            Intname::Close => lang.pick("Удаление", "Close"),
            Intname::Prolong => lang.pick("Продление", "Prolong"),
            Intname::Setparam => lang.pick("Изменение параметров", "Change parameters of"),
            Intname::Reopen => lang.pick("Повторное открытие", "Reopen"),
            Intname::SyncItem => lang.pick("Синхронизация", "Synchronise"),
            Intname::Transfer => lang.pick("Перенос", "Transfer"),
            Intname::UpdateNs => lang.pick("Смена NS", "Update name servers of"),
        }
    }

    /// The human description of an operation on a service, e.g. "Open service #42 vm42.example.com".
    pub fn describe(self, lang: Lang, item_id: i64, item_name: &str) -> String {
        let service = lang.pick("услуги", "service");
        format!("{} {service} #{item_id} {item_name}", self.label(lang))
    }
}

/// One row of the `runningoperation` list: the seed's ten columns plus the ids behind the names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperationRow {
    pub id: i64,
    pub intname: Intname,
    pub item_id: i64,
    pub item_name: String,
    pub itemtype: String,
    pub client_id: i64,
    pub client_name: String,
    pub cdate: Timestamp,
    pub trycount: i64,
    pub module_id: i64,
    pub module_name: String,
    pub task_id: Option<i64>,
    pub status: Status,
    pub manual: bool,
    pub comment: String,
    /// The message of the last failed attempt, if any.
    pub last_error: Option<String>,
}

impl OperationRow {
    /// The `desc` column in the given language.
    pub fn desc(&self, lang: Lang) -> String {
        self.intname.describe(lang, self.item_id, &self.item_name)
    }
}

/// The `runningoperation.edit` form of one operation, as shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperationForm {
    pub id: i64,
    pub intname: Intname,
    pub item_id: i64,
    pub trycount: i64,
    pub cdate: Timestamp,
    pub manual: bool,
    pub comment: String,
    pub status: Status,
}

impl OperationForm {
    /// The form's values as fields to edit.
    pub fn input(&self) -> OperationInput {
        OperationInput {
            intname: Some(self.intname.raw().to_owned()),
            item: Some(self.item_id.to_string()),
            trycount: Some(self.trycount.to_string()),
            cdate: Some(self.cdate.format()),
            manual: Some(if self.manual { "on" } else { "off" }.to_owned()),
            comment: Some(self.comment.clone()),
        }
    }
}

/// The fields of `runningoperation.edit` as submitted: raw text, validated by the service.
/// On create, a missing field takes its default (`trycount` 0, `cdate` now, `manual` off, empty
/// comment); on change, a missing field keeps its value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationInput {
    pub intname: Option<String>,
    pub item: Option<String>,
    pub trycount: Option<String>,
    pub cdate: Option<String>,
    pub manual: Option<String>,
    pub comment: Option<String>,
}

/// A group action on selected operations, as the UI asks for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OperationAction {
    Start,
    Stop,
    Delete,
    Taskcreate,
}

impl OperationAction {
    /// Every action, in the order the action bar shows them.
    pub const ALL: [OperationAction; 4] = [
        OperationAction::Start,
        OperationAction::Stop,
        OperationAction::Taskcreate,
        OperationAction::Delete,
    ];

    /// The button's label.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            OperationAction::Start => lang.pick("Запустить", "Start"),
            OperationAction::Stop => lang.pick("Остановить", "Stop"),
            OperationAction::Delete => lang.pick("Удалить", "Delete"),
            OperationAction::Taskcreate => lang.pick("Создать задачу", "Create task"),
        }
    }

    /// The legacy function's suffix (`runningoperation.<raw>`).
    pub fn raw(self) -> &'static str {
        match self {
            OperationAction::Start => "start",
            OperationAction::Stop => "stop",
            OperationAction::Delete => "delete",
            OperationAction::Taskcreate => "taskcreate",
        }
    }
}

/// What a group action did to one operation: `error` is `None` when it succeeded, else the
/// reason in the session's language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionResult {
    pub id: i64,
    pub error: Option<String>,
}
