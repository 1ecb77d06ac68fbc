//! Alert webhooks as the admin's page lists them.

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// A hook as listed: never its secret, and its URL cut to scheme and host (a Slack webhook's
/// path is its password).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookView {
    pub id: i64,
    pub url: String,
    pub signed: bool,
    pub events: String,
    pub created_at: Timestamp,
}
