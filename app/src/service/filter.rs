//! Saved list filters (`runningoperation.filter`): one per user, shared by the UI and the
//! legacy API, stored as JSON.

use super::{Actor, OperationError, Services};
use crate::types::OperationFilter;

/// The name the operations list's filter is saved under.
const LIST: &str = "runningoperation";

impl Services {
    /// The caller's saved filter of the operations list (empty when none was saved).
    pub async fn load_operation_filter(
        &self,
        actor: &Actor,
    ) -> Result<OperationFilter, OperationError> {
        actor.require_staff()?;
        let Some(user_id) = actor.user_id else {
            return Ok(OperationFilter::default());
        };
        let saved = self.store.load_filter(user_id, LIST).await?;
        // A filter saved by an older version that no longer parses is treated as no filter.
        Ok(saved
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default())
    }

    /// Saves the caller's filter of the operations list; an empty filter clears it.
    pub async fn save_operation_filter(
        &self,
        actor: &Actor,
        filter: &OperationFilter,
    ) -> Result<(), OperationError> {
        actor.require_staff()?;
        let Some(user_id) = actor.user_id else {
            return Ok(());
        };
        let json = serde_json::to_string(filter).unwrap_or_else(|_| "{}".into());
        self.store
            .save_filter(user_id, LIST, &json, self.now())
            .await?;
        Ok(())
    }
}
