//! Alert webhooks and their outbox: the hooks admins add, the alerts written for them (once
//! per hook and incident), and the claims and outcomes of their deliveries. A node claims due
//! alerts by pushing their next attempt past its try, so that two nodes never post one alert
//! at once; a node that dies mid-try leaves the alert due again when that time comes.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row, Type};

use super::dialect::{Affected, Dialect, SqlStore};
use super::sql::Sql;
use super::{JournalEntry, StoreResult};
use crate::types::Timestamp;

/// A webhook: where alerts go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertHook {
    pub id: i64,
    pub url: String,
    /// Signs each delivery (HMAC-SHA256), as the `http` module driver signs its requests.
    pub secret: Option<String>,
    /// The events it wants, comma-separated (`manual`, `burst`).
    pub events: String,
    pub created_at: Timestamp,
}

/// An alert a node has claimed to deliver, with where to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertDelivery {
    pub id: i64,
    pub hook_id: i64,
    pub url: String,
    pub secret: Option<String>,
    pub event: String,
    pub incident: String,
    /// The JSON to POST.
    pub payload: String,
    /// Tries before this one.
    pub attempts: i64,
}

/// How a delivery went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AlertOutcome {
    /// The receiver took it (2xx).
    Delivered,
    /// It failed; try again at `retry_at`.
    Failed { error: String, retry_at: Timestamp },
}

/// Alert webhooks and the outbox.
#[async_trait]
pub trait Alerts: Send + Sync {
    /// Adds a hook; returns its id.
    async fn insert_hook(&self, hook: &AlertHook, journal: &JournalEntry) -> StoreResult<i64>;
    /// Every hook, oldest first.
    async fn list_hooks(&self) -> StoreResult<Vec<AlertHook>>;
    /// Removes a hook and its undelivered alerts; false when there is none.
    async fn delete_hook(&self, id: i64, journal: &JournalEntry) -> StoreResult<bool>;
    /// Writes the alert for every hook that wants `event`, unless that hook already has one
    /// for `incident`; returns how many were written.
    async fn enqueue_alert(
        &self,
        event: &str,
        incident: &str,
        payload: &str,
        now: Timestamp,
    ) -> StoreResult<u64>;
    /// Claims up to `limit` undelivered alerts due by `now`, none of them tried more than
    /// `max_attempts` times, moving their next attempt to `until` (this try's time limit).
    async fn claim_alerts(
        &self,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
        max_attempts: i64,
    ) -> StoreResult<Vec<AlertDelivery>>;
    /// Records how a delivery went; a delivery also writes `journal`, in the same transaction.
    /// An alert already delivered stays as it is (another node's late try changes nothing).
    async fn finish_alert(
        &self,
        id: i64,
        outcome: &AlertOutcome,
        now: Timestamp,
        journal: &JournalEntry,
    ) -> StoreResult<()>;
}

#[async_trait]
impl<D> Alerts for SqlStore<D>
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
    async fn insert_hook(&self, hook: &AlertHook, entry: &JournalEntry) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO alert_hook (url, secret, events, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id",
        )
        .bind(&hook.url)
        .bind(&hook.secret)
        .bind(&hook.events)
        .bind(hook.created_at.0)
        .fetch_one(&mut *tx)
        .await?;
        Self::journal(&mut *tx, &Self::with_id(entry, id)).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn list_hooks(&self) -> StoreResult<Vec<AlertHook>> {
        let rows =
            sqlx::query("SELECT id, url, secret, events, created_at FROM alert_hook ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| {
                Ok(AlertHook {
                    id: row.try_get("id")?,
                    url: row.try_get("url")?,
                    secret: row.try_get("secret")?,
                    events: row.try_get("events")?,
                    created_at: Timestamp(row.try_get("created_at")?),
                })
            })
            .collect()
    }

    async fn delete_hook(&self, id: i64, entry: &JournalEntry) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM alert_hook WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        Self::journal(&mut *tx, &Self::with_id(entry, id)).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn enqueue_alert(
        &self,
        event: &str,
        incident: &str,
        payload: &str,
        now: Timestamp,
    ) -> StoreResult<u64> {
        let done = sqlx::query(
            "INSERT INTO alert_outbox (hook_id, event, incident, payload, created_at, next_attempt_at) \
             SELECT id, $1, $2, $3, $4, $4 FROM alert_hook WHERE ',' || events || ',' LIKE $5 \
             ON CONFLICT (hook_id, incident) DO NOTHING",
        )
        .bind(event)
        .bind(incident)
        .bind(payload)
        .bind(now.0)
        .bind(format!("%,{event},%"))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn claim_alerts(
        &self,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
        max_attempts: i64,
    ) -> StoreResult<Vec<AlertDelivery>> {
        let mut tx = self.pool.begin().await?;
        if let Some(prelude) = D::CLAIM_PRELUDE {
            sqlx::query(prelude).execute(&mut *tx).await?;
        }
        let skip_locked = D::SKIP_LOCKED;
        let ids: Vec<i64> = sqlx::query_scalar(&format!(
            "SELECT id FROM alert_outbox WHERE delivered_at IS NULL AND next_attempt_at <= $1 \
             AND attempts < $2 ORDER BY next_attempt_at, id LIMIT $3{skip_locked}"
        ))
        .bind(now.0)
        .bind(max_attempts)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        if ids.is_empty() {
            tx.rollback().await?;
            return Ok(Vec::new());
        }
        let mut sql = Sql::new::<D>("UPDATE alert_outbox SET next_attempt_at = ");
        sql.push_bind(until.0)
            .push(" WHERE id IN (")
            .push_list(ids.iter().copied())
            .push(")");
        sql.query().execute(&mut *tx).await?;
        let mut sql = Sql::new::<D>(
            "SELECT a.id, a.hook_id, h.url, h.secret, a.event, a.incident, a.payload, a.attempts \
             FROM alert_outbox a JOIN alert_hook h ON h.id = a.hook_id WHERE a.id IN (",
        );
        sql.push_list(ids.iter().copied()).push(") ORDER BY a.id");
        let rows = sql.query().fetch_all(&mut *tx).await?;
        let claimed = rows
            .iter()
            .map(|row| {
                Ok(AlertDelivery {
                    id: row.try_get("id")?,
                    hook_id: row.try_get("hook_id")?,
                    url: row.try_get("url")?,
                    secret: row.try_get("secret")?,
                    event: row.try_get("event")?,
                    incident: row.try_get("incident")?,
                    payload: row.try_get("payload")?,
                    attempts: row.try_get("attempts")?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        tx.commit().await?;
        Ok(claimed)
    }

    async fn finish_alert(
        &self,
        id: i64,
        outcome: &AlertOutcome,
        now: Timestamp,
        entry: &JournalEntry,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        match outcome {
            AlertOutcome::Delivered => {
                let done = sqlx::query(
                    "UPDATE alert_outbox SET delivered_at = $1, attempts = attempts + 1, \
                     last_error = NULL WHERE id = $2 AND delivered_at IS NULL",
                )
                .bind(now.0)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                // Recorded once, even if another node posted it too.
                if done.rows_affected() == 1 {
                    Self::journal(&mut *tx, entry).await?;
                }
            }
            AlertOutcome::Failed { error, retry_at } => {
                sqlx::query(
                    "UPDATE alert_outbox SET attempts = attempts + 1, last_error = $1, \
                     next_attempt_at = $2 WHERE id = $3 AND delivered_at IS NULL",
                )
                .bind(error.as_str())
                .bind(retry_at.0)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
