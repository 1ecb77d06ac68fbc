//! Operations one at a time: adding and editing them, the admin's requests (start, stop,
//! delete), their attempts and their employee tasks. The list of many is [`super::list`]; the
//! engine's writes are [`super::queue`].

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row, Type};

use super::dialect::{Affected, Dialect, SqlStore};
use super::sql::{parse_with, ACTIVE, ATTEMPT_SELECT, OPERATION_SELECT};
use super::{JournalEntry, OperationFields, OperationRecord, StoreResult, TaskView};
use crate::types::{AttemptOutcome, AttemptRow, Intname, OperationState, TaskKind, Timestamp};

/// Operations one at a time, their attempts and tasks.
#[async_trait]
pub trait Operations: Send + Sync {
    /// Adds an operation in `state`, due at `next_run_at`. Fails with a unique violation when
    /// its item already has an active operation.
    async fn insert_operation(
        &self,
        fields: &OperationFields,
        state: OperationState,
        next_run_at: Timestamp,
        journal: &JournalEntry,
    ) -> StoreResult<i64>;
    /// Overwrites the editable fields of an operation that is not finished.
    async fn update_operation(
        &self,
        id: i64,
        fields: &OperationFields,
        journal: &JournalEntry,
    ) -> StoreResult<bool>;
    async fn get_operation(&self, id: i64) -> StoreResult<Option<OperationRecord>>;
    /// Asks for a run now (even if manual) of a waiting or failed operation.
    async fn request_start(
        &self,
        id: i64,
        now: Timestamp,
        journal: &JournalEntry,
    ) -> StoreResult<bool>;
    /// Turns automatic restarts off; if the operation is running, asks its worker to stop it.
    async fn request_stop(
        &self,
        id: i64,
        now: Timestamp,
        journal: &JournalEntry,
    ) -> StoreResult<bool>;
    /// Takes a waiting or failed operation off the current list (its history stays).
    async fn delete_operation(
        &self,
        id: i64,
        now: Timestamp,
        journal: &JournalEntry,
    ) -> StoreResult<bool>;
    /// The attempts of an operation, oldest first.
    async fn list_attempts(&self, operation_id: i64) -> StoreResult<Vec<AttemptRow>>;
    /// One attempt and its log.
    async fn get_attempt(&self, id: i64) -> StoreResult<Option<(AttemptRow, String)>>;
    /// Creates a task for an operation and links it, unless the operation already has one
    /// (then nothing is written and `None` comes back).
    async fn create_task(
        &self,
        operation_id: i64,
        kind: TaskKind,
        comment: &str,
        now: Timestamp,
        journal: &JournalEntry,
    ) -> StoreResult<Option<i64>>;
    async fn get_task(&self, id: i64) -> StoreResult<Option<TaskView>>;
}

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
    pub(super) fn operation_record(row: &D::Row) -> StoreResult<OperationRecord> {
        Ok(OperationRecord {
            id: row.try_get("id")?,
            fields: OperationFields {
                intname: parse_with("intname", row.try_get("intname")?, Intname::parse)?,
                item_id: row.try_get("item_id")?,
                client_id: row.try_get("client_id")?,
                module_id: row.try_get("module_id")?,
                itemtype: row.try_get("itemtype")?,
                cdate: Timestamp(row.try_get("cdate")?),
                trycount: row.try_get("trycount")?,
                manual: row.try_get("manual")?,
                comment: row.try_get("comment")?,
            },
            state: parse_with("state", row.try_get("state")?, OperationState::parse)?,
            task_id: row.try_get("task_id")?,
            next_run_at: Timestamp(row.try_get("next_run_at")?),
            run_requested: row.try_get("run_requested")?,
            stop_requested: row.try_get("stop_requested")?,
            last_error: row.try_get("last_error")?,
            updated_at: Timestamp(row.try_get("updated_at")?),
        })
    }

    pub(super) fn attempt_row(row: &D::Row) -> StoreResult<AttemptRow> {
        Ok(AttemptRow {
            id: row.try_get("id")?,
            operation_id: row.try_get("operation_id")?,
            item_id: row.try_get("item_id")?,
            createdate: Timestamp(row.try_get("started_at")?),
            finished: row.try_get::<Option<i64>, _>("finished_at")?.map(Timestamp),
            outcome: parse_with("outcome", row.try_get("outcome")?, AttemptOutcome::parse)?,
            error_type: row.try_get("error_type")?,
            error_message: row.try_get("error_message")?,
            task_id: row.try_get("task_id")?,
        })
    }
}

