//! Writes that skip the engine, for demo data and tests: an operation put straight into a queue
//! state, an attempt recorded as it happened. Demo data ships with the product (`serve` loads it
//! into an empty database), so this trait is part of [`super::Store`]; bulk inserts for
//! benchmarks are not (see [`super::fixtures`]).

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use super::dialect::{Dialect, SqlStore};
use super::{NewAttempt, StoreResult};
use crate::types::failure::FailureMark;
use crate::types::{OperationState, Timestamp};

/// Demo data and test set-up.
#[async_trait]
pub trait Seed: Send + Sync {
    /// Sets the queue state directly: for demo data and tests of the service layer. A running
    /// operation gets the token `forced-<id>` and a lease that has run out at `now`, so that the
    /// engine's rescue returns it (writing its attempt, interrupted) as soon as a node starts.
    async fn force_state(
        &self,
        id: i64,
        state: OperationState,
        last_error: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<()>;
    async fn insert_attempt(&self, attempt: &NewAttempt) -> StoreResult<i64>;
    /// Puts operation `id` in the failure group `mark` names, as a failure at `at` would.
    async fn mark_failure(&self, id: i64, mark: &FailureMark, at: Timestamp) -> StoreResult<()>;
    /// How many operations exist in any state (to know whether demo data was loaded).
    async fn count_all_operations(&self) -> StoreResult<u64>;
}

#[async_trait]
impl<D> Seed for SqlStore<D>
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
    async fn force_state(
        &self,
        id: i64,
        state: OperationState,
        last_error: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<()> {
        let running = state == OperationState::Running;
        let mut tx = self.pool.begin().await?;
        let error_id = match last_error {
            Some(text) => Some(Self::error_message_id(&mut tx, text).await?),
            None => None,
        };
        sqlx::query(
            "UPDATE operation SET state = $1, last_error = $2, lease_owner = $3, \
             lease_expires_at = $4, attempt_token = $5, last_error_id = $6, \
             attempt_started_at = COALESCE($8, attempt_started_at) WHERE id = $7",
        )
        .bind(state.raw())
        .bind(last_error)
        .bind(running.then_some("forced"))
        .bind(running.then_some(now.0))
        .bind(running.then(|| format!("forced-{id}")))
        .bind(error_id)
        .bind(id)
        .bind(running.then_some(now.0))
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    async fn insert_attempt(&self, a: &NewAttempt) -> StoreResult<i64> {
        sqlx::query_scalar(
            "INSERT INTO attempt (operation_id, item_id, token, started_at, finished_at, outcome, \
             error_type, error_message, log, task_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(a.operation_id)
        .bind(a.item_id)
        .bind(&a.token)
        .bind(a.started.0)
        .bind(a.finished.map(|t| t.0))
        .bind(a.outcome.raw())
        .bind(&a.error_type)
        .bind(&a.error_message)
        .bind(&a.log)
        .bind(a.task_id)
        .fetch_one(&self.pool)
        .await
    }

    async fn mark_failure(&self, id: i64, mark: &FailureMark, at: Timestamp) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let group = Self::failure_group_id(&mut tx, mark, at).await?;
        let client: Option<i64> = sqlx::query_scalar(
            "UPDATE operation SET failure_id = $1 WHERE id = $2 RETURNING client_id",
        )
        .bind(group)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(client) = client {
            Self::count_failure(&mut tx, group, client, at).await?;
        }
        tx.commit().await
    }

    async fn count_all_operations(&self) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM operation")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}
