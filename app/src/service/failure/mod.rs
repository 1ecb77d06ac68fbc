//! Failure groups: the morning after an outage as one incident instead of 1,400 rows. Every
//! failed (or interrupted) attempt gets a [`fingerprint`]; current operations whose last
//! failure has the same one form a group, counted by the database in the transactions that
//! change them ([`crate::store::failures`]). Here: the groups for the failures view and
//! `runningoperation.failures`, one group for the list's filter, and the actions on a whole
//! group (start, stop, one task), which go through the same use cases as a row's buttons.

pub mod fingerprint;

pub use fingerprint::{fingerprint, template};

use super::operation::{GroupOutcome, OperationError};
use super::{internal, Actor, Denied, Services};
use crate::store::{GroupQuery, StoreError};
use crate::types::failure::{
    is_failure_key, FailureAction, FailureActionSummary, FailureGroup, FailuresView, SPARK_HOURS,
};
use crate::types::{AppError, Conflict, FieldError, FieldReason, TaskKind, Timestamp};

/// Groups shown at most, most operations first.
pub const MAX_GROUPS: usize = 200;
/// Operations a group action takes from the store at a time.
const ACTION_BATCH: u32 = 500;

/// Why a failure-group function failed.
#[derive(Debug, thiserror::Error)]
pub enum FailureError {
    /// No group with this id has current operations.
    #[error("failure group {0} not found")]
    NotFound(String),
    /// The id is not written as a group's id is.
    #[error("bad failure group id")]
    BadKey(String),
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error(transparent)]
    Operation(#[from] OperationError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<FailureError> for AppError {
    fn from(error: FailureError) -> AppError {
        match error {
            FailureError::NotFound(key) => AppError::Missed {
                object: "elid".into(),
                value: key,
            },
            FailureError::BadKey(key) => AppError::Value {
                fields: vec![FieldError::new("elid", &key, FieldReason::Unknown)],
            },
            FailureError::Denied(_) => AppError::Access,
            FailureError::Operation(e) => e.into(),
            FailureError::Store(e) => internal(&e),
        }
    }
}

impl Services {
    fn group_query(&self, key: Option<&str>) -> GroupQuery {
        let hour = 3_600_000;
        let now = self.now().0;
        GroupQuery {
            key: key.map(str::to_owned),
            limit: MAX_GROUPS,
            since: Timestamp(now - now.rem_euclid(hour) - (SPARK_HOURS as i64 - 1) * hour),
            hours: SPARK_HOURS,
        }
    }

    /// The groups with current operations, most operations first, at most [`MAX_GROUPS`]
    /// (staff).
    pub async fn failure_groups(&self, actor: &Actor) -> Result<Vec<FailureGroup>, FailureError> {
        actor.require_staff()?;
        Ok(self.store.failure_groups(&self.group_query(None)).await?)
    }

    /// The failures view: the groups and whether the caller may act on them (staff).
    pub async fn failures_view(&self, actor: &Actor) -> Result<FailuresView, FailureError> {
        Ok(FailuresView {
            groups: self.failure_groups(actor).await?,
            can_act: actor.require_admin().is_ok(),
            now: self.now(),
        })
    }

    /// Narrows the caller's saved list filter to the group `key` alone (staff).
    pub async fn filter_by_failure(&self, actor: &Actor, key: &str) -> Result<(), FailureError> {
        let group = self.failure_group(actor, key).await?;
        let filter = crate::types::OperationFilter {
            failure: Some(group.key),
            ..Default::default()
        };
        self.save_operation_filter(actor, &filter).await?;
        Ok(())
    }

