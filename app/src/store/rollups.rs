//! What the charts draw ([`crate::service::chart`]): attempts finished per module per minute,
//! and the current operations per module and status sampled each minute; minutes folded into
//! hours once their hour is well over, hours kept [`ROLLUP_KEEP_MS`]. The attempts are added by
//! triggers in the transaction that finishes them (`migrations/*/0008_rollup.sql`; PostgreSQL's
//! writers append deltas, folded here, as for [`super::counts`]); the samples are taken by the
//! engine's keeper ([`Rollups::sample_queue`]). A read costs one row per module and bucket,
//! whatever the number of attempts.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row, Type};

use super::dialect::{Affected, Dialect, SqlStore};
use super::sql::parse_with;
use super::StoreResult;
use crate::types::{Status, Timestamp};

/// One minute, in milliseconds.
pub const MINUTE_MS: i64 = 60_000;
/// One hour, in milliseconds.
pub const HOUR_MS: i64 = 3_600_000;
/// How long hours are kept: 35 days (a chart goes back 7).
pub const ROLLUP_KEEP_MS: i64 = 35 * 24 * HOUR_MS;
/// The most steps of the deltas' fold (each at most 10,000 deltas) one compaction takes.
const FOLD_STEPS: usize = 20;

/// The attempts of one module that finished in one hour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptHour {
    pub module_id: i64,
    /// The hour's start.
    pub hour: Timestamp,
    pub ok: i64,
    pub failed: i64,
    /// Interrupted (their node died) or stopped by an admin.
    pub other: i64,
}

/// One module's current operations in one status, averaged over the minutes of one hour that
/// were sampled (a minute without a row for it counts as none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueHour {
    pub module_id: i64,
    pub status: Status,
    /// The hour's start.
    pub hour: Timestamp,
    pub n: i64,
}

/// The charts' rollups.
#[async_trait]
pub trait Rollups: Send + Sync {
    /// Attempts per module per hour, from the hour holding `since` on, oldest first.
    async fn attempts_by_hour(&self, since: Timestamp) -> StoreResult<Vec<AttemptHour>>;
    /// Current operations per module, status and hour, from the hour holding `since` on,
    /// oldest first.
    async fn queue_by_hour(&self, since: Timestamp) -> StoreResult<Vec<QueueHour>>;
    /// Records the current operation counts as the sample of the minute holding `at`; a
    /// minute sampled already (by another node) is left as it is. Returns the rows written.
    async fn sample_queue(&self, at: Timestamp) -> StoreResult<u64>;
    /// Folds PostgreSQL's deltas into minutes, the minutes before the previous hour into
    /// hours, and forgets hours older than [`ROLLUP_KEEP_MS`]; one node at a time. Returns
    /// the rows changed.
    async fn compact_rollups(&self, now: Timestamp) -> StoreResult<u64>;
}

/// The start of the bucket of `width` milliseconds holding `at`.
pub fn bucket_of(at: Timestamp, width: i64) -> Timestamp {
    Timestamp(at.0 - at.0.rem_euclid(width))
}

