//! Who is asking: access levels and what the UI knows of its session.

use serde::{Deserialize, Serialize};

use super::Lang;

/// Access level of a user or session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// An employee with full rights.
    Admin,
    /// An employee who may list and view but change nothing.
    Readonly,
    /// A client's user: sees only that client's services.
    User,
}

impl Level {
    /// The stored and displayed value.
    pub fn raw(self) -> &'static str {
        match self {
            Level::Admin => "admin",
            Level::Readonly => "readonly",
            Level::User => "user",
        }
    }

    /// Reads a stored value.
    pub fn parse(raw: &str) -> Option<Level> {
        [Level::Admin, Level::Readonly, Level::User]
            .into_iter()
            .find(|l| l.raw() == raw.trim())
    }

    /// True for employees (admin and read-only admin).
    pub fn is_staff(self) -> bool {
        matches!(self, Level::Admin | Level::Readonly)
    }
}

/// What the UI may know of the current session (never its id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub user: String,
    pub level: Level,
    pub lang: Lang,
    /// For a client session (`su`), the client it acts as.
    pub client_id: Option<i64>,
    /// True when this session was opened by `su` from an admin session it can return to.
    pub has_parent: bool,
}