    /// One group by its id (staff); an id of no group with current operations is not found.
    pub async fn failure_group(
        &self,
        actor: &Actor,
        key: &str,
    ) -> Result<FailureGroup, FailureError> {
        actor.require_staff()?;
        let key = checked_key(key)?;
        self.store
            .failure_groups(&self.group_query(Some(key)))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| FailureError::NotFound(key.to_owned()))
    }

    /// Does `action` to every current operation of each group in `keys` (admins), through the
    /// use cases a row's buttons call, with one journal row per operation changed and one per
    /// group. Returns what was done and, for the rest, why not.
    pub async fn act_on_failure_groups(
        &self,
        actor: &Actor,
        keys: &[String],
        action: FailureAction,
    ) -> Result<FailureActionSummary, FailureError> {
        actor.require_admin()?;
        let mut groups = Vec::with_capacity(keys.len());
        for key in keys {
            groups.push(self.failure_group(actor, key).await?);
        }
        let mut summary = FailureActionSummary::default();
        for group in groups {
            let done = match action {
                FailureAction::TaskCreate => self.group_task(actor, &group).await?,
                FailureAction::Start | FailureAction::Stop => {
                    self.each_in_group(actor, &group.key, action).await?
                }
            };
            self.store
                .insert_journal(&self.journal(
                    actor,
                    &format!("runningoperation.failures.{}", action.raw()),
                    "failuregroup",
                    None,
                    format!("{}: {} done", group.key, done.done),
                ))
                .await?;
            summary.add(done);
        }
        Ok(summary)
    }

    /// Starts or stops the group's current operations, a batch at a time, in id order.
    async fn each_in_group(
        &self,
        actor: &Actor,
        key: &str,
        action: FailureAction,
    ) -> Result<FailureActionSummary, FailureError> {
        let mut summary = FailureActionSummary::default();
        let mut after = 0;
        loop {
            let ids = self
                .store
                .failure_group_operations(key, after, ACTION_BATCH)
                .await?;
            let Some(&last) = ids.last() else {
                return Ok(summary);
            };
            after = last;
            let outcome: GroupOutcome = match action {
                FailureAction::Start => self.start_operations(actor, &ids).await?,
                _ => self.stop_operations(actor, &ids).await?,
            };
            for (_, result) in outcome.results {
                match result {
                    Ok(()) => summary.done += 1,
                    Err(e) => summary.skip(skip_reason(&e)),
                }
            }
        }
    }

    /// One task for the group, linked from each of its operations without one.
    async fn group_task(
        &self,
        actor: &Actor,
        group: &FailureGroup,
    ) -> Result<FailureActionSummary, FailureError> {
        let comment = format!(
            "{} operations of {} clients failed with {} \"{}\" on {} (failure group {})",
            group.operations,
            group.clients,
            group.error_type,
            group.template,
            group.module_name,
            group.key
        );
        let entry = self.journal(
            actor,
            "runningoperation.failures.taskcreate",
            "runningoperation",
            None,
            String::new(),
        );
        let Some(task) = self
            .store
            .create_group_task(&group.key, TaskKind::Change, &comment, &entry)
            .await?
        else {
            return Err(FailureError::NotFound(group.key.clone()));
        };
        let mut summary = FailureActionSummary {
            done: task.linked,
            task_id: Some(task.task_id),
            ..Default::default()
        };
        if task.had_task > 0 {
            summary.skip_many("has_task", task.had_task);
        }
        Ok(summary)
    }

    /// Folds the failure groups' count deltas; every node's rescuer does it.
    pub async fn compact_failures(&self) -> Result<u64, StoreError> {
        self.store.compact_failures(self.now()).await
    }
}

/// `key` if it is written as a group's id is.
fn checked_key(key: &str) -> Result<&str, FailureError> {
    let key = key.trim();
    if is_failure_key(key) {
        Ok(key)
    } else {
        Err(FailureError::BadKey(key.chars().take(64).collect()))
    }
}

/// The stable code of why an operation of a group was left as it was.
fn skip_reason(error: &OperationError) -> &'static str {
    match error {
        OperationError::NotFound(_) => "gone",
        OperationError::Conflict {
            reason: Conflict::Running,
            ..
        } => "running",
        OperationError::Conflict {
            reason: Conflict::ModuleOff,
            ..
        } => "module_off",
        OperationError::Conflict { .. } => "conflict",
        _ => "failed",
    }
}
