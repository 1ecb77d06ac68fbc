//! Bulk jobs ([`crate::service::bulk`]): the job rows (`migrations/*/0012_bulk_job.sql`), a
//! node's lease on one, the next batch of matching operations after its cursor, and a batch's
//! writes: the action on each operation the service allowed, their journal rows and the job's
//! progress, in one transaction that first checks the lease (a job cancelled, or taken over by
//! another node, writes nothing more).

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row, Type};

use super::dialect::{Affected, Dialect, SqlStore};
use super::sql::{parse_with, push_parts, Sql, ACTIVE, OPERATION_SELECT};
use super::{JournalEntry, OperationRecord, StoreResult};
use crate::types::bulk::{BulkAction, BulkJobView, BulkState};
use crate::types::{OperationFilter, TaskKind, Timestamp};

/// A stored bulk job: what it shows, and what its runner needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulkJobRecord {
    pub view: BulkJobView,
    /// The filter, as the saved filter's JSON.
    pub filter: String,
    pub user_id: Option<i64>,
    pub cursor: i64,
    pub owner: Option<String>,
}

/// One batch's writes.
#[derive(Clone, Debug)]
pub struct BulkBatch<'a> {
    pub job_id: i64,
    /// The node holding the job's lease; the batch writes nothing unless it still does.
    pub owner: &'a str,
    pub action: BulkAction,
    /// The operations the service allowed (for `TaskCreate`, with each one's task).
    pub ids: &'a [i64],
    pub tasks: &'a [(i64, TaskKind, String)],
    /// The job's reasons for leaving operations as they were, this batch's included; the
    /// operations the write's guard refuses (their state changed meanwhile) are added under
    /// `conflict`.
    pub skipped: &'a [(String, i64)],
    /// The last operation id of the batch: the next starts after it.
    pub cursor: i64,
    /// The last batch: the job is done.
    pub last: bool,
    pub lease_until: Timestamp,
    /// The journal row of each operation changed (its `object_id` is set per operation).
    pub entry: &'a JournalEntry,
}

