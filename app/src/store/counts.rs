//! How many current operations each module has in each status: totals the database keeps in
//! the transaction of every change (triggers, `migrations/*/0006_operation_count.sql`), so
//! that reading them costs a few rows whatever the number of operations. On PostgreSQL the
//! writers append deltas (no shared row to wait for), folded into the totals by
//! [`Counts::compact_counts`]; a read adds the two, so it is exact either way.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row, Type};

use super::dialect::{Affected, Dialect, SqlStore};
use super::sql::parse_with;
use super::StoreResult;
use crate::types::{Status, Timestamp};

/// One module's current operations in one status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusCount {
    pub module_id: i64,
    pub module_name: String,
    pub status: Status,
    pub count: i64,
}

/// The counts of current operations.
#[async_trait]
pub trait Counts: Send + Sync {
    /// Every module's count in every status it has had, by module id and status.
    async fn operation_counts(&self) -> StoreResult<Vec<StatusCount>>;
    /// Folds the deltas writers appended into the totals (nothing to do on SQLite, whose one
    /// writer updates the totals itself); returns how many totals changed. Safe to run on
    /// several nodes at once.
    async fn compact_counts(&self) -> StoreResult<u64>;
    /// Each module's name and when its longest-waiting operation that a claim at `now` would
    /// take (due, automatic or asked to start) became due; `None` when it has none. One index
    /// seek per module, as a claim does.
    async fn oldest_due(&self, now: Timestamp) -> StoreResult<Vec<(String, Option<Timestamp>)>>;
}

#[async_trait]
impl<D> Counts for SqlStore<D>
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
    async fn operation_counts(&self) -> StoreResult<Vec<StatusCount>> {
        let rows = sqlx::query(
            "SELECT c.module_id, m.name AS module_name, c.status, CAST(SUM(c.n) AS BIGINT) AS n \
             FROM (SELECT module_id, status, n FROM operation_count \
                   UNION ALL SELECT module_id, status, n FROM operation_count_delta) c \
             JOIN processing_module m ON m.id = c.module_id \
             GROUP BY c.module_id, m.name, c.status ORDER BY c.module_id, c.status",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StatusCount {
                    module_id: row.try_get("module_id")?,
                    module_name: row.try_get("module_name")?,
                    status: parse_with("status", row.try_get("status")?, Status::parse)?,
                    count: row.try_get("n")?,
                })
            })
            .collect()
    }

    async fn oldest_due(&self, now: Timestamp) -> StoreResult<Vec<(String, Option<Timestamp>)>> {
        let rows = sqlx::query(
            "SELECT m.name, (SELECT o.next_run_at FROM operation o \
                 WHERE o.module_id = m.id AND o.state IN ('waiting', 'error') \
                 AND o.next_run_at <= $1 AND (o.manual = FALSE OR o.run_requested = TRUE) \
                 ORDER BY o.next_run_at LIMIT 1) AS due \
             FROM processing_module m ORDER BY m.id",
        )
        .bind(now.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let due: Option<i64> = row.try_get("due")?;
                Ok((row.try_get("name")?, due.map(Timestamp)))
            })
            .collect()
    }

    async fn compact_counts(&self) -> StoreResult<u64> {
        let Some(statement) = D::COMPACT_COUNTS else {
            return Ok(0);
        };
        let done = sqlx::query(statement).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }
}
