//! Reference data the operations point at: clients (`account`), their services (`item`) and
//! processing modules (`processing`).

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// How a processing module executes an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModuleKind {
    /// Runs a program with BILLmanager's module arguments.
    Exec,
    /// POSTs signed JSON to a URL.
    Http,
}

impl ModuleKind {
    /// The stored value.
    pub fn raw(self) -> &'static str {
        match self {
            ModuleKind::Exec => "exec",
            ModuleKind::Http => "http",
        }
    }

    /// Reads a stored value.
    pub fn parse(raw: &str) -> Option<ModuleKind> {
        match raw.trim() {
            "exec" => Some(ModuleKind::Exec),
            "http" => Some(ModuleKind::Http),
            _ => None,
        }
    }
}

/// A processing module as shown: its secret is never part of it, only whether one is set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleView {
    pub id: i64,
    pub name: String,
    pub kind: ModuleKind,
    /// The program (`exec`) or URL (`http`).
    pub target: String,
    pub has_secret: bool,
    pub panel_url: Option<String>,
    pub max_running: i64,
    pub max_tries: i64,
    pub timeout_secs: i64,
    pub enabled: bool,
}

/// A client (`account`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientView {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub created: Timestamp,
}

/// Status of a client's service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemStatus {
    Ordered,
    Active,
    Suspended,
    Deleted,
    Processing,
}

impl ItemStatus {
    /// Every status.
    pub const ALL: [ItemStatus; 5] = [
        ItemStatus::Ordered,
        ItemStatus::Active,
        ItemStatus::Suspended,
        ItemStatus::Deleted,
        ItemStatus::Processing,
    ];

    /// The stored value.
    pub fn raw(self) -> &'static str {
        match self {
            ItemStatus::Ordered => "ordered",
            ItemStatus::Active => "active",
            ItemStatus::Suspended => "suspended",
            ItemStatus::Deleted => "deleted",
            ItemStatus::Processing => "processing",
        }
    }

    /// Reads a stored value.
    pub fn parse(raw: &str) -> Option<ItemStatus> {
        ItemStatus::ALL.into_iter().find(|s| s.raw() == raw.trim())
    }
}

/// A client's service (`item`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemView {
    pub id: i64,
    pub client_id: i64,
    pub module_id: i64,
    pub itemtype: String,
    pub name: String,
    pub status: ItemStatus,
}

/// A change to a service: the fields given change, the others stay.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemChange {
    pub client_id: Option<i64>,
    pub module_id: Option<i64>,
    pub itemtype: Option<String>,
    pub name: Option<String>,
    pub status: Option<ItemStatus>,
}

impl ItemChange {
    /// `item` with this change applied.
    pub fn applied_to(&self, item: &ItemView) -> ItemView {
        ItemView {
            id: item.id,
            client_id: self.client_id.unwrap_or(item.client_id),
            module_id: self.module_id.unwrap_or(item.module_id),
            itemtype: self
                .itemtype
                .clone()
                .unwrap_or_else(|| item.itemtype.clone()),
            name: self.name.clone().unwrap_or_else(|| item.name.clone()),
            status: self.status.unwrap_or(item.status),
        }
    }
}

/// What a client sees of itself in the client area (after an admin's `su`): its services and
/// their pending operations, nothing of other clients.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientArea {
    pub client: ClientView,
    pub items: Vec<ItemView>,
    pub operations: Vec<super::OperationRow>,
    /// True when the session was opened by an admin (`su`) and can return to it.
    pub can_return: bool,
    /// The session's language.
    pub lang: super::Lang,
}
