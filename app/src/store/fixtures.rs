//! Bulk inserts for benchmarks and large tests, behind the `fixtures` feature: many services
//! and operations at once, without journal rows. Not part of the product's [`super::Store`].

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use std::sync::Arc;

use super::dialect::Affected;
use super::dialect::{Dialect, SqlStore};
use super::sql::{Sql, ACTIVE};
use super::{NewItem, OperationFields, Store, StoreResult};
use crate::types::failure::FailureMark;
use crate::types::{AttemptOutcome, OperationState, Timestamp};

/// Bulk inserts without journal rows: for benchmarks and large tests only.
#[async_trait]
pub trait Fixtures: Store {
    /// Adds many services at once, without journal rows: for benchmarks only.
    async fn bulk_insert_items(&self, items: &[NewItem]) -> StoreResult<()>;
    /// Adds many finished attempts at once (the charts' rollups count them, as for any
    /// attempt): for benchmarks only. Each is `(operation, item, finished at, outcome)`.
    async fn bulk_insert_attempts(
        &self,
        attempts: &[(i64, i64, Timestamp, AttemptOutcome)],
    ) -> StoreResult<()>;
    /// Adds many operations at once, each with its queue state and last error, without journal
    /// rows: for benchmarks only.
    async fn bulk_insert_operations(
        &self,
        operations: &[(OperationFields, OperationState, Option<String>)],
    ) -> StoreResult<()>;
    /// Puts every current operation of `mark`'s module whose last error is `last_error` in
    /// `mark`'s group, as one failure each at `at` (the triggers count them as for any
    /// change): for benchmarks only. Returns the operations put in.
    async fn bulk_group_failures(
        &self,
        mark: &FailureMark,
        last_error: &str,
        at: Timestamp,
    ) -> StoreResult<u64>;
}

#[async_trait]
impl<D> Fixtures for SqlStore<D>
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
    async fn bulk_insert_attempts(
        &self,
        attempts: &[(i64, i64, Timestamp, AttemptOutcome)],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for chunk in attempts.chunks(1000) {
            let mut sql = Sql::new::<D>(
                "INSERT INTO attempt (operation_id, item_id, token, started_at, finished_at, outcome) \
                 VALUES ",
            );
            for (n, (operation, item, finished, outcome)) in chunk.iter().enumerate() {
                sql.push(if n == 0 { "(" } else { ", (" })
                    .push_list([*operation, *item])
                    .push(", ")
                    .push_bind(format!("bench-{operation}-{}", finished.0))
                    .push(", ")
                    .push_list([finished.0 - 1_000, finished.0])
                    .push(", ")
                    .push_bind(outcome.raw())
                    .push(")");
            }
            sql.query().execute(&mut *tx).await?;
        }
        tx.commit().await
    }

    async fn bulk_insert_items(&self, items: &[NewItem]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for chunk in items.chunks(1000) {
            let mut sql = Sql::new::<D>(
                "INSERT INTO item (client_id, module_id, itemtype, name, status, created_at) VALUES ",
            );
            for (n, item) in chunk.iter().enumerate() {
                sql.push(if n == 0 { "(" } else { ", (" })
                    .push_list([item.client_id, item.module_id])
                    .push(", ")
                    .push_list([
                        item.itemtype.as_str(),
                        item.name.as_str(),
                        item.status.raw(),
                    ])
                    .push(", ")
                    .push_bind(item.created.0)
                    .push(")");
            }
            sql.query().execute(&mut *tx).await?;
        }
        tx.commit().await
    }

    async fn bulk_insert_operations(
        &self,
        operations: &[(OperationFields, OperationState, Option<String>)],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let mut error_ids = std::collections::HashMap::new();
        for text in operations.iter().filter_map(|(_, _, e)| e.as_deref()) {
            if !error_ids.contains_key(text) {
                error_ids.insert(
                    text.to_owned(),
                    Self::error_message_id(&mut tx, text).await?,
                );
            }
        }
        for chunk in operations.chunks(1000) {
            let mut sql = Sql::new::<D>(
                "INSERT INTO operation (intname, item_id, client_id, module_id, itemtype, cdate, trycount, \
                 manual, comment, state, next_run_at, updated_at, last_error, lease_owner, lease_expires_at, \
                 attempt_token, last_error_id) VALUES ",
            );
            for (n, (f, state, last_error)) in chunk.iter().enumerate() {
                let running = *state == OperationState::Running;
                sql.push(if n == 0 { "(" } else { ", (" })
                    .push_bind(f.intname.raw())
                    .push(", ")
                    .push_list([f.item_id, f.client_id, f.module_id])
                    .push(", ")
                    .push_bind(f.itemtype.as_str())
                    .push(", ")
                    .push_list([f.cdate.0, f.trycount])
                    .push(", ")
                    .push_bind(f.manual)
                    .push(", ")
                    .push_list([f.comment.as_str(), state.raw()])
                    .push(", ")
                    .push_list([f.cdate.0, f.cdate.0])
                    .push(", ")
                    .push_bind(last_error.as_deref())
                    .push(", ")
                    .push_bind(running.then_some("bulk"))
                    .push(", ")
                    .push_bind(running.then_some(f.cdate.0 + 60_000))
                    .push(", ")
                    .push_bind(running.then(|| format!("bulk-{}", f.item_id)))
                    .push(", ")
                    .push_bind(last_error.as_ref().and_then(|e| error_ids.get(e).copied()))
                    .push(")");
            }
            sql.query().execute(&mut *tx).await?;
        }
        tx.commit().await
    }

    async fn bulk_group_failures(
        &self,
        mark: &FailureMark,
        last_error: &str,
        at: Timestamp,
    ) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        // A whole module's failures in one statement: past the pool's statement limit at 1M.
        if let Some(long_read) = D::LONG_READ {
            sqlx::query(long_read).execute(&mut *tx).await?;
        }
        let group = Self::failure_group_id(&mut tx, mark, at).await?;
        let moved = sqlx::query(&format!(
            "UPDATE operation SET failure_id = $1 WHERE module_id = $2 AND last_error = $3 AND state IN {ACTIVE}"
        ))
        .bind(group)
        .bind(mark.module_id)
        .bind(last_error)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query(&format!(
            "INSERT INTO failure_delta (group_id, client_id, n, failures, at) \
             SELECT $1, client_id, 0, COUNT(*), $2 FROM operation WHERE failure_id = $1 AND state IN {ACTIVE} \
             GROUP BY client_id"
        ))
        .bind(group)
        .bind(at.0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(moved)
    }
}

/// Opens the store a database URL names, with its bulk inserts (see [`super::connect`]).
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Fixtures>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(super::postgres::PgStore::connect(url).await?))
    } else {
        Ok(Arc::new(super::sqlite::SqliteStore::connect(url).await?))
    }
}
