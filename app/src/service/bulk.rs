//! Bulk jobs: "Start (Stop, Create task, Delete) all N matching", not just the page. A job is
//! asked for with the caller's saved filter and recorded; whichever node holds its lease runs
//! it a batch of [`BATCH`] operations at a time in id order, deciding each operation by the
//! same rule a row's button uses ([`super::operation::refusal`]) and writing each batch in one
//! transaction with its journal rows and the job's progress. A job survives a reload, a node's
//! restart or its death (its lease runs out and another node goes on from the cursor), can be
//! cancelled between batches, and ends with a summary per outcome and reason.

use std::collections::HashMap;
use std::time::Duration;

use super::operation::{refusal, OperationError};
use super::{Actor, Services};
use crate::store::{BulkBatch, BulkJobRecord, StoreError};
use crate::types::bulk::{BulkAction, BulkJobView};
use crate::types::{AppError, Conflict, OperationFilter, TaskKind, Timestamp};

/// Operations one batch (one transaction) handles, unless configured
/// ([`Services::with_bulk_batch`]).
pub const BATCH: u32 = 500;
/// The largest batch that may be configured.
pub const MAX_BATCH: u32 = 5_000;

/// Why a bulk-job function failed.
#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    #[error("bulk job {0} not found")]
    NotFound(i64),
    #[error(transparent)]
    Operation(#[from] OperationError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<super::Denied> for BulkError {
    fn from(denied: super::Denied) -> BulkError {
        BulkError::Operation(denied.into())
    }
}

impl From<BulkError> for AppError {
    fn from(error: BulkError) -> AppError {
        match error {
            BulkError::NotFound(id) => AppError::Missed {
                object: "elid".into(),
                value: id.to_string(),
            },
            BulkError::Operation(e) => e.into(),
            BulkError::Store(e) => super::internal(&e),
        }
    }
}

/// What one batch did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchOutcome {
    /// The job as the batch left it.
    pub job: BulkJobView,
    /// The operations it changed.
    pub changed: Vec<i64>,
    /// The job is over (done or cancelled) or no longer this node's.
    pub stop: bool,
}

/// The stable code of why an operation was left as it was.
fn reason_code(conflict: Conflict) -> &'static str {
    match conflict {
        Conflict::Running => "running",
        Conflict::ModuleOff => "module_off",
        Conflict::HasTask => "has_task",
        _ => "conflict",
    }
}

impl Services {
    /// Asks for `action` on every current operation the caller's saved filter matches
    /// (admins); returns the queued job. A node's runner (or the command line) carries it out.
    pub async fn start_bulk_job(
        &self,
        actor: &Actor,
        action: BulkAction,
    ) -> Result<BulkJobView, BulkError> {
        actor.require_admin()?;
        let filter = self.load_operation_filter(actor).await?;
        self.queue_bulk_job(actor, action, &filter).await
    }

    /// Asks for `action` on every current operation `filter` matches (admins).
    pub async fn queue_bulk_job(
        &self,
        actor: &Actor,
        action: BulkAction,
        filter: &OperationFilter,
    ) -> Result<BulkJobView, BulkError> {
        actor.require_admin()?;
        let total = self.store.count_operations(filter, u64::MAX).await?;
        let json = serde_json::to_string(filter).unwrap_or_else(|_| "{}".into());
        let entry = self.journal(
            actor,
            &format!("runningoperation.bulk.{}", action.raw()),
            "bulkjob",
            None,
            format!("{total} matching {json}"),
        );
        let id = self
            .store
            .create_bulk_job(action, &json, total as i64, &entry)
            .await?;
        self.bulk_job(actor, id).await
    }

    /// A job (admins).
    pub async fn bulk_job(&self, actor: &Actor, id: i64) -> Result<BulkJobView, BulkError> {
        actor.require_admin()?;
        match self.store.bulk_job(id).await? {
            Some(job) => Ok(job.view),
            None => Err(BulkError::NotFound(id)),
        }
    }

    /// The newest jobs, unfinished first (admins).
    pub async fn bulk_jobs(&self, actor: &Actor) -> Result<Vec<BulkJobView>, BulkError> {
        actor.require_admin()?;
        Ok(self
            .store
            .recent_bulk_jobs(20)
            .await?
            .into_iter()
            .map(|j| j.view)
            .collect())
    }

