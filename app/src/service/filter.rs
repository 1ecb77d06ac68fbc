//! Saved list filters (`runningoperation.filter`): one per user, shared by the UI and the
//! legacy API, stored as JSON.

use super::{Actor, OperationError, Services};
use crate::types::{ListQuery, OperationFilter, OperationRow, Page, SortColumn, SortOrder, Status};

/// Which filter a page of the caller's list uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilterChoice {
    /// The one the caller saved last (none: everything).
    Saved,
    /// This one, saved first as the caller's filter (an empty one clears it).
    SaveAndUse(OperationFilter),
}

/// A page of the caller's list as asked for: everything but the filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListView {
    pub sort: SortColumn,
    pub order: SortOrder,
    /// From 1.
    pub page: u32,
    pub page_size: u32,
    /// A seek's token ([`Seek::token`](crate::types::page::Seek::token)) from the page
    /// next to this one; one that does not read as a seek is ignored (the page number serves).
    pub seek: Option<String>,
}

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

    /// One page of the caller's list with the filter `choice` says: the one use case behind
    /// the UI's list and the legacy `runningoperation` list alike.
    pub async fn list_operations_filtered(
        &self,
        actor: &Actor,
        choice: FilterChoice,
        view: ListView,
    ) -> Result<Page<OperationRow>, OperationError> {
        let filter = match choice {
            FilterChoice::Saved => self.load_operation_filter(actor).await?,
            FilterChoice::SaveAndUse(filter) => {
                self.save_operation_filter(actor, &filter).await?;
                filter
            }
        };
        let query = ListQuery {
            filter,
            sort: view.sort,
            order: view.order,
            page: view.page,
            page_size: view.page_size,
            seek: view
                .seek
                .as_deref()
                .and_then(|token| crate::types::page::Seek::parse(token, view.sort)),
        };
        self.list_operations(actor, query).await
    }

    /// How many current operations are in each status (all of them, whatever the filter), in
    /// [`Status::ALL`]'s order: the totals the database keeps, a few rows to read. Staff only.
    pub async fn status_counts(&self, actor: &Actor) -> Result<Vec<(Status, i64)>, OperationError> {
        actor.require_staff()?;
        let counts = self.store.operation_counts().await?;
        Ok(Status::ALL
            .into_iter()
            .map(|status| {
                let n = counts
                    .iter()
                    .filter(|c| c.status == status)
                    .map(|c| c.count)
                    .sum();
                (status, n)
            })
            .collect())
    }

    /// Narrows the caller's saved filter to `status` (none: any status), keeping its other
    /// fields; returns the filter saved.
    pub async fn filter_by_status(
        &self,
        actor: &Actor,
        status: Option<Status>,
    ) -> Result<OperationFilter, OperationError> {
        let mut filter = self.load_operation_filter(actor).await?;
        filter.status = status;
        self.save_operation_filter(actor, &filter).await?;
        Ok(filter)
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