/// Bulk jobs.
#[async_trait]
pub trait BulkJobs: Send + Sync {
    /// Records a queued job and its journal row; returns its id.
    async fn create_bulk_job(
        &self,
        action: BulkAction,
        filter: &str,
        total: i64,
        entry: &JournalEntry,
    ) -> StoreResult<i64>;
    async fn bulk_job(&self, id: i64) -> StoreResult<Option<BulkJobRecord>>;
    /// The newest jobs, unfinished first, at most `limit`.
    async fn recent_bulk_jobs(&self, limit: u32) -> StoreResult<Vec<BulkJobRecord>>;
    /// Leases the oldest unfinished job (job `only`, when given) that no node holds (or whose
    /// holder's lease ran out) to `owner` until `lease_until`, and marks it running.
    async fn claim_bulk_job(
        &self,
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
        only: Option<i64>,
    ) -> StoreResult<Option<BulkJobRecord>>;
    /// Up to `limit` current operations matching `filter` with ids above `after`, in id order.
    async fn bulk_batch_operations(
        &self,
        filter: &OperationFilter,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<OperationRecord>>;
    /// Writes one batch (see [`BulkBatch`]); returns the operations changed, or `None` when
    /// the job is no longer `owner`'s to run (cancelled, or another node's).
    async fn apply_bulk_batch(&self, batch: &BulkBatch<'_>) -> StoreResult<Option<Vec<i64>>>;
    /// Cancels an unfinished job, with its journal row; false when it was over already.
    async fn cancel_bulk_job(&self, id: i64, entry: &JournalEntry) -> StoreResult<bool>;
    /// Gives a job back (its holder stops): another node may take it at once.
    async fn release_bulk_job(&self, id: i64, owner: &str) -> StoreResult<()>;
}

const JOB_SELECT: &str =
    "SELECT id, action, filter, user_id, user_name, state, total, done, skipped, \
     cursor, owner, created_at, finished_at FROM bulk_job";

impl<D> SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> bool: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> String: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> &'q str: Encode<'q, D> + Type<D>,
    for<'q> Option<i64>: Encode<'q, D>,
    for<'q> Option<String>: Encode<'q, D>,
    for<'q> Option<&'q str>: Encode<'q, D>,
    for<'a> &'a str: ColumnIndex<D::Row>,
    usize: ColumnIndex<D::Row>,
{
    fn job_record(row: &D::Row) -> StoreResult<BulkJobRecord> {
        let skipped: String = row.try_get("skipped")?;
        let finished: Option<i64> = row.try_get("finished_at")?;
        Ok(BulkJobRecord {
            view: BulkJobView {
                id: row.try_get("id")?,
                action: parse_with("action", row.try_get("action")?, BulkAction::parse)?,
                state: parse_with("state", row.try_get("state")?, BulkState::parse)?,
                total: row.try_get("total")?,
                done: row.try_get("done")?,
                skipped: serde_json::from_str(&skipped)
                    .map_err(|_| super::sql::corrupt("skipped", &skipped))?,
                user_name: row.try_get("user_name")?,
                created_at: Timestamp(row.try_get("created_at")?),
                finished_at: finished.map(Timestamp),
            },
            filter: row.try_get("filter")?,
            user_id: row.try_get("user_id")?,
            cursor: row.try_get("cursor")?,
            owner: row.try_get("owner")?,
        })
    }
}

#[async_trait]
impl<D> BulkJobs for SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> bool: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> String: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> &'q str: Encode<'q, D> + Type<D>,
    for<'q> Option<i64>: Encode<'q, D>,
    for<'q> Option<String>: Encode<'q, D>,
    for<'q> Option<&'q str>: Encode<'q, D>,
    for<'a> &'a str: ColumnIndex<D::Row>,
    usize: ColumnIndex<D::Row>,
{
    async fn create_bulk_job(
        &self,
        action: BulkAction,
        filter: &str,
        total: i64,
        entry: &JournalEntry,
    ) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO bulk_job (action, filter, user_id, user_name, state, total, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'queued', $5, $6, $6) RETURNING id",
        )
        .bind(action.raw())
        .bind(filter)
        .bind(entry.user_id)
        .bind(&entry.user_name)
        .bind(total)
        .bind(entry.at.0)
        .fetch_one(&mut *tx)
        .await?;
        Self::journal(
            &mut tx,
            &JournalEntry {
                object_id: Some(id),
                ..entry.clone()
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn bulk_job(&self, id: i64) -> StoreResult<Option<BulkJobRecord>> {
        sqlx::query(&format!("{JOB_SELECT} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(Self::job_record)
            .transpose()
    }

    async fn recent_bulk_jobs(&self, limit: u32) -> StoreResult<Vec<BulkJobRecord>> {
        sqlx::query(&format!(
            "{JOB_SELECT} ORDER BY CASE WHEN state IN ('queued', 'running') THEN 0 ELSE 1 END, id DESC LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(Self::job_record)
        .collect()
    }

    async fn claim_bulk_job(
        &self,
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
        only: Option<i64>,
    ) -> StoreResult<Option<BulkJobRecord>> {
        let _gate = self.write_gate().await;
        let mut tx = self.pool.begin().await?;
        if let Some(prelude) = D::CLAIM_PRELUDE {
            sqlx::query(prelude).execute(&mut *tx).await?;
        }
        let skip_locked = D::SKIP_LOCKED;
        let id: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT id FROM bulk_job WHERE state IN ('queued', 'running') \
             AND (owner IS NULL OR lease_until < $1) AND ($2 IS NULL OR id = $2) \
             ORDER BY id LIMIT 1{skip_locked}"
        ))
        .bind(now.0)
        .bind(only)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else {
            tx.rollback().await?;
            return Ok(None);
        };
        let row = sqlx::query(&format!(
            "UPDATE bulk_job SET state = 'running', owner = $1, lease_until = $2, updated_at = $3 \
             WHERE id = $4 RETURNING {}",
            &JOB_SELECT["SELECT ".len()..JOB_SELECT.len() - " FROM bulk_job".len()]
        ))
        .bind(owner)
        .bind(lease_until.0)
        .bind(now.0)
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let job = Self::job_record(&row)?;
        tx.commit().await?;
        Ok(Some(job))
    }

    async fn bulk_batch_operations(
        &self,
        filter: &OperationFilter,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<OperationRecord>> {
        let error_ids = Self::error_ids_of(&self.pool, filter).await?;
        // The record's columns, unqualified: `operation` is the only table read. Each part
        // of the current list in id order, merged.
        let limit = i64::from(limit);
        let parts = Self::parts_of(filter);
        let mut sql = Sql::new::<D>("SELECT * FROM (");
        push_parts(&mut sql, parts, "part", |sql, states| {
            sql.push(format!(
                "{OPERATION_SELECT} o WHERE o.state IN {states} AND o.id > "
            ))
            .push_bind(after);
            Self::push_filter(sql, filter, error_ids.as_deref());
            sql.push(" ORDER BY o.id LIMIT ").push_bind(limit);
        });
        sql.push(") cur ORDER BY cur.id LIMIT ").push_bind(limit);
        sql.query()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(Self::operation_record)
            .collect()
    }

    async fn apply_bulk_batch(&self, batch: &BulkBatch<'_>) -> StoreResult<Option<Vec<i64>>> {
        let _gate = self.write_gate().await;
        let at = batch.entry.at.0;
        let mut tx = self.pool.begin().await?;
        // The lease first: a cancelled job, or one another node took over, writes nothing.
        let held = sqlx::query(
            "UPDATE bulk_job SET lease_until = $1, updated_at = $2 \
             WHERE id = $3 AND owner = $4 AND state = 'running'",
        )
        .bind(batch.lease_until.0)
        .bind(at)
        .bind(batch.job_id)
        .bind(batch.owner)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !held {
            tx.rollback().await?;
            return Ok(None);
        }
        let mut applied: Vec<i64> = Vec::new();
        if !batch.ids.is_empty() {
            let write = match batch.action {
                BulkAction::Start => {
                    let mut sql =
                        Sql::new::<D>("UPDATE operation SET run_requested = TRUE, next_run_at = ");
                    sql.push_bind(at)
                        .push(", updated_at = ")
                        .push_bind(at)
                        .push(" WHERE state IN ('waiting', 'error') AND id IN (");
                    Some(sql)
                }
                BulkAction::Stop => {
                    let mut sql = Sql::new::<D>(
                        "UPDATE operation SET manual = TRUE, run_requested = FALSE, \
                         stop_requested = (state = 'running'), updated_at = ",
                    );
                    sql.push_bind(at)
                        .push(format!(" WHERE state IN {ACTIVE} AND id IN ("));
                    Some(sql)
                }
                BulkAction::Delete => {
                    let mut sql =
                        Sql::new::<D>("UPDATE operation SET state = 'deleted', finished_at = ");
                    sql.push_bind(at)
                        .push(", updated_at = ")
                        .push_bind(at)
                        .push(" WHERE state IN ('waiting', 'error') AND id IN (");
                    Some(sql)
                }
                BulkAction::TaskCreate => None,
            };
            match write {
                Some(mut sql) => {
                    sql.push_list(batch.ids.iter().copied())
                        .push(") RETURNING id");
                    for row in sql.query().fetch_all(&mut *tx).await? {
                        applied.push(row.try_get(0)?);
                    }
                }
                None => {
                    for (id, kind, comment) in batch.tasks {
                        let item: Option<i64> = sqlx::query_scalar(&format!(
                            "SELECT item_id FROM operation WHERE id = $1 AND task_id IS NULL AND state IN {ACTIVE}"
                        ))
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                        let Some(item) = item else { continue };
                        let task: i64 = sqlx::query_scalar(
                            "INSERT INTO task (operation_id, item_id, kind, status, comment, created_at) \
                             VALUES ($1, $2, $3, 'open', $4, $5) RETURNING id",
                        )
                        .bind(id)
                        .bind(item)
                        .bind(kind.raw())
                        .bind(comment)
                        .bind(at)
                        .fetch_one(&mut *tx)
                        .await?;
                        sqlx::query(
                            "UPDATE operation SET task_id = $1, updated_at = $2 WHERE id = $3",
                        )
                        .bind(task)
                        .bind(at)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                        applied.push(*id);
                    }
                }
            }
            applied.sort_unstable();
            for chunk in applied.chunks(200) {
                let mut sql = Sql::new::<D>(
                    "INSERT INTO journal (at, user_id, user_name, action, object, object_id, detail) VALUES ",
                );
                for (n, id) in chunk.iter().enumerate() {
                    let e = batch.entry;
                    sql.push(if n == 0 { "(" } else { ", (" })
                        .push_bind(e.at.0)
                        .push(", ")
                        .push_bind(e.user_id)
                        .push(", ")
                        .push_bind(e.user_name.as_str())
                        .push(", ")
                        .push_bind(e.action.as_str())
                        .push(", ")
                        .push_bind(e.object.as_str())
                        .push(", ")
                        .push_bind(*id)
                        .push(", ")
                        .push_bind(e.detail.as_str())
                        .push(")");
                }
                sql.query().execute(&mut *tx).await?;
            }
        }
        let mut skipped = batch.skipped.to_vec();
        let refused = (batch.ids.len() - applied.len()) as i64;
        if refused > 0 {
            match skipped.iter_mut().find(|(r, _)| r == "conflict") {
                Some((_, n)) => *n += refused,
                None => skipped.push(("conflict".into(), refused)),
            }
        }
        let skipped = serde_json::to_string(&skipped).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "UPDATE bulk_job SET done = done + $1, skipped = $2, cursor = $3, \
             state = CASE WHEN $4 THEN 'done' ELSE state END, \
             finished_at = CASE WHEN $4 THEN $5 ELSE finished_at END, \
             owner = CASE WHEN $4 THEN NULL ELSE owner END WHERE id = $6",
        )
        .bind(applied.len() as i64)
        .bind(skipped)
        .bind(batch.cursor)
        .bind(batch.last)
        .bind(at)
        .bind(batch.job_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(applied))
    }

    async fn cancel_bulk_job(&self, id: i64, entry: &JournalEntry) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE bulk_job SET state = 'cancelled', finished_at = $1, updated_at = $1, owner = NULL \
             WHERE id = $2 AND state IN ('queued', 'running')",
        )
        .bind(entry.at.0)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !done {
            tx.rollback().await?;
            return Ok(false);
        }
        Self::journal(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn release_bulk_job(&self, id: i64, owner: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE bulk_job SET owner = NULL, lease_until = NULL WHERE id = $1 AND owner = $2",
        )
        .bind(id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