    /// Cancels a job between two batches (admins); one that is over already is left as it is.
    pub async fn cancel_bulk_job(&self, actor: &Actor, id: i64) -> Result<BulkJobView, BulkError> {
        actor.require_admin()?;
        let entry = self.journal(
            actor,
            "runningoperation.bulk.cancel",
            "bulkjob",
            Some(id),
            String::new(),
        );
        self.store.cancel_bulk_job(id, &entry).await?;
        self.bulk_job(actor, id).await
    }

    /// Takes the oldest job no live node holds (job `only`, when given), for `owner`, leased
    /// for `lease`.
    pub async fn claim_bulk_job(
        &self,
        owner: &str,
        lease: Duration,
        only: Option<i64>,
    ) -> Result<Option<BulkJobRecord>, StoreError> {
        let now = self.now();
        self.store
            .claim_bulk_job(
                owner,
                now,
                Timestamp(now.0 + lease.as_millis() as i64),
                only,
            )
            .await
    }

    /// Gives a job back when its holder stops before it is over.
    pub async fn release_bulk_job(&self, id: i64, owner: &str) -> Result<(), StoreError> {
        self.store.release_bulk_job(id, owner).await
    }

    /// Runs one batch of `job` for `owner` (who holds its lease, renewed for `lease`): the
    /// next batch of matching operations after its cursor, each decided by the rule of a
    /// row's button, written in one transaction with their journal rows and the progress.
    pub async fn run_bulk_batch(
        &self,
        job: &BulkJobRecord,
        owner: &str,
        lease: Duration,
    ) -> Result<BatchOutcome, BulkError> {
        let current = self
            .store
            .bulk_job(job.view.id)
            .await?
            .ok_or(BulkError::NotFound(job.view.id))?;
        let filter: OperationFilter = serde_json::from_str(&current.filter).unwrap_or_default();
        let ops = self
            .store
            .bulk_batch_operations(&filter, current.cursor, self.bulk_batch)
            .await?;
        let modules: HashMap<i64, bool> = self
            .store
            .list_modules()
            .await?
            .into_iter()
            .map(|m| (m.id, m.enabled))
            .collect();
        let action = current.view.action;
        let mut skipped = current.view.skipped.clone();
        let mut allowed = Vec::with_capacity(ops.len());
        let mut tasks = Vec::new();
        for op in &ops {
            let module_on = modules.get(&op.fields.module_id).copied().unwrap_or(false);
            match refusal(action, op, module_on) {
                Some(conflict) => {
                    let code = reason_code(conflict);
                    match skipped.iter_mut().find(|(r, _)| r == code) {
                        Some((_, n)) => *n += 1,
                        None => skipped.push((code.to_owned(), 1)),
                    }
                }
                None => {
                    allowed.push(op.id);
                    if action == BulkAction::TaskCreate {
                        tasks.push((
                            op.id,
                            TaskKind::for_operation(op.fields.intname),
                            op.fields.comment.clone(),
                        ));
                    }
                }
            }
        }
        let last = ops.len() < self.bulk_batch as usize;
        let actor_name = current.view.user_name.clone();
        let entry = crate::store::JournalEntry {
            at: self.now(),
            user_id: current.user_id,
            user_name: actor_name,
            action: format!(
                "runningoperation.{}",
                if action == BulkAction::TaskCreate {
                    "taskcreate"
                } else {
                    action.raw()
                }
            ),
            object: "runningoperation".into(),
            object_id: None,
            detail: format!("bulk job {}", current.view.id),
        };
        let now = self.now();
        let batch = BulkBatch {
            job_id: current.view.id,
            owner,
            action,
            ids: &allowed,
            tasks: &tasks,
            skipped: &skipped,
            cursor: ops.last().map_or(current.cursor, |op| op.id),
            last,
            lease_until: Timestamp(now.0 + lease.as_millis() as i64),
            entry: &entry,
        };
        let changed = self.store.apply_bulk_batch(&batch).await?;
        let job = self
            .store
            .bulk_job(current.view.id)
            .await?
            .ok_or(BulkError::NotFound(current.view.id))?
            .view;
        match changed {
            Some(changed) => {
                // The live stream tells every list, and the job's progress bar, to look again.
                self.publish(&changed).await;
                Ok(BatchOutcome {
                    stop: job.state.is_over(),
                    job,
                    changed,
                })
            }
            None => Ok(BatchOutcome {
                job,
                changed: Vec::new(),
                stop: true,
            }),
        }
    }
}