#[async_trait]
impl<D> Rollups for SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> String: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> bool: Decode<'q, D> + Type<D>,
    for<'a> &'a str: ColumnIndex<D::Row>,
    usize: ColumnIndex<D::Row>,
{
    async fn attempts_by_hour(&self, since: Timestamp) -> StoreResult<Vec<AttemptHour>> {
        let rows = sqlx::query(
            "SELECT module_id, bucket - bucket % 3600000 AS hour, CAST(SUM(ok) AS BIGINT) AS ok, \
                    CAST(SUM(failed) AS BIGINT) AS failed, CAST(SUM(other) AS BIGINT) AS other \
             FROM (SELECT module_id, bucket, ok, failed, other FROM attempt_rollup \
                   WHERE bucket >= $1 \
                   UNION ALL SELECT module_id, bucket, ok, failed, other FROM attempt_rollup_delta \
                   WHERE bucket >= $1) r \
             GROUP BY module_id, bucket - bucket % 3600000 ORDER BY hour, module_id",
        )
        .bind(bucket_of(since, HOUR_MS).0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AttemptHour {
                    module_id: row.try_get("module_id")?,
                    hour: Timestamp(row.try_get("hour")?),
                    ok: row.try_get("ok")?,
                    failed: row.try_get("failed")?,
                    other: row.try_get("other")?,
                })
            })
            .collect()
    }

    async fn queue_by_hour(&self, since: Timestamp) -> StoreResult<Vec<QueueHour>> {
        let rows = sqlx::query(
            "SELECT q.module_id, q.status, q.hour, \
                    CAST(ROUND(SUM(q.n) * 1.0 / m.minutes) AS BIGINT) AS n \
             FROM (SELECT module_id, status, bucket - bucket % 3600000 AS hour, n \
                   FROM queue_sample WHERE bucket >= $1) q \
             JOIN (SELECT bucket - bucket % 3600000 AS hour, COUNT(DISTINCT bucket) AS minutes \
                   FROM queue_sample WHERE bucket >= $1 \
                   GROUP BY bucket - bucket % 3600000) m ON m.hour = q.hour \
             GROUP BY q.module_id, q.status, q.hour, m.minutes \
             ORDER BY q.hour, q.module_id, q.status",
        )
        .bind(bucket_of(since, HOUR_MS).0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(QueueHour {
                    module_id: row.try_get("module_id")?,
                    status: parse_with("status", row.try_get("status")?, Status::parse)?,
                    hour: Timestamp(row.try_get("hour")?),
                    n: row.try_get("n")?,
                })
            })
            .collect()
    }

    async fn sample_queue(&self, at: Timestamp) -> StoreResult<u64> {
        let _gate = self.write_gate().await;
        let done = sqlx::query(
            "INSERT INTO queue_sample (module_id, status, span, bucket, n) \
             SELECT module_id, status, 'minute', $1, CAST(SUM(n) AS BIGINT) \
             FROM (SELECT module_id, status, n FROM operation_count \
                   UNION ALL SELECT module_id, status, n FROM operation_count_delta) c \
             WHERE TRUE GROUP BY module_id, status \
             ON CONFLICT (bucket, module_id, status, span) DO NOTHING",
        )
        .bind(bucket_of(at, MINUTE_MS).0)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn compact_rollups(&self, now: Timestamp) -> StoreResult<u64> {
        let _gate = self.write_gate().await;
        let mut tx = self.pool.begin().await?;
        let locked = match sqlx::query(D::ROLLUP_LOCK).fetch_optional(&mut *tx).await? {
            Some(row) => row.try_get::<bool, _>(0)?,
            None => true,
        };
        if !locked {
            tx.rollback().await?;
            return Ok(0);
        }
        let mut changed = 0;
        if let Some(fold) = D::FOLD_ATTEMPT_DELTAS {
            // In steps; a backlog beyond this many steps is left for the next run.
            for _ in 0..FOLD_STEPS {
                let folded = sqlx::query(fold).execute(&mut *tx).await?.rows_affected();
                changed += folded;
                if folded == 0 {
                    break;
                }
            }
        }
        // The current hour and the one before stay in minutes.
        let cut = bucket_of(now, HOUR_MS).0 - HOUR_MS;
        let statements = [
            "INSERT INTO attempt_rollup (module_id, span, bucket, ok, failed, other) \
             SELECT module_id, 'hour', bucket - bucket % 3600000, SUM(ok), SUM(failed), SUM(other) \
             FROM attempt_rollup WHERE span = 'minute' AND bucket < $1 \
             GROUP BY module_id, bucket - bucket % 3600000 \
             ORDER BY bucket - bucket % 3600000, module_id \
             ON CONFLICT (bucket, module_id, span) DO UPDATE \
             SET ok = attempt_rollup.ok + EXCLUDED.ok, \
                 failed = attempt_rollup.failed + EXCLUDED.failed, \
                 other = attempt_rollup.other + EXCLUDED.other",
            "DELETE FROM attempt_rollup WHERE span = 'minute' AND bucket < $1",
            "INSERT INTO queue_sample (module_id, status, span, bucket, n) \
             SELECT q.module_id, q.status, 'hour', q.hour, \
                    CAST(ROUND(SUM(q.n) * 1.0 / m.minutes) AS BIGINT) \
             FROM (SELECT module_id, status, bucket - bucket % 3600000 AS hour, n \
                   FROM queue_sample WHERE span = 'minute' AND bucket < $1) q \
             JOIN (SELECT bucket - bucket % 3600000 AS hour, COUNT(DISTINCT bucket) AS minutes \
                   FROM queue_sample WHERE span = 'minute' AND bucket < $1 \
                   GROUP BY bucket - bucket % 3600000) m ON m.hour = q.hour \
             WHERE TRUE GROUP BY q.module_id, q.status, q.hour, m.minutes \
             ON CONFLICT (bucket, module_id, status, span) DO NOTHING",
            "DELETE FROM queue_sample WHERE span = 'minute' AND bucket < $1",
        ];
        for statement in statements {
            changed += sqlx::query(statement)
                .bind(cut)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        let forget = now.0 - ROLLUP_KEEP_MS;
        for statement in [
            "DELETE FROM attempt_rollup WHERE bucket < $1",
            "DELETE FROM queue_sample WHERE bucket < $1",
        ] {
            changed += sqlx::query(statement)
                .bind(forget)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(changed)
    }
}