#[async_trait]
impl<D> Operations for SqlStore<D>
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
    async fn insert_operation(
        &self,
        f: &OperationFields,
        state: OperationState,
        next_run_at: Timestamp,
        entry: &JournalEntry,
    ) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO operation (intname, item_id, client_id, module_id, itemtype, cdate, trycount, \
             manual, comment, state, next_run_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(f.intname.raw())
        .bind(f.item_id)
        .bind(f.client_id)
        .bind(f.module_id)
        .bind(&f.itemtype)
        .bind(f.cdate.0)
        .bind(f.trycount)
        .bind(f.manual)
        .bind(&f.comment)
        .bind(state.raw())
        .bind(next_run_at.0)
        .bind(entry.at.0)
        .fetch_one(&mut *tx)
        .await?;
        Self::journal(&mut *tx, &Self::with_id(entry, id)).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn update_operation(
        &self,
        id: i64,
        f: &OperationFields,
        entry: &JournalEntry,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(&format!(
            "UPDATE operation SET intname = $1, item_id = $2, client_id = $3, module_id = $4, \
             itemtype = $5, cdate = $6, trycount = $7, manual = $8, comment = $9, updated_at = $10 \
             WHERE id = $11 AND state IN {ACTIVE}"
        ))
        .bind(f.intname.raw())
        .bind(f.item_id)
        .bind(f.client_id)
        .bind(f.module_id)
        .bind(&f.itemtype)
        .bind(f.cdate.0)
        .bind(f.trycount)
        .bind(f.manual)
        .bind(&f.comment)
        .bind(entry.at.0)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if done {
            Self::journal(&mut *tx, entry).await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    async fn get_operation(&self, id: i64) -> StoreResult<Option<OperationRecord>> {
        sqlx::query(&format!("{OPERATION_SELECT} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| Self::operation_record(&row))
            .transpose()
    }

    async fn request_start(
        &self,
        id: i64,
        now: Timestamp,
        entry: &JournalEntry,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE operation SET run_requested = TRUE, next_run_at = $1, updated_at = $1 \
             WHERE id = $2 AND state IN ('waiting', 'error')",
        )
        .bind(now.0)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if done {
            Self::journal(&mut *tx, entry).await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    async fn request_stop(
        &self,
        id: i64,
        now: Timestamp,
        entry: &JournalEntry,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(&format!(
            "UPDATE operation SET manual = TRUE, run_requested = FALSE, \
             stop_requested = (state = 'running'), updated_at = $1 \
             WHERE id = $2 AND state IN {ACTIVE}"
        ))
        .bind(now.0)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if done {
            Self::journal(&mut *tx, entry).await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    async fn delete_operation(
        &self,
        id: i64,
        now: Timestamp,
        entry: &JournalEntry,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE operation SET state = 'deleted', finished_at = $1, updated_at = $1 \
             WHERE id = $2 AND state IN ('waiting', 'error')",
        )
        .bind(now.0)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if done {
            Self::journal(&mut *tx, entry).await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    async fn list_attempts(&self, operation_id: i64) -> StoreResult<Vec<AttemptRow>> {
        let mut attempts = sqlx::query(&format!(
            "{ATTEMPT_SELECT} WHERE operation_id = $1 ORDER BY id"
        ))
        .bind(operation_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(Self::attempt_row)
        .collect::<StoreResult<Vec<AttemptRow>>>()?;
        // The attempt under way has no row until it ends: it is the operation's run.
        let running: Option<(i64, i64)> = sqlx::query_as(
            "SELECT item_id, COALESCE(attempt_started_at, updated_at) FROM operation \
             WHERE id = $1 AND state = 'running'",
        )
        .bind(operation_id)
        .fetch_optional(&self.pool)
        .await?;
        if let Some((item_id, started_at)) = running {
            attempts.push(AttemptRow::running(
                operation_id,
                item_id,
                Timestamp(started_at),
            ));
        }
        Ok(attempts)
    }

    async fn get_attempt(&self, id: i64) -> StoreResult<Option<(AttemptRow, String)>> {
        let Some(row) = sqlx::query(&format!("{ATTEMPT_SELECT} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some((Self::attempt_row(&row)?, row.try_get("log")?)))
    }

    async fn create_task(
        &self,
        operation_id: i64,
        kind: TaskKind,
        comment: &str,
        now: Timestamp,
        entry: &JournalEntry,
    ) -> StoreResult<Option<i64>> {
        let mut tx = self.pool.begin().await?;
        let item_id: Option<i64> =
            sqlx::query_scalar("SELECT item_id FROM operation WHERE id = $1 AND task_id IS NULL")
                .bind(operation_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(item_id) = item_id else {
            tx.rollback().await?;
            return Ok(None);
        };
        let task_id: i64 = sqlx::query_scalar(
            "INSERT INTO task (operation_id, item_id, kind, status, comment, created_at) \
             VALUES ($1, $2, $3, 'open', $4, $5) RETURNING id",
        )
        .bind(operation_id)
        .bind(item_id)
        .bind(kind.raw())
        .bind(comment)
        .bind(now.0)
        .fetch_one(&mut *tx)
        .await?;
        // The guard makes two concurrent creations link one task: the loser rolls back.
        let linked = sqlx::query(
            "UPDATE operation SET task_id = $1, updated_at = $2 WHERE id = $3 AND task_id IS NULL",
        )
        .bind(task_id)
        .bind(now.0)
        .bind(operation_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !linked {
            tx.rollback().await?;
            return Ok(None);
        }
        Self::journal(&mut *tx, entry).await?;
        tx.commit().await?;
        Ok(Some(task_id))
    }

    async fn get_task(&self, id: i64) -> StoreResult<Option<TaskView>> {
        let Some(row) = sqlx::query(
            "SELECT id, operation_id, item_id, kind, status, comment, created_at FROM task WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        Ok(Some(TaskView {
            id: row.try_get("id")?,
            operation_id: row.try_get("operation_id")?,
            item_id: row.try_get("item_id")?,
            kind: row.try_get("kind")?,
            status: row.try_get("status")?,
            comment: row.try_get("comment")?,
            created: Timestamp(row.try_get("created_at")?),
        }))
    }
}
